/** Helpers for plugin host tests: a host over temporary folders, recorded events, a call context, `waitFor`. */

import { Effect, Layer, type Scope } from "effect"
import type { ActorSystem } from "../../core/actor/ActorSystem.ts"
import { EventBus } from "../../core/events/EventBus.ts"
import type { EventOf, EventTag, TroupeEvent } from "../../core/events/Events.ts"
import type { Personas } from "../../core/persona/Personas.ts"
import { HostApi } from "../../core/plugins/HostApi.ts"
import { liveWorkers } from "../../core/plugins/internal/WorkerProcess.ts"
import { PluginHost, type PluginHostOptions } from "../../core/plugins/PluginHost.ts"
import type { ToolCallContext, Tools } from "../../core/tools/Tools.ts"
import { tempDir } from "../support/tmp.ts"

/** Poll `predicate` until it holds, failing after `timeoutMs`. */
export const waitFor = async (predicate: () => boolean, timeoutMs = 2000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(5)
  }
}

export const waitForEffect = (predicate: () => boolean, timeoutMs = 2000, what = "condition") =>
  Effect.promise(() => waitFor(predicate, timeoutMs, what))

export const context = (overrides: Partial<ToolCallContext> = {}): ToolCallContext => ({
  persona: "sage",
  conversationId: "telegram:sage/42",
  correlationId: "cid-1",
  turnId: "turn-1",
  channel: "telegram:sage_bot",
  chatId: "42",
  userId: "telegram:7",
  userName: "Ada",
  options: undefined,
  ...overrides
})

/** Every event published from now on, in order. */
export const recordEvents = Effect.gen(function* () {
  const bus = yield* EventBus
  const events: Array<TroupeEvent> = []
  const stop = bus.listen("all", (event) => events.push(event))
  yield* Effect.addFinalizer(() => Effect.sync(stop))
  return {
    all: events,
    of: <T extends EventTag>(tag: T) => events.filter((event): event is EventOf<T> => event._tag === tag)
  }
})

/**
 * Run `body` with a PluginHost over the given folders (HostApi included; the event bus and actor system come from
 * `runLive`). The host, its Workers and watchers are gone when `body` ends.
 */
export const withHost = <A, E>(
  options: PluginHostOptions,
  body: Effect.Effect<A, E, PluginHost | Tools | Personas | HostApi | EventBus | ActorSystem | Scope.Scope>,
  hostApi: Layer.Layer<HostApi> = HostApi.layer
) => Effect.provide(body, PluginHost.layer({ timeoutMs: 2000, ...options }).pipe(Layer.provideMerge(hostApi)))

/** After a host's scope closed, its Workers exit shortly (terminate is asynchronous). */
export const expectNoWorkers = () => waitFor(() => liveWorkers() === 0, 2000, "every worker to exit")

/** Run `effect` until its result satisfies `predicate`, failing after `timeoutMs`. */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  predicate: (value: A) => boolean,
  timeoutMs = 1000,
  what = "condition"
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* effect
      if (predicate(value)) return value
      if (Date.now() > deadline)
        return yield* Effect.die(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

/** Temporary project folders (`plugins/`, `personalities/`) for one test file; call `cleanup` in `afterAll`. */
export const projectFolders = () => {
  const dirs: Array<{ cleanup: () => void }> = []
  return {
    folders: (files: Record<string, string>) => {
      const tmp = tempDir(files)
      dirs.push(tmp)
      return { pluginsDir: tmp.path("plugins"), personalitiesDir: tmp.path("personalities"), root: tmp.dir }
    },
    cleanup: () => {
      for (const dir of dirs.splice(0)) dir.cleanup()
    }
  }
}
