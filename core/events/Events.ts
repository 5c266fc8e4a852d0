/**
 * Everything actors say to each other, as one `Schema` tagged union. Events are plain serializable data, so the same
 * values cross a Worker boundary, go to the dashboard over a WebSocket, or into the JSONL event log.
 */
import { Schema, type SchemaAST } from "effect"

const at = Schema.Number.annotations({ description: "epoch milliseconds" })

/** Fields shared by everything that belongs to one conversation turn. */
const turn = {
  at,
  /** Carried from the inbound message through every actor and log line it causes. */
  correlationId: Schema.String,
  persona: Schema.String,
  conversationId: Schema.String
}

export const Attachment = Schema.Struct({
  kind: Schema.Literal("image", "file", "audio", "video"),
  mime: Schema.String,
  name: Schema.optional(Schema.String),
  /** Where the channel can fetch it from (platform URL). */
  url: Schema.optional(Schema.String),
  /** Base64 content when the channel already downloaded it. */
  data: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number)
})
export type Attachment = typeof Attachment.Type

export const Author = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  handle: Schema.optional(Schema.String),
  isBot: Schema.Boolean,
  /** A language tag the platform reports for the user (e.g. Telegram's `language_code`). */
  language: Schema.optional(Schema.String)
})
export type Author = typeof Author.Type

export const Chat = Schema.Struct({
  id: Schema.String,
  /** `dm`: one-to-one; `group`: a group chat or guild channel; `room`: a live room such as a CyTube channel. */
  kind: Schema.Literal("dm", "group", "room"),
  title: Schema.optional(Schema.String)
})
export type Chat = typeof Chat.Type

/** An inbound chat message, as a channel hands it to a persona's router. */
export const MessageReceived = Schema.TaggedStruct("MessageReceived", {
  at,
  correlationId: Schema.String,
  persona: Schema.String,
  /** The channel instance, e.g. `telegram:sage_bot`. */
  channel: Schema.String,
  platform: Schema.String,
  /** Stable across redeliveries: platform + chat + platform message id. */
  messageId: Schema.String,
  chat: Chat,
  thread: Schema.optional(Schema.String),
  author: Author,
  text: Schema.String,
  attachments: Schema.Array(Attachment),
  /** The platform itself marks the persona as mentioned (an @handle entity, a Discord user or role mention). */
  mentioned: Schema.Boolean,
  /** The message replies to one of the persona's own messages. */
  replyToSelf: Schema.Boolean,
  /** The platform says the message was sent by this persona's own account. */
  fromSelf: Schema.Boolean,
  /** A bot command such as `/reset`, already split from its arguments. */
  command: Schema.optional(Schema.Struct({ name: Schema.String, args: Schema.String }))
})
export type MessageReceived = typeof MessageReceived.Type

export const Typing = Schema.TaggedStruct("Typing", { ...turn })

export const ReplyDelta = Schema.TaggedStruct("ReplyDelta", {
  ...turn,
  turnId: Schema.String,
  delta: Schema.String,
  /** The whole reply text so far. */
  text: Schema.String,
  /** The text so far was discarded (a retry or fallback restarted the answer); render `text` from scratch. */
  reset: Schema.optional(Schema.Boolean)
})

export const Usage = Schema.Struct({ input: Schema.Number, output: Schema.Number })
export type Usage = typeof Usage.Type

export const ReplyCompleted = Schema.TaggedStruct("ReplyCompleted", {
  ...turn,
  turnId: Schema.String,
  text: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  usage: Usage,
  finishReason: Schema.String,
  durationMs: Schema.Number
})

export const ReplyFailed = Schema.TaggedStruct("ReplyFailed", {
  ...turn,
  turnId: Schema.String,
  /** What went wrong, already free of secrets. */
  error: Schema.String,
  /** The short message the user gets instead, in the persona's language. */
  userText: Schema.String
})

/** A channel confirms that a reply reached the platform. */
export const ReplySent = Schema.TaggedStruct("ReplySent", {
  ...turn,
  channel: Schema.String,
  turnId: Schema.String,
  chunks: Schema.Number
})

export const ToolCalled = Schema.TaggedStruct("ToolCalled", {
  ...turn,
  turnId: Schema.String,
  callId: Schema.String,
  tool: Schema.String,
  /** JSON text of the arguments, with fields marked secret redacted. */
  arguments: Schema.String
})

export const ToolResult = Schema.TaggedStruct("ToolResult", {
  ...turn,
  turnId: Schema.String,
  callId: Schema.String,
  tool: Schema.String,
  ok: Schema.Boolean,
  result: Schema.String,
  durationMs: Schema.Number
})

