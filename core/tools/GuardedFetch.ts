/**
 * The host's `http.fetch`: every plugin's outbound HTTP (`ctx.http.fetch` and the global `fetch` inside a plugin
 * Worker) goes through it. Each request — the first and every redirect, followed here by hand — passes the SSRF guard
 * (`SsrfGuard.ts`) and is then sent **to the address the guard checked**: the URL's host is replaced by that address,
 * the `Host` header keeps the name, and for https the TLS server name (SNI and certificate check) keeps it too. No
 * second DNS lookup happens between the check and the connection, so DNS rebinding cannot slip a private address in.
 *
 * Its settings are `plugins.http_fetch` in config.yaml (they apply to every plugin, not only `http_fetch`):
 *
 * ```yaml
 * plugins:
 *   http_fetch:
 *     allow_hosts: ["127.0.0.1", "10.20.0.0/16", "wiki.internal"]  # reachable although not public
 *     allow_private: false   # true turns the address check off (metadata endpoints stay refused)
 *     only_hosts: ["*.wikipedia.org"]  # optional: nothing else may be reached
 *     timeout: 10s           # per request, redirects included
 *     max_bytes: 2097152     # response body cap
 *     max_redirects: 5
 * ```
 *
 * @example
 * const api = yield* HostApi
 * yield* api.register("http.fetch", guardedFetchHandler({ allowHosts: ["127.0.0.1"] }))
 */
import { Effect, Either, Schema } from "effect"
import { Millis, withDefault } from "../config/schemas.ts"
import { HostApi, HostError, type HostHandler, type WireResponse } from "../plugins/HostApi.ts"
import { formatDecodeError } from "../plugins/internal/decodeError.ts"
import { urlHost } from "./IpAddress.ts"
import { makeSsrfGuard, type SsrfGuardOptions, SsrfRefused } from "./SsrfGuard.ts"

export interface GuardedFetchOptions extends SsrfGuardOptions {
  /** For the whole request, redirects included (default 10 s). */
  readonly timeoutMs?: number
  /** Longest response body read (default 2 MiB); a longer one fails the request. */
  readonly maxResponseBytes?: number
  /** Default 5. */
  readonly maxRedirects?: number
  /** The fetch used (default: the global one). */
  readonly fetch?: typeof fetch
}

/** `plugins.http_fetch` as the host reads it. Keys only the plugin uses are ignored here (the plugin checks them). */
export const GuardConfig = Schema.Struct({
  allowHosts: withDefault("allow_hosts", Schema.Array(Schema.String), () => []),
  allowPrivate: withDefault("allow_private", Schema.Boolean, () => false),
  onlyHosts: Schema.optional(Schema.Array(Schema.String)).pipe(Schema.fromKey("only_hosts")),
  timeoutMs: withDefault("timeout", Millis, () => 10_000),
  maxResponseBytes: withDefault(
    "max_bytes",
    Schema.Int.pipe(Schema.between(1, 64 * 1024 * 1024)),
    () => 2 * 1024 * 1024
  ),
  maxRedirects: withDefault("max_redirects", Schema.Int.pipe(Schema.between(0, 10)), () => 5)
})

/** Options from the raw `plugins.http_fetch` value; `Left` with a readable message when it is malformed. */
export const guardOptionsFromConfig = (raw: unknown): Either.Either<GuardedFetchOptions, string> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(GuardConfig, { errors: "all", onExcessProperty: "ignore" })(raw ?? {}),
    (error) => `config.yaml ${formatDecodeError(error, ["plugins", "http_fetch"])}`
  )

const redirects = new Set([301, 302, 303, 307, 308])
/** Headers that describe the body as it came over the wire; the body handed on is already decoded. */
const wireOnly = new Set(["content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"])

const readCapped = async (response: Response, limit: number): Promise<ArrayBuffer> => {
  const reader = response.body?.getReader()
  if (!reader) return new ArrayBuffer(0)
  const chunks: Array<Uint8Array> = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw new Error(`the response is larger than ${limit} bytes`)
    }
    chunks.push(value)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body.buffer
}

/** A connection that failed before any answer (worth trying the host's next address). */
const unreachable = (error: unknown) =>
  /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ConnectionRefused|FailedToOpenSocket|ETIMEDOUT|Unable to connect/i.test(
    `${(error as { code?: string }).code ?? ""} ${(error as Error).message ?? ""}`
  )

/** Reject when `signal` aborts (DNS lookups cannot be cancelled, only abandoned). */
const abandonable = <A>(promise: Promise<A>, signal: AbortSignal): Promise<A> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort))
  })

