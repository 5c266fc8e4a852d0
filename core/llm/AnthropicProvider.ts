/**
 * Anthropic Messages through `@anthropic-ai/sdk`: the system prompt as the top-level `system`, tool calls as
 * `tool_use` blocks and their results as `tool_result` blocks in the next user message, images as base64 (or URL)
 * source blocks.
 *
 * The SDK's own retries are off (`maxRetries: 0`): the agent loop owns retries, so a retry is never doubled.
 */
import type Anthropic from "@anthropic-ai/sdk"
import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  RawMessageStreamEvent,
  ToolUnion
} from "@anthropic-ai/sdk/resources/messages"
import { type ChunkReader, completionStream, sdkCompletion } from "./internal/completion.ts"
import { lookupModel, type ModelOverrides } from "./ModelTable.ts"
import type { ChatMessage, ChatRequest, ContentPart, FinishReason, LlmProvider, ToolCall } from "./Provider.ts"

export interface AnthropicProviderOptions {
  readonly name: string
  /** Default `https://api.anthropic.com` (the SDK appends `/v1/messages`). */
  readonly baseUrl?: string | undefined
  readonly apiKey?: string | undefined
  readonly defaultModel?: string | undefined
  readonly timeoutMs: number
  readonly maxRetries: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly models?: ModelOverrides | undefined
}

/**
 * An Anthropic provider.
 *
 * @example
 * const claude = makeAnthropicProvider({ name: "anthropic", apiKey, timeoutMs: 60_000, maxRetries: 2 })
 */
export const makeAnthropicProvider = (options: AnthropicProviderOptions): LlmProvider => {
  // Always pass the key and base URL: left out, the SDK reads ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL or a profile.
  // The SDK is loaded on the first call: a runtime whose personas never use this API never loads it (faster start).
  let client: Promise<Anthropic> | undefined
  const clientOf = () => {
    client ??= import("@anthropic-ai/sdk").then(
      ({ default: Anthropic }) =>
        new Anthropic({
          apiKey: options.apiKey || "none",
          baseURL: options.baseUrl ?? "https://api.anthropic.com",
          maxRetries: 0,
          timeout: options.timeoutMs,
          ...(options.headers === undefined ? {} : { defaultHeaders: { ...options.headers } })
        })
    )
    return client
  }
  const secrets = [options.apiKey, ...Object.values(options.headers ?? {})]
  const start = (request: ChatRequest) =>
    sdkCompletion<RawMessageStreamEvent>({
      provider: options.name,
      model: request.model,
      timeoutMs: request.timeoutMs,
      secrets,
      open: async (signal) =>
        (await clientOf()).messages.create(requestBody(request), { signal, timeout: request.timeoutMs, maxRetries: 0 }),
      reader: eventReader
    })
  return {
    name: options.name,
    api: "anthropic",
    defaultModel: options.defaultModel,
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries,
    supportsVision: (model) => lookupModel(model, options.models).vision,
    contextWindow: (model) => lookupModel(model, options.models).contextWindow,
    start,
    stream: (request) => completionStream(() => start(request))
  }
}

export const requestBody = (request: ChatRequest): MessageCreateParamsStreaming => {
  const tools: ToolUnion[] | undefined =
    request.tools !== undefined && request.tools.length > 0
      ? request.tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          input_schema: { type: "object" as const, ...tool.parameters }
        }))
      : undefined
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.system === "" ? {} : { system: request.system }),
    messages: toWireMessages(request.messages),
    stream: true,
    // Anthropic's temperature range is 0..1; personas may say up to 2 (the OpenAI range).
    ...(request.temperature === undefined ? {} : { temperature: Math.min(1, request.temperature) }),
    ...(tools === undefined
      ? {}
      : { tools, ...(request.toolChoice === "none" ? { tool_choice: { type: "none" } } : {}) })
  }
}

/**
 * Anthropic wants user and assistant turns to alternate, starting with a user turn, with tool results in the user
 * turn right after the `tool_use`: consecutive messages of one role are merged (tool results first).
 */
