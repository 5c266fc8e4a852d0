/**
 * `config.yaml`: the runtime's settings, decoded by one Schema that is the source of truth for validation, defaults
 * and error messages. Personas live in their own folders (`personalities/`), not here.
 */
import { existsSync, readFileSync } from "node:fs"
import { relative, resolve } from "node:path"
import { Context, Effect, Either, Layer, Schema } from "effect"
import { Millis, optionalField, Port, PositiveInt, withDefault } from "./schemas.ts"
import { decodeYaml, type Env, InvalidFile } from "./Yaml.ts"

export const HttpConfig = Schema.Struct({
  /** Interface to bind; anything but loopback requires `admin_token`. */
  host: withDefault("host", Schema.String, () => "127.0.0.1"),
  port: withDefault("port", Port, () => 7070),
  /** Required for the dashboard and APIs when `host` is not a loopback address. */
  adminToken: optionalField("admin_token", Schema.String),
  /** Serve the web playground and dashboard. */
  web: withDefault("web", Schema.Boolean, () => true),
  /** Public base URL for webhooks (e.g. https://bots.example.com), when the runtime sits behind a proxy. */
  publicUrl: optionalField("public_url", Schema.String)
})

export const StoreConfig = Schema.Struct({
  path: withDefault("path", Schema.String, () => "data/troupe.db"),
  synchronous: withDefault("synchronous", Schema.Literal("normal", "full"), () => "normal" as const),
  /**
   * How long a write nobody waits for may wait to share a commit with others (throughput; a crash loses at most this
   * much of such writes — replies are always committed before they are sent).
   */
  flushDelay: withDefault("flush_delay", Millis, () => 5),
  /**
   * How long records of handled messages and sent reply chunks are kept (they recognise a platform's redelivery and
   * let a restart finish a turn); older ones are pruned hourly.
   */
  deliveryRetention: withDefault(
    "delivery_retention",
    Millis.pipe(
      Schema.filter(
        (ms) => ms >= 3_600_000 || "expected at least 1h (delivery records must outlive every persona's stale_after)"
      )
    ),
    () => 7 * 24 * 3_600_000
  )
})

export const EventLogConfig = Schema.Struct({
  enabled: withDefault("enabled", Schema.Boolean, () => false),
  file: withDefault("file", Schema.String, () => "data/events.jsonl"),
  maxBytes: withDefault("max_bytes", PositiveInt, () => 10 * 1024 * 1024),
  keep: withDefault("keep", PositiveInt, () => 3),
  /** Leave out the chatty ones (`ReplyDelta`) unless asked. */
  deltas: withDefault("deltas", Schema.Boolean, () => false)
})

export const LogConfig = Schema.Struct({
  level: withDefault("level", Schema.Literal("debug", "info", "warn", "error"), () => "info" as const),
  format: withDefault("format", Schema.Literal("auto", "logfmt", "pretty"), () => "auto" as const),
  events: withDefault("events", EventLogConfig, () => Schema.decodeSync(EventLogConfig)({}))
})

/** Names that configure a provider without further settings (base URL, API flavour). */
export const providerPresets = [
  "openai",
  "anthropic",
  "groq",
  "ollama",
  "openrouter",
  "perplexity",
  "together",
  "echo"
] as const
export type ProviderPreset = (typeof providerPresets)[number]

export const ModelInfo = Schema.Struct({
  contextWindow: optionalField("context_window", PositiveInt),
  vision: optionalField("vision", Schema.Boolean),
  tools: optionalField("tools", Schema.Boolean)
})

export const ProviderConfig = Schema.Struct({
  /** A preset (`groq`, `ollama`, …); defaults to the provider's own name when that is a preset. */
  preset: optionalField("preset", Schema.Literal(...providerPresets)),
  /** Wire API: `openai` (Chat Completions, also every OpenAI-compatible server) or `anthropic` (Messages). */
  api: optionalField("api", Schema.Literal("openai", "anthropic", "echo")),
  baseUrl: optionalField("base_url", Schema.String),
  apiKey: optionalField("api_key", Schema.String),
  /** A model used when a persona names only the provider. */
  defaultModel: optionalField("default_model", Schema.String),
  timeout: withDefault("timeout", Millis, () => 60_000),
  /** Retries of transient errors (429, 5xx, timeouts, resets) before falling back. */
  maxRetries: withDefault("max_retries", Schema.Int.pipe(Schema.between(0, 10)), () => 2),
  headers: optionalField("headers", Schema.Record({ key: Schema.String, value: Schema.String })),
  models: optionalField("models", Schema.Record({ key: Schema.String, value: ModelInfo }))
})
export type ProviderConfig = typeof ProviderConfig.Type

