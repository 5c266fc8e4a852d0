import { describe, expect, test } from "bun:test"
import { Effect, TestClock } from "effect"
import * as Actor from "../../core/actor/Actor.ts"
import { makeScheduler } from "../../core/conversation/Scheduler.ts"
import { makeInstantProvider } from "../../core/llm/InstantProvider.ts"
import type { ChatRequest } from "../../core/llm/Provider.ts"
import { Store } from "../../core/store/Store.ts"
import { runTest, settle } from "../support/effect.ts"
import { inbound } from "../support/messages.ts"
import { conversationLayer, eventually, harness } from "./harness.ts"

const conversationId = "sage/memory:test/dm1"
const owner = "sage/user:u1"

/** Repeats the instruction it was given, so a test sees which prompt fired. */
const instructionEcho = makeInstantProvider({
  reply: (request: ChatRequest) => {
    const last = request.messages.at(-1)
    return `done: ${typeof last?.content === "string" ? last.content : ""}`
  }
})

const setup = Effect.gen(function* () {
  const h = yield* harness()
  // A first message gives the conversation its address (where scheduled answers go).
  yield* h.router.receive(inbound({ text: "hello" }))
  yield* eventually(() => h.channel.replies[0]?.text)
  const root = yield* Actor.root("scheduling")
  const scheduler = yield* makeScheduler(root, {
    minInterval: 60_000,
    tolerance: 60_000,
    router: (persona) => (persona === "sage" ? h.router : undefined)
  })
  return { ...h, scheduler }
})

describe("scheduler", () => {
  test("a one-shot prompt fires once, at its time, in its conversation", () =>
    runTest(
      Effect.gen(function* () {
        const { channel, scheduler } = yield* setup
        const job = yield* scheduler.schedule({
          persona: "sage",
          conversationId,
          owner,
          prompt: "remind me to stretch",
          kind: "once",
          nextAt: 10_000
        })
        yield* TestClock.adjust("9 seconds")
        yield* settle
        expect(channel.replies.length).toBe(1)
        yield* TestClock.adjust("1 second")
        yield* eventually(() => channel.replies[1]?.text)
        expect(channel.replies[1]!.text).toContain("remind me to stretch")
        yield* TestClock.adjust("10 minutes")
        yield* settle
        expect(channel.replies.length).toBe(2)
        const store = yield* Store
        expect((yield* store.getJob(job.id))?.status).toBe("done")
      }).pipe(Effect.scoped, Effect.provide(conversationLayer([instructionEcho])))
    ))

  test("an interval job missed during downtime skips to its next future time instead of bursting", () =>
    runTest(
      Effect.gen(function* () {
        const store = yield* Store
        yield* TestClock.adjust("1 hour")
        // Left behind by an earlier run: due 5 minutes ago, every minute.
        const job = yield* store.addJob({
          persona: "sage",
          conversationId,
          owner,
          prompt: "tick",
          kind: "interval",
          nextAt: 3_600_000 - 5 * 60_000,
          intervalMs: 60_000
        })
        yield* store.setCursor(
          `address:${conversationId}`,
          JSON.stringify({ channel: "memory:test", chat: { id: "dm1", kind: "dm" }, userId: "u1" })
        )
        const { channel } = yield* setup
        yield* settle
        // Nothing was run late, and the job moved to the next minute.
        expect(channel.replies.length).toBe(1)
        expect((yield* store.getJob(job.id))?.nextAt).toBe(3_600_000 + 60_000)
        yield* TestClock.adjust("1 minute")
        yield* eventually(() => channel.replies[1]?.text)
        expect(channel.replies[1]!.text).toContain("tick")
        yield* settle
        expect(channel.replies.length).toBe(2)
      }).pipe(Effect.scoped, Effect.provide(conversationLayer([instructionEcho])))
    ))

  test("jobs are scoped to their owner: others can neither list, cancel nor delete them", () =>
    runTest(
      Effect.gen(function* () {
        const { scheduler } = yield* setup
        const job = yield* scheduler.schedule({
          persona: "sage",
          conversationId,
          owner,
          prompt: "p",
          kind: "interval",
          nextAt: 120_000,
          intervalMs: 60_000
        })
        expect((yield* scheduler.list("sage/user:other")).length).toBe(0)
        expect(yield* scheduler.cancel("sage/user:other", job.id)).toBe(false)
        expect(yield* scheduler.remove("sage/user:other", job.id)).toBe(false)
        expect((yield* scheduler.list(owner)).map((j) => j.id)).toEqual([job.id])
        expect(yield* scheduler.cancel(owner, job.id)).toBe(true)
        expect((yield* scheduler.list(owner))[0]?.status).toBe("cancelled")
        const tooOften = yield* Effect.either(
          scheduler.schedule({
            persona: "sage",
            conversationId,
            owner,
            prompt: "p",
            kind: "interval",
            nextAt: 120_000,
            intervalMs: 1000
          })
        )
        expect(tooOften._tag).toBe("Left")
      }).pipe(Effect.scoped, Effect.provide(conversationLayer([instructionEcho])))
    ))
})
