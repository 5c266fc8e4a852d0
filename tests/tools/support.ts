/**
 * Helpers for the built-in tool tests: a plugin host over the real `plugins/` folder (every built-in plugin in its own
 * Worker), with the `plugins:` settings and host services a test gives, and a shorthand to call one tool.
 */

import { afterAll, beforeAll } from "bun:test"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, type Scope } from "effect"
import type { ActorSystem } from "../../core/actor/ActorSystem.ts"
import type { EventBus } from "../../core/events/EventBus.ts"
import type { Personas } from "../../core/persona/Personas.ts"
import { HostApi } from "../../core/plugins/HostApi.ts"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { type ToolCallContext, type ToolOutcome, Tools } from "../../core/tools/Tools.ts"
import { baseLayer } from "../support/effect.ts"
import { tempDir } from "../support/tmp.ts"

export { context, waitFor } from "../plugins/support.ts"

export const pluginsDir = fileURLToPath(new URL("../../plugins", import.meta.url))

export interface BuiltinsOptions {
  /** `plugins:` of config.yaml. */
  readonly config?: Readonly<Record<string, unknown>>
  /** Host services (default: only `log`). */
  readonly hostApi?: Layer.Layer<HostApi>
  /** Files of a `personalities/` folder (default: none, so no persona restricts its tools). */
  readonly personalities?: Readonly<Record<string, string>>
}

type Needs = PluginHost | Tools | Personas | HostApi | EventBus | ActorSystem | Scope.Scope

/** Run `body` with the built-in plugins loaded. */
export const withBuiltins = <A, E>(
  body: Effect.Effect<A, E, Needs>,
  options: BuiltinsOptions = {}
): Effect.Effect<A, E, EventBus | ActorSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const personalities = tempDir(options.personalities ?? {})
    yield* Effect.addFinalizer(() => Effect.sync(() => personalities.cleanup()))
    const host = PluginHost.layer({
      pluginsDir,
      personalitiesDir: personalities.dir,
      pluginConfig: options.config ?? {},
      timeoutMs: 5000
    }).pipe(Layer.provideMerge(options.hostApi ?? HostApi.layer))
    return yield* Effect.provide(body, host)
  })

/** Call a tool with JSON-able arguments. */
export const callTool = (name: string, args: unknown, ctx: ToolCallContext): Effect.Effect<ToolOutcome, never, Tools> =>
  Effect.flatMap(Tools, (tools) => tools.call(name, JSON.stringify(args), ctx))

/** A HostApi with these handlers registered on top of the defaults. */
export const hostApiWith = (register: (api: HostApi["Type"]) => Effect.Effect<void>): Layer.Layer<HostApi> =>
  Layer.effect(HostApi, Effect.tap(HostApi, register)).pipe(Layer.provide(HostApi.layer))

/**
 * One host for a whole test file (loading eight plugins takes about half a second): started before the file's tests,
 * stopped after them. `run` runs an effect on it, in a scope of its own. `services` are built first and given to the
 * host API layer and to every effect run (e.g. the store and the scheduler behind the real host services).
 */
export const sharedBuiltins = <S = never>(
  options: Omit<BuiltinsOptions, "hostApi"> & {
    readonly hostApi?: Layer.Layer<HostApi, never, S | EventBus | ActorSystem>
    readonly services?: Layer.Layer<S, never, EventBus | ActorSystem>
  } = {}
) => {
  type Provided = Exclude<Needs, Scope.Scope> | S
  let runtime: ManagedRuntime.ManagedRuntime<Provided, never> | undefined
  const personalities = tempDir(options.personalities ?? {})
  const level = process.env.TROUPE_TEST_LOGS ? LogLevel.Debug : LogLevel.None
  beforeAll(async () => {
    const services = (options.services ?? Layer.empty) as Layer.Layer<S, never, EventBus | ActorSystem>
    const host = PluginHost.layer({
      pluginsDir,
      personalitiesDir: personalities.dir,
      pluginConfig: options.config ?? {},
      timeoutMs: 5000
    }).pipe(
      Layer.provideMerge(options.hostApi ?? HostApi.layer),
      Layer.provideMerge(services),
      Layer.provideMerge(baseLayer)
    )
    runtime = ManagedRuntime.make((host as Layer.Layer<Provided>).pipe(Layer.provide(Logger.minimumLogLevel(level))))
    await runtime.runPromise(Effect.void)
  })
  afterAll(async () => {
    await runtime?.dispose()
    personalities.cleanup()
  })
  return {
    run: <A, E>(effect: Effect.Effect<A, E, Needs | S>): Promise<A> => {
      if (!runtime) throw new Error("the shared host is not started (call run inside a test)")
      return runtime.runPromise(Effect.scoped(effect).pipe(Logger.withMinimumLogLevel(level)))
    }
  }
}
