import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import type { PersonaRuntime } from "../../core/runtime/PersonaRunner.ts"
import { recoverUnanswered } from "../../core/runtime/Recovery.ts"
import { Store } from "../../core/store/Store.ts"
import { conversationLayer, eventually, harness } from "../conversation/harness.ts"
import { runLive } from "../support/effect.ts"
import { inbound } from "../support/messages.ts"

describe("recovery after a restart", () => {
  test("a message recorded but never answered is answered once, on the turn that had started; a stale one is skipped", () =>
    runLive(
      Effect.gen(function* () {
        const store = yield* Store
        const { router, channel, persona } = yield* harness({ reply: { stale_after: "10m" } })
        const fresh = inbound({ text: "are you there?" })
        const old = { ...inbound({ text: "from yesterday" }), at: Date.now() - 24 * 3_600_000 }
        const conversationId = "sage/memory:test/dm1"
        for (const message of [old, fresh]) {
          yield* store.recordInbound({
            messageId: message.messageId,
            persona: "sage",
            conversationId,
            at: message.at,
            payload: JSON.stringify(message)
          })
        }
        // The last run had started answering the fresh one when it died.
        yield* store.markInbound(fresh.messageId, "received", "turn-before-crash")
        const runtime = { router, current: () => persona.current } as unknown as PersonaRuntime

        expect(yield* recoverUnanswered(runtime)).toBe(1)
        yield* eventually(() => channel.replies[0]?.text)
        expect(channel.replies.map((r) => r.text)).toEqual(["ok: are you there?"])
        expect(channel.replies[0]!.target.turnId).toBe("turn-before-crash")
        expect(yield* store.unansweredInbound("sage", 0)).toEqual([])

        // Running recovery again finds nothing left to do.
        expect(yield* recoverUnanswered(runtime)).toBe(0)
        yield* Effect.sleep("30 millis")
        expect(channel.replies.length).toBe(1)
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))
})
