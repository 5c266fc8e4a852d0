/**
 * The plugin SDK: everything a tool plugin imports. A plugin is a folder `plugins/<name>/` whose `plugin.ts`
 * default-exports `definePlugin({...})`. It runs in its own Worker; the host talks to it with messages, so a plugin
 * that hangs or crashes never stops the rest of Troupe.
 *
 * @example
 * // plugins/calculator/plugin.ts
 * import { definePlugin, defineTool, Schema } from "../../core/plugins/sdk.ts"
 *
 * export default definePlugin({
 *   name: "calculator",
 *   version: "1.0.0",
 *   tools: [
 *     defineTool({
 *       name: "add",
 *       description: "Add two numbers",
 *       parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
 *       run: ({ a, b }) => String(a + b)
 *     })
 *   ]
 * })
 *
 * Import `Schema` from this module rather than from `effect`: the Worker already holds this copy, so the plugin starts
 * in a few milliseconds. (Importing `effect` directly works too; the Worker then loads a second copy, which is slower.)
 *
 * A plugin runs in its own Worker: a tool that hangs is terminated at its timeout, a crash takes only that Worker
 * down. That is fault isolation, not a security sandbox: plugin code shares the process, its files and its
 * environment, so install only plugins you trust.
 */
import * as Schema from "effect/Schema"
import type { EventOf, EventTag } from "../events/Events.ts"

/**
 * Effect's `Schema` module, for tool parameters and plugin config. Annotate fields with a `description`: the model
 * reads it.
 *
 * @example
 * parameters: Schema.Struct({ city: Schema.String.annotations({ description: "City name, e.g. Oslo" }) })
 */
export { Schema }

const PluginTypeId: unique symbol = Symbol.for("troupe/Plugin") as never
const ToolTypeId: unique symbol = Symbol.for("troupe/Tool") as never

/**
 * A timeout: milliseconds, or text such as `"5 seconds"`, `"500 millis"`, `"2 minutes"`, `"10s"`, `"250ms"`.
 *
 * @example
 * defineTool({ name: "slow", description: "…", parameters, timeout: "30 seconds", run })
 */
export type Timeout = number | `${number}${"ms" | "s" | "m"}` | `${number} ${"millis" | "seconds" | "minutes"}`

/**
 * What a tool may return: text, or any JSON-able value (sent to the model as JSON). Results longer than 16 KiB are
 * cut, with a note saying so.
 *
 * @example
 * run: () => ({ temperature: 21, unit: "C" }) // the model reads {"temperature":21,"unit":"C"}
 */
export type ToolResult = string | number | boolean | null | undefined | ReadonlyArray<unknown> | object

/**
 * Log lines from a plugin. They go to the host's log with the plugin, tool and persona attached.
 *
 * @example
 * ctx.log.info("fetched forecast", { city, ms: 120 })
 */
export interface PluginLog {
  readonly info: (message: string, fields?: Record<string, unknown>) => void
  readonly warn: (message: string, fields?: Record<string, unknown>) => void
  readonly error: (message: string, fields?: Record<string, unknown>) => void
}

/**
 * A note as the host stores it.
 *
 * @example
 * const note: Note | undefined = await ctx.notes.get("birthday")
 * if (note) return `noted on ${new Date(note.updatedAt ?? 0).toDateString()}: ${note.text}`
 */
export interface Note {
  readonly key: string
  readonly text: string
  readonly createdAt?: number
  readonly updatedAt?: number
}

/**
 * Short text notes kept by the host, private to the persona and the user the tool is running for. The owner is
 * decided by the host from the conversation, never by the tool or the model.
 *
 * @example
 * await ctx.notes.save("birthday", "12 March")
 * const note = await ctx.notes.get("birthday")
 */
export interface Notes {
  readonly save: (key: string, text: string) => Promise<void>
  readonly get: (key: string) => Promise<Note | undefined>
  /** Notes whose key or text contains `query`, newest first. */
  readonly search: (query: string, limit?: number) => Promise<ReadonlyArray<Note>>
  /** Newest first. */
  readonly list: (limit?: number) => Promise<ReadonlyArray<Note>>
  /** `true` if there was such a note. */
  readonly delete: (key: string) => Promise<boolean>
}

/**
 * When a scheduled prompt runs: at a time, after a delay, and optionally again at an interval.
 *
 * @example
 * await ctx.scheduler.schedule({ prompt: "Post the daily puzzle", at: "2026-01-01T09:00:00Z", every: "24h" })
 */
export interface ScheduleRequest {
  /** The text the persona receives when the job fires, as if the user had written it. */
  readonly prompt: string
  /** Epoch milliseconds, a `Date`, or an ISO date text. */
  readonly at?: number | Date | string
  /** A delay from now. */
  readonly in?: Timeout
  /** Repeat at this interval. */
  readonly every?: Timeout
}

