/** The `type: discord` entry of a persona's `channels:` list. */
import { Schema } from "effect"
import { Millis, optionalField, withDefault } from "../../config/schemas.ts"
import { ReplyPolicyOverride } from "../../conversation/ReplyPolicyConfig.ts"

/** A Discord id (snowflake). Unquoted in YAML it would become a number and lose its last digits, so only text is taken. */
const Snowflake = Schema.String.annotations({
  message: () => 'expected a Discord id in quotes, e.g. "123456789012345678" (unquoted, long numbers lose digits)'
})

const AllowDeny = Schema.Struct({
  allow: withDefault("allow", Schema.Array(Snowflake), () => []),
  deny: withDefault("deny", Schema.Array(Snowflake), () => [])
})

export const DiscordConfig = Schema.Struct({
  type: Schema.Literal("discord"),
  /** Bot token from the Discord developer portal. Empty disables the channel (with a log line saying so). */
  token: Schema.String,
  /** REST API base (default Discord's); the gateway URL is discovered from it. */
  api: optionalField("api", Schema.String),
  /** Guild (server) ids allowed / denied (empty allow: all). Direct messages are not in a guild and always pass. */
  guilds: withDefault("guilds", AllowDeny, () => ({ allow: [], deny: [] })),
  /**
   * Channel ids allowed / denied (empty allow: all). An id matches the channel itself, a thread's parent channel, or
   * the category the channel is in. Direct messages are governed by the persona's `reply.dms`, not by these lists.
   */
  channels: withDefault("channels", AllowDeny, () => ({ allow: [], deny: [] })),
  /** Treat `@everyone` / `@here` as a mention of the persona. */
  everyone: withDefault("everyone", Schema.Boolean, () => false),
  /** A mention of a role the bot has counts as a mention. */
  roleMentions: withDefault("role_mentions", Schema.Boolean, () => true),
  /** Slash commands /reset and /persona: registered per guild (`guild`, instant, for development), globally, or not. */
  commands: withDefault("commands", Schema.Literal("global", "guild", "off"), () => "global" as const),
  /** Guild to register commands in when `commands: guild` (unset: every guild the bot is in). */
  devGuild: optionalField("dev_guild", Snowflake),
  /** Stream replies by editing the first message as the text grows. */
  stream: withDefault("stream", Schema.Boolean, () => true),
  /**
   * Minimum time between two edits of one streamed message. Edits are also paced per Discord channel (at most 5 per
   * 5 s, shared by every reply in that channel), so parallel conversations in one channel never exceed it.
   */
  editInterval: withDefault("edit_interval", Millis, () => 1000),
  /**
   * How long one REST call may take before discord.js gives up on it and tries again (message creates carry a nonce,
   * so a retry never doubles a message). Default: discord.js's 15 s.
   */
  requestTimeout: optionalField("request_timeout", Millis),
  reply: optionalField("reply", ReplyPolicyOverride)
})
export type DiscordConfig = typeof DiscordConfig.Type
