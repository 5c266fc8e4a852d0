import type { Reply, RequestFacts } from "./Reply.ts"

/** Which API a request spoke. */
export type Api = "openai" | "anthropic"

/** Per-response identifiers, minted by the server. */
export interface WireContext {
  readonly responseId: string
  readonly requestId: string
  readonly model: string
  /** Unix seconds. */
  readonly created: number
}

/** A streamed reply rendered as complete SSE events (each ends with a blank line). */
export interface SsePlan {
  readonly events: readonly string[]
  /** Indexes into `events` of the content deltas (text or tool-argument fragments), in order. */
  readonly deltaIndexes: readonly number[]
  /** Index of the first event after the content (the finish chunk / message_delta trailer). */
  readonly trailerIndex: number
}

/** One API's wire format: how to read a request and how to write replies, errors and model lists. */
export interface Wire {
  readonly api: Api
  readonly toolIdPrefix: string
  /** Response header that carries the request id the SDK exposes as `err.requestID`. */
  readonly requestIdHeader: string
  facts(body: any): RequestFacts & { readonly includeUsage: boolean }
  sse(reply: Reply, ctx: WireContext, includeUsage: boolean): SsePlan
  json(reply: Reply, ctx: WireContext): unknown
  errorBody(status: number, message: string | undefined, ctx: WireContext): unknown
  /** Extra headers for an error status (rate-limit headers on a 429). */
  errorHeaders(status: number, retryAfter: number | undefined): Record<string, string>
  models(ids: readonly string[]): unknown
}

/** Text of one message content value: a string, or an array of parts/blocks with `text` (or nested `content`). */
export const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  const parts: string[] = []
  for (const part of content) {
    if (part === null || typeof part !== "object") continue
    if (typeof part.text === "string") parts.push(part.text)
    else if (part.type === "tool_result") parts.push(contentText(part.content))
  }
  return parts.join("\n")
}

/** Text of user-authored parts only (no tool results), for the echo reply. */
export const userText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  return content
    .filter((part) => part !== null && typeof part === "object" && typeof part.text === "string")
    .map((part) => part.text as string)
    .join("\n")
}