export const toWireMessages = (messages: ReadonlyArray<ChatMessage>): MessageParam[] => {
  const out: Array<{ role: "user" | "assistant"; content: ContentBlockParam[] }> = []
  const push = (role: "user" | "assistant", blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return
    const last = out.at(-1)
    if (last !== undefined && last.role === role) {
      if (role === "user" && blocks[0]?.type === "tool_result") {
        // Tool results must lead the user turn.
        const firstNonResult = last.content.findIndex((block) => block.type !== "tool_result")
        if (firstNonResult >= 0) {
          last.content.splice(firstNonResult, 0, ...blocks)
          return
        }
      }
      last.content.push(...blocks)
    } else {
      out.push({ role, content: blocks })
    }
  }
  for (const message of messages) {
    switch (message.role) {
      case "user":
        push(
          "user",
          typeof message.content === "string"
            ? textBlocks(message.content)
            : message.content.flatMap((part) => toWirePart(part))
        )
        break
      case "assistant": {
        const blocks: ContentBlockParam[] = textBlocks(message.content.trimEnd())
        for (const call of message.toolCalls ?? []) {
          blocks.push({ type: "tool_use", id: call.id, name: call.name, input: parseInput(call.arguments) })
        }
        push("assistant", blocks)
        break
      }
      case "tool":
        push("user", [{ type: "tool_result", tool_use_id: message.toolCallId, content: message.content || "(empty)" }])
        break
    }
  }
  if (out[0]?.role === "assistant")
    out.unshift({ role: "user", content: [{ type: "text", text: "(conversation continues)" }] })
  return out
}

const textBlocks = (text: string): ContentBlockParam[] => (text === "" ? [] : [{ type: "text", text }])

const imageTypes = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

const toWirePart = (part: ContentPart): ContentBlockParam[] => {
  if (part.type === "text") return textBlocks(part.text)
  if (part.data !== undefined && imageTypes.has(part.mime)) {
    const source = { type: "base64", media_type: part.mime as "image/png", data: part.data } as const
    return [{ type: "image", source } satisfies ImageBlockParam]
  }
  if (part.url !== undefined) return [{ type: "image", source: { type: "url", url: part.url } }]
  return textBlocks(`(an image in a format the model cannot read: ${part.mime})`)
}

const parseInput = (args: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(args)
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

const finishReason = (reason: string | null | undefined): FinishReason => {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "other"
  }
}

const eventReader = (): ChunkReader<RawMessageStreamEvent> => {
  const calls = new Map<number, { id: string; name: string; json: string }>()
  let stop: string | null | undefined
  let stopped = false
  let input = 0
  let output = 0
  return {
    read: (event, emit) => {
      switch (event.type) {
        case "message_start": {
          const usage = event.message.usage
          input =
            (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0)
          output = usage.output_tokens ?? 0
          break
        }
        case "content_block_start":
          if (event.content_block.type === "tool_use") {
            calls.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: "" })
          } else if (event.content_block.type === "text" && event.content_block.text) {
            emit({ _tag: "TextDelta", text: event.content_block.text })
          }
          break
        case "content_block_delta":
          if (event.delta.type === "text_delta") {
            if (event.delta.text) emit({ _tag: "TextDelta", text: event.delta.text })
          } else if (event.delta.type === "input_json_delta") {
            const call = calls.get(event.index)
            if (call !== undefined) call.json += event.delta.partial_json
          }
          break
        case "message_delta":
          stop = event.delta.stop_reason
          if (event.usage.output_tokens != null) output = event.usage.output_tokens
          if (event.usage.input_tokens != null && event.usage.input_tokens > input) input = event.usage.input_tokens
          break
        case "message_stop":
          stopped = true
          break
      }
    },
    finish: () => {
      if (!stopped) return undefined
      const toolCalls: ToolCall[] = [...calls.values()].map((call) => ({
        id: call.id,
        name: call.name,
        arguments: call.json === "" ? "{}" : call.json
      }))
      return {
        _tag: "Finished",
        finishReason: toolCalls.length > 0 ? "tool_calls" : finishReason(stop),
        usage: { input, output },
        toolCalls
      }
    }
  }
}
