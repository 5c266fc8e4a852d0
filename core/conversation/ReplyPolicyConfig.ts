/**
 * The reply policy a persona (or one of its channels) is configured with: when it speaks, and how often.
 * Decoded from the `reply:` section of `persona.yaml`; a channel's own `reply:` section overrides single fields.
 */
import { Schema } from "effect"
import { Millis, NonNegativeInt, optionalField, PositiveInt, Probability, withDefault } from "../config/schemas.ts"

/** `5/min`, `20/hour`, `1/s`: at most N messages per window. */
export const RateLimit = Schema.transform(
  Schema.String.pipe(
    Schema.pattern(/^\s*\d+\s*\/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$/, {
      message: () => "expected a rate such as 5/min, 20/hour or 1/s"
    })
  ),
  Schema.Struct({ count: Schema.Number, windowMs: Schema.Number }),
  {
    strict: true,
    decode: (text) => {
      const [count, unit] = text.split("/").map((part) => part.trim()) as [string, string]
      const unitMs = unit.startsWith("s")
        ? 1000
        : unit.startsWith("m")
          ? 60_000
          : unit.startsWith("h")
            ? 3_600_000
            : 86_400_000
      return { count: Number(count), windowMs: unitMs }
    },
    encode: ({ count, windowMs }) =>
      `${count}/${windowMs === 1000 ? "s" : windowMs === 60_000 ? "min" : windowMs === 3_600_000 ? "hour" : "day"}`
  }
)
export type RateLimit = typeof RateLimit.Type

export const ReplyPolicyConfig = Schema.Struct({
  /** Answer direct messages. */
  dms: withDefault("dms", Schema.Boolean, () => true),
  /** Answer when mentioned by name, handle or alias (word-bounded, case-insensitive). */
  mentions: withDefault("mentions", Schema.Boolean, () => true),
  /** Other names the persona answers to. */
  aliases: withDefault("aliases", Schema.Array(Schema.String), () => []),
  /** Answer replies to the persona's own messages. */
  replies: withDefault("replies", Schema.Boolean, () => true),
  /** In groups, answer every message (not only mentions, replies and commands). */
  everything: withDefault("everything", Schema.Boolean, () => false),
  /** Words or phrases that make the persona speak up, each with a probability: `{ "kung fu": 0.3 }`. */
  triggers: withDefault("triggers", Schema.Record({ key: Schema.String, value: Probability }), () => ({})),
  /** Probability of chiming in on any other message in a group or room. */
  chimeIn: withDefault("chime_in", Probability, () => 0),
  /** Answer messages from other bots (the bot-loop guard still applies). */
  bots: withDefault("bots", Schema.Boolean, () => false),
  /** Only these user ids may talk to the persona (empty: everyone). */
  allowUsers: withDefault("allow_users", Schema.Array(Schema.String), () => []),
  /** These user ids are ignored. */
  ignoreUsers: withDefault("ignore_users", Schema.Array(Schema.String), () => []),
  /** Minimum time between two answers: per user, per room, across the persona, per trigger word. */
  cooldown: withDefault(
    "cooldown",
    Schema.Struct({
      user: withDefault("user", Millis, () => 0),
      room: withDefault("room", Millis, () => 0),
      global: withDefault("global", Millis, () => 0),
      trigger: withDefault("trigger", Millis, () => 0)
    }),
    () => ({ user: 0, room: 0, global: 0, trigger: 0 })
  ),
  /** At most N answers per window: per user, per room, across the persona. */
  rateLimit: withDefault(
    "rate_limit",
    Schema.Struct({
      user: optionalField("user", RateLimit),
      room: optionalField("room", RateLimit),
      global: optionalField("global", RateLimit)
    }),
    () => ({})
  ),
  /** What a rate-limited user gets: nothing (`drop`), or one "slow down" notice per window (`notify`). */
  limited: withDefault("limited", Schema.Literal("drop", "notify"), () => "drop" as const),
  /** Bot-loop guard: at most `max` consecutive bot-to-bot turns per room within `window`, then silence until a human speaks. */
  botTurns: withDefault(
    "bot_turns",
    Schema.Struct({
      max: withDefault("max", NonNegativeInt, () => 3),
      window: withDefault("window", Millis, () => 5 * 60_000)
    }),
    () => ({ max: 3, window: 5 * 60_000 })
  ),
  /** The same text from the same user within this window is answered once. */
  duplicateWindow: withDefault("duplicate_window", Millis, () => 30_000),
  /** One conversation per room (`room`) or one per user in each room (`user`). DMs are always per user. */
  history: withDefault("history", Schema.Literal("room", "user"), () => "room" as const),
  /** Messages that arrive while a reply is being generated: answered one by one (`queue`) or together (`fold`). */
  pending: withDefault("pending", Schema.Literal("queue", "fold"), () => "queue" as const),
  /** Messages older than this when the persona gets to them (e.g. after downtime) are skipped, not answered late. */
  staleAfter: withDefault("stale_after", Millis, () => 10 * 60_000),
  /** At most this many messages wait per conversation; beyond it the oldest are skipped with a log line. */
  maxQueued: withDefault("max_queued", PositiveInt, () => 20)
})
export type ReplyPolicyConfig = typeof ReplyPolicyConfig.Type

/** A channel's override: any subset of the persona's policy. */
export const ReplyPolicyOverride = Schema.partial(ReplyPolicyConfig.pipe(Schema.encodedSchema)).pipe(
  Schema.annotations({ identifier: "ReplyPolicyOverride" })
)

/** Merge a channel's `reply:` override (still encoded, as written) into the persona's decoded policy. */
export const mergePolicy = (base: ReplyPolicyConfig, override: unknown): ReplyPolicyConfig => {
  if (!override || typeof override !== "object") return base
  const encoded = Schema.encodeSync(ReplyPolicyConfig)(base) as Record<string, unknown>
  const merged: Record<string, unknown> = { ...encoded }
  for (const [key, value] of Object.entries(override as Record<string, unknown>)) {
    const current = merged[key]
    merged[key] =
      value && typeof value === "object" && !Array.isArray(value) && current && typeof current === "object"
        ? { ...(current as object), ...(value as object) }
        : value
  }
  return Schema.decodeUnknownSync(ReplyPolicyConfig)(merged)
}

export const defaultReplyPolicy: ReplyPolicyConfig = Schema.decodeSync(ReplyPolicyConfig)({})
