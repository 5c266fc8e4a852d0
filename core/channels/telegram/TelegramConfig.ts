/** The `type: telegram` entry of a persona's `channels:` list. */
import { Schema } from "effect"
import { Millis, optionalField, withDefault } from "../../config/schemas.ts"
import { ReplyPolicyOverride } from "../../conversation/ReplyPolicyConfig.ts"

const Id = Schema.Union(Schema.String, Schema.Number).pipe(
  Schema.transform(Schema.String, { strict: true, decode: String, encode: (id) => id })
)

export const TelegramConfig = Schema.Struct({
  type: Schema.Literal("telegram"),
  /** Bot token from @BotFather. Empty disables the channel (with a log line saying so). */
  token: Schema.String,
  /** Bot API server; point it at a local Bot API server if you run one. */
  apiRoot: withDefault("api_root", Schema.String, () => "https://api.telegram.org"),
  /** `polling` (default, works anywhere) or `webhook` (served by the runtime's HTTP server). */
  mode: withDefault("mode", Schema.Literal("polling", "webhook"), () => "polling" as const),
  webhook: optionalField(
    "webhook",
    Schema.Struct({
      /** Public URL Telegram posts to; defaults to `http.public_url` + `path`. */
      url: optionalField("url", Schema.String),
      /** Path on the runtime's HTTP server (default `/telegram/<bot id>`). */
      path: optionalField("path", Schema.String),
      /** Checked against `X-Telegram-Bot-Api-Secret-Token`; wrong or missing -> 401. */
      secret: optionalField("secret", Schema.String)
    })
  ),
  /** Only these chat ids get answers (empty: all). */
  allowChats: withDefault("allow_chats", Schema.Array(Id), () => []),
  /** Only these user ids get answers (empty: all). */
  allowUsers: withDefault("allow_users", Schema.Array(Id), () => []),
  /** Sent once to a chat or user outside the allowlists; nothing when unset. */
  refusal: optionalField("refusal", Schema.String),
  /** Edited messages: ignored, or answered like new ones. */
  edited: withDefault("edited", Schema.Literal("ignore", "answer"), () => "ignore" as const),
  /** Stream replies by editing the first message as the text grows. */
  stream: withDefault("stream", Schema.Boolean, () => true),
  /** Minimum time between two edits of a streamed message, in private chats and in groups. */
  editInterval: withDefault("edit_interval", Millis, () => 1000),
  groupEditInterval: withDefault("group_edit_interval", Millis, () => 3000),
  /** How often "typing…" is renewed while the model thinks (Telegram shows it for about 5 s). */
  typingInterval: withDefault("typing_interval", Millis, () => 4500),
  /**
   * How long one Bot API call may take. A message send that takes longer has an unknown outcome: it is logged and
   * never sent again (Telegram has no idempotency key).
   */
  requestTimeout: withDefault("request_timeout", Millis, () => 30_000),
  /** How long one long poll (`getUpdates`) waits for news; rounded to whole seconds. */
  pollTimeout: withDefault("poll_timeout", Millis, () => 25_000),
  /** How model markdown is sent: Telegram HTML, or plain text. */
  format: withDefault("format", Schema.Literal("html", "plain"), () => "html" as const),
  /** Register /start, /reset and /help with setMyCommands. */
  commands: withDefault("commands", Schema.Boolean, () => true),
  reply: optionalField("reply", ReplyPolicyOverride)
})
export type TelegramConfig = typeof TelegramConfig.Type
