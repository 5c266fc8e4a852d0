/**
 * The web playground's WebSocket protocol, one module for the server (`Socket.ts`) and the page (`page/app.ts`).
 *
 * Client → server: `Hello { tab }` first (the tab's id from `sessionStorage`, so a reload keeps its conversation), then
 * `Select { persona }`, `Say { text }` (`/reset` and other commands included), `Subscribe { stream, filter }` and
 * `Unsubscribe { stream }` for the dashboard.
 *
 * Server → client: the bus's own events (`TroupeEvent`, encoded) of the tab's conversation as they happen
 * (`ReplyDelta`, `ReplyCompleted`, `ToolCalled`, …), and protocol messages: `Welcome`, `History`, `Tree` (the actor
 * tree, a full snapshot then diffs), `Events` (the dashboard's filtered, rate-capped event stream), `Dashboard`
 * (usage, plugins, reload history, health) and `Error` (a message the server could not take).
 *
 * @example
 * socket.send(JSON.stringify(encodeClient({ _tag: "Say", text: "hello" })))
 */
import { Either, ParseResult, Schema } from "effect"
import {
  type EventTag,
  eventTags,
  PersonaFailed,
  PersonaLoaded,
  PersonaUnloaded,
  PluginFailed,
  PluginLoaded,
  PluginUnloaded,
  TroupeEvent
} from "../events/Events.ts"

/** A browser tab's id: `tab-` and 6 to 64 url-safe characters, chosen by the page and kept in `sessionStorage`. */
export const TabId = Schema.String.pipe(
  Schema.pattern(/^tab-[A-Za-z0-9_-]{6,64}$/, { message: () => "expected a tab id such as tab-x8Gk2aP0" })
)

/** The longest message a tab may send. */
export const maxSayLength = 16_000

// ---------------------------------------------------------------------------------------------------------------
// Client → server

export const Hello = Schema.TaggedStruct("Hello", { tab: TabId })

export const Select = Schema.TaggedStruct("Select", { persona: Schema.String.pipe(Schema.maxLength(128)) })

export const Say = Schema.TaggedStruct("Say", {
  text: Schema.String.pipe(
    Schema.filter((text) => text.trim().length > 0 || "expected a non-empty message"),
    Schema.maxLength(maxSayLength, { message: () => `a message may be at most ${maxSayLength} characters` })
  )
})

export const EventType = Schema.Literal(...(eventTags as [EventTag, ...Array<EventTag>]))

/** What the dashboard's event stream shows; every field narrows it, none set shows everything but `ReplyDelta`. */
export const EventFilter = Schema.Struct({
  persona: Schema.optional(Schema.String),
  /** A channel id (`telegram:sage_bot`, `web`) or a platform (`telegram` matches every `telegram:…`). */
  channel: Schema.optional(Schema.String),
  /** Only these event types (empty or absent: all). */
  types: Schema.optional(Schema.Array(EventType)),
  correlationId: Schema.optional(Schema.String),
  /** Include `ReplyDelta` (one per streamed piece of every reply; off unless asked). */
  deltas: Schema.optional(Schema.Boolean)
})
export type EventFilter = typeof EventFilter.Type

export const StreamName = Schema.Literal("tree", "events")
export type StreamName = typeof StreamName.Type

/** `tree`: the actor tree plus the dashboard panels (usage, plugins, reloads); `events`: the live event stream. */
export const Subscribe = Schema.TaggedStruct("Subscribe", { stream: StreamName, filter: Schema.optional(EventFilter) })

export const Unsubscribe = Schema.TaggedStruct("Unsubscribe", { stream: StreamName })

export const ClientMessage = Schema.Union(Hello, Select, Say, Subscribe, Unsubscribe)
export type ClientMessage = typeof ClientMessage.Type

// ---------------------------------------------------------------------------------------------------------------
// Server → client

export const PersonaInfo = Schema.Struct({
  id: Schema.String,
  title: Schema.String,
  description: Schema.String,
  provider: Schema.String,
  model: Schema.optional(Schema.String),
  /** No provider of its chain can answer: it answers through the `echo` development provider. */
  echo: Schema.Boolean,
  /** Why its provider cannot answer, with the config line that fixes it. */
  problem: Schema.optional(Schema.String)
})
export type PersonaInfo = typeof PersonaInfo.Type

/** Shown when no LLM provider can answer: what to add to config.yaml, what to export, or how to use Ollama. */
export const Notice = Schema.Struct({
  title: Schema.String,
  text: Schema.String,
  /** Lines for config.yaml. */
  config: Schema.String,
  /** Shell lines to run before `bun start`. */
  shell: Schema.String,
  /** The local alternative. */
  ollama: Schema.String
})
export type Notice = typeof Notice.Type

export const Welcome = Schema.TaggedStruct("Welcome", {
  tab: TabId,
  personas: Schema.Array(PersonaInfo),
  notice: Schema.optional(Notice)
})

export const HistoryToolCall = Schema.Struct({ id: Schema.String, name: Schema.String, arguments: Schema.String })

