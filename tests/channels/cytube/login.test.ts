import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { runLive } from "../../support/effect.ts"
import { personaLayer, runPersona } from "../../support/runtime.ts"
import {
  channelIdFor,
  channelIn,
  cytubeSection,
  eventually,
  fakeCytube,
  joinedAs,
  recordEvents,
  statuses
} from "./harness.ts"

const loginsOf = (cy: { received: ReadonlyArray<{ event: string; args: ReadonlyArray<unknown> }> }) =>
  cy.received.filter((e) => e.event === "login").map((e) => e.args[0])

describe("cytube channel: joining and logging in", () => {
  test("a guest joins the room: joinChannel, then login { name }, and the channel is ready", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "alice" }] })
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        const channel = yield* channelIn(runtime, channelIdFor(persona))
        expect(channel.platform).toBe("cytube")
        expect(channel.maxMessageLength).toBe(240)
        const connection = yield* joinedAs(cy, "rothrock")
        expect(connection.guest).toBe(true)
        const sent = cy.received.filter((e) => e.username === "" || e.username === "rothrock").map((e) => e.event)
        expect(sent.slice(0, 2)).toEqual(["joinChannel", "login"])
        expect(cy.received[0]?.args[0]).toEqual({ name: "lobby" })
        expect(loginsOf(cy)).toEqual([{ name: "rothrock" }])
        expect(statuses(events)).toContain("ready")
        // The persona's account is known as a bot account of this runtime.
        expect(channel.context({} as never)?.users?.map((u) => u.name)).toEqual(["alice", "rothrock"])
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("a registered account logs in with its password (the server spells the name)", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby")
        cy.addAccount("Rothrock", "hunter2")
        const persona = { channels: [cytubeSection(cy, { password: "hunter2" })] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona))
        const connection = yield* joinedAs(cy, "Rothrock")
        expect(connection.guest).toBe(false)
        expect(loginsOf(cy)).toEqual([{ name: "rothrock", pw: "hunter2" }])
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("a wrong account password stops the channel with a clear reason, without a reconnect storm", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby")
        cy.addAccount("Rothrock", "hunter2")
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [cytubeSection(cy, { password: "wrong" })] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona), "failed")
        expect(statuses(events).at(-1)).toBe("failed: login as rothrock failed: Invalid username/password combination")
        // Reconnects would come every 20-200 ms here: give them time to show up.
        yield* Effect.sleep("400 millis")
        expect(loginsOf(cy)).toHaveLength(1)
        expect(cy.received.filter((e) => e.event === "joinChannel")).toHaveLength(1)
        expect(statuses(events).filter((s) => s.startsWith("failed"))).toHaveLength(1)
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("a guest name that is registered is a configuration error too", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby")
        cy.addAccount("rothrock", "hunter2")
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona), "failed")
        expect(statuses(events).at(-1)).toBe('failed: login as guest "rothrock" failed: That username is registered.')
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("a room password is sent when the room asks for it; a wrong one is a configuration error", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("vault", { password: "opensesame" })
        const good = { channels: [cytubeSection(cy, { room: "vault", room_password: "opensesame" })] }
        const runtime = yield* runPersona(good, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(good))
        yield* joinedAs(cy, "rothrock", "vault")
        expect(cy.received.filter((e) => e.event === "channelPassword").map((e) => e.args[0])).toEqual(["opensesame"])

        const bad = { channels: [cytubeSection(cy, { room: "vault", username: "jackie", room_password: "nope" })] }
        const other = yield* runPersona(bad, { id: "jackie" })
        yield* channelIn(other, channelIdFor(bad, "jackie"), "failed")
        expect(other.channels.get(channelIdFor(bad, "jackie"))?.state()).toBe("failed")

        const none = { channels: [cytubeSection(cy, { room: "vault", username: "cynthia" })] }
        const third = yield* runPersona(none, { id: "cynthia" })
        yield* channelIn(third, channelIdFor(none, "cynthia"), "failed")
        yield* Effect.sleep("200 millis")
        expect(cy.received.filter((e) => e.event === "channelPassword")).toHaveLength(2)
        expect(cy.connections.map((c) => c.username)).toEqual(["rothrock"])
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("an invalid room name is a configuration error, not a retry loop", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [cytubeSection(cy, { room: "movie night" })] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona), "failed")
        expect(statuses(events).at(-1)).toBe(
          'failed: "movie night" is not a CyTube room name (1-30 of a-z, A-Z, 0-9, - and _)'
        )
        expect(cy.received).toEqual([])
      }).pipe(Effect.provide(personaLayer()))
    ))

  test("an unreachable server fails the first connect, so the channel actor retries it", () =>
    runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents(["ChannelStatus"])
        const persona = { channels: [{ type: "cytube", server: "http://127.0.0.1:9", room: "lobby", username: "x" }] }
        yield* runPersona(persona, { id: "rothrock" })
        const down = yield* eventually(() => statuses(events).find((s) => s.startsWith("down")))
        expect(down).toContain("socketconfig/lobby.json")
      }).pipe(Effect.provide(personaLayer()))
    ))
})