export const guardedFetchHandler = (options: GuardedFetchOptions = {}): HostHandler<"http.fetch"> => {
  const guard = makeSsrfGuard(options)
  const doFetch = options.fetch ?? fetch
  const limit = options.maxResponseBytes ?? 2 * 1024 * 1024
  const maxRedirects = options.maxRedirects ?? 5

  const send = async (
    request: { url: string; method: string; headers: ReadonlyArray<readonly [string, string]>; body: unknown },
    signal: AbortSignal
  ): Promise<WireResponse> => {
    let url = new URL(request.url)
    let method = request.method.toUpperCase()
    let body = request.body as BodyInit | null
    const headers = new Headers(request.headers as Array<[string, string]>)
    headers.delete("host")
    for (let hop = 0; ; hop++) {
      const target = await abandonable(guard.check(url), signal)
      const sent = new Headers(headers)
      sent.set("host", url.host)
      // Connect to a checked address (the next one if it cannot be reached), never to a fresh lookup of the name.
      let response: Response | undefined
      for (const [i, address] of target.addresses.slice(0, 4).entries()) {
        const pinned = new URL(url)
        pinned.hostname = urlHost(address)
        const named = url.protocol === "https:" && pinned.hostname !== url.hostname
        try {
          response = await doFetch(pinned, {
            method,
            headers: sent,
            body,
            redirect: "manual",
            signal,
            ...(named ? { tls: { serverName: target.hostname } } : {})
          })
          break
        } catch (error) {
          const last = i === Math.min(target.addresses.length, 4) - 1
          if (last || signal.aborted || !unreachable(error)) throw error
        }
      }
      if (!response) throw new Error("no address could be reached")
      const location = response.headers.get("location")
      if (redirects.has(response.status) && location) {
        await response.body?.cancel()
        if (hop >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`)
        const next = new URL(location, url)
        // Credentials are for the origin they were meant for.
        if (next.origin !== url.origin)
          for (const name of ["authorization", "cookie", "proxy-authorization"]) headers.delete(name)
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
          method = method === "HEAD" ? "HEAD" : "GET"
          body = null
          headers.delete("content-type")
        }
        url = next
        continue
      }
      return {
        url: url.href,
        status: response.status,
        statusText: response.statusText,
        // A HEAD answer has no body to mismatch: its length is worth keeping.
        headers: [...response.headers].filter(
          ([name]) =>
            !wireOnly.has(name.toLowerCase()) || (method === "HEAD" && name.toLowerCase() === "content-length")
        ),
        body: method === "HEAD" ? null : await readCapped(response, limit)
      }
    }
  }

  return (ctx, request, caller) => {
    let host: string
    try {
      host = new URL(request.url).host
    } catch {
      return Effect.fail(new HostError({ method: "http.fetch", message: `not a URL: ${request.url}` }))
    }
    return Effect.tryPromise({
      try: (signal) => send(request, AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)])),
      catch: (error) => {
        const e = error as Error
        const message =
          error instanceof SsrfRefused ? e.message : `${host}: ${e.name === "TimeoutError" ? "timed out" : e.message}`
        return new HostError({ method: "http.fetch", message })
      }
    }).pipe(
      Effect.tapError((error) =>
        Effect.logWarning(`http.fetch failed: ${error.message}`).pipe(
          Effect.annotateLogs({
            plugin: caller.plugin,
            ...(caller.tool ? { tool: caller.tool } : {}),
            ...(ctx.persona ? { persona: ctx.persona, cid: ctx.correlationId } : {})
          })
        )
      )
    )
  }
}

/**
 * Register the guarded `http.fetch` with settings from the raw `plugins.http_fetch` of config.yaml. A malformed
 * section is logged and the strict defaults apply (the http_fetch plugin reports the same problem with its line).
 */
export const registerGuardedFetch = (
  raw: unknown,
  overrides: Partial<GuardedFetchOptions> = {}
): Effect.Effect<void, never, HostApi> =>
  Effect.gen(function* () {
    const api = yield* HostApi
    const decoded = guardOptionsFromConfig(raw)
    if (Either.isLeft(decoded)) {
      yield* Effect.logError(`${decoded.left}: outbound HTTP uses the default guard (no private addresses)`)
    }
    const options: GuardedFetchOptions = Either.getOrElse(decoded, () => ({}))
    if (options.allowPrivate) {
      yield* Effect.logWarning("plugins.http_fetch.allow_private is on: plugins may reach private and local addresses")
    }
    yield* api.register("http.fetch", guardedFetchHandler({ ...options, ...overrides }))
  })
