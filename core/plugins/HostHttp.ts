/**
 * A ready `http.fetch` host handler: the outbound HTTP of plugins (`ctx.http.fetch` and the global `fetch` inside a
 * plugin Worker) goes through it. It allows http(s) only, to the hosts it is told (by default any host except
 * loopback, private and link-local addresses), with a timeout and a cap on the response size.
 *
 * It is a guard for well-behaved plugins, not a firewall: names are checked as written (no DNS resolution), and plugin
 * code could still open sockets itself (a Worker is not a sandbox).
 *
 * @example
 * const api = yield* HostApi
 * yield* api.register("http.fetch", httpFetchHandler({ allowHosts: ["api.open-meteo.com", "*.wikipedia.org"] }))
 */
import { Effect } from "effect"
import { HostError, type HostHandler, type WireResponse } from "./HostApi.ts"

export interface HttpFetchOptions {
  /** Hosts plugins may reach: exact names or `*.example.com`. Default: every host but private ones. */
  readonly allowHosts?: ReadonlyArray<string>
  /** Default 10 s. */
  readonly timeoutMs?: number
  /** Default 1 MiB. */
  readonly maxResponseBytes?: number
  /** The fetch used (default: the global one). */
  readonly fetch?: typeof fetch
}

const privateHost =
  /^(localhost|.*\.localhost|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|0\.0\.0\.0|\[?::1?\]?|\[?f[cd][0-9a-f]{2}:.*|\[?fe80:.*)$/i

const allowed = (host: string, allowHosts: ReadonlyArray<string> | undefined) =>
  allowHosts === undefined
    ? !privateHost.test(host)
    : allowHosts.some((pattern) =>
        pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) || host === pattern.slice(2) : host === pattern
      )

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

export const httpFetchHandler =
  (options: HttpFetchOptions = {}): HostHandler<"http.fetch"> =>
  (_ctx, request) => {
    const fail = (message: string) => Effect.fail(new HostError({ method: "http.fetch", message }))
    let url: URL
    try {
      url = new URL(request.url)
    } catch {
      return fail(`not a URL: ${request.url}`)
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`${url.protocol} URLs are not allowed`)
    if (!allowed(url.hostname, options.allowHosts)) return fail(`${url.hostname} is not an allowed host`)
    const doFetch = options.fetch ?? fetch
    const limit = options.maxResponseBytes ?? 1024 * 1024
    return Effect.tryPromise({
      try: async (signal): Promise<WireResponse> => {
        const abort = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)])
        const headers = request.headers.map(([name, value]): [string, string] => [name, value])
        let current = url
        let method = request.method
        let body = request.body
        // Redirects are followed here, each hop checked like the first request.
        for (let hop = 0; ; hop++) {
          const response = await doFetch(current, { method, headers, body, redirect: "manual", signal: abort })
          const location = response.headers.get("location")
          if (location && response.status >= 300 && response.status < 400 && hop < 5) {
            const next = new URL(location, current)
            if (
              (next.protocol !== "http:" && next.protocol !== "https:") ||
              !allowed(next.hostname, options.allowHosts)
            ) {
              throw new Error(`redirect to ${next.hostname} is not allowed`)
            }
            if (
              response.status === 303 ||
              ((response.status === 301 || response.status === 302) && method === "POST")
            ) {
              method = "GET"
              body = null
            }
            current = next
            continue
          }
          return {
            url: current.href,
            status: response.status,
            statusText: response.statusText,
            headers: [...response.headers],
            body: await readCapped(response, limit)
          }
        }
      },
      catch: (error) =>
        new HostError({
          method: "http.fetch",
          message: `${url.hostname}: ${(error as Error).name === "TimeoutError" ? "timed out" : (error as Error).message}`
        })
    })
  }
