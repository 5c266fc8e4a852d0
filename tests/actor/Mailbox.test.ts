import { describe, expect, test } from "bun:test"
import { Effect, Fiber } from "effect"
import { Empty, Mailbox } from "../../core/actor/internal/Mailbox.ts"
import { runTest, settle } from "../support/effect.ts"

describe("Mailbox", () => {
  test("senders wait when it is full and are admitted in order as messages are taken", () =>
    runTest(
      Effect.gen(function* () {
        const mailbox = new Mailbox<number>(2)
        expect(mailbox.offer(1)).toBe(true)
        expect(mailbox.offer(2)).toBe(true)
        expect(mailbox.offer(3)).toBe(false)
        const third = yield* Effect.fork(mailbox.offerWait(3))
        const fourth = yield* Effect.fork(mailbox.offerWait(4))
        yield* settle
        expect(mailbox.size).toBe(4)
        // A new sender does not jump ahead of the ones waiting.
        expect(mailbox.offer(5)).toBe(false)
        expect(mailbox.poll()).toBe(1)
        yield* Fiber.join(third)
        expect(mailbox.poll()).toBe(2)
        yield* Fiber.join(fourth)
        expect([mailbox.poll(), mailbox.poll(), mailbox.poll()]).toEqual([3, 4, Empty])
      })
    ))

  test("a waiting consumer is resumed by the next message", () =>
    runTest(
      Effect.gen(function* () {
        const mailbox = new Mailbox<string>(8)
        const waiting = yield* Effect.fork(mailbox.awaitMessage)
        yield* settle
        expect(waiting.unsafePoll()).toBeNull()
        mailbox.offer("hello")
        yield* Fiber.join(waiting)
        expect(mailbox.poll()).toBe("hello")
      })
    ))

  test("close refuses new messages and drain returns everything, waiting senders included", () =>
    runTest(
      Effect.gen(function* () {
        const mailbox = new Mailbox<number>(1)
        mailbox.offer(1)
        const waiting = yield* Effect.fork(mailbox.offerWait(2))
        yield* settle
        mailbox.close()
        yield* Fiber.join(waiting)
        expect(mailbox.offer(3)).toBe(false)
        expect(mailbox.drain()).toEqual([1, 2])
        expect(mailbox.size).toBe(0)
      })
    ))
})
