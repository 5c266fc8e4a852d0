/**
 * A reply streamed by editing a message in place, for platforms that allow edits (Telegram, Discord): the first message
 * goes out as soon as the first tokens arrive, then it is edited as the text grows — at most once per `editInterval` —
 * and the final text replaces it, split into as many messages as the platform's limit needs. A typing indicator is kept
 * alive while the model thinks. Adapters provide the three platform calls; everything else is here.
 *
 * Every message a reply sends goes through the outbox first (`<turnId>:<chunk>`, committed before the platform call,
 * recorded as sent in a commit right after it), so after a crash the runtime knows which chunks are out (and edits
 * them) and which may be (and never posts those twice).
 */
import { Clock, Duration, Effect, Fiber, type Scope } from "effect"
import type { Store } from "../../store/Store.ts"
import { DeliveryError, type OutboundEvent, type ReplySink, type ReplyTarget } from "../Channel.ts"
import { splitMessage } from "./split.ts"

/** What an adapter does on its platform. Failures are `DeliveryError`s (ambiguous when the outcome is unknown). */
export interface PlatformOps {
  /** Send a new message; returns the platform's message id. `chunk` is its index in the reply (0 for the first). */
  readonly send: (text: string, chunk: number) => Effect.Effect<string, DeliveryError>
  /** Replace a sent message's text. Editing to the same text must succeed (adapters ignore "not modified"). */
  readonly edit: (messageId: string, text: string) => Effect.Effect<void, DeliveryError>
  /** Show "typing…" (platforms expire it after a few seconds; it is repeated while the model thinks). */
  readonly typing: () => Effect.Effect<void>
}

export interface StreamingOptions {
  readonly channel: string
  readonly persona: string
  /** Longest message the platform takes. */
  readonly limit: number
  /** Stream by editing (false: send only the final text). */
  readonly stream: boolean
  /** Minimum time between two edits of the streamed message. */
  readonly editInterval: number
  /** How often the typing indicator is renewed. */
  readonly typingInterval: number
  /** Do not send a first message before it has this many characters (avoids a one-word first message). */
  readonly minFirstChunk?: number
}

const chunkKey = (turnId: string, chunk: number) => `${turnId}:${String(chunk).padStart(3, "0")}`

/** A preview shown while streaming never exceeds the limit: cut it and mark it as continuing. */
const preview = (text: string, limit: number) =>
  text.length <= limit ? text : `${text.slice(0, limit - 2).trimEnd()} …`

