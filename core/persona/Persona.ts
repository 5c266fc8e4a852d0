/**
 * A persona, as written in `personalities/<name>/persona.yaml` (plus optional `system.md` and `examples.md`), decoded by
 * one Schema. `PersonaDefinition` is the loaded, ready-to-run form every actor reads.
 */
import { Schema } from "effect"
import { CytubeConfig } from "../channels/cytube/CytubeConfig.ts"
import { DiscordConfig } from "../channels/discord/DiscordConfig.ts"
import { TelegramConfig } from "../channels/telegram/TelegramConfig.ts"
import { Millis, optionalField, PositiveInt, withDefault } from "../config/schemas.ts"
import { ReplyPolicyConfig } from "../conversation/ReplyPolicyConfig.ts"

/** `provider/model` or `{ provider, model }`. */
export const ModelRef = Schema.Union(
  Schema.String.pipe(
    Schema.pattern(/^[^/\s]+\/\S+$/, { message: () => 'expected "provider/model" or { provider, model }' }),
    Schema.transform(Schema.Struct({ provider: Schema.String, model: Schema.String }), {
      strict: true,
      decode: (text) => {
        const slash = text.indexOf("/")
        return { provider: text.slice(0, slash), model: text.slice(slash + 1) }
      },
      encode: ({ provider, model }) => `${provider}/${model}`
    })
  ),
  Schema.Struct({ provider: Schema.String, model: Schema.String })
)
export type ModelRef = typeof ModelRef.Type

export const PersonaModel = Schema.Struct({
  /** A provider name from `config.yaml` (`providers:`) or a preset (`openai`, `anthropic`, `groq`, `ollama`, …). */
  provider: Schema.String,
  /** Model id; defaults to the provider's `default_model`. */
  model: optionalField("model", Schema.String),
  /** Tried in order when the main model keeps failing: `["anthropic/claude-sonnet-4-5", "ollama/llama3.2"]`. */
  fallbacks: withDefault("fallbacks", Schema.Array(ModelRef), () => []),
  temperature: optionalField("temperature", Schema.Number.pipe(Schema.between(0, 2))),
  /** The most output tokens one answer may use. */
  maxTokens: withDefault("max_tokens", PositiveInt, () => 1024),
  /** Output budget of the first attempt; raised step by step (continuing the answer) when it is cut for length. */
  initialTokens: withDefault("initial_tokens", PositiveInt, () => 256),
  /** Tokens (input + output) this persona may use per UTC day; then it says so instead of answering. */
  dailyTokens: optionalField("daily_tokens", PositiveInt),
  /** Model context window in tokens, when the provider's model table does not know it. */
  contextWindow: optionalField("context_window", PositiveInt),
  /** The model accepts images. */
  vision: optionalField("vision", Schema.Boolean),
  /** Tool-calling rounds per answer before the model is asked to answer without tools. */
  maxToolIterations: withDefault("max_tool_iterations", PositiveInt, () => 6),
  /** Timeout of one model call. */
  timeout: optionalField("timeout", Millis)
})
export type PersonaModel = typeof PersonaModel.Type

export const ChannelConfig = Schema.Union(TelegramConfig, DiscordConfig, CytubeConfig)
export type ChannelConfig = typeof ChannelConfig.Type

export const Example = Schema.Struct({ user: Schema.String, assistant: Schema.String })
export type Example = typeof Example.Type

/** Text per language (`{ en: "Hello", ru: "Привет" }`) or one text for all. */
export const Localized = Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.String }))
export type Localized = typeof Localized.Type

export const PersonaFile = Schema.Struct({
  /** Id used in logs, conversation ids and URLs; defaults to the folder name. */
  name: optionalField("name", Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_-]*$/i))),
  displayName: optionalField("display_name", Schema.String),
  description: withDefault("description", Schema.String, () => ""),
  /** Language of bot-side messages (errors, /help) when the user's is unknown: en, ru, uk, … */
  language: withDefault("language", Schema.String, () => "en"),
  /** The system prompt (or put it in `system.md` next to this file). */
  system: optionalField("system", Schema.String),
  /** Sample dialogue (or put it in `examples.md`). */
  examples: withDefault("examples", Schema.Array(Example), () => []),
  /** What `/start` answers. */
  greeting: optionalField("greeting", Localized),
  model: PersonaModel,
  channels: withDefault("channels", Schema.Array(ChannelConfig), () => []),
  reply: withDefault("reply", ReplyPolicyConfig, () => Schema.decodeSync(ReplyPolicyConfig)({})),
  /** Tools this persona may use, by name (`clock`, `calculator`, `notes`, …). */
  tools: withDefault("tools", Schema.Array(Schema.String), () => []),
  /** Per-persona tool options, e.g. `http_fetch: { allow_post: true }`, passed to the tool with each call. */
  toolOptions: withDefault("tool_options", Schema.Record({ key: Schema.String, value: Schema.Unknown }), () => ({})),
  memory: withDefault(
    "memory",
    Schema.Struct({
      /** Messages of history sent to the model. */
      window: withDefault("window", PositiveInt, () => 32),
      /** Messages kept per conversation in the store; older ones are trimmed. */
      maxMessages: withDefault("max_messages", PositiveInt, () => 1000),
      /** An idle conversation actor is stopped after this long (its history stays in the store). */
      idleTtl: withDefault("idle_ttl", Millis, () => 10 * 60_000)
    }),
    () => ({ window: 32, maxMessages: 1000, idleTtl: 10 * 60_000 })
  ),
  style: withDefault(
    "style",
    Schema.Struct({
      /** Longest answer in characters (the channel still splits to its platform's limit). */
      maxLength: optionalField("max_length", PositiveInt),
      /** Send plain text: markdown from the model is stripped. */
      stripMarkdown: withDefault("strip_markdown", Schema.Boolean, () => false)
    }),
    () => ({ stripMarkdown: false })
  ),
  /** Overrides of bot-side messages per language: `{ ru: { error: "…" } }`. */
  messages: withDefault(
    "messages",
    Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.String }) }),
    () => ({})
  )
})
export type PersonaFile = typeof PersonaFile.Type

/** A loaded persona: the decoded file plus what was resolved around it. */
export interface PersonaDefinition extends PersonaFile {
  /** Stable id: `name` from the file, else the folder (or card file) name. */
  readonly id: string
  /** Shown to users. */
  readonly title: string
  /** The full system prompt (from `system.md` or `system:`). */
  readonly systemPrompt: string
  /** The folder or file it was loaded from. */
  readonly source: string
  /** Where it came from: a persona folder, or an imported Character Card V2 / ElizaOS character. */
  readonly format: "folder" | "character-card-v2" | "eliza"
}
