import { type ApiError, Errors, isApiError } from "./errors.ts"
import { Buckets, Faults, rateLimitResponse } from "./faults.ts"
import type { Ctx, UploadedFile } from "./messages.ts"
import type { BotRecord } from "./types.ts"

export interface RestRequest {
  readonly method: string
  /** Path below `/api/v10`. */
  readonly path: string
  readonly query: URLSearchParams
  readonly params: Readonly<Record<string, string>>
  /** The bot from `Authorization: Bot <token>`, when the route needs it. */
  readonly bot: BotRecord
  readonly body: unknown
  readonly files: UploadedFile[]
}

export type RestResult = { readonly status: number; readonly body?: unknown } | ApiError

export interface Route {
  readonly method: string
  readonly pattern: string
  /** Routes reached with an interaction or webhook token in the URL need no Authorization header. */
  readonly auth: boolean
  readonly handler: (ctx: Ctx, req: RestRequest) => RestResult | Promise<RestResult>
}

export const ok = (body: unknown): RestResult => ({ status: 200, body })
export const created = (body: unknown): RestResult => ({ status: 201, body })
export const noContent = (): RestResult => ({ status: 204 })

const API_PREFIX = "/api/v10"
/** Sentinel bot for token-authenticated (interaction/webhook) routes. */
const NO_BOT: BotRecord = { token: "", id: "", applicationId: "", username: "", privilegedIntents: 0 }

const matchRoute = (pattern: string, path: string): Record<string, string> | null => {
  const want = pattern.split("/")
  const have = path.split("/")
  if (want.length !== have.length) return null
  const params: Record<string, string> = {}
  for (const [i, segment] of want.entries()) {
    const actual = have[i]!
    if (segment.startsWith(":")) params[segment.slice(1)] = decodeURIComponent(actual)
    else if (segment !== actual) return null
  }
  return params
}

const parseBody = async (request: Request): Promise<{ body: unknown; files: UploadedFile[] } | ApiError> => {
  const type = request.headers.get("content-type") ?? ""
  if (type.startsWith("multipart/form-data")) {
    const form = await request.formData()
    let body: unknown = {}
    const files: UploadedFile[] = []
    for (const [key, entry] of form.entries()) {
      const value = entry as unknown as string | File
      if (key === "payload_json" && typeof value === "string") {
        try {
          body = JSON.parse(value)
        } catch {
          return Errors.badJson()
        }
      } else if (typeof value !== "string") {
        files.push({ key, name: value.name, type: value.type, data: new Uint8Array(await value.arrayBuffer()) })
      }
    }
    return { body, files }
  }
  const text = await request.text()
  if (text.length === 0) return { body: undefined, files: [] }
  try {
    return { body: JSON.parse(text), files: [] }
  } catch {
    return Errors.badJson()
  }
}

const json = (status: number, body: unknown, headers: Record<string, string>): Response =>
  status === 204 || body === undefined
    ? new Response(null, { status, headers })
    : new Response(JSON.stringify(body), { status, headers: { ...headers, "Content-Type": "application/json" } })

/** The REST half of the fake: routing, auth, faults, rate-limit headers, request log. */
export class Rest {
  readonly faults = new Faults()
  private readonly buckets: Buckets
  private readonly hung = new Set<() => void>()

  constructor(
    private readonly ctx: Ctx,
    private readonly routes: ReadonlyArray<Route>,
    buckets: { limit: number; windowMs: number } | undefined
  ) {
    this.buckets = new Buckets(buckets)
  }

  /** Answers every request held by `acceptThenHang` (with the response it would have had). */
  releaseHung(): void {
    for (const release of this.hung) release()
    this.hung.clear()
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const method = request.method.toUpperCase()
    if (method === "GET" && url.pathname.startsWith("/attachments/")) {
      const file = this.ctx.state.files.get(url.pathname)
      return file
        ? new Response(file.data, { headers: { "Content-Type": file.type || "application/octet-stream" } })
        : new Response("not found", { status: 404 })
    }
    if (!url.pathname.startsWith(`${API_PREFIX}/`)) return json(404, Errors.notFound().body, {})
    const path = url.pathname.slice(API_PREFIX.length)
    const now = Date.now()
    const record = (status: number, bot: BotRecord | null, body: unknown): void => {
      this.ctx.state.requests.push({ method, path, query: url.search, status, botId: bot?.id ?? null, body, at: now })
    }
    const fault = this.faults.take(method, path)
    if (fault?.kind === "rateLimit") {
      record(429, null, undefined)
      return rateLimitResponse(method, path, fault.options, now)
    }
    if (fault?.kind === "fail") {
      record(fault.status, null, undefined)
      const body = fault.options.body ?? { message: `${fault.status}: Fake failure`, code: 0 }
      return json(fault.status, body, {})
    }
    const bucket = this.buckets.hit(method, path, now)
    if (bucket.limited !== null) {
      record(429, null, undefined)
      return rateLimitResponse(method, path, { retryAfter: bucket.limited }, now)
    }
    const result = await this.run(request, method, path, url.searchParams)
    record(result.status, result.bot, result.requestBody)
    const response = json(result.status, result.body, bucket.headers)
    if (fault?.kind !== "hang") return response
    return new Promise<Response>((resolve) => this.hung.add(() => resolve(response)))
  }

  private async run(
    request: Request,
    method: string,
    path: string,
    query: URLSearchParams
  ): Promise<{ status: number; body: unknown; bot: BotRecord | null; requestBody: unknown }> {
    const fail = (error: ApiError, bot: BotRecord | null = null, requestBody: unknown = undefined) => ({
      status: error.status,
      body: error.body,
      bot,
      requestBody
    })
    let found: { route: Route; params: Record<string, string> } | undefined
    let methodMismatch = false
    for (const route of this.routes) {
      const params = matchRoute(route.pattern, path)
      if (!params) continue
      if (route.method !== method) {
        methodMismatch = true
        continue
      }
      found = { route, params }
      break
    }
    if (!found)
      return methodMismatch
        ? { status: 405, body: { message: "405: Method Not Allowed", code: 0 }, bot: null, requestBody: undefined }
        : fail(Errors.notFound())
    let bot: BotRecord = NO_BOT
    if (found.route.auth) {
      const header = request.headers.get("authorization") ?? ""
      const match = /^Bot\s+(.+)$/i.exec(header)
      const authed = match ? this.ctx.state.botByToken(match[1]!) : undefined
      if (!authed) return fail(Errors.unauthorized())
      bot = authed
    }
    const parsed = await parseBody(request)
    if (isApiError(parsed)) return fail(parsed, bot)
    const req: RestRequest = { method, path, query, params: found.params, bot, body: parsed.body, files: parsed.files }
    const result = await found.route.handler(this.ctx, req)
    const botId = found.route.auth ? bot : null
    if (isApiError(result)) return fail(result, botId, parsed.body)
    return { status: result.status, body: result.body, bot: botId, requestBody: parsed.body }
  }
}