export const makeStreamingReply = (
  target: ReplyTarget,
  ops: PlatformOps,
  options: StreamingOptions,
  store: Store["Type"],
  scope: Scope.Scope
): ReplySink => {
  let latest = ""
  let shown = ""
  let streamedId: string | undefined
  let lastEdit = 0
  let finished = false
  let typingFiber: Fiber.RuntimeFiber<void> | undefined
  let editFiber: Fiber.RuntimeFiber<void> | undefined
  /** Streaming stopped after a failed send or edit; the final step still delivers the whole text. */
  let streamBroken = false
  const minFirst = options.minFirstChunk ?? 20

  /** Chunks whose send this reply saw refused for certain (nothing reached the platform): they may go again. */
  const refused = new Set<string>()

  /**
   * Send one chunk through the outbox: recorded and committed before the platform call; marked sent and committed
   * right after it, so a crash a moment later still knows the message exists (and edits it instead of posting again).
   */
  const sendChunk = (text: string, chunk: number) =>
    Effect.gen(function* () {
      const key = chunkKey(target.turnId, chunk)
      const existing = yield* store.outboxGet(key)
      if (existing?.status === "sent" && existing.platformId) return existing.platformId
      // A chunk whose send had an unknown outcome may be on the platform already: sending it again could post it
      // twice. The same goes for one a channel gave up on (`dropped` by its startup or recovery rule after a crash or
      // a timeout): only a refusal this reply saw itself proves the chunk is not there, so only that one may go again.
      if (existing?.status === "unknown" || (existing?.status === "dropped" && !refused.has(key))) {
        return yield* Effect.fail(
          new DeliveryError({
            channel: options.channel,
            reason: `chunk ${key} has an unknown outcome (${existing.status}): not sent again`,
            ambiguous: true
          })
        )
      }
      yield* store.outboxPut({
        key,
        persona: options.persona,
        channel: options.channel,
        conversationId: target.conversationId,
        turnId: target.turnId,
        chunk,
        text
      })
      yield* store.commit.pipe(
        Effect.mapError(
          (error) => new DeliveryError({ channel: options.channel, reason: error.message, ambiguous: false })
        )
      )
      const sent = yield* ops.send(text, chunk).pipe(
        Effect.tapError((error) =>
          error.ambiguous
            ? store.outboxMark(key, "unknown")
            : Effect.zipRight(
                Effect.sync(() => refused.add(key)),
                store.outboxMark(key, "dropped")
              )
        )
      )
      yield* store.outboxMark(key, "sent", sent)
      // The message exists now: make that durable at once (a crash before this commit is the remaining window).
      yield* store.commit.pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`outbox: chunk ${key} was sent, but recording it failed: ${error.message}`)
        )
      )
      return sent
    })

  const stopTyping = Effect.suspend(() => {
    const fiber = typingFiber
    typingFiber = undefined
    return fiber ? Fiber.interrupt(fiber) : Effect.void
  })

  const startTyping = Effect.suspend(() => {
    if (typingFiber || finished) return Effect.void
    return Effect.map(
      Effect.forkIn(
        Effect.forever(Effect.zipRight(ops.typing(), Effect.sleep(Duration.millis(options.typingInterval)))),
        scope
      ),
      (fiber) => {
        typingFiber = fiber
      }
    )
  })

  /** Bring the streamed message up to date, respecting the edit interval. */
  const refresh: Effect.Effect<void> = Effect.gen(function* () {
    while (!finished && shown !== latest) {
      const wait = lastEdit + options.editInterval - (yield* Clock.currentTimeMillis)
      if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
      if (finished) return
      const text = preview(latest, options.limit)
      const next = latest
      // A platform call in progress is never interrupted: its outcome decides what the final step does.
      // What the call changed is recorded inside the same uninterruptible region: an interruption right after the call
      // must not lose the id of a message that now exists.
      if (streamedId === undefined) {
        if (text.trim().length < minFirst) return
        yield* Effect.uninterruptible(
          Effect.map(sendChunk(text, 0), (id) => {
            streamedId = id
            shown = next
          })
        )
        yield* stopTyping
      } else if (text !== preview(shown, options.limit)) {
        const id = streamedId
        yield* Effect.uninterruptible(
          Effect.map(ops.edit(id, text), () => {
            shown = next
          })
        )
      }
      shown = next
      lastEdit = yield* Clock.currentTimeMillis
    }
  }).pipe(
    Effect.catchAll((error) =>
      Effect.zipRight(
        Effect.sync(() => {
          streamBroken = true
        }),
        Effect.logWarning(`streaming ${options.channel}: ${error.reason}; no more previews for this reply`)
      )
    ),
    Effect.ensuring(
      Effect.sync(() => {
        editFiber = undefined
      })
    )
  )

  const onDelta = (text: string) =>
    Effect.suspend(() => {
      latest = text
      if (!options.stream || finished || editFiber || streamBroken) return Effect.void
      return Effect.map(Effect.forkIn(refresh, scope), (fiber) => {
        editFiber = fiber
      })
    })

  /** The final text: the streamed message becomes the first chunk, the rest are new messages. */
  const finish = (text: string) =>
    Effect.gen(function* () {
      finished = true
      // A pending edit that is only waiting for its interval is dropped; one talking to the platform is awaited.
      const pending = editFiber
      if (pending) yield* Fiber.interrupt(pending)
      yield* stopTyping
      if (streamedId === undefined) {
        // The first message may already exist (sent by an earlier delivery of this turn): edit it, never post it again.
        const first = yield* store.outboxGet(chunkKey(target.turnId, 0))
        if (first?.status === "sent" && first.platformId) {
          streamedId = first.platformId
          shown = first.text
        }
      }
      const chunks = splitMessage(text, options.limit)
      if (chunks.length === 0) return
      // A chunk that fails does not hold back the ones after it; the first failure is reported at the end.
      let failure: DeliveryError | undefined
      for (const [index, chunk] of chunks.entries()) {
        const delivered =
          index === 0 && streamedId !== undefined
            ? Effect.zipRight(
                chunk !== preview(shown, options.limit) ? ops.edit(streamedId, chunk) : Effect.void,
                store.outboxMark(chunkKey(target.turnId, 0), "sent", streamedId)
              )
            : sendChunk(chunk, index)
        const outcome = yield* Effect.either(delivered)
        if (outcome._tag === "Left") failure ??= outcome.left
      }
      if (failure) return yield* Effect.fail(failure)
    })

  return {
    // Most deltas only replace the text the next edit shows: that needs no effect.
    offer: (event) => {
      if (event._tag === "Typing") return typingFiber !== undefined || finished
      latest = event.text
      return !options.stream || finished || editFiber !== undefined || streamBroken
    },
    emit: (event: OutboundEvent) => {
      switch (event._tag) {
        case "Typing":
          return startTyping
        case "ReplyDelta":
          return onDelta(event.text)
        case "ReplyCompleted":
          return finish(event.text)
        case "ReplyFailed":
          return finish(event.userText)
      }
    }
  }
}

/** The outbox key of a reply's chunk. */
export const outboxKey = chunkKey
