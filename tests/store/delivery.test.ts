import { Database } from "bun:sqlite"
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, TestClock } from "effect"
import { Store } from "../../core/store/Store.ts"
import { useTempDir, withStore } from "./helpers.ts"

const dir = useTempDir()
const db = () => join(dir.path, "troupe.db")

const inbound = (messageId: string, at: number, persona = "sage") => ({
  messageId,
  persona,
  conversationId: `${persona}/telegram/42`,
  at,
  payload: JSON.stringify({ text: `message ${messageId}` })
})

describe("Store inbound bookkeeping", () => {
  test("a message id is new once, then seen — also while the first record is still buffered", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        expect(yield* store.recordInbound(inbound("tg:42:1", 10))).toBe("new")
        expect((yield* store.stats).pending).toBe(1)
        expect(yield* store.recordInbound(inbound("tg:42:1", 10))).toBe("seen")
        yield* store.commit
        expect(yield* store.recordInbound(inbound("tg:42:1", 10))).toBe("seen")
        expect(yield* store.recordInbound(inbound("tg:42:2", 11))).toBe("new")
        expect(yield* store.stats).toMatchObject({ writes: 1, pending: 1 })
      })
    ))

  test("a recorded message survives a restart and is still seen", async () => {
    await withStore(
      db(),
      Effect.flatMap(Store, (store) => store.recordInbound(inbound("tg:42:1", 10)))
    )
    const again = await withStore(
      db(),
      Effect.flatMap(Store, (store) => store.recordInbound(inbound("tg:42:1", 10)))
    )
    expect(again).toBe("seen")
  })

  test("a status change of a record still buffered leaves the row an UPDATE of a committed one leaves", async () => {
    await withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.recordInbound({ ...inbound("a", 1), turnId: "t-a" })
        yield* store.recordInbound({ ...inbound("b", 2), turnId: "t-b" })
        yield* store.commit
        yield* store.recordInbound({ ...inbound("c", 3), turnId: "t-c" })
        yield* store.recordInbound({ ...inbound("d", 4), turnId: "t-d" })
        yield* store.markInbound("a", "answered", "t-a2")
        yield* store.markInbound("b", "skipped")
        yield* store.markInbound("c", "answered", "t-c2")
        yield* store.markInbound("d", "skipped")
        // Two inserts and the two UPDATEs of committed records: the buffered records took their change in place.
        expect((yield* store.stats).pending).toBe(4)
        expect((yield* store.unansweredInbound("sage", 0)).map((u) => u.messageId)).toEqual([])
      })
    )
    const file = new Database(db(), { readonly: true })
    const rows = file.query("SELECT message_id AS id, status, turn_id AS turn FROM inbound ORDER BY message_id").all()
    file.close()
    expect(rows).toEqual([
      { id: "a", status: "answered", turn: "t-a2" },
      { id: "b", status: "skipped", turn: "t-b" },
      { id: "c", status: "answered", turn: "t-c2" },
      { id: "d", status: "skipped", turn: "t-d" }
    ])
  })

  test("unanswered lists the messages still received since a time, oldest first", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        for (const [id, at] of [
          ["m3", 300],
          ["m1", 100],
          ["m2", 200],
          ["m4", 400],
          ["m0", 50]
        ] as const)
          yield* store.recordInbound(inbound(id, at))
        yield* store.recordInbound(inbound("r1", 150, "rothrock"))
        yield* store.markInbound("m2", "answered", "turn-2")
        yield* store.markInbound("m4", "skipped")
        const unanswered = yield* store.unansweredInbound("sage", 100)
        expect(unanswered.map((u) => u.messageId)).toEqual(["m1", "m3"])
        expect(unanswered[0]).toEqual({
          messageId: "m1",
          conversationId: "sage/telegram/42",
          at: 100,
          payload: JSON.stringify({ text: "message m1" })
        })
        yield* store.markInbound("m1", "failed")
        expect((yield* store.unansweredInbound("sage", 0)).map((u) => u.messageId)).toEqual(["m0", "m3"])
        expect((yield* store.unansweredInbound("rothrock", 0)).map((u) => u.messageId)).toEqual(["r1"])
      })
    ))
})

