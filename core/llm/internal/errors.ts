/**
 * Turning whatever an SDK (or Bun's fetch) throws into an `LlmError` with a retry-relevant kind and a detail that is
 * free of secrets.
 */
import { LlmError, type LlmErrorKind } from "../Provider.ts"

const REDACTED = "[redacted]"

/** Shapes of credentials that may show up in an error message even when nobody told us the value. */
const secretPatterns: ReadonlyArray<RegExp> = [
  // `Authorization: Bearer …`, `x-api-key: …`, `"authorization":"…"`
  /((?:proxy-)?authorization|x-api-key|api-key)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"',;]+/gi,
  /(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  // Provider keys: OpenAI / Anthropic `sk-…`, Groq `gsk_…`, Perplexity `pplx-…`, OpenRouter `sk-or-…`, xAI, HF.
  /(?<![A-Za-z0-9_-])(?:sk-|gsk_|pplx-|xai-|hf_)[A-Za-z0-9_-]{8,}/g,
  // `api_key=…`, `key=…` in query strings and env dumps.
  /((?:api[_-]?key|apikey|access[_-]?token|token|key)=)[^&\s"',;]+/gi
]

/**
 * Remove `secrets` (exact values, e.g. the provider's API key) and well-known credential shapes from `text`.
 *
 * @example
 * scrubSecrets("401 Incorrect API key provided: sk-abc123…", ["sk-abc123…"]) // "401 Incorrect API key provided: [redacted]"
 */
export const scrubSecrets = (text: string, secrets: ReadonlyArray<string | undefined> = []): string => {
  let out = text
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join(REDACTED)
  }
  for (const pattern of secretPatterns) {
    out = out.replace(pattern, (_match, ...groups) => {
      const kept = groups.slice(0, -2).filter((group): group is string => typeof group === "string")
      return kept.length > 0 ? `${kept.join("")}${REDACTED}` : REDACTED
    })
  }
  return out
}

const MAX_DETAIL = 400

interface ErrorLike {
  readonly name?: unknown
  readonly message?: unknown
  readonly status?: unknown
  readonly code?: unknown
  readonly headers?: unknown
  readonly error?: unknown
  readonly cause?: unknown
}

/** `retry-after-ms` (milliseconds), else `retry-after` (seconds or an HTTP date), from a `Headers`-like object. */
export const retryAfterMs = (headers: unknown, now: number = Date.now()): number | undefined => {
  const get = (name: string): string | null | undefined =>
    headers !== null && typeof headers === "object" && typeof (headers as Headers).get === "function"
      ? (headers as Headers).get(name)
      : undefined
  const ms = get("retry-after-ms")
  if (ms) {
    const value = Number.parseFloat(ms)
    if (Number.isFinite(value) && value >= 0) return Math.round(value)
  }
  const after = get("retry-after")
  if (after) {
    const seconds = Number.parseFloat(after)
    if (Number.isFinite(seconds) && /^\s*[\d.]+\s*$/.test(after)) return Math.max(0, Math.round(seconds * 1000))
    const date = Date.parse(after)
    if (Number.isFinite(date)) return Math.max(0, date - now)
  }
  return undefined
}

const kindOfStatus = (status: number): LlmErrorKind => {
  if (status === 429) return "rate_limit"
  if (status === 408) return "timeout"
  if (status === 401 || status === 402 || status === 403) return "auth"
  // 409 (a conflict / lock) and 425 are transient in practice; both SDKs retry them.
  if (status === 409 || status === 425) return "overloaded"
  if (status >= 500) return "overloaded"
  return "bad_request"
}

/** Error `type`s both APIs put in error bodies and mid-stream `error` events. */
const kindOfType = (type: string): LlmErrorKind | undefined => {
  if (type.includes("rate_limit")) return "rate_limit"
  if (type.includes("overloaded") || type === "api_error" || type === "server_error") return "overloaded"
  if (type.includes("timeout")) return "timeout"
  if (type.includes("authentication") || type.includes("permission") || type.includes("billing")) return "auth"
  if (type.includes("invalid_request") || type.includes("not_found") || type.includes("too_large")) return "bad_request"
  return undefined
}

const connectionCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ConnectionRefused",
  "ConnectionClosed",
  "UND_ERR_SOCKET"
])

const bodyType = (error: unknown): string | undefined => {
  if (error === null || typeof error !== "object") return undefined
  const record = error as { type?: unknown; error?: { type?: unknown } }
  if (typeof record.error?.type === "string") return record.error.type
  return typeof record.type === "string" ? record.type : undefined
}

/**
 * Classify anything thrown while calling a provider. `secrets` are removed from the detail (the provider's API key);
 * well-known credential shapes are removed too.
 */
export const classifyError = (
  provider: string,
  model: string,
  thrown: unknown,
  secrets: ReadonlyArray<string | undefined> = []
): LlmError => {
  if (thrown instanceof LlmError) return thrown
  const error = (thrown !== null && typeof thrown === "object" ? thrown : { message: String(thrown) }) as ErrorLike
  const name = typeof error.name === "string" ? error.name : ""
  const message = typeof error.message === "string" ? error.message : String(thrown)
  const status = typeof error.status === "number" ? error.status : undefined
  const code = typeof error.code === "string" ? error.code : undefined
  const causeCode =
    error.cause !== null && typeof error.cause === "object" && typeof (error.cause as ErrorLike).code === "string"
      ? ((error.cause as ErrorLike).code as string)
      : undefined

  let kind: LlmErrorKind
  let retryAfter: number | undefined
  if (status !== undefined) {
    kind = kindOfStatus(status)
    if (kind === "rate_limit" || kind === "overloaded") retryAfter = retryAfterMs(error.headers)
  } else if (name === "APIConnectionTimeoutError" || name === "TimeoutError" || /timed? ?out/i.test(message)) {
    kind = "timeout"
  } else if (
    name === "APIConnectionError" ||
    (code !== undefined && connectionCodes.has(code)) ||
    (causeCode !== undefined && connectionCodes.has(causeCode)) ||
    /socket|connection|network|fetch failed|ECONNRESET/i.test(message)
  ) {
    kind = "connection"
  } else {
    // A mid-stream `error` event: no status, but the body says what it was.
    const type = bodyType(error.error)
    kind = (type !== undefined ? kindOfType(type) : undefined) ?? "other"
  }
  const codeNote = code !== undefined && !message.includes(code) ? ` (${code})` : ""
  const detail = scrubSecrets(`${name && name !== "Error" ? `${name}: ` : ""}${message}${codeNote}`, secrets)
  return new LlmError({
    provider,
    model,
    kind,
    ...(status === undefined ? {} : { status }),
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail
  })
}
