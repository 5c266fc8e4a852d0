/**
 * Issue 10's faults on CyTube, against the real runtime process (socket.io-client talking to the fake server): kill -9
 * while a reply's lines are paced out, the connection dropping mid-reply, a line whose echo never comes, a cooldown
 * storm, and a persona reload mid-turn. Assertions are on the room's chat as everyone in it saw it.
 */
import { describe, expect, test } from "bun:test"
import { type FakeCytube, type FakeCytubeRoom, startFakeCytube } from "../fakes/cytube/index.ts"
import { longReply, markersOf, Scenario, systemOf, waitUntil } from "./harness.ts"

const BOT = "rothrock"

const withCytube = (body: (s: Scenario, cy: FakeCytube, room: FakeCytubeRoom) => Promise<void>, rate = "") =>
  Scenario.run(async (s) => {
    const cy = await startFakeCytube()
    s.defer(() => cy.stop())
    const room = cy.addRoom("lobby", { users: [{ name: "alice" }] })
    s.setup({
      personaId: BOT,
      persona: [
        "display_name: Rothrock",
        "model: { provider: openai, model: fake-model }",
        "channels:",
        "  - type: cytube",
        `    server: "${cy.url}"`,
        "    room: lobby",
        `    username: ${BOT}`,
        "    max_length: 60",
        `    rate: ${rate || "{ per_second: 4, burst: 2 }"}`,
        "    reconnect: { min_delay: 50ms, max_delay: 200ms }"
      ].join("\n"),
      system: "You are Rothrock, version one."
    })
    await body(s, cy, room)
  })

/** The bot's lines in the room, as everyone saw them (raw text). */
const botLines = (room: FakeCytubeRoom) => room.chat.filter((line) => line.username === BOT).map((l) => l.rawMsg)

/** Every sentence of `reply` is in the room exactly once, in order. */
const expectOnce = (room: FakeCytubeRoom, reply: string) => {
  expect(markersOf(botLines(room).join(" "))).toEqual(markersOf(reply))
  expect(botLines(room).join(" ")).toBe(reply)
}

/** Wait until the room has every sentence of `reply` from the bot. */
const complete = (cy: FakeCytube, room: FakeCytubeRoom, reply: string, timeoutMs = 15_000) =>
  cy.waitFor(() => markersOf(botLines(room).join(" ")).length >= markersOf(reply).length, timeoutMs)

