/**
 * The loaded plugins of one `plugins/` folder: one serving version (a tool actor) per plugin, swapped
 * transactionally on reload, and the `Tools` service over them.
 *
 * A reload loads and validates the new version in a fresh Worker first (imported, config decoded, setup run, tools
 * described); only then is it swapped in, and the old version is drained (its queued and running calls finish on
 * it) and terminated in the background. On any error the old version keeps serving and `PluginFailed` says why.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Clock, Effect, Either, type Scope } from "effect"
import * as Actor from "../../actor/Actor.ts"
import type { ActorSystem } from "../../actor/ActorSystem.ts"
import { EventBus } from "../../events/EventBus.ts"
import type { ToolSpec } from "../../llm/Provider.ts"
import { locate } from "../../persona/import/json.ts"
import { displayPath } from "../../persona/PersonaLoader.ts"
import type { ToolCallContext, ToolOutcome, ToolsService } from "../../tools/Tools.ts"
import type { HostApi } from "../HostApi.ts"
import {
  loadPluginWorker,
  PluginLoadError,
  spawnToolWorker,
  type ToolWorker,
  type ToolWorkerOptions
} from "../ToolWorker.ts"
import type { ToolInfo } from "./protocol.ts"
import type { WorkerPool } from "./WorkerPool.ts"

export interface PluginRegistryOptions {
  readonly dir: string
  readonly root: string | undefined
  /** The config.yaml the `plugins:` section came from, to point errors at its lines. */
  readonly configFile: string | undefined
  readonly worker: Omit<ToolWorkerOptions, "plugin" | "file" | "config">
}

export interface PluginStatus {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly tools: ReadonlyArray<string>
  /** False when the plugin's config switches it off: its tools are not offered. */
  readonly enabled: boolean
  readonly file: string
}

interface Slot {
  readonly id: string
  readonly file: string
  readonly version: ToolWorker
}

export interface PluginRegistry {
  readonly reload: (entry: string) => Effect.Effect<void>
  readonly reloadAll: Effect.Effect<void>
  readonly tools: ToolsService
  /** The plugin serving a tool. */
  readonly pluginOf: (tool: string) => string | undefined
  readonly plugins: () => ReadonlyArray<PluginStatus>
  readonly redactArguments: (tool: string, argumentsJson: string) => string
  readonly setConfig: (config: Readonly<Record<string, unknown>>) => void
}

const pluginFile = (dir: string, entry: string) =>
  ["plugin.ts", "plugin.js"].map((name) => join(dir, entry, name)).find((path) => existsSync(path))

const entries = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !e.name.startsWith("_"))
        .map((e) => e.name)
        .filter((name) => pluginFile(dir, name) !== undefined)
    : []

const parseArguments = (json: string): Either.Either<Record<string, unknown>, string> => {
  if (json.trim() === "") return Either.right({})
  try {
    const value = JSON.parse(json) as unknown
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? Either.right(value as Record<string, unknown>)
      : Either.left("invalid arguments: expected a JSON object")
  } catch (error) {
    return Either.left(`invalid arguments: not valid JSON (${(error as Error).message})`)
  }
}