export const RuntimeConfig = Schema.Struct({
  personalities: withDefault("personalities", Schema.String, () => "personalities"),
  plugins: withDefault("plugins", Schema.String, () => "plugins"),
  /** How long shutdown waits for actors to drain. */
  shutdownTimeout: withDefault("shutdown_timeout", Millis, () => 10_000),
  /** Log replies instead of sending them to any platform. */
  dryRun: withDefault("dry_run", Schema.Boolean, () => false),
  /** Watch `personalities/` and `plugins/` and reload on change (on by default with `troupe dev`). */
  watch: withDefault("watch", Schema.Boolean, () => false),
  /** Tool calls one conversation may make per minute (0: no limit). */
  toolCallsPerMinute: withDefault("tool_calls_per_minute", Schema.Int.pipe(Schema.nonNegative()), () => 30)
})

export const TroupeConfig = Schema.Struct({
  http: withDefault("http", HttpConfig, () => Schema.decodeSync(HttpConfig)({})),
  store: withDefault("store", StoreConfig, () => Schema.decodeSync(StoreConfig)({})),
  log: withDefault("log", LogConfig, () => Schema.decodeSync(LogConfig)({})),
  runtime: withDefault("runtime", RuntimeConfig, () => Schema.decodeSync(RuntimeConfig)({})),
  providers: withDefault("providers", Schema.Record({ key: Schema.String, value: ProviderConfig }), () => ({})),
  /** Per-plugin settings, decoded by each plugin's own schema: `plugins: { http_fetch: { allow_hosts: [...] } }`. */
  plugins: withDefault("plugins", Schema.Record({ key: Schema.String, value: Schema.Unknown }), () => ({}))
})
export type TroupeConfig = typeof TroupeConfig.Type

export interface LoadedConfig {
  readonly config: TroupeConfig
  /** The file read, or undefined when neither config.yaml nor config.example.yaml exists (defaults only). */
  readonly file: string | undefined
  /** Directory relative paths in the config are resolved against. */
  readonly root: string
}

/**
 * Read `config.yaml` (or the file given), falling back to `config.example.yaml`, then to built-in defaults.
 * Fails with `InvalidFile` listing every problem with its line.
 */
export const loadConfig = (
  options: { readonly file?: string; readonly cwd?: string; readonly env?: Env } = {}
): Effect.Effect<LoadedConfig, InvalidFile> =>
  Effect.suspend((): Effect.Effect<LoadedConfig, InvalidFile> => {
    const cwd = options.cwd ?? process.cwd()
    const candidates = options.file
      ? [resolve(cwd, options.file)]
      : ["config.yaml", "config.example.yaml"].map((f) => resolve(cwd, f))
    const file = candidates.find((candidate) => existsSync(candidate))
    if (options.file && !file) {
      return Effect.fail(
        new InvalidFile({
          file: options.file,
          issues: [{ file: options.file, line: undefined, column: undefined, path: "", message: "file not found" }]
        })
      )
    }
    const root = cwd
    if (!file) return Effect.succeed({ config: Schema.decodeSync(TroupeConfig)({}), file: undefined, root })
    const decoded = decodeYaml(TroupeConfig, readFileSync(file, "utf8"), file, {
      env: options.env ?? process.env,
      displayName: relative(cwd, file) || file
    })
    return Either.isLeft(decoded) ? Effect.fail(decoded.left) : Effect.succeed({ config: decoded.right, file, root })
  })

/** The loaded configuration, available to every service. */
export class Config extends Context.Tag("troupe/Config")<Config, LoadedConfig>() {
  static readonly layer = (options?: Parameters<typeof loadConfig>[0]) => Layer.effect(Config, loadConfig(options))
  static readonly layerValue = (loaded: LoadedConfig) => Layer.succeed(Config, loaded)
}
