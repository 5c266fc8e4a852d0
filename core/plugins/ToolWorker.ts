/**
 * A tool actor: one version of one plugin, running in its own Worker. Calls arrive in the actor's bounded mailbox and
 * run with bounded concurrency (default 4 in flight; the rest wait in the mailbox). Each call has a timeout (the
 * tool's own, else 10 s). When a call times out, its `ctx.signal` is aborted and the Worker is pinged: a Worker that
 * does not answer within the grace period (a tool stuck in a synchronous loop) is terminated and replaced by a fresh
 * one; calls that were running on it fail with "tool worker restarted", calls still waiting in the mailbox run on the
 * new Worker. A Worker that crashes is replaced the same way.
 *
 * Stopping the actor (a reload swapped in a new version, or the plugin was removed) drains it: queued and running
 * calls finish on this version, then the plugin's cleanup runs and the Worker is terminated.
 */
import { Clock, Deferred, Effect, FiberId, Runtime } from "effect"
import type { ActorRef, ActorUnavailable, Supervisor } from "../actor/Actor.ts"
import { ask } from "../actor/Actor.ts"
import { EventBus } from "../events/EventBus.ts"
import type { EventTag } from "../events/Events.ts"
import { eventTags } from "../events/Events.ts"
import type { ToolCallContext, ToolOutcome } from "../tools/Tools.ts"
import type { HostApi } from "./HostApi.ts"
import { type LoadedPlugin, loadPluginWorker, type ToolWorkerOptions } from "./internal/loadVersion.ts"
import type { PluginInfo } from "./internal/protocol.ts"
import type { WorkerPool } from "./internal/WorkerPool.ts"
import type { WorkerProcess } from "./internal/WorkerProcess.ts"

export {
  type LoadedPlugin,
  loadPluginWorker,
  PluginLoadError,
  type ToolWorkerOptions
} from "./internal/loadVersion.ts"

/** A serving version. */
export interface ToolWorker {
  readonly info: PluginInfo
  readonly ref: ActorRef<ToolCall>
  /** Run one call on this version. Fails only when the version no longer takes calls (it is being replaced). */
  readonly call: (tool: string, args: unknown, context: ToolCallContext) => Effect.Effect<ToolOutcome, ActorUnavailable>
}

export interface ToolCall {
  readonly tool: string
  readonly args: unknown
  readonly context: ToolCallContext
  readonly startedAt: number
  readonly reply: Deferred.Deferred<ToolOutcome>
}

/**
 * One call on a Worker; `undefined` when it did not answer within `timeoutMs`. The timer is a plain `setTimeout`
 * rather than `Effect.timeout`: on the hot path a fiber race per call costs more than the Worker round trip itself.
 */
