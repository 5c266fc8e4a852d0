/**
 * The contract every channel adapter implements (`telegram/`, `discord/`, `cytube/`, the web playground, the console).
 * Platform libraries are imported only inside their adapter's folder.
 *
 * Inbound: the adapter turns platform messages into `MessageReceived` events and hands them to `host.receive`.
 * Outbound: for each turn the conversation opens a `ReplySink` and emits the turn's events into it (`Typing`,
 * `ReplyDelta`, `ReplyCompleted`, `ReplyFailed`); the adapter renders them (edits in place, splits, throttles).
 */
import { Data, type Effect, type Scope } from "effect"
import type { EventBus, EventBusService } from "../events/EventBus.ts"
import type { Chat, EventOf, MessageReceived } from "../events/Events.ts"
import type { Http } from "../http/HttpServer.ts"
import type { Redaction } from "../log/Redactor.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import type { Store } from "../store/Store.ts"

/** Where a reply goes. */
export interface ReplyTarget {
  readonly conversationId: string
  readonly chat: Chat
  readonly thread?: string
  /** The `MessageReceived.messageId` being answered, when there is one (the adapter owns its format). */
  readonly replyTo?: string
  /** The user being answered (DMs, PMs, per-user history). */
  readonly userId?: string
  readonly turnId: string
  readonly correlationId: string
}

export type OutboundEvent =
  | EventOf<"Typing">
  | EventOf<"ReplyDelta">
  | EventOf<"ReplyCompleted">
  | EventOf<"ReplyFailed">

export class DeliveryError extends Data.TaggedError("DeliveryError")<{
  readonly channel: string
  readonly reason: string
  /** The platform may or may not have the message (timeout after the request left). */
  readonly ambiguous: boolean
}> {}

/** One turn's outbound stream. */
export interface ReplySink {
  /**
   * Hand one event to the channel. `Typing` and `ReplyDelta` return at once (the adapter coalesces deltas and edits at
   * its own pace); `ReplyCompleted` and `ReplyFailed` return when the platform has the final text.
   */
  readonly emit: (event: OutboundEvent) => Effect.Effect<void, DeliveryError>
  /**
   * Optional synchronous hand-over of a `Typing` or `ReplyDelta` (there is one per streamed delta): `true` when the
   * channel took it, and `emit` is then not called for it; `false` when it needs `emit` (e.g. to start an edit).
   */
  readonly offer?: (event: EventOf<"Typing"> | EventOf<"ReplyDelta">) => boolean
}

/** What the room looks like, for the prompt: whatever the platform can tell. */
export interface RoomContext {
  readonly users?: ReadonlyArray<{ readonly name: string; readonly afk?: boolean }>
  readonly media?: {
    readonly title: string
    readonly type: string
    readonly id: string
    readonly durationSec: number
    readonly positionSec: number
  }
  /** Recent lines from everyone in the room, oldest first. */
  readonly recent?: ReadonlyArray<{ readonly user: string; readonly text: string; readonly at: number }>
}

export type ChannelState = "connecting" | "ready" | "down" | "failed" | "disabled"

export interface ChannelInstance {
  /** `telegram:123456`, `discord:987`, `cytube:cytu.be/room`, `web`, `console`. */
  readonly id: string
  readonly platform: string
  readonly state: () => ChannelState
  readonly openReply: (target: ReplyTarget) => ReplySink
  readonly context: (target: ReplyTarget) => RoomContext | undefined
  /** Longest message the platform takes (the adapter splits longer replies itself). */
  readonly maxMessageLength: number
  /** The platform can pass images to the model. */
  readonly attachments: boolean
}

/** What the runtime gives a channel adapter. */
export interface ChannelHost {
  /** This channel's id (derived from its config section, see `channelIdOf`); use it as `MessageReceived.channel`. */
  readonly id: string
  /** The persona as it is now (personas hot-reload; read it per message, never cache it). */
  readonly persona: () => PersonaDefinition
  /** Hand an inbound message to the persona's router. Never drops: waits while the router's mailbox is full. */
  readonly receive: (message: MessageReceived) => Effect.Effect<void>
  readonly bus: EventBusService
  /** Replies are logged, not sent. */
  readonly dryRun: boolean
  /** Report connection state changes (published as `ChannelStatus`, shown in /readyz). */
  readonly setState: (state: ChannelState, reason?: string) => void
  /**
   * Accounts of every running persona, per platform: an adapter registers its own account once connected, and marks
   * messages from the others as `isBot` (platforms such as CyTube do not flag bots themselves).
   */
  readonly accounts: BotAccounts
}

export interface BotAccounts {
  add(platform: string, account: string): void
  remove(platform: string, account: string): void
  has(platform: string, account: string): boolean
}

/** Services a channel adapter may use: the store (cursors, outbox), the HTTP server (webhooks), redaction. */
export type ChannelServices = Store | EventBus | Http | Redaction

export class ChannelFailed extends Data.TaggedError("ChannelFailed")<{
  readonly channel: string
  readonly reason: string
}> {}

/** Builds a channel from its config section; runs inside the channel actor's scope (closing it disconnects). */
export type ChannelFactory<C> = (
  config: C,
  host: ChannelHost
) => Effect.Effect<ChannelInstance, ChannelFailed, Scope.Scope>
