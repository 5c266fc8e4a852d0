/**
 * Where a CyTube room's socket.io server is: `GET <server>/socketconfig/<room>.json` answers
 * `{ servers: [{ url, secure, ipv6? }] }`. Like CyTube's web client, a page served over https prefers a secure
 * server; otherwise the first listed one is used.
 */
import { Data, Effect } from "effect"

export class DiscoveryError extends Data.TaggedError("DiscoveryError")<{
  readonly reason: string
  /** The server refused the room (4xx): a configuration error, not worth retrying. */
  readonly permanent: boolean
}> {}

interface ServerEntry {
  readonly url: string
  readonly secure: boolean
  readonly ipv6: boolean
}

/** A 4xx other than 429: the server does not know the room (CyTube answers 404 for an invalid name). */
const refused = (status: number) => status >= 400 && status < 500 && status !== 429

/** `cytu.be` → `https://cytu.be`; a trailing slash is dropped. */
export const baseUrlOf = (server: string): string => {
  const trimmed = server.trim().replace(/\/+$/, "")
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`
}

/** Pick the socket server from a socketconfig answer. */
export const pickServer = (servers: ReadonlyArray<ServerEntry>, pageIsHttps: boolean): ServerEntry | undefined => {
  // IPv6-only entries are alternatives of the same servers; use them only when nothing else is listed.
  const candidates = servers.some((s) => !s.ipv6) ? servers.filter((s) => !s.ipv6) : servers
  return (pageIsHttps ? candidates.find((s) => s.secure) : undefined) ?? candidates[0]
}

const parseServers = (body: unknown): ReadonlyArray<ServerEntry> | undefined => {
  if (typeof body !== "object" || body === null) return undefined
  const servers = (body as { servers?: unknown }).servers
  if (!Array.isArray(servers)) return undefined
  return servers.flatMap((entry) =>
    typeof entry === "object" && entry !== null && typeof (entry as { url?: unknown }).url === "string"
      ? [
          {
            url: (entry as { url: string }).url,
            secure: (entry as { secure?: unknown }).secure === true,
            ipv6: (entry as { ipv6?: unknown }).ipv6 === true
          }
        ]
      : []
  )
}

/** The socket.io URL of `room` on `server`. */
export const discover = (server: string, room: string, timeoutMs = 10_000): Effect.Effect<string, DiscoveryError> =>
  Effect.gen(function* () {
    const base = baseUrlOf(server)
    const address = `${base}/socketconfig/${encodeURIComponent(room)}.json`
    const response = yield* Effect.tryPromise({
      try: (signal) => fetch(address, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) }),
      catch: (error) => new DiscoveryError({ reason: `GET ${address} failed: ${String(error)}`, permanent: false })
    })
    const body = yield* Effect.tryPromise({
      try: () => response.json() as Promise<unknown>,
      catch: () =>
        new DiscoveryError({
          reason: `GET ${address}: ${response.status}, not JSON`,
          permanent: refused(response.status)
        })
    })
    if (!response.ok) {
      const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined
      return yield* new DiscoveryError({
        reason: `GET ${address}: ${response.status}${typeof error === "string" ? ` (${error})` : ""}`,
        permanent: refused(response.status)
      })
    }
    const servers = parseServers(body)
    const chosen = servers ? pickServer(servers, base.startsWith("https:")) : undefined
    if (!chosen)
      return yield* new DiscoveryError({ reason: `GET ${address}: no socket server listed`, permanent: false })
    return chosen.url
  })