/** Why a persona answered a message or not. */
export const PolicyDecision = Schema.TaggedStruct("PolicyDecision", {
  ...turn,
  channel: Schema.String,
  messageId: Schema.String,
  decision: Schema.Literal("answer", "ignore", "limited"),
  reason: Schema.String
})

export const LlmAttemptFailed = Schema.TaggedStruct("LlmAttemptFailed", {
  ...turn,
  provider: Schema.String,
  model: Schema.String,
  attempt: Schema.Number,
  reason: Schema.String,
  /** `retry` (same provider after a delay), `fallback` (next provider in the chain) or `give_up`. */
  next: Schema.Literal("retry", "fallback", "give_up"),
  delayMs: Schema.optional(Schema.Number)
})

export const MediaChanged = Schema.TaggedStruct("MediaChanged", {
  at,
  channel: Schema.String,
  room: Schema.String,
  title: Schema.String,
  mediaId: Schema.String,
  mediaType: Schema.String,
  durationSec: Schema.Number
})

export const PresenceChanged = Schema.TaggedStruct("PresenceChanged", {
  at,
  channel: Schema.String,
  room: Schema.String,
  user: Schema.String,
  change: Schema.Literal("join", "leave", "afk", "back"),
  count: Schema.Number
})

export const ChannelStatus = Schema.TaggedStruct("ChannelStatus", {
  at,
  persona: Schema.String,
  channel: Schema.String,
  status: Schema.Literal("connecting", "ready", "down", "failed", "disabled"),
  reason: Schema.optional(Schema.String)
})

const source = {
  at,
  /** The file the problem is in, relative to the project root when possible. */
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number)
}

export const PluginLoaded = Schema.TaggedStruct("PluginLoaded", {
  at,
  plugin: Schema.String,
  version: Schema.String,
  tools: Schema.Array(Schema.String),
  file: Schema.String,
  durationMs: Schema.Number
})
export const PluginFailed = Schema.TaggedStruct("PluginFailed", {
  ...source,
  plugin: Schema.String,
  message: Schema.String
})
export const PluginUnloaded = Schema.TaggedStruct("PluginUnloaded", { at, plugin: Schema.String })

export const PersonaLoaded = Schema.TaggedStruct("PersonaLoaded", {
  at,
  persona: Schema.String,
  file: Schema.String,
  durationMs: Schema.Number
})
export const PersonaFailed = Schema.TaggedStruct("PersonaFailed", {
  ...source,
  persona: Schema.String,
  message: Schema.String
})
export const PersonaUnloaded = Schema.TaggedStruct("PersonaUnloaded", { at, persona: Schema.String })

const actor = { at, path: Schema.String, kind: Schema.String }
export const ActorStarted = Schema.TaggedStruct("ActorStarted", actor)
export const ActorStopped = Schema.TaggedStruct("ActorStopped", actor)
export const ActorRestarted = Schema.TaggedStruct("ActorRestarted", {
  ...actor,
  attempt: Schema.Number,
  reason: Schema.String
})
export const ActorFailed = Schema.TaggedStruct("ActorFailed", { ...actor, reason: Schema.String })

export const ScheduledPromptFired = Schema.TaggedStruct("ScheduledPromptFired", {
  ...turn,
  jobId: Schema.String,
  prompt: Schema.String
})

/** The one union of everything on the event bus. */
export const TroupeEvent = Schema.Union(
  MessageReceived,
  Typing,
  ReplyDelta,
  ReplyCompleted,
  ReplyFailed,
  ReplySent,
  ToolCalled,
  ToolResult,
  PolicyDecision,
  LlmAttemptFailed,
  MediaChanged,
  PresenceChanged,
  ChannelStatus,
  PluginLoaded,
  PluginFailed,
  PluginUnloaded,
  PersonaLoaded,
  PersonaFailed,
  PersonaUnloaded,
  ActorStarted,
  ActorStopped,
  ActorRestarted,
  ActorFailed,
  ScheduledPromptFired
)
export type TroupeEvent = typeof TroupeEvent.Type
export type EventTag = TroupeEvent["_tag"]
export type EventOf<T extends EventTag> = Extract<TroupeEvent, { readonly _tag: T }>

/** The tags of every event, for filters (dashboard, CLI). */
export const eventTags: ReadonlyArray<EventTag> = TroupeEvent.members.map((member) => {
  const tag = (member.ast as SchemaAST.TypeLiteral).propertySignatures.find((property) => property.name === "_tag")
  return (tag!.type as SchemaAST.Literal).literal as EventTag
})

export const encodeEvent = Schema.encodeSync(TroupeEvent)
export const decodeEvent = Schema.decodeUnknownSync(TroupeEvent)
