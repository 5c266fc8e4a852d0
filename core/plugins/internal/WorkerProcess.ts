/**
 * The host side of one plugin Worker: start it, load a plugin into it, send calls and match their results, answer its
 * host service calls, and terminate it. Messages from the Worker are checked (`check.ts`) before they are used.
 *
 * Callbacks, not fibers, live here: the Worker API is event based, and `ToolWorker.ts` wraps these in effects.
 */
import { Effect } from "effect"
import type { ToolCallContext } from "../../tools/Tools.ts"
import { checkWorkerMessage } from "./check.ts"
import { capText, type HostToWorker, type LoadFailure, type PluginInfo, type WorkerToHost } from "./protocol.ts"

export interface CallResult {
  readonly ok: boolean
  readonly content: string
}

interface InFlight {
  readonly tool: string
  readonly context: ToolCallContext
  readonly done: (result: CallResult) => void
}

/** Answers one `host` message: the tool call's context (undefined outside a call) and what the plugin sent. */
export type HostRequestHandler = (
  method: string,
  call: { readonly tool: string; readonly context: ToolCallContext } | undefined,
  args: unknown
) => Promise<{ readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string }>

let live = 0
/** Workers started and not yet closed, in this process (tests assert it returns to zero). */
export const liveWorkers = () => live

export class WorkerProcess {
  private nextId = 0
  private readonly calls = new Map<number, InFlight>()
  private readonly pings = new Map<number, () => void>()
  private onReady: ((ok: boolean, reason?: string) => void) | undefined
  private onLoad: ((result: { info: PluginInfo } | { error: LoadFailure }) => void) | undefined
  private onClosed: (() => void) | undefined
  private exitListeners: Array<(reason: string) => void> = []
  private terminated = false
  private exitedFlag = false
  /** Resolves when the Worker thread is gone. */
  readonly exited: Promise<void>
  host: HostRequestHandler = async (method) => ({ ok: false, error: `${method} is not available` })
  resultLimit = 16 * 1024

  private constructor(private readonly worker: Worker) {
    live++
    let resolveExit: () => void = () => undefined
    this.exited = new Promise((resolve) => {
      resolveExit = resolve
    })
    worker.addEventListener("close", () => {
      live--
      this.exitedFlag = true
      this.fail(this.terminated ? "tool worker restarted" : "tool worker crashed")
      this.onReady?.(false, "the worker exited while starting")
      this.onLoad?.({ error: { message: "the worker exited while loading the plugin" } })
      this.onClosed?.()
      for (const listener of this.exitListeners) listener(this.terminated ? "terminated" : "crashed")
      resolveExit()
    })
    worker.addEventListener("error", (event: ErrorEvent) => {
      event.preventDefault()
      this.onReady?.(false, event.message)
    })
    worker.addEventListener("message", (event: MessageEvent) => this.receive(event.data))
  }

  /** Start a Worker from `entry` and wait until its bootstrap says it is ready. */
  static start(entry: string, timeoutMs = 15_000): Effect.Effect<WorkerProcess, string> {
    return Effect.async<WorkerProcess, string>((resume) => {
      let worker: Worker
      try {
        worker = new Worker(entry)
      } catch (error) {
        return resume(Effect.fail(`the worker could not be created: ${(error as Error).message}`))
      }
      const process = new WorkerProcess(worker)
      const timer = setTimeout(
        () => process.onReady?.(false, `the worker did not start within ${timeoutMs} ms`),
        timeoutMs
      )
      process.onReady = (ok, reason) => {
        clearTimeout(timer)
        process.onReady = undefined
        if (ok) return resume(Effect.succeed(process))
        process.terminate()
        resume(Effect.fail(reason ?? "the worker failed to start"))
      }
      return Effect.sync(() => process.terminate())
    })
  }

  get alive(): boolean {
    return !this.terminated && !this.exitedFlag
  }

  get inFlight(): number {
    return this.calls.size
  }

  /** Called once when the Worker exits on its own (a crash) or is terminated. */
  onExit(listener: (reason: string) => void): void {
    this.exitListeners.push(listener)
  }

  private post(message: HostToWorker): void {
    if (this.alive) this.worker.postMessage(message)
  }

  load(file: string, plugin: string, config: unknown): Effect.Effect<{ info: PluginInfo } | { error: LoadFailure }> {
    return Effect.async((resume) => {
      this.onLoad = (result) => {
        this.onLoad = undefined
        resume(Effect.succeed(result))
      }
      try {
        this.post({ _tag: "load", file, plugin, config, resultLimit: this.resultLimit })
      } catch (error) {
        this.onLoad({
          error: { message: `plugins.${plugin} cannot be sent to the plugin: ${(error as Error).message}` }
        })
      }
    })
  }

