import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { makeBotAccounts } from "../../../core/runtime/BotAccounts.ts"
import { runLive } from "../../support/effect.ts"
import { personaLayer, runPersona } from "../../support/runtime.ts"
import {
  channelIdFor,
  channelIn,
  cytubeSection,
  eventually,
  fakeCytube,
  linesOf,
  recordEvents,
  statuses,
  waitLines,
  waitQuiet
} from "./harness.ts"

const connectsOf = (cy: { received: ReadonlyArray<{ event: string }> }) =>
  cy.received.filter((e) => e.event === "joinChannel").length

describe("cytube channel: disconnects and kicks", () => {
  for (const mode of ["drop", "server"] as const) {
    test(`after a forced disconnect (${mode}) the bot re-joins, logs in again and answers the next mention`, () =>
      runLive(
        Effect.gen(function* () {
          const cy = yield* fakeCytube()
          cy.addRoom("lobby", { users: [{ name: "alice" }] })
          const events = yield* recordEvents(["ChannelStatus"])
          const persona = { channels: [cytubeSection(cy)] }
          const runtime = yield* runPersona(persona, { id: "rothrock" })
          yield* channelIn(runtime, channelIdFor(persona))
          cy.room("lobby").say("alice", "rothrock, one")
          yield* waitLines(cy, "rothrock", 1)

          expect(cy.disconnectAll("lobby", mode)).toBe(1)
          yield* eventually(() => statuses(events).some((s) => s.startsWith("down")))
          yield* eventually(() => connectsOf(cy) === 2 && cy.connections.some((c) => c.username === "rothrock"))
          yield* channelIn(runtime, channelIdFor(persona))
          expect(cy.received.filter((e) => e.event === "login")).toHaveLength(2)

          cy.room("lobby").say("alice", "rothrock, two")
          const lines = yield* waitLines(cy, "rothrock", 2)
          expect(lines[1]?.rawMsg).toContain("rothrock, two")
          // The line said before the disconnect came back in the replay: it is not answered again.
          yield* waitQuiet(cy, 150)
          expect(linesOf(cy, "rothrock")).toHaveLength(2)
          expect(statuses(events).filter((s) => s === "ready")).toHaveLength(2)
        }).pipe(Effect.provide(personaLayer()))
      ))
  }

  test("a kick with a ban reason stops the channel with a clear reason; an ordinary kick reconnects", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "alice" }] })
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        const id = channelIdFor(persona)
        yield* channelIn(runtime, id)

        cy.room("lobby").kick("rothrock", "be nice")
        yield* eventually(() => connectsOf(cy) === 2 && cy.connections.some((c) => c.username === "rothrock"))
        yield* channelIn(runtime, id)
        expect(statuses(events)).toContain("down: kicked: be nice")

        cy.room("lobby").kick("rothrock", "You're banned!")
        yield* channelIn(runtime, id, "failed")
        expect(statuses(events).at(-1)).toBe(`failed: banned from room "lobby": You're banned!`)
        yield* Effect.sleep("300 millis")
        expect(connectsOf(cy)).toBe(2)
        expect(cy.connections).toEqual([])
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("a connection refused by the server's per-IP limit waits for the bucket to refill instead of hammering it", () =>
    runLive(
      Effect.gen(function* () {
        // One connection, then one per 10 s: the reconnect after the disconnect is refused.
        const cy = yield* fakeCytube({ connectionRateLimit: { burst: 1, perSecond: 0.1 } })
        cy.addRoom("lobby")
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona))
        cy.disconnectAll("lobby", "server")
        const refused = (s: string) => s.startsWith("down: cannot connect") && s.endsWith("Rate limit exceeded")
        yield* eventually(() => statuses(events).some(refused))
        // With a 20 ms backoff a naive loop would try ~20 more times here.
        yield* Effect.sleep("500 millis")
        expect(statuses(events).filter(refused)).toHaveLength(1)
        expect(connectsOf(cy)).toBe(1)
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("another client logging in with the same account makes the bot step back, not fight", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby")
        cy.addAccount("rothrock", "hunter2")
        const events = yield* recordEvents(["ChannelStatus"])
        const section = cytubeSection(cy, { password: "hunter2" })
        const first = yield* runPersona({ channels: [section] }, { id: "rothrock" })
        yield* channelIn(first, channelIdFor({ channels: [section] }))
        // The same account from elsewhere (here: a second persona): CyTube kicks the older socket.
        const second = yield* runPersona({ channels: [section] }, { id: "rothrock2" })
        yield* channelIn(second, channelIdFor({ channels: [section] }))
        yield* channelIn(first, channelIdFor({ channels: [section] }), "failed")
        expect(statuses(events)).toContain(
          'failed: another client logged in as rothrock ("Duplicate login"); not reconnecting'
        )
        yield* Effect.sleep("200 millis")
        expect(cy.connections.map((c) => c.username)).toEqual(["rothrock"])
        expect(connectsOf(cy)).toBe(2)
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("two personas in one room do not talk forever; a human lets them talk again", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "alice" }] })
        const accounts = makeBotAccounts()
        const reply = { everything: true, bots: true, bot_turns: { max: 2, window: "5m" }, duplicate_window: 0 }
        const rate = { per_second: 20, burst: 5 }
        const a = { channels: [cytubeSection(cy, { username: "rothrock", rate })], reply }
        const b = { channels: [cytubeSection(cy, { username: "jackie", rate })], reply }
        const ra = yield* runPersona(a, { id: "rothrock", accounts })
        const rb = yield* runPersona(b, { id: "jackie", accounts })
        yield* channelIn(ra, channelIdFor(a))
        yield* channelIn(rb, channelIdFor(b, "jackie"))
        expect(accounts.has("cytube", "rothrock") && accounts.has("cytube", "jackie")).toBe(true)

        cy.room("lobby").say("alice", "hi both")
        yield* waitLines(cy, "jackie", 1)
        const first = (yield* waitQuiet(cy, 300)).filter((l) => l.username !== "alice")
        // Each answered alice, then at most 2 bot turns each.
        expect(first.length).toBeGreaterThanOrEqual(4)
        expect(first.length).toBeLessThanOrEqual(6)

        cy.room("lobby").say("alice", "still there?")
        yield* eventually(() => cy.room("lobby").chat.filter((l) => l.username !== "alice").length > first.length)
        const second = (yield* waitQuiet(cy, 300)).filter((l) => l.username !== "alice")
        expect(second.length - first.length).toBeGreaterThanOrEqual(2)
        expect(second.length - first.length).toBeLessThanOrEqual(6)
      }).pipe(Effect.provide(personaLayer()))
    ))
})
