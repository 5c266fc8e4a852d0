/**
 * The plugin host: loads every plugin under `plugins/` (each in its own Worker) and every persona under
 * `personalities/` at start, serves the `Tools` service over the plugins and the `Personas` registry, and reloads
 * either on change — on `reloadAll` (SIGHUP with `troupe start`) and, with `watch: true` (`troupe dev`), whenever a
 * file changes. Reloads are serialized and transactional: a broken change leaves the old version serving and
 * publishes `PluginFailed` / `PersonaFailed` with the file and line.
 *
 * @example
 * const host = PluginHost.layer({ pluginsDir: "plugins", personalitiesDir: "personalities", watch: true })
 * const program = Effect.gen(function* () {
 *   const tools = yield* Tools
 *   const outcome = yield* tools.call("add", '{"a":1,"b":2}', context)
 * })
 * program.pipe(Effect.provide(host), Effect.provide(HostApi.layer), …)
 */
import { mkdirSync } from "node:fs"
import { resolve } from "node:path"
import { Context, Effect, Layer } from "effect"
import type { ActorSystem } from "../actor/ActorSystem.ts"
import { Config } from "../config/Config.ts"
import type { Env } from "../config/Yaml.ts"
import type { EventBus } from "../events/EventBus.ts"
import { makePersonaDirectory, Personas } from "../persona/Personas.ts"
import { Tools, type ToolsService } from "../tools/Tools.ts"
import type { HostApi } from "./HostApi.ts"
import { makePluginRegistry, type PluginStatus } from "./internal/PluginRegistry.ts"
import { defaultResultLimit } from "./internal/protocol.ts"
import { makeWorkerPool } from "./internal/WorkerPool.ts"
import { watchFolder } from "./Watcher.ts"

export type { PluginStatus } from "./internal/PluginRegistry.ts"

export interface PluginHostOptions {
  readonly pluginsDir: string
  readonly personalitiesDir: string
  /** Watch both folders and reload on change (`troupe dev`). Default false. */
  readonly watch?: boolean
  /** Paths in events and logs are shown relative to this directory (default: the current directory). */
  readonly root?: string
  /** `plugins:` from config.yaml: each plugin's settings, decoded by its own schema. */
  readonly pluginConfig?: Readonly<Record<string, unknown>>
  /** The config file `pluginConfig` came from, so config errors name its lines. */
  readonly configFile?: string
  /** Provider of personas imported from character files (e.g. the first configured one); default `echo`. */
  readonly defaultProvider?: string
  /** Configured provider names (a character file's own provider is used when it is one of them). */
  readonly providers?: ReadonlyArray<string>
  /** For `${VAR}` in persona.yaml (default: the process environment). */
  readonly env?: Env
  /** Quiet time before a burst of file changes is reloaded (default 100 ms). */
  readonly debounceMs?: number
  /** Calls in flight per plugin (default 4). */
  readonly concurrency?: number
  /** Timeout of tools without their own, in milliseconds (default 10 s). */
  readonly timeoutMs?: number
  /** After a timeout, how long a Worker has to answer a ping before it is replaced (default 250 ms). */
  readonly graceMs?: number
  /** Longest tool result, in characters (default 16 KiB). */
  readonly resultLimit?: number
  /** Warm Workers kept ready for reloads and restarts (default 1). */
  readonly spareWorkers?: number
}

export interface PluginHostService {
  /** Reload every plugin and persona (SIGHUP). New `plugins:` settings from config.yaml apply to this reload on. */
  readonly reloadAll: (pluginConfig?: Readonly<Record<string, unknown>>) => Effect.Effect<void>
  /** Reload one plugin folder (a missing folder unloads the plugin). */
  readonly reloadPlugin: (name: string) => Effect.Effect<void>
  /** Reload one entry of `personalities/` (a folder or `.json` file name). */
  readonly reloadPersona: (entry: string) => Effect.Effect<void>
  /** The plugins currently serving. */
  readonly plugins: () => ReadonlyArray<PluginStatus>
  /** The arguments JSON with the tool's `secret` fields replaced by `[redacted]`, for logs and `ToolCalled` events. */
  readonly redactArguments: (tool: string, argumentsJson: string) => string
}