describe("Store outbox", () => {
  const chunk = (turnId: string, n: number, channel = "telegram:sage_bot") => ({
    key: `${turnId}:${n}`,
    persona: "sage",
    channel,
    conversationId: "sage/telegram/42",
    turnId,
    chunk: n,
    text: `part ${n} of ${turnId}`
  })

  test("a chunk goes pending → sent with its platform id, and pending lists what is left in order", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* TestClock.setTime(1_000)
        yield* store.outboxPut(chunk("t2", 0))
        yield* store.outboxPut(chunk("t1", 1))
        yield* store.outboxPut(chunk("t1", 0))
        yield* store.outboxPut(chunk("t9", 0, "discord:sage"))
        expect(yield* store.outboxGet("t1:0")).toEqual({
          ...chunk("t1", 0),
          status: "pending",
          createdAt: 1_000,
          updatedAt: 1_000
        })
        expect((yield* store.outboxPending("telegram:sage_bot")).map((e) => e.key)).toEqual(["t1:0", "t1:1", "t2:0"])
        yield* TestClock.setTime(2_000)
        yield* store.outboxMark("t1:0", "sent", "tg-msg-77")
        yield* store.outboxMark("t1:1", "unknown")
        yield* store.outboxMark("t2:0", "dropped")
        expect(yield* store.outboxGet("t1:0")).toMatchObject({
          status: "sent",
          platformId: "tg-msg-77",
          updatedAt: 2_000
        })
        expect((yield* store.outboxPending("telegram:sage_bot")).map((e) => [e.key, e.status])).toEqual([
          ["t1:1", "unknown"]
        ])
        yield* store.outboxMark("t1:1", "sent", "tg-msg-78")
        expect(yield* store.outboxPending("telegram:sage_bot")).toEqual([])
        expect((yield* store.outboxPending("discord:sage")).map((e) => e.key)).toEqual(["t9:0"])
        expect(yield* store.outboxGet("nope")).toBeUndefined()
      })
    ))

  test("putting a key again leaves the first entry as it was, so a replayed turn never resends a sent chunk", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.outboxPut(chunk("t1", 0))
        yield* store.outboxMark("t1:0", "sent", "p1")
        yield* store.outboxPut({ ...chunk("t1", 0), text: "replayed" })
        expect(yield* store.outboxGet("t1:0")).toMatchObject({ status: "sent", platformId: "p1", text: "part 0 of t1" })
        yield* store.commit
        expect((yield* store.stats).failedWrites).toBe(0)
      })
    ))

  test("delivery records older than the cutoff are pruned in batches; newer ones stay", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        for (let i = 0; i < 25; i++) yield* store.recordInbound(inbound(`old${i}`, 100 + i))
        yield* store.recordInbound(inbound("new", 5_000))
        yield* TestClock.setTime(1_000)
        for (let i = 0; i < 7; i++) yield* store.outboxPut(chunk(`old${i}`, 0))
        yield* TestClock.setTime(6_000)
        yield* store.outboxPut(chunk("new", 0))
        yield* store.outboxMark("old0:0", "sent", "p1")
        // `old0` was touched after the cutoff: its age counts from its last update.
        expect(yield* store.pruneDeliveries(2_000, 10)).toEqual({ inbound: 25, outbox: 6 })
        expect(yield* store.recordInbound(inbound("old3", 103))).toBe("new")
        expect(yield* store.recordInbound(inbound("new", 5_000))).toBe("seen")
        expect(yield* store.outboxGet("old1:0")).toBeUndefined()
        expect(yield* store.outboxGet("old0:0")).toMatchObject({ status: "sent" })
        expect(yield* store.outboxGet("new:0")).toMatchObject({ status: "pending" })
        expect(yield* store.pruneDeliveries(2_000)).toEqual({ inbound: 1, outbox: 0 })
      })
    ))
})
