import type { Reply } from "./Reply.ts"
import { contentText, type SsePlan, userText, type Wire } from "./Wire.ts"

/**
 * OpenAI Chat Completions (`POST {baseURL}/chat/completions`), as parsed by `openai` 7.x: SSE `data:` lines of
 * `chat.completion.chunk` objects ending with `data: [DONE]`, JSON `chat.completion` otherwise, errors as
 * `{ error: { message, type, param, code } }`.
 */
export const openaiWire: Wire = {
  api: "openai",
  toolIdPrefix: "call_",
  requestIdHeader: "x-request-id",

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
    return {
      model: typeof body?.model === "string" ? body.model : "",
      stream: body?.stream === true,
      includeUsage: body?.stream_options?.include_usage === true,
      lastUserText,
      inputChars: messages.reduce((sum, message) => sum + contentText(message?.content).length, 0)
    }
  },

  sse(reply, ctx, includeUsage) {
    const head = { id: ctx.responseId, object: "chat.completion.chunk", created: ctx.created, model: ctx.model }
    const extra = { system_fingerprint: "fp_fake", ...(includeUsage ? { usage: null } : {}) }
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`

    const events: string[] = []
    const deltaIndexes: number[] = []
    const noText = reply.text === "" && reply.toolCalls.length > 0
    events.push(chunk({ role: "assistant", content: noText ? null : "", refusal: null }))
    for (const piece of reply.textChunks) {
      deltaIndexes.push(events.length)
      events.push(chunk({ content: piece }))
    }
    reply.toolCalls.forEach((call, index) => {
      const opening = { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }
      events.push(chunk({ tool_calls: [opening] }))
      for (const fragment of call.argumentChunks) {
        deltaIndexes.push(events.length)
        events.push(chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }))
      }
    })
    const trailerIndex = events.length
    events.push(chunk({}, reply.finish))
    if (includeUsage) {
      events.push(
        `data: ${JSON.stringify({ ...head, choices: [], system_fingerprint: "fp_fake", usage: usage(reply) })}\n\n`
      )
    }
    events.push("data: [DONE]\n\n")
    return { events, deltaIndexes, trailerIndex } satisfies SsePlan
  },

  json(reply, ctx) {
    const toolCalls = reply.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments }
    }))
    const message = {
      role: "assistant",
      content: reply.text === "" && toolCalls.length > 0 ? null : reply.text,
      refusal: null,
      annotations: [],
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
    }
    return {
      id: ctx.responseId,
      object: "chat.completion",
      created: ctx.created,
      model: ctx.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finish }],
      usage: usage(reply),
      service_tier: "default",
      system_fingerprint: "fp_fake"
    }
  },

  errorBody(status, message) {
    const [type, code] = errorKind(status)
    return { error: { message: message ?? `${defaultMessage(status)} (fake LLM)`, type, param: null, code } }
  },

  errorHeaders(status, retryAfter): Record<string, string> {
    if (status !== 429) return {}
    return {
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": `${retryAfter ?? 1}s`
    }
  },

  models(ids) {
    return {
      object: "list",
      data: ids.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" }))
    }
  }
}

const usage = (reply: Reply) => ({
  prompt_tokens: reply.usage.input,
  completion_tokens: reply.usage.output,
  total_tokens: reply.usage.input + reply.usage.output,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 }
})

const errorKind = (status: number): [type: string, code: string | null] => {
  if (status === 401) return ["invalid_request_error", "invalid_api_key"]
  if (status === 404) return ["invalid_request_error", "model_not_found"]
  if (status === 429) return ["requests", "rate_limit_exceeded"]
  if (status >= 500) return ["server_error", null]
  return ["invalid_request_error", null]
}

const defaultMessage = (status: number): string => {
  if (status === 401) return "Incorrect API key provided"
  if (status === 404) return "The model does not exist"
  if (status === 429) return "Rate limit reached for requests"
  if (status >= 500) return "The server had an error while processing your request"
  return "Invalid request"
}
