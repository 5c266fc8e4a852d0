import { anthropicWire } from "./anthropicWire.ts"
import { openaiWire } from "./openaiWire.ts"
import { echoStep, planText, planToolCalls, type RequestFacts } from "./Reply.ts"
import { piecesResponse, sleep } from "./respond.ts"
import type { Step } from "./Step.ts"
import type { Api, Wire, WireContext } from "./Wire.ts"

export type { CutStep, ErrorStep, HangStep, Step, TextStep, ToolCallSpec, ToolCallStep, Usage } from "./Step.ts"
export type { Api } from "./Wire.ts"

/** One chat request the fake received (model lists are not recorded). */
export interface RecordedRequest {
  readonly api: Api
  readonly model: string
  readonly stream: boolean
  /** URL path as received, e.g. `/v1/chat/completions`. */
  readonly path: string
  /** The parsed JSON body: `messages`, `system` (Anthropic), `tools`, `max_tokens`, … */
  readonly body: any
  /** Request headers with lowercase names (`authorization`, `x-api-key`, `anthropic-version`, …). */
  readonly headers: Readonly<Record<string, string>>
  /** `Date.now()` when the request arrived. */
  readonly at: number
}

/** Decides a reply on the fly; return `undefined` to fall through to the default echo reply. */
export type RequestHandler = (request: RecordedRequest) => Step | undefined | Promise<Step | undefined>

/**
 * A local HTTP server speaking the OpenAI Chat Completions and Anthropic Messages wire formats, for driving the
 * real `openai` and `@anthropic-ai/sdk` clients in tests.
 *
 * A request's reply is, in order: the next step queued with `scriptFor(model)` for its model, else the next step
 * queued with `script()`, else what the `onRequest` handler returns, else `echo: <last user text>`.
 */
export interface FakeLlm {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `<url>/v1`, for `new OpenAI({ baseURL })` (the SDK appends `/chat/completions`). */
  readonly openaiBaseUrl: string
  /** `<url>`, for `new Anthropic({ baseURL })` (the SDK appends `/v1/messages`). */
  readonly anthropicBaseUrl: string
  readonly port: number
  /** Chat requests so far, oldest first (a live array; `reset()` empties it; see `FakeLlmOptions.recordLimit`). */
  readonly requests: readonly RecordedRequest[]
  /** How many chat requests arrived since start or `reset()`, including any dropped by `recordLimit`. */
  readonly requestCount: number
  /** Scripted steps not consumed yet, over all queues. */
  readonly pendingSteps: number
  /** Queue replies for the next requests, whatever their API or model. */
  script(...steps: Step[]): void
  /** Queue replies used only by requests whose `model` equals `model`; checked before the global queue. */
  scriptFor(model: string, ...steps: Step[]): void
  /** Set (or clear, with `undefined`) the dynamic handler consulted when no scripted step applies. */
  onRequest(handler: RequestHandler | undefined): void
  /**
   * Resolves with the recorded requests once at least `n` have arrived since start or `reset()`; rejects after
   * `timeoutMs` (default 2000).
   */
  waitForRequests(n: number, timeoutMs?: number): Promise<readonly RecordedRequest[]>
  /** Forget scripts, the handler, recorded requests and id counters. */
  reset(): void
  /** Close the server, ending pending hangs and delays and resetting open streams. */
  stop(): Promise<void>
}

export interface FakeLlmOptions {
  /** Model ids listed by `GET /v1/models` (plus every model given to `scriptFor`). Default: `["fake-model"]`. */
  readonly models?: readonly string[]
  /** Keep only the last `recordLimit` requests in `requests` (for long benchmarks). Default: keep all. */
  readonly recordLimit?: number
}

/**
 * Start the fake on 127.0.0.1 with an OS-chosen port.
 *
 * @example
 * const llm = await startFakeLlm()
 * llm.script({ text: "Hi there" })
 * const openai = new OpenAI({ apiKey: "test", baseURL: llm.openaiBaseUrl, maxRetries: 0 })
 * const anthropic = new Anthropic({ apiKey: "test", baseURL: llm.anthropicBaseUrl, maxRetries: 0 })
 * // …
 * await llm.stop()
 */