  /** Send a call; `done` gets exactly one result (also when the Worker dies first). Returns the call id. */
  call(tool: string, args: unknown, context: ToolCallContext, done: (result: CallResult) => void): number {
    const id = ++this.nextId
    if (!this.alive) {
      done({ ok: false, content: "tool worker restarted" })
      return id
    }
    this.calls.set(id, { tool, context, done })
    const { persona, conversationId, userId, userName, options } = context
    try {
      this.post({ _tag: "call", id, tool, args, context: { persona, conversationId, userId, userName, options } })
    } catch (error) {
      this.settle(id, { ok: false, content: `the call cannot be sent to the plugin: ${(error as Error).message}` })
    }
    return id
  }

  /** Give up on a call (its late result is ignored) and abort its `ctx.signal` in the Worker. */
  abandon(id: number): void {
    if (this.calls.delete(id)) this.post({ _tag: "cancel", id })
  }

  /** Whether the Worker's event loop answers within `timeoutMs` (a tool stuck in a sync loop blocks it). */
  responsive(timeoutMs: number): Effect.Effect<boolean> {
    return Effect.async<boolean>((resume) => {
      if (!this.alive) return resume(Effect.succeed(false))
      const id = ++this.nextId
      const timer = setTimeout(() => {
        this.pings.delete(id)
        resume(Effect.succeed(false))
      }, timeoutMs)
      this.pings.set(id, () => {
        clearTimeout(timer)
        resume(Effect.succeed(true))
      })
      this.post({ _tag: "ping", id })
      return Effect.sync(() => {
        clearTimeout(timer)
        this.pings.delete(id)
      })
    })
  }

  send(message: HostToWorker): void {
    try {
      this.post(message)
    } catch {
      // An event that cannot be cloned is not delivered to hooks; nothing else depends on it.
    }
  }

  /** Run the plugin's cleanup (bounded), then terminate. */
  shutdown(timeoutMs = 1000): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (!this.alive) return resume(Effect.void)
      const finish = () => {
        clearTimeout(timer)
        this.onClosed = undefined
        this.terminate()
        resume(Effect.void)
      }
      const timer = setTimeout(finish, timeoutMs)
      this.onClosed = finish
      this.post({ _tag: "shutdown" })
    })
  }

  /** Stop the Worker now; calls still in flight on it fail with "tool worker restarted". */
  terminate(): void {
    if (this.terminated) return
    this.terminated = true
    this.fail("tool worker restarted")
    this.worker.terminate()
  }

  private fail(content: string): void {
    for (const id of [...this.calls.keys()]) this.settle(id, { ok: false, content })
  }

  private settle(id: number, result: CallResult): void {
    const call = this.calls.get(id)
    if (!call) return
    this.calls.delete(id)
    call.done(result)
  }

  private receive(data: unknown): void {
    const message = checkWorkerMessage(data)
    if (!message) return
    this.dispatch(message)
  }

  private dispatch(message: WorkerToHost): void {
    switch (message._tag) {
      case "ready":
        this.onReady?.(true)
        break
      case "loaded":
        this.onLoad?.({ info: message.plugin })
        break
      case "loadFailed":
        this.onLoad?.({ error: message.error })
        break
      case "result":
        // The Worker caps results itself; this guards against one that does not (the slack fits its suffix).
        this.settle(message.id, { ok: message.ok, content: capText(message.content, this.resultLimit + 64) })
        break
      case "pong": {
        const resolve = this.pings.get(message.id)
        this.pings.delete(message.id)
        resolve?.()
        break
      }
      case "closed":
        this.onClosed?.()
        break
      case "host":
        this.answerHost(message)
    }
  }

  private answerHost(message: Extract<WorkerToHost, { _tag: "host" }>): void {
    const reply = (ok: boolean, value: unknown, error: string) =>
      this.post({ _tag: "hostResult", id: message.id, ok, value, error })
    const call = message.callId === undefined ? undefined : this.calls.get(message.callId)
    if (message.callId !== undefined && !call) {
      reply(false, undefined, "the tool call has ended")
      return
    }
    void this.host(message.method, call, message.args).then((answer) => {
      try {
        if (answer.ok) reply(true, answer.value, "")
        else reply(false, undefined, answer.error)
      } catch (error) {
        reply(
          false,
          undefined,
          `${message.method}: the answer cannot be sent to the plugin (${(error as Error).message})`
        )
      }
    })
  }
}