export const HistoryMessage = Schema.Struct({
  role: Schema.Literal("user", "assistant", "tool"),
  text: Schema.String,
  at: Schema.Number,
  /** An assistant message that called tools. */
  toolCalls: Schema.optional(Schema.Array(HistoryToolCall)),
  /** A tool result: the call it answers. */
  toolCallId: Schema.optional(Schema.String),
  toolName: Schema.optional(Schema.String),
  /** A tool result: whether the call succeeded, and how long it took. */
  ok: Schema.optional(Schema.Boolean),
  durationMs: Schema.optional(Schema.Number)
})
export type HistoryMessage = typeof HistoryMessage.Type

/** The answer to `Select`: the stored transcript of this tab's conversation with that persona, oldest first. */
export const History = Schema.TaggedStruct("History", {
  persona: Schema.String,
  conversationId: Schema.String,
  messages: Schema.Array(HistoryMessage)
})

export const ActorStateName = Schema.Literal("starting", "ready", "restarting", "failed", "stopping", "stopped")

export const TreeNode = Schema.Struct({
  path: Schema.String,
  parent: Schema.String,
  kind: Schema.String,
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
  state: ActorStateName,
  startedAt: Schema.Number,
  received: Schema.Number,
  processed: Schema.Number,
  failed: Schema.Number,
  restarts: Schema.Number,
  mailbox: Schema.Number,
  lastError: Schema.optional(Schema.String)
})
export type TreeNode = typeof TreeNode.Type

/** The actor tree: `full` replaces what the page has; otherwise `nodes` changed or appeared and `removed` are gone. */
export const Tree = Schema.TaggedStruct("Tree", {
  full: Schema.Boolean,
  nodes: Schema.Array(TreeNode),
  removed: Schema.Array(Schema.String)
})

/** A batch of the dashboard's event stream; `dropped` events matched but were left out to keep the page responsive. */
export const Events = Schema.TaggedStruct("Events", { events: Schema.Array(TroupeEvent), dropped: Schema.Number })

export const ReloadEvent = Schema.Union(
  PluginLoaded,
  PluginFailed,
  PluginUnloaded,
  PersonaLoaded,
  PersonaFailed,
  PersonaUnloaded
)
export type ReloadEvent = typeof ReloadEvent.Type

export const UsageEntry = Schema.Struct({
  persona: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  input: Schema.Number,
  output: Schema.Number
})

export const PluginInfo = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  description: Schema.String,
  tools: Schema.Array(Schema.String),
  /** False when the plugin's config switches it off (its tools are not offered). */
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  file: Schema.String
})

export const ComponentInfo = Schema.Struct({
  name: Schema.String,
  state: Schema.String,
  detail: Schema.optional(Schema.String)
})

export const ProviderInfo = Schema.Struct({
  name: Schema.String,
  usable: Schema.Boolean,
  problem: Schema.optional(Schema.String)
})

/** The dashboard's panels besides the tree, sent on `Subscribe { stream: "tree" }` and whenever one changes. */
export const Dashboard = Schema.TaggedStruct("Dashboard", {
  /** UTC day of `usage` (`YYYY-MM-DD`). */
  day: Schema.String,
  usage: Schema.Array(UsageEntry),
  plugins: Schema.Array(PluginInfo),
  /** Plugin and persona loads, reloads and failures since the runtime started, oldest first. */
  reloads: Schema.Array(ReloadEvent),
  components: Schema.Array(ComponentInfo),
  providers: Schema.Array(ProviderInfo)
})

/** A client message the server could not take (bad JSON, unknown type, a `Say` before `Select`, …). */
export const ProtocolError = Schema.TaggedStruct("Error", {
  message: Schema.String,
  /** The `_tag` of the message it answers, when it had one. */
  request: Schema.optional(Schema.String)
})

export const ServerMessage = Schema.Union(
  ...TroupeEvent.members,
  Welcome,
  History,
  Tree,
  Events,
  Dashboard,
  ProtocolError
)
export type ServerMessage = typeof ServerMessage.Type
export type ServerMessageOf<T extends ServerMessage["_tag"]> = Extract<ServerMessage, { readonly _tag: T }>

// ---------------------------------------------------------------------------------------------------------------
// Codecs

const decodeClientJson = Schema.decodeUnknownEither(Schema.parseJson(ClientMessage))
const decodeServerJson = Schema.decodeUnknownEither(Schema.parseJson(ServerMessage))

/** A client frame, or a readable reason it was refused. */
export const decodeClient = (text: string): Either.Either<ClientMessage, string> =>
  Either.mapLeft(decodeClientJson(text), (error) => ParseResult.TreeFormatter.formatErrorSync(error))

/** A server frame, or a readable reason it was refused. */
export const decodeServer = (text: string): Either.Either<ServerMessage, string> =>
  Either.mapLeft(decodeServerJson(text), (error) => ParseResult.TreeFormatter.formatErrorSync(error))

export const encodeClient = Schema.encodeSync(ClientMessage)
export const encodeServer = Schema.encodeSync(ServerMessage)
