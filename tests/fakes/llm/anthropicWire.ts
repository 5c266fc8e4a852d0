import type { Reply } from "./Reply.ts"
import { contentText, type SsePlan, userText, type Wire, type WireContext } from "./Wire.ts"

/**
 * Anthropic Messages (`POST {baseURL}/v1/messages`), as parsed by `@anthropic-ai/sdk` 1.x: SSE `event:`/`data:`
 * pairs (`message_start` … `message_stop`), a JSON `message` otherwise, errors as
 * `{ type: "error", error: { type, message }, request_id }`.
 */
export const anthropicWire: Wire = {
  api: "anthropic",
  toolIdPrefix: "toolu_",
  requestIdHeader: "request-id",

  facts(body) {
    const messages: any[] = Array.isArray(body?.messages) ? body.messages : []
    let lastUserText = ""
    for (let i = messages.length - 1; i >= 0; i--) {
      const text = messages[i]?.role === "user" ? userText(messages[i].content) : ""
      if (text !== "") {
        lastUserText = text
        break
      }
    }
    const systemChars = contentText(body?.system).length
    return {
      model: typeof body?.model === "string" ? body.model : "",
      stream: body?.stream === true,
      includeUsage: true,
      lastUserText,
      inputChars: messages.reduce((sum, message) => sum + contentText(message?.content).length, systemChars)
    }
  },

  sse(reply, ctx) {
    const events: string[] = []
    const deltaIndexes: number[] = []
    const event = (type: string, data: object) => {
      events.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
    }
    const delta = (index: number, data: object) => {
      deltaIndexes.push(events.length)
      event("content_block_delta", { index, delta: data })
    }

    event("message_start", {
      message: { ...messageHead(ctx), content: [], stop_reason: null, stop_sequence: null, usage: usage(reply, 1) }
    })
    event("ping", {})
    let index = 0
    if (hasTextBlock(reply)) {
      event("content_block_start", { index, content_block: { type: "text", text: "", citations: null } })
      for (const text of reply.textChunks) delta(index, { type: "text_delta", text })
      event("content_block_stop", { index })
      index++
    }
    for (const call of reply.toolCalls) {
      const block = { type: "tool_use", id: call.id, name: call.name, input: {}, caller: { type: "direct" } }
      event("content_block_start", { index, content_block: block })
      for (const partial_json of call.argumentChunks) delta(index, { type: "input_json_delta", partial_json })
      event("content_block_stop", { index })
      index++
    }
    const trailerIndex = events.length
    event("message_delta", {
      delta: { stop_reason: stopReason(reply), stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: reply.usage.input,
        output_tokens: reply.usage.output,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        server_tool_use: null,
        output_tokens_details: null
      }
    })
    event("message_stop", {})
    return { events, deltaIndexes, trailerIndex } satisfies SsePlan
  },

  json(reply, ctx) {
    const content: object[] = hasTextBlock(reply) ? [{ type: "text", text: reply.text, citations: null }] : []
    for (const call of reply.toolCalls) {
      content.push({
        type: "tool_use",
        id: call.id,
        name: call.name,
        input: parseInput(call.arguments),
        caller: { type: "direct" }
      })
    }
    return {
      ...messageHead(ctx),
      content,
      stop_reason: stopReason(reply),
      stop_sequence: null,
      usage: usage(reply, reply.usage.output)
    }
  },

  errorBody(status, message, ctx) {
    const type = errorType(status)
    return { type: "error", error: { type, message: message ?? `${type} (fake LLM)` }, request_id: ctx.requestId }
  },

  errorHeaders(status, retryAfter): Record<string, string> {
    if (status !== 429) return {}
    const reset = new Date(Date.now() + (retryAfter ?? 1) * 1000).toISOString()
    return {
      "anthropic-ratelimit-requests-limit": "60",
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": reset
    }
  },

  models(ids) {
    const data = ids.map((id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" }))
    return { data, has_more: false, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null }
  }
}

const messageHead = (ctx: WireContext) => ({
  id: ctx.responseId,
  type: "message",
  role: "assistant",
  model: ctx.model,
  container: null,
  stop_details: null
})

const hasTextBlock = (reply: Reply) => reply.text !== "" || reply.toolCalls.length === 0

const stopReason = (reply: Reply) =>
  reply.finish === "tool_calls" ? "tool_use" : reply.finish === "length" ? "max_tokens" : "end_turn"

const usage = (reply: Reply, output: number) => ({
  input_tokens: reply.usage.input,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: null,
  server_tool_use: null,
  output_tokens_details: null,
  service_tier: "standard",
  inference_geo: null,
  speed: null
})

/** A tool input must be an object on the wire; a malformed scripted string is passed through as-is. */
const parseInput = (args: string): unknown => {
  try {
    return JSON.parse(args)
  } catch {
    return args
  }
}

const errorType = (status: number): string => {
  switch (status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 402:
      return "billing_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 408:
    case 504:
      return "timeout_error"
    case 409:
      return "conflict_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}