export const makePluginRegistry = (
  pool: WorkerPool,
  initialConfig: Readonly<Record<string, unknown>>,
  options: PluginRegistryOptions
): Effect.Effect<PluginRegistry, never, HostApi | EventBus | ActorSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const scope = yield* Effect.scope
    const services = yield* Effect.context<HostApi | EventBus>()
    const supervisor = yield* Actor.root("troupe/plugins")
    const slots = new Map<string, Slot>()
    const toolIndex = new Map<string, { readonly plugin: string; readonly info: ToolInfo }>()
    let config = initialConfig
    let generation = 0
    const show = (path: string) => displayPath(path, options.root)

    const reindex = () => {
      toolIndex.clear()
      for (const [plugin, slot] of slots)
        for (const info of slot.version.info.tools) toolIndex.set(info.name, { plugin, info })
    }

    const drain = (slot: Slot) => {
      const longest = Math.max(options.worker.defaultTimeoutMs, ...slot.version.info.tools.map((t) => t.timeoutMs ?? 0))
      return Effect.forkIn(
        Effect.uninterruptible(supervisor.stop(slot.id, { mode: "drain", timeout: longest + 5000 })),
        scope
      )
    }

    /** Point a `config.yaml plugins.x.y: …` error at its line when the config file is known. */
    const withConfigLine = (error: PluginLoadError) => {
      const path = /^config\.yaml (plugins\.[^\s:;]+)/.exec(error.message)?.[1]
      if (error.file !== "config.yaml" || !options.configFile) return { file: error.file, line: error.sourceLine }
      const text = existsSync(options.configFile) ? readFileSync(options.configFile, "utf8") : ""
      const at = path ? locate(text, path.split(".")) : undefined
      return { file: show(options.configFile), line: at?.line }
    }

    const failed = (entry: string, error: PluginLoadError) =>
      Effect.gen(function* () {
        const where = withConfigLine(error)
        const file = where.file === "config.yaml" ? where.file : show(where.file)
        yield* bus.publish({
          _tag: "PluginFailed",
          at: yield* Clock.currentTimeMillis,
          plugin: entry,
          file,
          ...(where.line === undefined ? {} : { line: where.line }),
          ...(error.sourceColumn === undefined || where.file !== error.file ? {} : { column: error.sourceColumn }),
          message: error.message
        })
        const kept = slots.has(entry) ? " (the previous version keeps serving)" : ""
        const at =
          where.line === undefined ? file : `${file}:${where.line}${error.sourceColumn ? `:${error.sourceColumn}` : ""}`
        yield* Effect.logWarning(`plugin ${entry} not loaded${kept}: ${at} ${error.message}`)
      })

    const unload = (entry: string) =>
      Effect.gen(function* () {
        const slot = slots.get(entry)
        if (!slot) return
        slots.delete(entry)
        reindex()
        yield* drain(slot)
        yield* bus.publish({ _tag: "PluginUnloaded", at: yield* Clock.currentTimeMillis, plugin: entry })
        yield* Effect.logInfo(`plugin ${entry} unloaded`)
      })

    // Only loading the new version can be interrupted; once it is loaded, the swap runs to its end (so a host that
    // shuts down in the middle of a reload stops the new version with the rest instead of leaking its Worker).
    const reload = (entry: string): Effect.Effect<void> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const file = pluginFile(options.dir, entry)
          // A folder without plugin.ts (e.g. `plugins/_shared/`) holds code plugins import: reload them all.
          if (!file && !slots.has(entry) && existsSync(join(options.dir, entry))) return yield* reloadAll
          if (!file) return yield* unload(entry)
          const started = yield* Clock.currentTimeMillis
          const workerOptions: ToolWorkerOptions = { ...options.worker, plugin: entry, file, config: config[entry] }
          const loaded = yield* Effect.either(restore(loadPluginWorker(pool, workerOptions)))
          if (Either.isLeft(loaded)) return yield* failed(entry, loaded.left)
          const { info, process } = loaded.right
          const clash = info.tools.find((tool) => {
            const owner = toolIndex.get(tool.name)?.plugin
            return owner !== undefined && owner !== entry
          })
          if (clash) {
            process.terminate()
            const owner = toolIndex.get(clash.name)!.plugin
            const message = `tool ${clash.name} is already provided by plugin ${owner}`
            return yield* failed(entry, new PluginLoadError({ plugin: entry, file, message }))
          }
          if (info.name !== entry)
            yield* Effect.logWarning(`plugin ${entry}: definePlugin names it "${info.name}"; the folder name is used`)
          const id = `${entry}@${++generation}`
          const version = yield* spawnToolWorker(supervisor, id, loaded.right, pool, workerOptions)
          const old = slots.get(entry)
          slots.set(entry, { id, file, version })
          reindex()
          if (old) yield* drain(old)
          const now = yield* Clock.currentTimeMillis
          const tools = info.tools.map((tool) => tool.name)
          yield* bus.publish({
            _tag: "PluginLoaded",
            at: now,
            plugin: entry,
            version: info.version,
            tools,
            file: show(file),
            durationMs: now - started
          })
          const off = info.enabled ? "" : " (switched off by its config in config.yaml: its tools are not offered)"
          yield* Effect.logInfo(
            `plugin ${entry} ${info.version} ${old ? "reloaded" : "loaded"}: ${tools.join(", ")}${off}`
          )
        })
      ).pipe(
        Effect.provide(services),
        Effect.catchAllDefect((defect) => Effect.logError(`plugin ${entry}: loading failed unexpectedly`, defect))
      )

    const reloadAll: Effect.Effect<void> = Effect.suspend(() => {
      const all = new Set([...entries(options.dir), ...slots.keys()])
      return Effect.forEach([...all].sort(), reload, { discard: true, concurrency: 4 })
    })

    const unknownConfig = Object.keys(initialConfig).filter((name) => pluginFile(options.dir, name) === undefined)
    if (unknownConfig.length > 0) {
      yield* Effect.logWarning(
        `config.yaml plugins: no plugin folder for ${unknownConfig.join(", ")} in ${show(options.dir)}`
      )
    }

    const specs = (names: ReadonlyArray<string>): ReadonlyArray<ToolSpec> => {
      const seen = new Map<string, ToolSpec>()
      const add = (info: ToolInfo) =>
        seen.set(info.name, { name: info.name, description: info.description, parameters: info.parameters })
      for (const name of names) {
        const slot = slots.get(name)
        if (slot) {
          if (slot.version.info.enabled) for (const info of slot.version.info.tools) add(info)
        } else {
          const tool = toolIndex.get(name)
          if (tool && slots.get(tool.plugin)?.version.info.enabled) add(tool.info)
        }
      }
      return [...seen.values()]
    }

    const call = (name: string, argumentsJson: string, context: ToolCallContext): Effect.Effect<ToolOutcome> =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const outcome = (ok: boolean, content: string) =>
          Effect.map(Clock.currentTimeMillis, (now): ToolOutcome => ({ ok, content, durationMs: now - started }))
        const args = parseArguments(argumentsJson)
        if (Either.isLeft(args)) return yield* outcome(false, args.left)
        // A version being replaced refuses new calls; the call then goes to the version that replaced it.
        for (let attempt = 0; attempt < 3; attempt++) {
          const plugin = toolIndex.get(name)?.plugin
          const slot = plugin === undefined ? undefined : slots.get(plugin)
          if (!slot) return yield* outcome(false, `unknown tool ${name}`)
          if (!slot.version.info.enabled) {
            return yield* outcome(false, `tool ${name} is switched off by plugins.${plugin} in config.yaml`)
          }
          const result = yield* Effect.either(slot.version.call(name, args.right, context))
          if (Either.isRight(result)) return result.right
          if (slots.get(plugin!) === slot) yield* Effect.yieldNow()
        }
        return yield* outcome(false, `tool ${name} is not available right now`)
      })

    const redactArguments = (tool: string, argumentsJson: string): string => {
      const secret = toolIndex.get(tool)?.info.secret ?? []
      if (secret.length === 0) return argumentsJson
      const args = parseArguments(argumentsJson)
      if (Either.isLeft(args)) return argumentsJson
      const copy: Record<string, unknown> = { ...args.right }
      for (const field of secret) if (field in copy) copy[field] = "[redacted]"
      return JSON.stringify(copy)
    }

    return {
      reload,
      reloadAll,
      tools: {
        specs,
        call,
        names: () => [...toolIndex.keys()],
        redactArguments,
        pluginOf: (tool) => toolIndex.get(tool)?.plugin
      },
      pluginOf: (tool) => toolIndex.get(tool)?.plugin,
      plugins: () =>
        [...slots.entries()].map(([name, slot]) => ({
          name,
          version: slot.version.info.version,
          description: slot.version.info.description,
          tools: slot.version.info.tools.map((tool) => tool.name),
          enabled: slot.version.info.enabled,
          file: show(slot.file)
        })),
      redactArguments,
      setConfig: (next) => {
        config = next
      }
    }
  })