/**
 * A scheduled prompt, as the host reports it.
 *
 * @example
 * const jobs = await ctx.scheduler.list()
 * return jobs.map((job) => `${job.id}: ${job.prompt} at ${new Date(job.nextAt).toISOString()}`).join("\n")
 */
export interface ScheduledJob {
  readonly id: string
  readonly prompt: string
  readonly nextAt: number
  readonly status?: string
  readonly intervalMs?: number
}

/**
 * Prompts the persona receives later in this conversation (reminders, daily digests).
 *
 * @example
 * const job = await ctx.scheduler.schedule({ prompt: "Remind me to stretch", in: "20m" })
 * await ctx.scheduler.cancel(job.id)
 */
export interface Scheduler {
  readonly schedule: (request: ScheduleRequest) => Promise<ScheduledJob>
  /** This user's jobs with this persona. */
  readonly list: () => Promise<ReadonlyArray<ScheduledJob>>
  /** Stop a job (it is kept as cancelled). */
  readonly cancel: (id: string) => Promise<boolean>
  readonly delete: (id: string) => Promise<boolean>
}

/**
 * The conversation's stored history.
 *
 * @example
 * if ((await ctx.memory.count()) > 500) await ctx.memory.trim(100)
 */
export interface Memory {
  /** Messages stored for this conversation. */
  readonly count: () => Promise<number>
  /** Keep only the newest `keep` messages; returns how many were removed. */
  readonly trim: (keep: number) => Promise<number>
}

/**
 * Outbound HTTP through the host, which applies its allow-list and limits. The global `fetch` in a plugin goes
 * through the same path.
 *
 * @example
 * const response = await ctx.http.fetch("https://api.example.com/weather?city=Oslo")
 * const body = await response.json()
 */
export interface Http {
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
}

/**
 * What `setup` (and hooks) receive: the plugin's decoded config, a logger and HTTP. Notes, the scheduler and memory
 * belong to a conversation, so they are only on a tool call's `ToolContext`.
 *
 * @example
 * setup: async (ctx) => {
 *   const response = await ctx.http.fetch(`${ctx.config.baseUrl}/health`)
 *   if (!response.ok) throw new Error(`weather API is down (${response.status})`) // the plugin does not load
 * }
 */
export interface SetupContext<Config = unknown> {
  /** `plugins.<name>` from config.yaml, decoded by the plugin's `config` schema. */
  readonly config: Config
  readonly log: PluginLog
  readonly http: Http
}

/**
 * What a tool's `run` receives besides its arguments: who it runs for and the host services. Everything is reached
 * over the Worker boundary; the host fills in the persona and the user, so a tool can never act for someone else.
 *
 * @example
 * run: async ({ key }, ctx) => (await ctx.notes.get(key))?.text ?? `no note called ${key}, ${ctx.user.name}`
 */
export interface ToolContext<Config = unknown> extends SetupContext<Config> {
  /** Id of the persona using the tool. */
  readonly persona: string
  readonly conversationId: string
  readonly user: { readonly id: string; readonly name: string }
  /** The persona's `tool_options` for this tool (`undefined` when none). */
  readonly options: unknown
  readonly notes: Notes
  readonly scheduler: Scheduler
  readonly memory: Memory
  /** Aborted when the call times out; pass it to long async work (`fetch(url, { signal: ctx.signal })`). */
  readonly signal: AbortSignal
}

/**
 * A tool as `defineTool` returns it. List tools in `definePlugin({ tools: [...] })`.
 *
 * @example
 * const tools: ReadonlyArray<ToolDefinition> = [add, subtract]
 */
export interface ToolDefinition<A = any, I = any, Config = any> {
  readonly [ToolTypeId]: typeof ToolTypeId
  /** What the model calls it: letters, digits, `_` and `-`, at most 64. Unique across loaded plugins. */
  readonly name: string
  /** What the tool does, for the model. Say when to use it. */
  readonly description: string
  /** The arguments object; sent to the model as JSON Schema (use `.annotations({ description })` on fields). */
  readonly parameters: Schema.Schema<A, I, never>
  /** Per-call timeout (default 10 seconds). */
  readonly timeout?: Timeout
  /** Argument fields replaced by `[redacted]` in logs and events. */
  readonly secret?: ReadonlyArray<string>
  readonly run: (args: A, ctx: ToolContext<Config>) => ToolResult | Promise<ToolResult>
}

