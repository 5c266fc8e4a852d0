/**
 * After a restart: messages that were recorded but never answered are answered now — exactly once, continuing the turn
 * that had started on them (its chunks already on the platform are edited, not posted again). Messages older than the
 * persona's `stale_after` are skipped with a log line instead of being answered hours late.
 */
import { Effect, Either, Schema } from "effect"
import { MessageReceived } from "../events/Events.ts"
import { Store } from "../store/Store.ts"
import type { PersonaRuntime } from "./PersonaRunner.ts"

const decodeMessage = Schema.decodeUnknownEither(Schema.parseJson(MessageReceived))

export const recoverUnanswered = (persona: PersonaRuntime): Effect.Effect<number, never, Store> =>
  Effect.gen(function* () {
    const store = yield* Store
    const definition = persona.current()
    const now = Date.now()
    let resumed = 0
    for (const entry of yield* store.unansweredInbound(definition.id, 0)) {
      const age = now - entry.at
      if (age > definition.reply.staleAfter) {
        yield* store.markInbound(entry.messageId, "skipped", entry.turnId)
        yield* Effect.logInfo(
          `skipped a message left unanswered by the last run: ${Math.round(age / 60_000)} min old, older than stale_after`
        ).pipe(Effect.annotateLogs({ persona: definition.id, conversation: entry.conversationId }))
        continue
      }
      const message = decodeMessage(entry.payload)
      if (Either.isLeft(message)) {
        yield* store.markInbound(entry.messageId, "failed", entry.turnId)
        yield* Effect.logWarning(`a recorded message could not be read back; skipped`)
        continue
      }
      yield* persona.router.resume(message.right, entry.conversationId, entry.turnId)
      resumed++
    }
    return resumed
  })
