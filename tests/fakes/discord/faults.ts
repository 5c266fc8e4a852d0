/**
 * Which REST requests a fault applies to. A string is `"METHOD /path"` or just `"/path"` (any method), relative to
 * `/api/v10`, where a `:name` segment matches any one segment and a trailing `*` matches the rest — e.g.
 * `"POST /channels/:id/messages"`. A RegExp is tested against `"METHOD /path"`.
 */
export type RouteMatcher = string | RegExp | ((request: { readonly method: string; readonly path: string }) => boolean)

export interface RateLimitOptions {
  /** Seconds the client must wait (fractions allowed, so tests stay fast). */
  readonly retryAfter: number
  /** A global rate limit (`X-RateLimit-Global`, scope `global`) instead of a per-route one. */
  readonly global?: boolean
  /** How many matching requests get the 429 (default 1). */
  readonly times?: number
  /** `X-RateLimit-Scope` for a non-global limit: `user` (default) or `shared`. */
  readonly scope?: "user" | "shared"
}

export interface FailOptions {
  readonly times?: number
  /** JSON body to answer with (default `{ message: "<status>: …", code: 0 }`). */
  readonly body?: Record<string, unknown>
}

export type Fault =
  | { readonly kind: "rateLimit"; readonly options: RateLimitOptions }
  | { readonly kind: "fail"; readonly status: number; readonly options: FailOptions }
  | { readonly kind: "hang" }

interface QueuedFault {
  readonly matcher: RouteMatcher
  readonly fault: Fault
  remaining: number
}

export const routeMatches = (matcher: RouteMatcher, method: string, path: string): boolean => {
  if (typeof matcher === "function") return matcher({ method, path })
  if (matcher instanceof RegExp) return matcher.test(`${method} ${path}`)
  const space = matcher.indexOf(" ")
  const wantMethod = matcher.startsWith("/") ? null : matcher.slice(0, space).toUpperCase()
  if (wantMethod !== null && wantMethod !== method) return false
  const pattern = (wantMethod === null ? matcher : matcher.slice(space + 1)).split("/")
  const actual = path.split("/")
  for (const [i, segment] of pattern.entries()) {
    if (segment === "*") return true
    if (i >= actual.length) return false
    if (segment.startsWith(":")) continue
    if (segment !== actual[i]) return false
  }
  return pattern.length === actual.length
}

/** Faults armed by tests, consumed in the order they were armed by the first request that matches. */
export class Faults {
  private readonly queue: QueuedFault[] = []

  arm(matcher: RouteMatcher, fault: Fault, times: number | undefined): void {
    this.queue.push({ matcher, fault, remaining: Math.max(1, times ?? 1) })
  }

  take(method: string, path: string): Fault | undefined {
    const index = this.queue.findIndex((q) => routeMatches(q.matcher, method, path))
    const queued = this.queue[index]
    if (!queued) return undefined
    queued.remaining -= 1
    if (queued.remaining <= 0) this.queue.splice(index, 1)
    return queued.fault
  }

  clear(): void {
    this.queue.length = 0
  }
}

/** The route as @discordjs/rest buckets it: ids become `:id`, webhook and interaction tokens `:token`. */
export const bucketRoute = (path: string): string => {
  if (path.startsWith("/interactions/") && path.endsWith("/callback")) return "/interactions/:id/:token/callback"
  return path.replaceAll(/\/\d+(?=\/|$)/g, "/:id").replace(/\/webhooks\/:id\/[^/]+/, "/webhooks/:id/:token")
}

/** The major parameter of a route (channel, guild or webhook id), which scopes a bucket. */
export const majorParameter = (path: string): string =>
  /^\/webhooks\/(\d+\/[^/]+)|^\/(?:channels|guilds|webhooks)\/(\d+)/.exec(path)?.slice(1).find(Boolean) ?? "global"

export const bucketHash = (method: string, path: string): string =>
  Bun.hash(`${method}:${bucketRoute(path)}`)
    .toString(16)
    .padStart(16, "0")
    .slice(0, 16)

interface BucketState {
  used: number
  resetAt: number
}

/** Optional real per-route buckets (limit per window per major parameter), off unless configured. */
export class Buckets {
  private readonly buckets = new Map<string, BucketState>()

  constructor(private readonly config: { readonly limit: number; readonly windowMs: number } | undefined) {}

  /** Counts a request; returns the headers describing the bucket and whether it was over the limit. */
  hit(method: string, path: string, now: number): { headers: Record<string, string>; limited: number | null } {
    const limit = this.config?.limit ?? 5
    const windowMs = this.config?.windowMs ?? 1000
    const hash = bucketHash(method, path)
    const base = { "X-RateLimit-Limit": String(limit), "X-RateLimit-Bucket": hash }
    if (!this.config) {
      const reset = now / 1000 + windowMs / 1000
      return {
        headers: {
          ...base,
          "X-RateLimit-Remaining": String(limit - 1),
          "X-RateLimit-Reset": reset.toFixed(3),
          "X-RateLimit-Reset-After": (windowMs / 1000).toFixed(3)
        },
        limited: null
      }
    }
    const key = `${hash}:${majorParameter(path)}`
    let bucket = this.buckets.get(key)
    if (!bucket || bucket.resetAt <= now) {
      bucket = { used: 0, resetAt: now + windowMs }
      this.buckets.set(key, bucket)
    }
    bucket.used += 1
    const resetAfter = (bucket.resetAt - now) / 1000
    const headers = {
      ...base,
      "X-RateLimit-Remaining": String(Math.max(0, limit - bucket.used)),
      "X-RateLimit-Reset": (bucket.resetAt / 1000).toFixed(3),
      "X-RateLimit-Reset-After": resetAfter.toFixed(3)
    }
    return { headers, limited: bucket.used > limit ? resetAfter : null }
  }
}

/** A 429 answer with the headers and body Discord sends. */
export const rateLimitResponse = (method: string, path: string, options: RateLimitOptions, now: number): Response => {
  const retryAfter = options.retryAfter
  const global = options.global === true
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    // Discord sends whole seconds here; the fake keeps fractions so tests can use short waits.
    "Retry-After": String(retryAfter),
    "X-RateLimit-Scope": global ? "global" : (options.scope ?? "user")
  }
  if (global) headers["X-RateLimit-Global"] = "true"
  else {
    Object.assign(headers, {
      "X-RateLimit-Limit": "5",
      "X-RateLimit-Remaining": "0",
      "X-RateLimit-Reset": (now / 1000 + retryAfter).toFixed(3),
      "X-RateLimit-Reset-After": retryAfter.toFixed(3),
      "X-RateLimit-Bucket": bucketHash(method, path)
    })
  }
  const body = { message: "You are being rate limited.", retry_after: retryAfter, global, code: 0 }
  return new Response(JSON.stringify(body), { status: 429, headers })
}
