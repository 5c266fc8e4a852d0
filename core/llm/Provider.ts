/**
 * The one interface every LLM provider implements: a streamed chat with tool calls, usage and a finish reason.
 * OpenAI (and every OpenAI-compatible server: Groq, Ollama, OpenRouter, Perplexity, Together) and Anthropic implement
 * it in this folder; the agent loop only sees this module.
 */
import { type Effect, Schema, type Stream } from "effect"

export interface TextPart {
  readonly type: "text"
  readonly text: string
}
export interface ImagePart {
  readonly type: "image"
  readonly mime: string
  /** Base64 content, or */
  readonly data?: string
  /** a URL the provider fetches itself. */
  readonly url?: string
}
export type ContentPart = TextPart | ImagePart

export interface ToolCall {
  readonly id: string
  readonly name: string
  /** JSON text, as the model produced it (it may be invalid JSON). */
  readonly arguments: string
}

export type ChatMessage =
  | { readonly role: "user"; readonly content: string | ReadonlyArray<ContentPart>; readonly name?: string }
  | { readonly role: "assistant"; readonly content: string; readonly toolCalls?: ReadonlyArray<ToolCall> }
  | { readonly role: "tool"; readonly toolCallId: string; readonly name: string; readonly content: string }

/** A tool as the model sees it. */
export interface ToolSpec {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments object. */
  readonly parameters: Readonly<Record<string, unknown>>
}

export interface ChatRequest {
  readonly model: string
  readonly system: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tools?: ReadonlyArray<ToolSpec>
  /** `none`: the model must answer in text even though tools exist (used past `max_tool_iterations`). */
  readonly toolChoice?: "auto" | "none"
  readonly maxTokens: number
  readonly temperature?: number
  /**
   * The longest the call may wait for data: for the response to start, then between two streamed chunks. A stream
   * that keeps producing is not cut off; a stalled one fails with kind `timeout`.
   */
  readonly timeoutMs: number
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "other"

export interface Usage {
  readonly input: number
  readonly output: number
}

export type StreamEvent =
  | { readonly _tag: "TextDelta"; readonly text: string }
  | {
      readonly _tag: "Finished"
      readonly finishReason: FinishReason
      readonly usage: Usage
      /** Complete tool calls (streamed fragments already joined). */
      readonly toolCalls: ReadonlyArray<ToolCall>
    }

/** Why a provider call failed, classified for retry decisions. */
export const LlmErrorKind = Schema.Literal(
  "rate_limit", // 429: retry after `retryAfterMs`
  "overloaded", // 5xx, 529
  "timeout",
  "connection", // reset, refused, stream cut mid-way
  "auth", // 401/403: never retried
  "bad_request", // 400/404/422: never retried
  "budget", // daily token cap reached
  "other"
)
export type LlmErrorKind = typeof LlmErrorKind.Type

export class LlmError extends Schema.TaggedError<LlmError>()("LlmError", {
  provider: Schema.String,
  model: Schema.String,
  kind: LlmErrorKind,
  status: Schema.optional(Schema.Number),
  retryAfterMs: Schema.optional(Schema.Number),
  /** Already free of secrets. */
  detail: Schema.String
}) {
  override get message() {
    return `${this.provider}/${this.model}: ${this.kind}${this.status ? ` (${this.status})` : ""}: ${this.detail}`
  }
  get transient(): boolean {
    return (
      this.kind === "rate_limit" || this.kind === "overloaded" || this.kind === "timeout" || this.kind === "connection"
    )
  }
}

/**
 * One completion, read event by event: each `next` gives the following event, `Finished` last (do not call `next`
 * after it). Nothing is sent before the first `next`. `cancel` aborts the HTTP request; it is idempotent and harmless
 * after `Finished`. Interrupting a pending `next` cancels too.
 */
export interface Completion {
  readonly next: Effect.Effect<StreamEvent, LlmError>
  /**
   * The next event if it is already here, without waiting (else `undefined`: then use `next`, which also reports
   * failures). Optional: it lets a reader take a burst of buffered events in one go instead of one Effect step each.
   */
  readonly poll?: () => StreamEvent | undefined
  readonly cancel: () => void
}

export interface LlmProvider {
  /** The name personas use (`groq`, `anthropic`, …). */
  readonly name: string
  readonly api: "openai" | "anthropic" | "echo" | "memory"
  readonly defaultModel: string | undefined
  /** Timeout of one call when the persona sets none (`providers.<name>.timeout`): the longest wait for data. */
  readonly timeoutMs: number
  /** Retries of transient errors before the agent loop falls back (`providers.<name>.max_retries`). */
  readonly maxRetries: number
  /**
   * Stream one completion. Text deltas come as they arrive; `Finished` comes last. Interrupting the stream cancels the
   * HTTP request. The provider makes exactly one attempt: retries and fallbacks belong to the agent loop.
   */
  stream(request: ChatRequest): Stream.Stream<StreamEvent, LlmError>
  /**
   * The same completion as a pull-based reader: what the agent loop uses, since running an Effect `Stream` costs about
   * 0.2 ms per call on Bun. The caller must `cancel` when it stops reading early.
   */
  start(request: ChatRequest): Completion
  /** Whether the model takes images. */
  supportsVision(model: string): boolean
  /** Context window of the model in tokens (a conservative default when unknown). */
  contextWindow(model: string): number
}
