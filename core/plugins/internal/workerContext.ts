/**
 * Inside a plugin Worker: the `ctx` objects a plugin sees. Every host service is a message to the host
 * (`{ _tag: "host", id, callId, method, args }`) answered by `hostResult`; the host, not the plugin, decides whose
 * notes and jobs these are, from the tool call `callId` names.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import type { Http, Memory, Notes, PluginLog, ScheduleRequest, Scheduler, SetupContext, ToolContext } from "../sdk.ts"
import type { CallContext, WorkerToHost } from "./protocol.ts"
import { parseTimeout } from "./timeout.ts"

type Post = (message: WorkerToHost) => void

interface Pending {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
}

/** Which tool call the running code belongs to, so the global `fetch` reaches the host with the right context. */
export const currentCall = new AsyncLocalStorage<number>()

export class HostCalls {
  private nextId = 0
  private readonly pending = new Map<number, Pending>()

  constructor(private readonly post: Post) {}

  call(callId: number | undefined, method: string, args: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = ++this.nextId
      this.pending.set(id, { resolve, reject })
      try {
        this.post({ _tag: "host", id, callId, method, args })
      } catch (error) {
        this.pending.delete(id)
        reject(new Error(`${method}: arguments cannot be sent to the host (${(error as Error).message})`))
      }
    })
  }

  settle(id: number, ok: boolean, value: unknown, error: string): void {
    const pending = this.pending.get(id)
    if (!pending) return
    this.pending.delete(id)
    if (ok) pending.resolve(value)
    else pending.reject(new Error(error))
  }
}

const makeLog = (host: HostCalls, callId: number | undefined): PluginLog => {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    host.call(callId, "log", { level, message: String(message), fields: fields ?? {} }).catch(() => undefined)
  }
  return { info: log("info"), warn: log("warn"), error: log("error") }
}

interface WireResponse {
  readonly url: string
  readonly status: number
  readonly statusText: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: ArrayBuffer | string | null
}

/** `fetch` over the boundary: the request is flattened to plain data, the host's answer rebuilt into a `Response`. */
export const makeFetch =
  (host: HostCalls, callId: () => number | undefined) =>
  async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init)
    const signal = init?.signal ?? undefined
    signal?.throwIfAborted()
    const body = request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer()
    const sent = host.call(callId(), "http.fetch", {
      url: request.url,
      method: request.method,
      headers: [...request.headers],
      body: body && body.byteLength > 0 ? body : null
    })
    const answer = (await (signal
      ? Promise.race([
          sent,
          new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }))
        ])
      : sent)) as WireResponse
    const response = new Response(answer.body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: answer.headers as Array<[string, string]>
    })
    Object.defineProperty(response, "url", { value: answer.url })
    return response
  }

export const makeSetupContext = (host: HostCalls, config: unknown): SetupContext => ({
  config,
  log: makeLog(host, undefined),
  http: { fetch: makeFetch(host, () => currentCall.getStore()) }
})

const toMillis = (value: unknown, field: string): number | undefined => {
  if (value === undefined) return undefined
  const ms = parseTimeout(value)
  if (ms === undefined) throw new Error(`scheduler.schedule: ${field} must be a duration such as "10m", got ${value}`)
  return ms
}

const toEpoch = (value: ScheduleRequest["at"]): number | undefined => {
  if (value === undefined) return undefined
  const at = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : value
  if (!Number.isFinite(at)) throw new Error(`scheduler.schedule: at must be a time, got ${String(value)}`)
  return at
}

export const makeToolContext = (
  host: HostCalls,
  callId: number,
  context: CallContext,
  config: unknown,
  signal: AbortSignal
): ToolContext => {
  const call = <A>(method: string, args: unknown) => host.call(callId, method, args) as Promise<A>
  const notes: Notes = {
    save: (key, text) => call("notes.save", { key, text }),
    get: (key) => call("notes.get", { key }),
    search: (query, limit) => call("notes.search", { query, limit }),
    list: (limit) => call("notes.list", { limit }),
    delete: (key) => call("notes.delete", { key })
  }
  const scheduler: Scheduler = {
    schedule: async (request) =>
      call("scheduler.schedule", {
        prompt: request.prompt,
        at: toEpoch(request.at),
        inMs: toMillis(request.in, "in"),
        everyMs: toMillis(request.every, "every")
      }),
    list: () => call("scheduler.list", {}),
    cancel: (id) => call("scheduler.cancel", { id }),
    delete: (id) => call("scheduler.delete", { id })
  }
  const memory: Memory = {
    count: () => call("memory.count", {}),
    trim: (keep) => call("memory.trim", { keep })
  }
  const http: Http = { fetch: makeFetch(host, () => callId) }
  return {
    persona: context.persona,
    conversationId: context.conversationId,
    user: { id: context.userId, name: context.userName },
    options: context.options,
    config,
    log: makeLog(host, callId),
    notes,
    scheduler,
    memory,
    http,
    signal
  }
}
