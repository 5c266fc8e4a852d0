/**
 * An in-process channel: messages are handed in by code, replies are kept in memory. Used by tests, benchmarks and
 * embedders that drive a persona from their own program. It goes through the same router, policy and conversation
 * actors as every platform channel.
 */
import { Effect } from "effect"
import type { ChannelInstance, OutboundEvent, ReplyTarget, RoomContext } from "../Channel.ts"

export interface MemoryReply {
  readonly target: ReplyTarget
  /** Every event of the turn, in order. */
  readonly events: Array<OutboundEvent>
  /** The final text (`ReplyCompleted`) or the user-facing failure text (`ReplyFailed`), once the turn is over. */
  text?: string
  failed?: boolean
}

export interface MemoryChannel extends ChannelInstance {
  /** Replies in the order their turns started. */
  readonly replies: ReadonlyArray<MemoryReply>
  /** Set the room context the prompt will see (users, media, recent lines). */
  setContext(context: RoomContext | undefined): void
  /** Forget recorded replies (benchmarks call it to keep memory flat). */
  clear(): void
}

export interface MemoryChannelOptions {
  readonly id?: string
  /** Called for every outbound event (benchmarks measure latency here). */
  readonly onEvent?: (target: ReplyTarget, event: OutboundEvent) => void
  /** Keep replies in `replies` (default true). */
  readonly record?: boolean
}

export const makeMemoryChannel = (options: MemoryChannelOptions = {}): MemoryChannel => {
  const replies: Array<MemoryReply> = []
  let context: RoomContext | undefined
  const record = options.record ?? true
  return {
    id: options.id ?? "memory:test",
    platform: "memory",
    state: () => "ready",
    maxMessageLength: 1_000_000,
    attachments: true,
    get replies() {
      return replies
    },
    setContext: (next) => {
      context = next
    },
    clear: () => {
      replies.length = 0
    },
    context: () => context,
    openReply: (target) => {
      const reply: MemoryReply = { target, events: [] }
      if (record) replies.push(reply)
      const take = (event: OutboundEvent) => {
        if (record) reply.events.push(event)
        if (event._tag === "ReplyCompleted") reply.text = event.text
        if (event._tag === "ReplyFailed") {
          reply.text = event.userText
          reply.failed = true
        }
        options.onEvent?.(target, event)
      }
      return {
        offer: (event) => {
          take(event)
          return true
        },
        emit: (event) => Effect.sync(() => take(event))
      }
    }
  }
}