const callWithTimeout = (
  process: WorkerProcess,
  call: ToolCall,
  timeoutMs: number
): Effect.Effect<{ ok: boolean; content: string } | undefined> =>
  Effect.async((resume) => {
    let settled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const callId = process.call(call.tool, call.args, call.context, (result) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(Effect.succeed(result))
    })
    if (!settled) {
      timer = setTimeout(() => {
        settled = true
        process.abandon(callId)
        resume(Effect.succeed(undefined))
      }, timeoutMs)
    }
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      process.abandon(callId)
    })
  })

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`)

/**
 * Start the tool actor of a loaded version under `supervisor`. The Worker of `loaded` serves first; a replacement
 * (after a hang or a crash) is taken from `pool` and loaded the same way.
 */
export const spawnToolWorker = (
  supervisor: Supervisor,
  id: string,
  loaded: LoadedPlugin,
  pool: WorkerPool,
  options: ToolWorkerOptions
): Effect.Effect<ToolWorker, never, HostApi | EventBus> =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const context = yield* Effect.context<HostApi>()
    let adopted: WorkerProcess | undefined = loaded.process
    const tools = new Map(loaded.info.tools.map((tool) => [tool.name, tool]))
    const longest = Math.max(options.defaultTimeoutMs, ...loaded.info.tools.map((t) => t.timeoutMs ?? 0))
    let refHolder: ActorRef<ToolCall> | undefined

    const behavior = Effect.gen(function* () {
      const scope = yield* Effect.scope
      const runFork = Runtime.runFork(yield* Effect.runtime<never>())
      let current: WorkerProcess | undefined = adopted
      adopted = undefined
      let replacing: Deferred.Deferred<WorkerProcess, string> | undefined
      let lastFailure: string | undefined

      const replace = (reason: string): Effect.Effect<WorkerProcess, string> =>
        Effect.suspend(() => {
          if (replacing) return Deferred.await(replacing)
          current?.terminate()
          current = undefined
          const deferred = Deferred.unsafeMake<WorkerProcess, string>(FiberId.none)
          replacing = deferred
          const boot = loadPluginWorker(pool, options).pipe(
            Effect.provide(context),
            Effect.tap((next) =>
              Effect.sync(() => {
                current = next.process
                watch(next.process)
                lastFailure = undefined
                const ref = refHolder
                if (ref) {
                  ref.stats.restarts++
                  bus.unsafePublish({
                    _tag: "ActorRestarted",
                    at: Date.now(),
                    path: ref.path,
                    kind: "tool",
                    attempt: ref.stats.restarts,
                    reason
                  })
                }
              })
            ),
            Effect.map((next) => next.process),
            Effect.mapError((error) => `plugin ${options.plugin} could not be restarted: ${error.message}`),
            Effect.tapError((message) =>
              Effect.sync(() => {
                lastFailure = message
              })
            ),
            Effect.exit,
            Effect.flatMap((exit) => Deferred.done(deferred, exit)),
            Effect.ensuring(
              Effect.sync(() => {
                replacing = undefined
              })
            )
          )
          return Effect.zipRight(
            Effect.zipRight(
              Effect.logWarning(`plugin ${options.plugin}: replacing its worker (${reason})`),
              Effect.forkIn(boot, scope)
            ),
            Deferred.await(deferred)
          )
        })

      const watch = (process: WorkerProcess) =>
        process.onExit((how) => {
          if (how === "crashed" && current === process) {
            runFork(Effect.ignore(replace("the worker crashed")))
          }
        })
      if (current) watch(current)

      const worker: Effect.Effect<WorkerProcess, string> = Effect.suspend(() =>
        current?.alive
          ? Effect.succeed(current)
          : replacing
            ? Deferred.await(replacing)
            : replace(lastFailure ?? "its worker is gone")
      )

      /** After a timeout: a Worker that does not answer a ping is stuck, so it is replaced. */
      const checkHealth = (process: WorkerProcess, reason: string) =>
        Effect.flatMap(process.responsive(options.graceMs), (ok) =>
          ok || current !== process ? Effect.void : Effect.ignore(replace(reason))
        )

      const run = (call: ToolCall): Effect.Effect<Omit<ToolOutcome, "durationMs">> =>
        Effect.gen(function* () {
          const tool = tools.get(call.tool)
          if (!tool) return { ok: false, content: `unknown tool ${call.tool}` }
          const either = yield* Effect.either(worker)
          if (either._tag === "Left") return { ok: false, content: either.left }
          const process = either.right
          const timeoutMs = tool.timeoutMs ?? options.defaultTimeoutMs
          const result = yield* callWithTimeout(process, call, timeoutMs)
          if (result !== undefined) return result
          const reason = `tool ${call.tool} timed out after ${seconds(timeoutMs)}`
          yield* Effect.forkIn(checkHealth(process, reason), scope)
          return { ok: false, content: reason }
        })

      const permits = yield* Effect.makeSemaphore(options.concurrency)
      const stopHooks = loaded.info.hooks.length
        ? bus.listen(
            loaded.info.hooks.filter((tag): tag is EventTag => (eventTags as ReadonlyArray<string>).includes(tag)),
            (event) => current?.send({ _tag: "event", event })
          )
        : () => undefined

      // Draining: wait for running calls (bounded by the longest timeout), let the plugin clean up, terminate.
      yield* Effect.addFinalizer(() =>
        permits
          .withPermits(options.concurrency)(Effect.void)
          .pipe(
            Effect.timeout(longest + options.graceMs + 1000),
            Effect.ignore,
            Effect.zipRight(Effect.sync(stopHooks)),
            Effect.zipRight(Effect.suspend(() => current?.shutdown() ?? Effect.void)),
            Effect.zipRight(Effect.sync(() => current?.terminate()))
          )
      )

      return (call: ToolCall) =>
        Effect.zipRight(
          permits.take(1),
          Effect.forkDaemon(
            run(call).pipe(
              Effect.flatMap((outcome) =>
                Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  Deferred.succeed(call.reply, { ...outcome, durationMs: now - call.startedAt })
                )
              ),
              Effect.ensuring(permits.release(1))
            )
          )
        )
    })

    const ref = yield* Effect.orDie(
      supervisor.spawn<ToolCall, never>(
        { id, kind: "tool", mailboxCapacity: 256, labels: { plugin: options.plugin }, restart: { maxRestarts: 20 } },
        behavior
      )
    )
    refHolder = ref
    return {
      info: loaded.info,
      ref,
      call: (tool, args, callContext) =>
        Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
          ask(ref, (reply: Deferred.Deferred<ToolOutcome>) => ({ tool, args, context: callContext, startedAt, reply }))
        )
    }
  })
