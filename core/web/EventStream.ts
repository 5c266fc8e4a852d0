/**
 * The dashboard's live event stream, per watching tab: which events match its filter, and a bounded buffer flushed at
 * a modest rate, so a busy runtime never floods a browser. `ReplyDelta` (one per streamed piece of every reply) is
 * left out unless the filter asks for it; past the cap, the oldest pending events are dropped and counted.
 */
import { channelOf } from "../conversation/ConversationId.ts"
import type { TroupeEvent } from "../events/Events.ts"
import type { EventFilter } from "./Protocol.ts"

/** How often buffered events are sent. */
export const flushEveryMs = 250
/** Most events sent per flush (so at most 4 × this a second). */
export const maxPerFlush = 60
/** Pending events kept per tab between flushes; older ones are dropped. */
export const bufferSize = 240

const field = (event: TroupeEvent, name: string): string | undefined => {
  const value = (event as unknown as Record<string, unknown>)[name]
  return typeof value === "string" ? value : undefined
}

/** `persona:sage` → `sage` in an actor path such as `troupe/persona:sage/router/…`. */
const pathSegment = (path: string, prefix: string): string | undefined => {
  for (const segment of path.split("/")) if (segment.startsWith(prefix)) return segment.slice(prefix.length)
  return undefined
}

/** The persona an event belongs to, when it belongs to one. */
export const personaOfEvent = (event: TroupeEvent): string | undefined => {
  const persona = field(event, "persona")
  if (persona !== undefined) return persona
  const conversation = field(event, "conversationId")
  if (conversation !== undefined) return conversation.split("/")[0]
  const path = field(event, "path")
  return path === undefined ? undefined : pathSegment(path, "persona:")
}

/** The channel an event belongs to, when it belongs to one. */
export const channelOfEvent = (event: TroupeEvent): string | undefined => {
  const channel = field(event, "channel")
  if (channel !== undefined) return channel
  const conversation = field(event, "conversationId")
  if (conversation !== undefined) return channelOf(conversation)
  const path = field(event, "path")
  return path === undefined ? undefined : pathSegment(path, "channel:")
}

export const matches = (filter: EventFilter, event: TroupeEvent): boolean => {
  if (event._tag === "ReplyDelta" && !filter.deltas) return false
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event._tag)) return false
  if (filter.persona && personaOfEvent(event) !== filter.persona) return false
  if (filter.channel) {
    const channel = channelOfEvent(event)
    if (channel === undefined || (channel !== filter.channel && !channel.startsWith(`${filter.channel}:`))) return false
  }
  if (filter.correlationId && field(event, "correlationId") !== filter.correlationId) return false
  return true
}

/** One tab's pending events. */
export class EventBuffer {
  private pending: Array<TroupeEvent> = []
  private dropped = 0

  constructor(public filter: EventFilter) {}

  /** Keep the event if it matches; the oldest pending one goes when the buffer is full. */
  offer(event: TroupeEvent): void {
    if (!matches(this.filter, event)) return
    this.pending.push(event)
    if (this.pending.length > bufferSize) {
      this.pending.shift()
      this.dropped++
    }
  }

  /** The next batch to send (at most `maxPerFlush`, the newest), or undefined when there is nothing. */
  take(): { readonly events: ReadonlyArray<TroupeEvent>; readonly dropped: number } | undefined {
    if (this.pending.length === 0 && this.dropped === 0) return undefined
    const skipped = Math.max(0, this.pending.length - maxPerFlush)
    const events = this.pending.slice(skipped)
    const batch = { events, dropped: this.dropped + skipped }
    this.pending = []
    this.dropped = 0
    return batch
  }

  /** Count events that could not be sent (the socket was backed up). */
  lost(count: number): void {
    this.dropped += count
  }
}
