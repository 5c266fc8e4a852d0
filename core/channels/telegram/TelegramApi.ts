/**
 * grammY's Bot API client behind Effect, with the retry rules Troupe needs. We own the retries (no auto-retry
 * plugin), because only here do we know whether a call may be repeated:
 *
 * - 429 `retry_after` is honoured for every method (flood control refuses the call, so repeating it is safe).
 * - 5xx answers, gateway pages and network errors are retried with backoff for calls that are safe to repeat
 *   (reads, edits, chat actions, setup calls). A `sendMessage` is not: when the request may have reached Telegram
 *   (a timeout, a reset connection, a 5xx) its outcome is unknown and it fails as `unknown`, never resent. Only a
 *   refused connection (the request never left) is retried for a send.
 * - 401 means the token was revoked: the channel is told once (`onUnauthorized`) and the call fails.
 *
 * Requests go through Bun's own `fetch` (grammY's Node build would use node-fetch with keep-alive agents that outlive
 * the channel); a gateway's HTML error page becomes an error carrying its HTTP status.
 */
import { Data, Duration, Effect } from "effect"
import { Api, GrammyError, HttpError } from "grammy"

export type CallErrorKind =
  /** The token was revoked or is wrong (401). */
  | "unauthorized"
  /** Telegram could not parse the HTML (400 "can't parse entities"). */
  | "parse"
  /** An edit to the text the message already has (400 "message is not modified"). */
  | "not_modified"
  /** Telegram refused the call for good (4xx): nothing happened. */
  | "rejected"
  /** A temporary failure that was not (or could not be) retried: nothing happened. */
  | "transient"
  /** The request may have been applied: a timeout or server error after it left. Never repeat it blindly. */
  | "unknown"

export class TelegramCallError extends Data.TaggedError("TelegramCallError")<{
  readonly method: string
  readonly kind: CallErrorKind
  /** Telegram's `error_code` or the HTTP status, when there was one. */
  readonly code: number | undefined
  readonly reason: string
}> {
  override get message() {
    return `${this.method}: ${this.reason}`
  }
}

/** The abort signal type grammY's Node build declares (a native `AbortSignal` works at runtime). */
export type ApiSignal = NonNullable<Parameters<Api["getMe"]>[0]>

export interface CallPolicy {
  /** Repeating the call cannot duplicate anything (not true of `sendMessage`). */
  readonly idempotent: boolean
  /** How long one attempt may take. */
  readonly timeoutMs: number
  /** Attempts for 5xx and network errors (429s are waited out and do not count). Default 4 when idempotent, else 2. */
  readonly attempts?: number
}

export interface TelegramApiOptions {
  readonly token: string
  readonly apiRoot: string
  /** Run on every 401 (the channel marks itself failed, once). */
  readonly onUnauthorized: (method: string) => Effect.Effect<void>
  /** Longest `retry_after` worth waiting for; a longer one fails the call. Default 5 minutes. */
  readonly maxRetryAfterMs?: number
  /** First backoff pause after a transient error (doubles each time, up to 10 s). Default 250 ms. */
  readonly backoffMs?: number
}

export interface TelegramApi {
  /** Run one Bot API call under the retry rules. */
  readonly call: <A>(
    method: string,
    run: (api: Api, signal: ApiSignal) => Promise<A>,
    policy: CallPolicy
  ) => Effect.Effect<A, TelegramCallError>
  /** Download a file by its `file_path` (from getFile). The URL holds the token: never log it. */
  readonly download: (filePath: string, timeoutMs: number) => Effect.Effect<Uint8Array, TelegramCallError>
}

/** A gateway's non-JSON error page (502/504 from nginx), as an error grammY wraps into its `HttpError`. */
class GatewayStatus extends Error {
  constructor(
    readonly status: number,
    readonly statusText: string
  ) {
    super(`HTTP ${status} ${statusText}`)
  }
}

/** Bun's fetch with grammY's (polyfilled) abort signal bridged to a native one, and gateway pages as errors. */
const bunFetch = (async (url: string, init: RequestInit & { agent?: unknown; compress?: unknown } = {}) => {
  const { agent: _agent, compress: _compress, signal, ...rest } = init
  const controller = new AbortController()
  if (signal) {
    if (signal.aborted) controller.abort()
    else signal.addEventListener("abort", () => controller.abort(), { once: true })
  }
  const response = await fetch(url, { ...rest, signal: controller.signal })
  if (!response.ok && !(response.headers.get("content-type") ?? "").includes("json")) {
    await response.body?.cancel()
    throw new GatewayStatus(response.status, response.statusText)
  }
  return response
}) as unknown as typeof fetch

const refusedCodes = new Set(["ECONNREFUSED", "ConnectionRefused", "ENOTFOUND", "EAI_AGAIN"])