const make = (options: PluginHostOptions) =>
  Effect.gen(function* () {
    const pluginsDir = resolve(options.root ?? ".", options.pluginsDir)
    const personalitiesDir = resolve(options.root ?? ".", options.personalitiesDir)
    const pool = yield* makeWorkerPool(options.spareWorkers ?? 1)
    const plugins = yield* makePluginRegistry(pool, options.pluginConfig ?? {}, {
      dir: pluginsDir,
      root: options.root,
      configFile: options.configFile,
      worker: {
        concurrency: options.concurrency ?? 4,
        defaultTimeoutMs: options.timeoutMs ?? 10_000,
        graceMs: options.graceMs ?? 250,
        resultLimit: options.resultLimit ?? defaultResultLimit
      }
    })
    const personas = yield* makePersonaDirectory(personalitiesDir, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.root ? { root: options.root } : {}),
      ...(options.defaultProvider ? { defaultProvider: options.defaultProvider } : {}),
      ...(options.providers ? { providers: options.providers } : {})
    })
    const lock = yield* Effect.makeSemaphore(1)
    const serialized = <A>(effect: Effect.Effect<A>) => lock.withPermits(1)(effect)

    yield* serialized(Effect.all([plugins.reloadAll, personas.reloadAll], { concurrency: 2, discard: true }))

    if (options.watch) {
      const watchOptions = options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }
      for (const [dir, registry] of [
        [pluginsDir, plugins],
        [personalitiesDir, personas]
      ] as const) {
        mkdirSync(dir, { recursive: true })
        yield* watchFolder(
          dir,
          (entries) =>
            serialized(
              entries.has("*") ? registry.reloadAll : Effect.forEach(entries, registry.reload, { discard: true })
            ),
          watchOptions
        )
      }
    }

    const host: PluginHostService = {
      reloadAll: (pluginConfig) =>
        serialized(
          Effect.zipRight(
            Effect.sync(() => pluginConfig && plugins.setConfig(pluginConfig)),
            Effect.all([plugins.reloadAll, personas.reloadAll], { concurrency: 2, discard: true })
          )
        ),
      reloadPlugin: (name) => serialized(plugins.reload(name)),
      reloadPersona: (entry) => serialized(personas.reload(entry)),
      plugins: plugins.plugins,
      redactArguments: plugins.redactArguments
    }
    // A model may call a tool it was never offered: a persona loaded here only reaches the tools it lists (by tool or
    // plugin name). Callers with personas unknown to this registry (tests, tools run by hand) are not restricted.
    const tools: ToolsService = {
      ...plugins.tools,
      call: (name, argumentsJson, context) => {
        const persona = personas.service.get(context.persona)
        const plugin = plugins.pluginOf(name)
        if (persona && !persona.tools.includes(name) && !(plugin !== undefined && persona.tools.includes(plugin))) {
          return Effect.succeed({ ok: false, content: `tool ${name} is not enabled for ${persona.id}`, durationMs: 0 })
        }
        return plugins.tools.call(name, argumentsJson, context)
      }
    }
    return Context.make(PluginHost, host).pipe(Context.add(Tools, tools), Context.add(Personas, personas.service))
  })

export class PluginHost extends Context.Tag("troupe/PluginHost")<PluginHost, PluginHostService>() {
  /** The host over explicit folders and settings. Workers and watchers end with the layer's scope. */
  static readonly layer = (
    options: PluginHostOptions
  ): Layer.Layer<PluginHost | Tools | Personas, never, EventBus | ActorSystem | HostApi> =>
    Layer.scopedContext(make(options))

  /**
   * The host as config.yaml describes it: `runtime.plugins`, `runtime.personalities`, `runtime.watch`, the
   * `plugins:` section, and the first configured provider as the default for imported characters.
   */
  static readonly layerConfig = (
    overrides: Partial<PluginHostOptions> = {}
  ): Layer.Layer<PluginHost | Tools | Personas, never, Config | EventBus | ActorSystem | HostApi> =>
    Layer.scopedContext(
      Effect.flatMap(Config, ({ config, file, root }) => {
        const providers = Object.keys(config.providers)
        return make({
          pluginsDir: config.runtime.plugins,
          personalitiesDir: config.runtime.personalities,
          watch: config.runtime.watch,
          root,
          pluginConfig: config.plugins,
          ...(file ? { configFile: file } : {}),
          ...(providers[0] ? { defaultProvider: providers[0] } : {}),
          providers,
          ...overrides
        })
      })
    )
}
