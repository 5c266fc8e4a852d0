/**
 * After a crash, chunks of this channel's outbox may be `pending` (committed, the create may or may not have left)
 * or `unknown` (the create timed out). Discord de-duplicates a create by nonce for a few minutes, so a young entry is
 * simply sent again with its nonce: Discord answers with the message it already has, or creates it now. Older
 * entries, and answers to slash commands (their interaction token died with the process), are dropped with a log line.
 */
import type { REST } from "discord.js"
import { Clock, Effect } from "effect"
import type { OutboxEntry, Store } from "../../store/Store.ts"
import { createChunk } from "./outbound.ts"

/** Where a conversation is answered: `persona/channel/chat[/thread][/user:id]` -> the thread, else the chat. */
export const discordChannelOf = (conversationId: string): string | undefined => {
  const [, , chat, ...rest] = conversationId.split("/")
  const thread = rest.find((segment) => !segment.startsWith("user:"))
  const id = thread ?? chat
  return id !== undefined && /^\d+$/.test(id) ? id : undefined
}

/** Turn ids answered through an interaction, kept briefly in a cursor so a restart does not resend them elsewhere. */
export interface InteractionTurns {
  readonly add: (turnId: string) => Effect.Effect<void>
  readonly has: (turnId: string) => Effect.Effect<boolean>
}

const INTERACTION_TTL_MS = 15 * 60_000

export const makeInteractionTurns = (store: Store["Type"], channel: string): InteractionTurns => {
  const key = `${channel}:interaction-turns`
  const read = Effect.map(store.getCursor(key), (text): Array<{ turnId: string; at: number }> => {
    try {
      const parsed: unknown = text === undefined ? [] : JSON.parse(text)
      return Array.isArray(parsed) ? parsed : []
    } catch {
      // A damaged cursor only costs the interaction bookkeeping.
      return []
    }
  })
  return {
    add: (turnId) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const kept = (yield* read).filter((entry) => now - entry.at < INTERACTION_TTL_MS)
        kept.push({ turnId, at: now })
        yield* store.setCursor(key, JSON.stringify(kept))
      }),
    has: (turnId) => Effect.map(read, (entries) => entries.some((entry) => entry.turnId === turnId))
  }
}

export interface RecoveryInput {
  readonly store: Store["Type"]
  readonly rest: REST
  readonly channel: string
  /** Entries younger than this are resent with their nonce; older ones are dropped. */
  readonly windowMs: number
  readonly interactions: InteractionTurns
}

/** Settle every pending/unknown outbox entry of the channel by the rule above; returns how many were resent. */
export const recoverOutbox = (input: RecoveryInput) =>
  Effect.gen(function* () {
    const { store, channel } = input
    const entries = yield* store.outboxPending(channel)
    let resent = 0
    for (const entry of entries) {
      const outcome = yield* settle(input, entry)
      if (outcome === "sent") resent++
    }
    if (entries.length > 0) yield* store.commit.pipe(Effect.ignore)
    return resent
  })

const settle = (input: RecoveryInput, entry: OutboxEntry) =>
  Effect.gen(function* () {
    const { store } = input
    const now = yield* Clock.currentTimeMillis
    const age = now - entry.createdAt
    const drop = (why: string) =>
      Effect.zipRight(
        Effect.logWarning(`discord: dropping unsent chunk ${entry.key} (${why})`),
        Effect.as(store.outboxMark(entry.key, "dropped"), "dropped" as const)
      )
    if (yield* input.interactions.has(entry.turnId)) return yield* drop("it answered a slash command")
    if (age > input.windowMs) return yield* drop(`${Math.round(age / 1000)} s old, past Discord's nonce window`)
    const target = discordChannelOf(entry.conversationId)
    if (target === undefined) return yield* drop(`no Discord channel in ${entry.conversationId}`)
    const sent = yield* Effect.either(
      createChunk(
        { rest: input.rest, channel: input.channel, discordChannelId: target, turnId: entry.turnId },
        entry.text,
        entry.chunk
      )
    )
    if (sent._tag === "Right") {
      yield* store.outboxMark(entry.key, "sent", sent.right)
      yield* Effect.logInfo(`discord: chunk ${entry.key} settled after a restart (message ${sent.right})`)
      return "sent" as const
    }
    if (sent.left.ambiguous) {
      yield* store.outboxMark(entry.key, "unknown")
      yield* Effect.logWarning(`discord: chunk ${entry.key} still unknown: ${sent.left.reason}`)
      return "unknown" as const
    }
    return yield* drop(sent.left.reason)
  })