/** The request never reached the server, so even a send may be repeated. */
const neverLeft = (error: unknown): boolean => {
  const cause = error instanceof HttpError ? error.error : error
  const code = (cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" && refusedCodes.has(code)
}

type Outcome =
  | { readonly retry: "after"; readonly ms: number; readonly error: TelegramCallError }
  | { readonly retry: "backoff"; readonly error: TelegramCallError }
  | { readonly retry: "no"; readonly error: TelegramCallError }

const classify = (method: string, error: unknown, policy: CallPolicy, timedOut: boolean): Outcome => {
  const make = (kind: CallErrorKind, code: number | undefined, reason: string) =>
    new TelegramCallError({ method, kind, code, reason })
  if (timedOut) {
    const failure = make(
      policy.idempotent ? "transient" : "unknown",
      undefined,
      `timed out after ${policy.timeoutMs} ms`
    )
    return policy.idempotent ? { retry: "backoff", error: failure } : { retry: "no", error: failure }
  }
  if (error instanceof GrammyError) {
    const code = error.error_code
    const reason = `${code} ${error.description}`
    if (code === 429) {
      const seconds = error.parameters.retry_after ?? 1
      return { retry: "after", ms: Math.max(0, seconds) * 1000, error: make("transient", code, reason) }
    }
    if (code === 401 || (code === 404 && method === "getMe"))
      return { retry: "no", error: make("unauthorized", code, reason) }
    if (code >= 500) {
      return policy.idempotent
        ? { retry: "backoff", error: make("transient", code, reason) }
        : { retry: "no", error: make("unknown", code, reason) }
    }
    if (/can't parse entities/i.test(error.description)) return { retry: "no", error: make("parse", code, reason) }
    if (/message is not modified/i.test(error.description)) {
      return { retry: "no", error: make("not_modified", code, reason) }
    }
    return { retry: "no", error: make("rejected", code, reason) }
  }
  const cause = error instanceof HttpError ? error.error : error
  const status = cause instanceof GatewayStatus ? cause.status : undefined
  const reason = error instanceof Error ? error.message : String(error)
  if (policy.idempotent || neverLeft(error)) return { retry: "backoff", error: make("transient", status, reason) }
  return { retry: "no", error: make("unknown", status, reason) }
}

export const makeTelegramApi = (options: TelegramApiOptions): TelegramApi => {
  // grammY's own timeout is a backstop only: each call has its own (see `CallPolicy.timeoutMs`).
  const raw = new Api(options.token, { apiRoot: options.apiRoot, fetch: bunFetch, timeoutSeconds: 3600 })
  const maxRetryAfter = options.maxRetryAfterMs ?? 5 * 60_000
  const backoff = options.backoffMs ?? 250

  const attempt = <A>(method: string, run: (api: Api, signal: ApiSignal) => Promise<A>, policy: CallPolicy) =>
    Effect.tryPromise({ try: (signal) => run(raw, signal as unknown as ApiSignal), catch: (error) => error }).pipe(
      Effect.timeoutFail({ duration: Duration.millis(policy.timeoutMs), onTimeout: () => timeoutMarker }),
      Effect.mapError((error) => classify(method, error, policy, error === timeoutMarker))
    )

  const call = <A>(
    method: string,
    run: (api: Api, signal: ApiSignal) => Promise<A>,
    policy: CallPolicy
  ): Effect.Effect<A, TelegramCallError> =>
    Effect.gen(function* () {
      const attempts = policy.attempts ?? (policy.idempotent ? 4 : 2)
      let failures = 0
      let floods = 0
      let pause = backoff
      while (true) {
        const result = yield* Effect.either(attempt(method, run, policy))
        if (result._tag === "Right") return result.right
        const outcome = result.left
        if (outcome.error.kind === "unauthorized") yield* options.onUnauthorized(method)
        if (outcome.retry === "after") {
          floods++
          if (outcome.ms > maxRetryAfter || floods > maxFloodWaits) return yield* Effect.fail(outcome.error)
          yield* Effect.logDebug(`telegram ${method}: flood control, retrying in ${outcome.ms} ms`)
          yield* Effect.sleep(Duration.millis(outcome.ms))
          continue
        }
        failures++
        if (outcome.retry === "no" || failures >= attempts) return yield* Effect.fail(outcome.error)
        yield* Effect.logDebug(`telegram ${method}: ${outcome.error.reason}, retrying in ${pause} ms`)
        yield* Effect.sleep(Duration.millis(pause))
        pause = Math.min(10_000, pause * 2)
      }
    })

  const download = (filePath: string, timeoutMs: number) =>
    Effect.tryPromise({
      try: async (signal) => {
        const url = `${options.apiRoot}/file/bot${options.token}/${filePath}`
        const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) })
        if (!response.ok) throw new GatewayStatus(response.status, response.statusText)
        return new Uint8Array(await response.arrayBuffer())
      },
      catch: (error) =>
        new TelegramCallError({
          method: "download",
          kind: error instanceof GatewayStatus && error.status === 401 ? "unauthorized" : "transient",
          code: error instanceof GatewayStatus ? error.status : undefined,
          // The error of a failed fetch may quote the URL, which holds the token: keep only the status.
          reason: error instanceof GatewayStatus ? error.message : "download failed"
        })
    })

  return { call, download }
}

const timeoutMarker = Symbol("timeout")

/** 429s waited out for one call before giving up (flood control that never lifts is an outage). */
const maxFloodWaits = 10
