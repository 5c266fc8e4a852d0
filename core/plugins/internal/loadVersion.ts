/**
 * Loading one version of a plugin: take a Worker (a warm spare when there is one), import the plugin in it, decode its
 * config, run its setup and describe its tools. This is the validation step of every load and reload: only a version
 * that got through it is ever swapped in.
 */
import { Effect, Runtime, Schema } from "effect"
import type { ToolCallContext } from "../../tools/Tools.ts"
import { contextFreeMethods, HostApi } from "../HostApi.ts"
import type { PluginInfo } from "./protocol.ts"
import type { WorkerPool } from "./WorkerPool.ts"
import type { HostRequestHandler, WorkerProcess } from "./WorkerProcess.ts"

/**
 * A plugin that could not be loaded: where, and why. (The position fields are not called `line` / `column`: Bun puts
 * properties of those names on every Error, pointing at where the error object was constructed.)
 */
export class PluginLoadError extends Schema.TaggedError<PluginLoadError>()("PluginLoadError", {
  plugin: Schema.String,
  file: Schema.String,
  sourceLine: Schema.optional(Schema.Number),
  sourceColumn: Schema.optional(Schema.Number),
  message: Schema.String
}) {}

export interface ToolWorkerOptions {
  /** The plugin's id: its folder name. */
  readonly plugin: string
  /** Absolute path of `plugin.ts`. */
  readonly file: string
  /** `plugins.<name>` from config.yaml, decoded in the Worker by the plugin's schema. */
  readonly config: unknown
  /** Calls in flight at once (default 4). */
  readonly concurrency: number
  /** Timeout of a tool without its own (default 10 s). */
  readonly defaultTimeoutMs: number
  /** After a timeout, how long the Worker has to answer a ping before it is terminated (default 250 ms). */
  readonly graceMs: number
  /** Longest result, in characters (default 16 KiB). */
  readonly resultLimit: number
}

/** A Worker with the plugin loaded and set up, not yet serving. */
export interface LoadedPlugin {
  readonly process: WorkerProcess
  readonly info: PluginInfo
}

const emptyContext: ToolCallContext = {
  persona: "",
  conversationId: "",
  correlationId: "",
  turnId: "",
  channel: "",
  chatId: "",
  userId: "",
  userName: "",
  options: undefined
}

/** Answer a Worker's host service calls with the HostApi, using the context of the tool call they belong to. */
const hostHandler = (plugin: string): Effect.Effect<HostRequestHandler, never, HostApi> =>
  Effect.gen(function* () {
    const api = yield* HostApi
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromise(runtime)
    return (method, call, args) => {
      if (!call && !contextFreeMethods.has(method)) {
        return Promise.resolve({ ok: false as const, error: `${method} is only available inside a tool call` })
      }
      return run(
        api.call(method, call?.context ?? emptyContext, args, { plugin, tool: call?.tool }).pipe(
          Effect.match({
            onFailure: (error) => ({ ok: false as const, error: error.message }),
            onSuccess: (value) => ({ ok: true as const, value })
          }),
          Effect.catchAllDefect((defect) =>
            Effect.succeed({ ok: false as const, error: `${method} failed: ${defect}` })
          )
        )
      )
    }
  })

/** Start a Worker and load the plugin into it: the validation step of every (re)load. */
export const loadPluginWorker = (
  pool: WorkerPool,
  options: ToolWorkerOptions
): Effect.Effect<LoadedPlugin, PluginLoadError, HostApi> => {
  const failed = (message: string, where: { file?: string; line?: number; column?: number } = {}) =>
    new PluginLoadError({ plugin: options.plugin, file: where.file ?? options.file, message, ...lineOf(where) })
  const load = (process: WorkerProcess) =>
    Effect.gen(function* () {
      process.resultLimit = options.resultLimit
      process.host = yield* hostHandler(options.plugin)
      const result = yield* process.load(options.file, options.plugin, options.config)
      if ("error" in result) return yield* Effect.fail(failed(result.error.message, result.error))
      return { process, info: result.info }
    })
  // Whatever happens after the Worker is taken (a load error, an interruption), it is terminated unless it serves.
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(
      restore(Effect.mapError(pool.take, (reason) => failed(`the plugin worker did not start: ${reason}`))),
      (process) => restore(load(process)).pipe(Effect.onError(() => Effect.sync(() => process.terminate())))
    )
  )
}

const lineOf = (where: { line?: number | undefined; column?: number | undefined }) => ({
  ...(where.line === undefined ? {} : { sourceLine: where.line }),
  ...(where.column === undefined ? {} : { sourceColumn: where.column })
})