export const startFakeLlm = async (options: FakeLlmOptions = {}): Promise<FakeLlm> => {
  const requests: RecordedRequest[] = []
  const recordLimit = options.recordLimit ?? Number.POSITIVE_INFINITY
  let requestCount = 0
  let globalQueue: Step[] = []
  let modelQueues = new Map<string, Step[]>()
  let handler: RequestHandler | undefined
  let counters = { response: 0, tool: 0 }
  const waiters = new Set<{ n: number; resolve: (r: readonly RecordedRequest[]) => void; timer: Timer }>()
  const stopping = new AbortController()

  const record = (entry: RecordedRequest) => {
    requestCount++
    requests.push(entry)
    if (requests.length > recordLimit) requests.splice(0, requests.length - recordLimit)
    for (const waiter of waiters) {
      if (requestCount < waiter.n) continue
      clearTimeout(waiter.timer)
      waiters.delete(waiter)
      waiter.resolve(requests.slice())
    }
  }

  const nextStep = async (entry: RecordedRequest): Promise<Step | undefined> =>
    modelQueues.get(entry.model)?.shift() ?? globalQueue.shift() ?? (await handler?.(entry))

  const handleChat = async (wire: Wire, req: Request, path: string): Promise<Response> => {
    const seq = ++counters.response
    const ctx: WireContext = {
      responseId: wire.api === "openai" ? `chatcmpl-fake${seq}` : `msg_fake${seq}`,
      requestId: `req_fake${seq}`,
      model: "",
      created: Math.floor(Date.now() / 1000)
    }
    let body: any
    try {
      body = JSON.parse(await req.text())
    } catch (cause) {
      return errorResponse(wire, { error: 400, message: `Request body is not JSON: ${String(cause)}` }, ctx)
    }
    const facts = wire.facts(body)
    const entry: RecordedRequest = {
      api: wire.api,
      model: facts.model,
      stream: facts.stream,
      path,
      body,
      headers: Object.fromEntries(req.headers),
      at: Date.now()
    }
    record(entry)
    const signals = [req.signal, stopping.signal]
    const replyCtx = { ...ctx, model: facts.model }
    let step = await nextStep(entry)

    if (step !== undefined && "hangMs" in step) {
      if (!(await sleep(step.hangMs, signals))) return new Response(null, { status: 499 })
      step = undefined
    }
    if (step !== undefined && "delayMs" in step && step.delayMs) {
      if (!(await sleep(step.delayMs, signals))) return new Response(null, { status: 499 })
    }
    if (step !== undefined && "error" in step) return errorResponse(wire, step, replyCtx)
    return replyResponse(wire, step ?? echoStep(facts), facts, replyCtx, signals)
  }

  const replyResponse = (
    wire: Wire,
    step: Exclude<Step, { error: number } | { hangMs: number }>,
    facts: RequestFacts & { readonly includeUsage: boolean },
    ctx: WireContext,
    signals: AbortSignal[]
  ): Response => {
    const reply =
      "toolCalls" in step
        ? planToolCalls(step, facts, () => `${wire.toolIdPrefix}fake${++counters.tool}`)
        : planText(step, facts)
    const cutAfter = "cutAfterChunks" in step ? step.cutAfterChunks : undefined
    const cutDelayMs = "cutAfterChunks" in step ? step.cutDelayMs : undefined
    const chunkDelayMs = step.chunkDelayMs ?? 0
    const headers = { [wire.requestIdHeader]: ctx.requestId }

    if (!facts.stream) {
      const json = JSON.stringify(wire.json(reply, ctx))
      const half = Math.floor(json.length / 2)
      const pieces = cutAfter === undefined ? [json] : [json.slice(0, half), json.slice(half)]
      return piecesResponse(pieces, {
        cutAt: cutAfter === undefined ? undefined : 1,
        cutDelayMs,
        chunkDelayMs: 0,
        signals,
        headers: { ...headers, "content-type": "application/json" }
      })
    }
    const plan = wire.sse(reply, ctx, facts.includeUsage)
    const cutAt =
      cutAfter === undefined
        ? undefined
        : cutAfter < plan.deltaIndexes.length
          ? plan.deltaIndexes[cutAfter]
          : plan.trailerIndex
    return piecesResponse(plan.events, {
      cutAt,
      cutDelayMs,
      chunkDelayMs,
      signals,
      headers: { ...headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" }
    })
  }

  const configuredModels = options.models ?? ["fake-model"]
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname
      const wire = req.headers.has("anthropic-version") || req.headers.has("x-api-key") ? anthropicWire : openaiWire
      if (req.method === "POST" && path.endsWith("/chat/completions")) return handleChat(openaiWire, req, path)
      if (req.method === "POST" && path.endsWith("/messages")) return handleChat(anthropicWire, req, path)
      if (req.method === "POST" && path.endsWith("/messages/count_tokens")) {
        const facts = anthropicWire.facts(await req.json().catch(() => ({})))
        return Response.json({ input_tokens: Math.max(1, Math.ceil(facts.inputChars / 4)) })
      }
      if (req.method === "GET" && path.endsWith("/models")) {
        return Response.json(wire.models([...new Set([...configuredModels, ...modelQueues.keys()])]))
      }
      const ctx = { responseId: "", requestId: "req_fake0", model: "", created: 0 }
      return errorResponse(wire, { error: 404, message: `No route for ${req.method} ${path} (fake LLM)` }, ctx)
    }
  })
  const port = server.port!
  const url = `http://127.0.0.1:${port}`

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    port,
    requests,
    get requestCount() {
      return requestCount
    },
    get pendingSteps() {
      let count = globalQueue.length
      for (const queue of modelQueues.values()) count += queue.length
      return count
    },
    script(...steps) {
      steps.forEach(validateStep)
      globalQueue.push(...steps)
    },
    scriptFor(model, ...steps) {
      steps.forEach(validateStep)
      const queue = modelQueues.get(model) ?? []
      queue.push(...steps)
      modelQueues.set(model, queue)
    },
    onRequest(next) {
      handler = next
    },
    waitForRequests(n, timeoutMs = 2000) {
      if (requestCount >= n) return Promise.resolve(requests.slice())
      return new Promise((resolve, reject) => {
        const waiter = {
          n,
          resolve,
          timer: setTimeout(() => {
            waiters.delete(waiter)
            reject(new Error(`fake LLM: ${requestCount} of ${n} requests arrived within ${timeoutMs} ms`))
          }, timeoutMs)
        }
        waiters.add(waiter)
      })
    },
    reset() {
      requests.length = 0
      requestCount = 0
      globalQueue = []
      modelQueues = new Map()
      handler = undefined
      counters = { response: 0, tool: 0 }
    },
    async stop() {
      stopping.abort()
      for (const waiter of waiters) clearTimeout(waiter.timer)
      waiters.clear()
      await server.stop(true)
    }
  }
}

const errorResponse = (wire: Wire, step: Extract<Step, { error: number }>, ctx: WireContext): Response => {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    [wire.requestIdHeader]: ctx.requestId,
    ...wire.errorHeaders(step.error, step.retryAfter),
    ...(step.retryAfter === undefined ? {} : { "retry-after": String(step.retryAfter) }),
    ...step.headers
  }
  return new Response(JSON.stringify(wire.errorBody(step.error, step.message, ctx)), { status: step.error, headers })
}

const validateStep = (step: Step): void => {
  if ("error" in step && (!Number.isInteger(step.error) || step.error < 400 || step.error > 599)) {
    throw new TypeError(`fake LLM: error status must be 400..599, got ${step.error}`)
  }
  if ("cutAfterChunks" in step && !(step.cutAfterChunks >= 0)) {
    throw new TypeError(`fake LLM: cutAfterChunks must be >= 0, got ${step.cutAfterChunks}`)
  }
  if ("text" in step && "chunks" in step && Array.isArray(step.chunks) && step.chunks.join("") !== step.text) {
    throw new TypeError(`fake LLM: chunks ${JSON.stringify(step.chunks)} do not join to ${JSON.stringify(step.text)}`)
  }
}
