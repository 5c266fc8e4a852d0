/**
 * OpenAI Chat Completions through the `openai` SDK, for OpenAI itself and every OpenAI-compatible server (Groq,
 * Ollama, OpenRouter, Perplexity, Together, a local vLLM or LM Studio via `base_url`).
 *
 * The SDK's own retries are off (`maxRetries: 0`): the agent loop owns retries, so a retry is never doubled.
 */
import type OpenAI from "openai"
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool
} from "openai/resources/chat/completions"
import { type ChunkReader, completionStream, sdkCompletion } from "./internal/completion.ts"
import { lookupModel, type ModelOverrides } from "./ModelTable.ts"
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  FinishReason,
  LlmProvider,
  ToolCall,
  ToolSpec
} from "./Provider.ts"

export interface OpenAiProviderOptions {
  /** The name personas use (`openai`, `groq`, `my-vllm`, …). */
  readonly name: string
  /** e.g. `https://api.groq.com/openai/v1`. */
  readonly baseUrl: string
  /** Servers that need none (Ollama) get a placeholder; the SDK would otherwise read `OPENAI_API_KEY`. */
  readonly apiKey?: string | undefined
  readonly defaultModel?: string | undefined
  readonly timeoutMs: number
  readonly maxRetries: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly models?: ModelOverrides | undefined
  /** Every model's context window is at most this (Ollama serves a small default context whatever the model). */
  readonly contextCap?: number | undefined
  /**
   * Send `max_completion_tokens` instead of `max_tokens` (OpenAI's own API, required by its reasoning models);
   * compatible servers still expect `max_tokens`. Default: true for api.openai.com.
   */
  readonly maxCompletionTokens?: boolean | undefined
}

/**
 * An OpenAI-compatible provider.
 *
 * @example
 * const groq = makeOpenAiProvider({ name: "groq", baseUrl: "https://api.groq.com/openai/v1", apiKey, timeoutMs: 60_000, maxRetries: 2 })
 */
export const makeOpenAiProvider = (options: OpenAiProviderOptions): LlmProvider => {
  const official = /(^|\.)openai\.com$/.test(safeHost(options.baseUrl))
  // The SDK is loaded on the first call: a runtime whose personas never use this API never loads it (faster start).
  let client: Promise<OpenAI> | undefined
  const clientOf = () => {
    client ??= import("openai").then(
      ({ default: OpenAI }) =>
        new OpenAI({
          apiKey: options.apiKey || "none",
          baseURL: options.baseUrl,
          adminAPIKey: null,
          organization: null,
          project: null,
          maxRetries: 0,
          timeout: options.timeoutMs,
          ...(options.headers === undefined ? {} : { defaultHeaders: { ...options.headers } })
        })
    )
    return client
  }
  const useCompletionTokens = options.maxCompletionTokens ?? official
  const secrets = [options.apiKey, ...Object.values(options.headers ?? {})]

  const start = (request: ChatRequest) =>
    sdkCompletion<ChatCompletionChunk>({
      provider: options.name,
      model: request.model,
      timeoutMs: request.timeoutMs,
      secrets,
      open: async (signal) =>
        (await clientOf()).chat.completions.create(requestBody(request, useCompletionTokens), {
          signal,
          timeout: request.timeoutMs,
          maxRetries: 0
        }),
      reader: chunkReader
    })

  return {
    name: options.name,
    api: "openai",
    defaultModel: options.defaultModel,
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries,
    supportsVision: (model) => lookupModel(model, options.models, options.contextCap).vision,
    contextWindow: (model) => lookupModel(model, options.models, options.contextCap).contextWindow,
    start,
    stream: (request) => completionStream(() => start(request))
  }
}

const safeHost = (url: string): string => {
  try {
    return new URL(url).hostname
  } catch {
    return ""
  }
}

/** OpenAI's reasoning models take no `temperature` other than the default. */
const fixedTemperature = (model: string) => /^(?:o\d|gpt-[56])/.test(model.slice(model.lastIndexOf("/") + 1))