describe("CyTube, real runtime process", () => {
  test(
    "kill -9 while the lines of a reply go out, restart: every line once, none twice",
    () =>
      withCytube(async (s, cy, room) => {
        const reply = longReply(8, "Rothrock")
        s.llm.script({ text: reply })
        const first = await s.start()
        room.say("alice", "rothrock, tell me a long story")
        await cy.waitFor(() => botLines(room).length >= 1, 10_000)
        await first.crash()
        expect(botLines(room).length).toBeLessThan(8)

        s.llm.script({ text: reply })
        const second = await s.start()
        await complete(cy, room, reply)
        await second.waitForLog(/answering a message left unanswered by the last run/)
        expectOnce(room, reply)
        await waitUntil("every line to be recorded as sent", () => s.outbox().every((entry) => entry.status === "sent"))
        expect(s.outbox().length).toBe(8)
        await waitUntil("the message to be marked answered", () => s.inbound()[0]?.status === "answered")
        expect(s.timesInLastRequest("tell me a long story")).toBe(1)
      }),
    60_000
  )

  test(
    "kill -9 while a line is on its way: the replay shows it never arrived, it goes again once, not twice",
    () =>
      withCytube(async (s, cy, room) => {
        const reply = longReply(4, "Rothrock")
        s.llm.script({ text: reply })
        const broadcast = room.broadcastChat.bind(room)
        let run = 1
        let killed = false
        let held = 0
        room.broadcastChat = (line, raw) => {
          if (line.username !== BOT) return broadcast(line, raw)
          if (run === 1) {
            // The process dies as its first line travels: the room never gets it.
            first.proc.kill("SIGKILL")
            killed = true
            return { ...line, rawMsg: raw }
          }
          // After the restart the server is slow to take the first line the bot sends (the resend of that line).
          if (held++ === 0) {
            setTimeout(() => broadcast(line, raw), 1500)
            return { ...line, rawMsg: raw }
          }
          return broadcast(line, raw)
        }
        const first = await s.start()
        room.say("alice", "rothrock, what happened?")
        await waitUntil("the first line to be sent", () => killed, 10_000)
        await first.crash()

        run = 2
        s.llm.script({ text: reply })
        const second = await s.start()
        await complete(cy, room, reply)
        await second.waitForLog(/not in the room's replay; sending it again \(once\)/)
        // The resumed turn had read that line as pending; it did not send it a second time.
        await waitUntil("every line to be recorded as sent", () => s.outbox().every((entry) => entry.status === "sent"))
        expectOnce(room, reply)
        expect(held).toBe(4)
      }),
    60_000
  )

  test(
    "the connection drops while lines are paced out: after the re-join every line is there once",
    () =>
      withCytube(async (s, cy, room) => {
        const reply = longReply(8, "Rothrock")
        s.llm.script({ text: reply })
        const child = await s.start()
        room.say("alice", "rothrock, talk to me")
        await cy.waitFor(() => botLines(room).length >= 3, 10_000)
        expect(cy.disconnectAll("lobby")).toBe(1)
        await complete(cy, room, reply)
        await child.waitForLog(/disconnected from lobby/)
        expectOnce(room, reply)
        expect(s.llm.requests.length).toBe(1)
      }),
    60_000
  )

  test(
    "a line the server broadcast but whose echo never came is found in the replay, not sent again",
    () =>
      withCytube(async (s, cy, room) => {
        const reply = longReply(6, "Rothrock")
        s.llm.script({ text: reply })
        const child = await s.start()
        // The server takes the bot's third line and broadcasts it, but the bot's connection dies just before its echo.
        const broadcast = room.broadcastChat.bind(room)
        let seen = 0
        room.broadcastChat = (line, raw) => {
          if (line.username === BOT && ++seen === 3) cy.disconnectAll("lobby")
          return broadcast(line, raw)
        }
        room.say("alice", "rothrock, say something")
        await complete(cy, room, reply)
        await child.waitForLog(/disconnected from lobby/)
        expectOnce(room, reply)
        // The third line reached the room once, while the bot was cut off from its echo; the replay confirmed it.
        expect(seen).toBe(6)
        await waitUntil("the outbox to settle", () => s.outbox().every((entry) => entry.status === "sent"))
        expect(s.outbox()[2]).toMatchObject({ chunk: 2, status: "sent", platformId: "cytube:replay" })
      }),
    60_000
  )

  test(
    "a cooldown storm (the room throttles harder than it announced) is waited out: every line once",
    () =>
      withCytube(async (s, cy, room) => {
        const reply = longReply(5, "Rothrock")
        s.llm.script({ text: reply })
        // The room announced CyTube's minimum limits at join, but throttles the bot to 2 lines/s after a burst of 1.
        const announced = room.antiflood.bind(room)
        let strict = false
        room.antiflood = (rank) => (strict ? { burst: 1, sustained: 2, cooldown: 1 } : announced(rank))
        const child = await s.start()
        strict = true
        room.say("alice", "rothrock, quick, all at once")
        await complete(cy, room, reply, 20_000)
        await child.waitForLog(/throttled a line \(cooldown/)
        expect(cy.floodEvents.filter((e) => e.kind === "cooldown").length).toBeGreaterThanOrEqual(3)
        expectOnce(room, reply)
      }, "{ per_second: 10, burst: 10 }"),
    60_000
  )

  test(
    "a persona reload (SIGHUP) mid-reply: the reply finishes once, the next message uses the new prompt",
    () =>
      withCytube(async (s, cy, room) => {
        const reply = longReply(6, "Rothrock")
        s.llm.script({ text: reply })
        const child = await s.start()
        room.say("alice", "rothrock, first question")
        await cy.waitFor(() => botLines(room).length >= 1, 10_000)
        s.project.write(`personalities/${BOT}/system.md`, "You are Rothrock, version two.")
        child.proc.kill("SIGHUP")
        await child.waitForLog(/reloaded personas and plugins \(SIGHUP\)/)
        await complete(cy, room, reply)
        s.llm.script({ text: "Answer under the new prompt." })
        room.say("alice", "rothrock, second question")
        await cy.waitFor(() => botLines(room).includes("Answer under the new prompt."), 10_000)
        expect(botLines(room).join(" ")).toBe(`${reply} Answer under the new prompt.`)
        const [before, after] = s.llm.requests
        expect(systemOf(before!.body)).toContain("version one")
        expect(systemOf(after!.body)).toContain("version two")
      }),
    60_000
  )
})
