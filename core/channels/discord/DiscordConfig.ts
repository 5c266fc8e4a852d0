/** The `type: discord` entry of a persona's `channels:` list. */
import { Schema } from "effect"
import { optionalField, withDefault } from "../../config/schemas.ts"
import { ReplyPolicyOverride } from "../../conversation/ReplyPolicyConfig.ts"

const AllowDeny = Schema.Struct({
  allow: withDefault("allow", Schema.Array(Schema.String), () => []),
  deny: withDefault("deny", Schema.Array(Schema.String), () => [])
})

export const DiscordConfig = Schema.Struct({
  type: Schema.Literal("discord"),
  /** Bot token from the Discord developer portal. Empty disables the channel (with a log line saying so). */
  token: Schema.String,
  /** REST API base (default Discord's); the gateway URL is discovered from it. */
  api: optionalField("api", Schema.String),
  /** Guild (server) ids allowed / denied (empty allow: all). */
  guilds: withDefault("guilds", AllowDeny, () => ({ allow: [], deny: [] })),
  /** Channel ids allowed / denied (empty allow: all). */
  channels: withDefault("channels", AllowDeny, () => ({ allow: [], deny: [] })),
  /** Treat `@everyone` / `@here` as a mention of the persona. */
  everyone: withDefault("everyone", Schema.Boolean, () => false),
  /** A mention of a role the bot has counts as a mention. */
  roleMentions: withDefault("role_mentions", Schema.Boolean, () => true),
  /** Slash commands /reset and /persona: registered per guild (`guild`, instant, for development), globally, or not. */
  commands: withDefault("commands", Schema.Literal("global", "guild", "off"), () => "global" as const),
  /** Guild to register commands in when `commands: guild`. */
  devGuild: optionalField("dev_guild", Schema.String),
  stream: withDefault("stream", Schema.Boolean, () => true),
  reply: optionalField("reply", ReplyPolicyOverride)
})
export type DiscordConfig = typeof DiscordConfig.Type