export const requestBody = (request: ChatRequest, completionTokens: boolean): ChatCompletionCreateParamsStreaming => {
  const messages: ChatCompletionMessageParam[] = []
  if (request.system !== "") messages.push({ role: "system", content: request.system })
  for (const message of request.messages) messages.push(toWire(message))
  const tools = request.tools !== undefined && request.tools.length > 0 ? request.tools.map(toWireTool) : undefined
  return {
    model: request.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(completionTokens ? { max_completion_tokens: request.maxTokens } : { max_tokens: request.maxTokens }),
    ...(request.temperature === undefined || (completionTokens && fixedTemperature(request.model))
      ? {}
      : { temperature: request.temperature }),
    ...(tools === undefined
      ? {}
      : { tools, ...(request.toolChoice === "none" ? { tool_choice: "none" as const } : {}) })
  }
}

const toWireTool = (tool: ToolSpec): ChatCompletionTool => ({
  type: "function",
  function: { name: tool.name, description: tool.description, parameters: { ...tool.parameters } }
})

const toWire = (message: ChatMessage): ChatCompletionMessageParam => {
  switch (message.role) {
    case "user":
      return {
        role: "user",
        content: typeof message.content === "string" ? message.content : message.content.map(toWirePart)
      }
    case "assistant":
      return message.toolCalls !== undefined && message.toolCalls.length > 0
        ? {
            role: "assistant",
            content: message.content === "" ? null : message.content,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: "function" as const,
              function: { name: call.name, arguments: call.arguments }
            }))
          }
        : { role: "assistant", content: message.content }
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content }
  }
}

const toWirePart = (part: ContentPart): ChatCompletionContentPart =>
  part.type === "text"
    ? { type: "text", text: part.text }
    : {
        type: "image_url",
        image_url: { url: part.data !== undefined ? `data:${part.mime};base64,${part.data}` : (part.url ?? "") }
      }

const finishReason = (reason: string | null | undefined): FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool_calls"
    case "content_filter":
      return "content_filter"
    default:
      return "other"
  }
}

interface PartialCall {
  id: string
  name: string
  arguments: string
}

const chunkReader = (): ChunkReader<ChatCompletionChunk> => {
  const calls: PartialCall[] = []
  let finish: string | null | undefined
  let usage = { input: 0, output: 0 }
  return {
    read: (chunk, emit) => {
      const choice = chunk.choices[0]
      if (choice !== undefined) {
        const delta = choice.delta
        if (delta?.content) emit({ _tag: "TextDelta", text: delta.content })
        if (delta?.tool_calls) {
          for (const fragment of delta.tool_calls) {
            // Some compatible servers send whole calls without `index`: each is then a call of its own.
            const index = fragment.index ?? calls.length
            let call = calls[index]
            if (call === undefined) {
              call = { id: "", name: "", arguments: "" }
              calls[index] = call
            }
            if (fragment.id) call.id = fragment.id
            if (fragment.function?.name) call.name += fragment.function.name
            if (fragment.function?.arguments) call.arguments += fragment.function.arguments
          }
        }
        if (choice.finish_reason) finish = choice.finish_reason
      }
      // Usage comes in the last chunk (`stream_options.include_usage`); Groq also puts it under `x_groq`.
      const reported = chunk.usage ?? (chunk as { x_groq?: { usage?: ChatCompletionChunk["usage"] } }).x_groq?.usage
      if (reported) usage = { input: reported.prompt_tokens ?? 0, output: reported.completion_tokens ?? 0 }
    },
    finish: () => {
      if (finish === undefined || finish === null) return undefined
      const toolCalls: ToolCall[] = calls
        .filter((call) => call !== undefined && call.name !== "")
        .map((call, i) => ({ id: call.id || `call_${i}`, name: call.name, arguments: call.arguments || "{}" }))
      // Ollama and others finish with `stop` even when they called tools.
      const reason = toolCalls.length > 0 ? "tool_calls" : finishReason(finish)
      return { _tag: "Finished", finishReason: reason, usage, toolCalls }
    }
  }
}
