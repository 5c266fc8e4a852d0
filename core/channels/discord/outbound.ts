/**
 * The Discord side of a streamed reply: create, edit and typing calls on a channel (or thread), every one through
 * discord.js's REST queue (which waits out rate limits and retries 5xx and timeouts itself).
 *
 * Exactly-once sends: each chunk carries a nonce derived from its outbox key with `enforce_nonce: true`, so Discord
 * answers a repeated create within its nonce window with the message it already has. That makes the library's own
 * retry after a timeout harmless, and lets us retry an ambiguous send once more ourselves.
 */
import { createHash } from "node:crypto"
import { DiscordAPIError, HTTPError, type REST, Routes } from "discord.js"
import { Clock, Duration, Effect } from "effect"
import { DeliveryError } from "../Channel.ts"
import type { PlatformOps } from "../text/StreamingReply.ts"
import { outboxKey } from "../text/StreamingReply.ts"

/** Nobody is ever pinged by what a persona writes: no @everyone, no roles, no users, not the replied-to author. */
export const noPings = { parse: [] as Array<never>, replied_user: false } as const

/** Discord takes nonces of up to 25 characters; outbox keys (`<turnId>:<NNN>`) fit, longer ones are hashed. */
export const nonceOf = (key: string): string =>
  key.length <= 25 ? key : createHash("sha256").update(key).digest("base64url").slice(0, 25)

const describe = (cause: unknown): string =>
  cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)

/**
 * A failed REST call as a `DeliveryError`. Discord's 4xx answers are definite (nothing was created); a 5xx, a timeout
 * or a broken connection leaves the outcome unknown.
 */
export const toDeliveryError = (channel: string, action: string, cause: unknown): DeliveryError => {
  if (cause instanceof DiscordAPIError) {
    return new DeliveryError({
      channel,
      reason: `${action}: ${cause.status} (code ${String(cause.code)}) ${cause.message}`,
      ambiguous: cause.status >= 500
    })
  }
  if (cause instanceof HTTPError) {
    return new DeliveryError({ channel, reason: `${action}: HTTP ${cause.status} ${cause.message}`, ambiguous: true })
  }
  return new DeliveryError({ channel, reason: `${action}: ${describe(cause)}`, ambiguous: true })
}

/**
 * Edits paced per Discord channel: at most `count` in any `windowMs` (Discord allows about 5 per 5 s per channel),
 * shared by every reply streaming into that channel. `acquire` waits for a free slot.
 */
export interface EditPacer {
  readonly acquire: (channelId: string) => Effect.Effect<void>
}

export const makeEditPacer = (count: number, windowMs: number): EditPacer => {
  const recent = new Map<string, Array<number>>()
  /** Take a slot now (0) or say how long to wait for one. */
  const take = (channelId: string, now: number): number => {
    const times = recent.get(channelId) ?? []
    while (times.length > 0 && times[0]! <= now - windowMs) times.shift()
    if (times.length >= count) return times[0]! + windowMs - now
    times.push(now)
    recent.set(channelId, times)
    if (recent.size > 1000) {
      for (const [id, list] of recent) if ((list.at(-1) ?? 0) <= now - windowMs) recent.delete(id)
    }
    return 0
  }
  return {
    acquire: (channelId) =>
      Effect.gen(function* () {
        for (;;) {
          const wait = take(channelId, yield* Clock.currentTimeMillis)
          if (wait <= 0) return
          yield* Effect.sleep(Duration.millis(wait))
        }
      })
  }
}

export interface ChannelOpsInput {
  readonly rest: REST
  /** The Troupe channel id (for errors and logs). */
  readonly channel: string
  /** The Discord channel or thread the reply goes to. */
  readonly discordChannelId: string
  /** The Discord message the first chunk replies to (a guild message being answered). */
  readonly replyTo?: string | undefined
  readonly turnId: string
  readonly pacer: EditPacer
}

/** Create one chunk; an ambiguous failure is retried once with the same nonce (Discord de-duplicates it). */
export const createChunk = (input: Omit<ChannelOpsInput, "pacer">, text: string, chunk: number) => {
  const body = {
    content: text,
    nonce: nonceOf(outboxKey(input.turnId, chunk)),
    enforce_nonce: true,
    allowed_mentions: noPings,
    ...(chunk === 0 && input.replyTo !== undefined
      ? { message_reference: { message_id: input.replyTo, fail_if_not_exists: false } }
      : {})
  }
  const attempt = Effect.tryPromise({
    try: (signal) => input.rest.post(Routes.channelMessages(input.discordChannelId), { body, signal }),
    catch: (cause) => toDeliveryError(input.channel, "create message", cause)
  }).pipe(Effect.map((message) => (message as { readonly id: string }).id))
  return attempt.pipe(
    Effect.catchIf(
      (error) => error.ambiguous,
      (error) =>
        Effect.logWarning(`discord: send outcome unknown (${error.reason}); retrying once with the same nonce`).pipe(
          Effect.zipRight(attempt)
        )
    )
  )
}

/** Replace a message's text (editing to the same text is fine on Discord). */
export const editMessage = (input: ChannelOpsInput, messageId: string, text: string) =>
  Effect.zipRight(
    input.pacer.acquire(input.discordChannelId),
    Effect.tryPromise({
      try: (signal) =>
        input.rest.patch(Routes.channelMessage(input.discordChannelId, messageId), {
          body: { content: text, allowed_mentions: noPings },
          signal
        }),
      catch: (cause) => toDeliveryError(input.channel, "edit message", cause)
    })
  ).pipe(Effect.asVoid)

/** "Typing…" for about 10 s; a failure only costs the indicator. */
export const sendTyping = (rest: REST, discordChannelId: string) =>
  Effect.tryPromise({
    try: (signal) => rest.post(Routes.channelTyping(discordChannelId), { signal }),
    catch: describe
  }).pipe(
    Effect.asVoid,
    Effect.catchAll((reason) => Effect.logDebug(`discord: typing failed: ${reason}`))
  )

/** The three platform calls of a reply in a channel, DM or thread. */
export const channelOps = (input: ChannelOpsInput): PlatformOps => ({
  send: (text, chunk) => createChunk(input, text, chunk),
  edit: (messageId, text) => editMessage(input, messageId, text),
  typing: () => sendTyping(input.rest, input.discordChannelId)
})