/**
 * Define one tool. `parameters` is a `Schema.Struct`; the model's arguments are decoded with it before `run` is
 * called, and a mismatch goes back to the model as a readable error (`invalid arguments: city: is required`).
 *
 * @example
 * export const weather = defineTool({
 *   name: "weather",
 *   description: "Current weather for a city",
 *   parameters: Schema.Struct({
 *     city: Schema.String.annotations({ description: "City name, e.g. Oslo" }),
 *     units: Schema.optionalWith(Schema.Literal("metric", "imperial"), { default: () => "metric" as const })
 *   }),
 *   timeout: "5 seconds",
 *   run: async ({ city, units }, ctx) => {
 *     const response = await ctx.http.fetch(`https://wttr.example/${city}?units=${units}`)
 *     return { city, summary: await response.text() }
 *   }
 * })
 */
export const defineTool = <A, I, Config = any>(
  tool: Omit<ToolDefinition<A, I, Config>, typeof ToolTypeId>
): ToolDefinition<A, I, Config> => ({ ...tool, [ToolTypeId]: ToolTypeId })

/**
 * A cleanup function `setup` may return; it runs when the plugin is unloaded or replaced by a new version (bounded
 * to one second; the Worker is terminated after it either way).
 *
 * @example
 * setup: () => {
 *   const timer = setInterval(refreshCache, 60_000)
 *   return () => clearInterval(timer)
 * }
 */
export type Cleanup = () => void | Promise<void>

/**
 * Event hooks: called with events from the host's event bus (`MessageReceived`, `ReplyCompleted`, `ToolResult`, …).
 * A hook cannot change the event; errors it throws are logged.
 *
 * @example
 * hooks: { ReplyCompleted: (event, ctx) => ctx.log.info("reply", { persona: event.persona, chars: event.text.length }) }
 */
export type Hooks<Config = unknown> = {
  readonly [K in EventTag]?: (event: EventOf<K>, ctx: SetupContext<Config>) => void | Promise<void>
}

/**
 * A plugin as `definePlugin` returns it: the default export of `plugins/<name>/plugin.ts`.
 *
 * @example
 * const plugin: PluginDefinition<{ apiKey: string }> = definePlugin({ name: "weather", version: "1.0.0", tools })
 * export default plugin
 */
export interface PluginDefinition<Config = any> {
  readonly [PluginTypeId]: typeof PluginTypeId
  /** Should match the folder name (`plugins/<name>/`); the folder name is what config.yaml and personas use. */
  readonly name: string
  readonly version: string
  readonly description?: string
  /** Schema of `plugins.<name>` in config.yaml; the decoded value is `ctx.config`. */
  readonly config?: Schema.Schema<Config, any, never>
  /**
   * Whether the plugin is switched on by its config. When it returns false the plugin still loads (so `troupe check`
   * and reloads see it), but its tools are not offered to any model and calls to them are refused. For plugins that
   * stay off until config.yaml turns them on, like `workspace` and `exec`. Default: always on.
   *
   * @example
   * enabled: (config) => config.enabled
   */
  readonly enabled?: (config: Config) => boolean
  /** Runs once per Worker before any call; may return a cleanup function. Acquire clients and caches here. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a setup that returns nothing is the common case
  readonly setup?: (ctx: SetupContext<Config>) => void | Cleanup | Promise<void | Cleanup>
  readonly tools: ReadonlyArray<ToolDefinition<any, any, Config>>
  readonly hooks?: Hooks<Config>
}

/**
 * Define a plugin: its tools, optional config schema, setup and hooks. Make it the default export of
 * `plugins/<name>/plugin.ts`. Keep the module's top level free of side effects: acquire things in `setup`.
 *
 * @example
 * export default definePlugin({
 *   name: "greeter",
 *   version: "1.0.0",
 *   config: Schema.Struct({ greeting: Schema.optionalWith(Schema.String, { default: () => "Hello" }) }),
 *   setup: (ctx) => {
 *     ctx.log.info("greeter ready")
 *     return () => ctx.log.info("greeter stopped")
 *   },
 *   tools: [
 *     defineTool({
 *       name: "greet",
 *       description: "Greet someone by name",
 *       parameters: Schema.Struct({ name: Schema.String }),
 *       run: ({ name }, ctx) => `${(ctx.config as { greeting: string }).greeting}, ${name}!`
 *     })
 *   ]
 * })
 */
export const definePlugin = <Config = unknown>(
  plugin: Omit<PluginDefinition<Config>, typeof PluginTypeId>
): PluginDefinition<Config> => ({ ...plugin, [PluginTypeId]: PluginTypeId })

/**
 * Whether a value was made by `definePlugin` (from any copy of this module). The host uses it to check a plugin's
 * default export.
 *
 * @example
 * if (!isPlugin(module.default)) throw new Error("plugin.ts must default-export definePlugin({...})")
 */
export const isPlugin = (value: unknown): value is PluginDefinition =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PluginTypeId] === PluginTypeId

/**
 * Whether a value was made by `defineTool`.
 *
 * @example
 * const tools = Object.values(await import("./tools.ts")).filter(isTool)
 */
export const isTool = (value: unknown): value is ToolDefinition =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[ToolTypeId] === ToolTypeId
