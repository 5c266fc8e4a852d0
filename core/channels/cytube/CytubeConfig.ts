/** The `type: cytube` entry of a persona's `channels:` list. */
import { Schema } from "effect"
import { Millis, NonNegativeInt, optionalField, PositiveInt, withDefault } from "../../config/schemas.ts"
import { ReplyPolicyOverride } from "../../conversation/ReplyPolicyConfig.ts"

export const CytubeConfig = Schema.Struct({
  type: Schema.Literal("cytube"),
  /** Server base URL, e.g. https://cytu.be. Empty disables the channel (with a log line saying so). */
  server: Schema.String,
  /** The room (CyTube calls it a channel). */
  room: Schema.String,
  /** Account name; with `password` a registered login, without it a guest login. */
  username: Schema.String,
  password: optionalField("password", Schema.String),
  /** The room's password, if it has one. */
  roomPassword: optionalField("room_password", Schema.String),
  /** Longest chat line the bot sends; longer replies are split on word boundaries. */
  maxLength: withDefault("max_length", PositiveInt, () => 240),
  /** Outgoing chat token bucket: sustained messages per second and burst (kept under the server's flood limits). */
  rate: withDefault(
    "rate",
    Schema.Struct({
      perSecond: withDefault("per_second", Schema.Number.pipe(Schema.positive()), () => 1),
      burst: withDefault("burst", PositiveInt, () => 3)
    }),
    () => ({ perSecond: 1, burst: 3 })
  ),
  /** Recent chat lines from everyone kept as room context for the model. */
  contextLines: withDefault("context_lines", NonNegativeInt, () => 20),
  /**
   * Reconnecting after the connection is lost: the first delay, doubled per failed attempt up to `max_delay`. CyTube
   * allows 5 connection attempts per IP, then one per 10 s; a refused attempt waits at least 10 s.
   */
  reconnect: withDefault(
    "reconnect",
    Schema.Struct({
      minDelay: withDefault("min_delay", Millis, () => 2_000),
      maxDelay: withDefault("max_delay", Millis, () => 60_000)
    }),
    () => ({ minDelay: 2_000, maxDelay: 60_000 })
  ),
  /** Answer private messages. */
  pm: withDefault("pm", Schema.Boolean, () => true),
  reply: optionalField("reply", ReplyPolicyOverride)
})
export type CytubeConfig = typeof CytubeConfig.Type
