import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect } from "effect"
import { type NewMessage, Store, type StoredMessage } from "../../core/store/Store.ts"
import { message, useTempDir, withStore } from "./helpers.ts"

const dir = useTempDir()
const db = () => join(dir.path, "troupe.db")

describe("Store transcripts", () => {
  test("history returns the last `limit` messages of a conversation, oldest first", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        for (let i = 1; i <= 5; i++) {
          yield* store.appendMessage(message("sage/telegram/1", `one-${i}`, i))
          yield* store.appendMessage(message("sage/telegram/2", `two-${i}`, i))
        }
        const last3 = yield* store.history("sage/telegram/1", 3)
        expect(last3.map((m) => m.content)).toEqual(["one-3", "one-4", "one-5"])
        expect(last3[0]!.id).toBeLessThan(last3[1]!.id)
        expect((yield* store.history("sage/telegram/2", 100)).map((m) => m.content)).toEqual([
          "two-1",
          "two-2",
          "two-3",
          "two-4",
          "two-5"
        ])
        expect(yield* store.history("sage/telegram/none", 10)).toEqual([])
        expect(yield* store.history("sage/telegram/1", 0)).toEqual([])
      })
    ))

  test("every field of a message comes back as it went in", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        const full: NewMessage = {
          conversationId: "sage/discord/99/thread-1",
          role: "assistant",
          content: "let me look that up",
          at: 1_700_000_000_123,
          authorId: "bot",
          authorName: "Sage",
          inboundId: "discord:99:555",
          turnId: "turn-1",
          toolCalls: [{ id: "call-1", name: "search", arguments: '{"q":"weather"}' }],
          toolCallId: "call-0",
          toolName: "search",
          tokensIn: 120,
          tokensOut: 14,
          meta: { attachments: [{ kind: "image", url: "https://example.test/a.png" }], unicode: "é ✓ 🎭" }
        }
        yield* store.appendMessage(full)
        yield* store.appendMessage(message("sage/discord/99/thread-1", "minimal"))
        const [stored, minimal] = yield* store.history(full.conversationId, 10)
        expect(stored).toEqual({ ...full, id: stored!.id })
        // Optional fields that were not given are absent, not null.
        expect(Object.keys(minimal!).sort()).toEqual(["at", "content", "conversationId", "id", "role"])
      })
    ))

  test("a read right after an unawaited append sees it", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.appendMessage(message("c/1/1", "hello"))
        expect((yield* store.stats).pending).toBe(1)
        expect((yield* store.history("c/1/1", 1)).map((m) => m.content)).toEqual(["hello"])
        expect(yield* store.messageCount("c/1/1")).toBe(1)
        expect((yield* store.stats).pending).toBe(0)
      })
    ))

  test("trim keeps the newest messages, clear removes them all, count follows", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        for (let i = 1; i <= 10; i++) yield* store.appendMessage(message("c/1/1", `m${i}`, i))
        yield* store.appendMessage(message("c/1/2", "other"))
        expect(yield* store.messageCount("c/1/1")).toBe(10)
        expect(yield* store.trimHistory("c/1/1", 4)).toBe(6)
        expect((yield* store.history("c/1/1", 100)).map((m) => m.content)).toEqual(["m7", "m8", "m9", "m10"])
        expect(yield* store.trimHistory("c/1/1", 10)).toBe(0)
        expect(yield* store.clearHistory("c/1/1")).toBe(4)
        expect(yield* store.messageCount("c/1/1")).toBe(0)
        expect(yield* store.messageCount("c/1/2")).toBe(1)
        // Ids keep growing after deletes: a new message never takes an old id.
        yield* store.appendMessage(message("c/1/1", "again"))
        const [again] = yield* store.history("c/1/1", 1)
        expect(again!.id).toBe(12)
      })
    ))

  test("capHistory trims in the next group commit, in order with the writes around it", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        for (let i = 1; i <= 5; i++) yield* store.appendMessage(message("c/1/1", `m${i}`, i))
        yield* store.capHistory("c/1/1", 2)
        yield* store.appendMessage(message("c/1/1", "m6", 6))
        yield* store.appendMessage(message("c/1/2", "other"))
        expect((yield* store.stats).pending).toBe(8)
        expect((yield* store.history("c/1/1", 100)).map((m) => m.content)).toEqual(["m4", "m5", "m6"])
        expect(yield* store.messageCount("c/1/2")).toBe(1)
      })
    ))

  test("conversations lists ids with counts and last activity, filtered by prefix, newest first", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.appendMessage(message("sage/telegram/1", "a", 100))
        yield* store.appendMessage(message("sage/telegram/1", "b", 300))
        yield* store.appendMessage(message("sage/discord/7", "c", 200))
        yield* store.appendMessage(message("rothrock/cytube/room", "d", 400))
        // `_` and `%` in a prefix are literal characters, not patterns.
        yield* store.appendMessage(message("sage_x/telegram/1", "e", 500))
        expect(yield* store.conversations()).toEqual([
          { id: "sage_x/telegram/1", messages: 1, lastAt: 500 },
          { id: "rothrock/cytube/room", messages: 1, lastAt: 400 },
          { id: "sage/telegram/1", messages: 2, lastAt: 300 },
          { id: "sage/discord/7", messages: 1, lastAt: 200 }
        ])
        expect((yield* store.conversations({ prefix: "sage/" })).map((c) => c.id)).toEqual([
          "sage/telegram/1",
          "sage/discord/7"
        ])
        expect((yield* store.conversations({ prefix: "Sage/" })).map((c) => c.id)).toEqual([])
        expect((yield* store.conversations({ limit: 2 })).map((c) => c.id)).toEqual([
          "sage_x/telegram/1",
          "rothrock/cytube/room"
        ])
      })
    ))

  test("JSONL export has one message per line and round-trips", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.appendMessage({ ...message("a/t/1", 'line one\nline "two"'), meta: { n: 1 } })
        yield* store.appendMessage(message("b/t/1", "other"))
        yield* store.appendMessage({
          ...message("a/t/1", "calling"),
          role: "assistant",
          toolCalls: [{ id: "x", name: "y", arguments: "{}" }]
        })
        const one = yield* store.exportJsonl("a/t/1")
        const lines = one.split("\n")
        expect(lines.at(-1)).toBe("")
        const parsed = lines.slice(0, -1).map((line) => JSON.parse(line) as StoredMessage)
        expect(parsed).toEqual([...(yield* store.history("a/t/1", 10))])
        const all = (yield* store.exportJsonl()).trimEnd().split("\n")
        expect(all.map((line) => (JSON.parse(line) as StoredMessage).conversationId)).toEqual([
          "a/t/1",
          "b/t/1",
          "a/t/1"
        ])
        expect(yield* store.exportJsonl("nobody")).toBe("")
      })
    ))

  test("500 concurrent append + commit calls share a handful of transactions", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        const before = yield* store.stats
        yield* Effect.forEach(
          Array.from({ length: 500 }, (_, i) => i),
          (i) => Effect.zipRight(store.appendMessage(message(`c/${i % 100}/x`, `m${i}`)), store.commit),
          { concurrency: "unbounded", discard: true }
        )
        const after = yield* store.stats
        expect(after.writes - before.writes).toBe(500)
        expect(after.transactions - before.transactions).toBeLessThanOrEqual(10)
        expect(after.pending).toBe(0)
        expect(yield* store.messageCount("c/7/x")).toBe(5)
      })
    ))

  test("an unawaited write is committed on the next tick without anyone asking", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.appendMessage(message("c/1/1", "fire and forget"))
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        expect(yield* store.stats).toMatchObject({ transactions: 1, writes: 1, pending: 0 })
      })
    ))

  test("a failed write fails the commits issued after it, and the rest of its batch is still saved", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.appendMessage(message("c/1/1", "before"))
        const [first, second] = yield* Effect.all(
          [
            Effect.either(store.commit),
            Effect.gen(function* () {
              yield* store.appendMessage({ ...message("c/1/1", "bad"), role: "narrator" as never })
              yield* store.appendMessage(message("c/1/1", "after"))
              return yield* Effect.either(store.commit)
            })
          ],
          { concurrency: "unbounded" }
        )
        expect(first._tag).toBe("Right")
        expect(second._tag).toBe("Left")
        if (second._tag === "Left") {
          expect(second.left._tag).toBe("StoreError")
          expect(second.left.operation).toBe("appendMessage")
          expect(second.left.message).toContain("CHECK constraint failed")
        }
        expect((yield* store.history("c/1/1", 10)).map((m) => m.content)).toEqual(["before", "after"])
        expect(yield* store.stats).toMatchObject({ transactions: 1, writes: 2, failedWrites: 1 })
        // Later commits are not affected.
        yield* store.appendMessage(message("c/1/1", "later"))
        yield* store.commit
      })
    ))
})
