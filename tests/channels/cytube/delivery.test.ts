import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { Store } from "../../../core/store/Store.ts"
import { runLive } from "../../support/effect.ts"
import { personaLayer, runPersona } from "../../support/runtime.ts"
import { channelIdFor, channelIn, cytubeSection, eventually, fakeCytube, linesOf } from "./harness.ts"

/** Outbox entries as a crash would leave them: recorded and committed, outcome unknown. */
const leftover = (channel: string, chat: string, key: string, text: string, status: "pending" | "unknown") =>
  Effect.gen(function* () {
    const store = yield* Store
    yield* store.outboxPut({
      key,
      persona: "rothrock",
      channel,
      conversationId: `rothrock/${channel}/${chat}`,
      turnId: key.split(":")[0]!,
      chunk: Number(key.split(":")[1]),
      text
    })
    if (status === "unknown") yield* store.outboxMark(key, "unknown")
    yield* store.commit
  })

const statusOf = (key: string) => Effect.flatMap(Store, (store) => store.outboxGet(key))

const waitStatus = (key: string, status: string, timeoutMs = 3000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const entry = yield* statusOf(key)
      if (entry?.status === status) return entry
      if (Date.now() > deadline) return yield* Effect.dieMessage(`${key}: ${entry?.status}, expected ${status}`)
      yield* Effect.sleep("5 millis")
    }
  })

describe("cytube channel: delivery after a crash", () => {
  test("the join's replay settles leftover lines: seen → sent, unseen → sent again once, PMs → dropped", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        const now = Date.now()
        cy.addRoom("lobby", {
          users: [{ name: "alice" }],
          history: [
            { username: "alice", msg: "rothrock, tell me about Yes Madam", time: now - 3000 },
            { username: "rothrock", msg: "Yes, Madam! is from 1985, with Michelle Yeoh.", time: now - 2000 }
          ]
        })
        const persona = { channels: [cytubeSection(cy)] }
        const id = channelIdFor(persona)
        yield* leftover(id, "lobby", "t1:000", "**Yes, Madam!** is from 1985,\nwith Michelle Yeoh.", "unknown")
        yield* leftover(id, "lobby", "t1:001", "Her kicks are unreal.", "pending")
        yield* leftover(id, "pm:alice", "t2:000", "a private note", "unknown")
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, id)

        const sent = yield* eventually(() => linesOf(cy, "rothrock").find((l) => l.rawMsg === "Her kicks are unreal."))
        expect(sent).toBeDefined()
        yield* waitStatus("t1:001", "sent")
        expect((yield* statusOf("t1:000"))?.status).toBe("sent")
        expect((yield* statusOf("t1:000"))?.platformId).toBe("cytube:replay")
        expect((yield* statusOf("t2:000"))?.status).toBe("dropped")
        // Nothing else was said: the line already in the room was not repeated, the PM not resent.
        expect(linesOf(cy, "rothrock").map((l) => l.rawMsg)).toEqual(["Her kicks are unreal."])
        expect(cy.room("lobby").pms).toEqual([])
        expect((yield* (yield* Store).outboxPending(id)).length).toBe(0)
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))

  test("a leftover line older than the replay window is dropped, not resent", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        // A full replay (15 lines), all newer than the leftover line: it may have scrolled out of the window.
        const later = Date.now() + 60_000
        cy.addRoom("lobby", {
          history: Array.from({ length: 15 }, (_, i) => ({ username: "alice", msg: `line ${i}`, time: later + i }))
        })
        const persona = { channels: [cytubeSection(cy)] }
        const id = channelIdFor(persona)
        yield* leftover(id, "lobby", "t3:000", "maybe said, maybe not", "unknown")
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, id)
        yield* waitStatus("t3:000", "dropped")
        expect(linesOf(cy, "rothrock")).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))

  test("a leftover line older than the persona's staleness window is dropped with a log line", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby")
        const persona = { channels: [cytubeSection(cy)], reply: { stale_after: "1ms" } }
        const id = channelIdFor(persona)
        yield* leftover(id, "lobby", "t4:000", "an answer from long ago", "pending")
        yield* Effect.sleep("5 millis")
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, id)
        yield* waitStatus("t4:000", "dropped")
        expect(linesOf(cy, "rothrock")).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))
})
