import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import type { TroupeEvent } from "../../../core/events/Events.ts"
import { makeInstantProvider } from "../../../core/llm/InstantProvider.ts"
import type { ChatRequest } from "../../../core/llm/Provider.ts"
import { Store } from "../../../core/store/Store.ts"
import { runLive } from "../../support/effect.ts"
import { seeded } from "../../support/random.ts"
import { personaLayer, runPersona } from "../../support/runtime.ts"
import {
  channelIdFor,
  channelIn,
  cytubeSection,
  eventually,
  fakeCytube,
  linesOf,
  recordEvents,
  waitLines,
  waitQuiet
} from "./harness.ts"

/** Words of a paragraph, `n` characters or so. */
const paragraph = (seed: string, n: number) => {
  const words: string[] = []
  let length = 0
  for (let i = 0; length < n; i++) {
    const word = `${seed}${i}`
    words.push(word)
    length += word.length + 1
  }
  return words.join(" ")
}

const cooldownsOf = (cy: { floodEvents: ReadonlyArray<{ kind: string; username: string }> }, user: string) =>
  cy.floodEvents.filter((e) => e.kind === "cooldown" && e.username.toLowerCase() === user)

describe("cytube channel: chat", () => {
  test("the history replayed on join is never answered, a live mention is", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", {
          users: [{ name: "alice" }],
          history: [
            { username: "alice", msg: "rothrock, are you there?" },
            { username: "bob", msg: "hey rothrock what's up" }
          ]
        })
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        const channel = yield* channelIn(runtime, channelIdFor(persona))
        cy.room("lobby").say("alice", "rothrock: what is your favourite film?")
        const [line] = yield* waitLines(cy, "rothrock", 1)
        expect(line?.rawMsg).toContain("what is your favourite film?")
        yield* waitQuiet(cy, 200)
        expect(linesOf(cy, "rothrock")).toHaveLength(1)
        // The replayed lines are context for the model all the same.
        expect(channel.context({} as never)?.recent?.map((r) => `${r.user}: ${r.text}`)).toEqual([
          "alice: rothrock, are you there?",
          "bob: hey rothrock what's up",
          "alice: rothrock: what is your favourite film?",
          `rothrock: ${line?.rawMsg}`
        ])
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))

  test("a long reply is split into <= 240-character lines on word boundaries, paced under the room's limit", () => {
    const text = [paragraph("alpha", 300), paragraph("beta", 200), paragraph("gamma", 250)].join(" ")
    return runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        // A strict room: 3 lines back to back, then one per 200 ms.
        cy.addRoom("lobby", { floodBurst: 3, floodSustainedPerSecond: 5 })
        const persona = { channels: [cytubeSection(cy, { rate: { per_second: 4, burst: 3 } })] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona))
        cy.room("lobby").say("alice", "hey @rothrock tell me everything")
        yield* waitLines(cy, "rothrock", 4)
        const lines = linesOf(cy, "rothrock").map((l) => l.rawMsg)
        expect(lines.length).toBeGreaterThanOrEqual(4)
        for (const line of lines) expect(line.length).toBeLessThanOrEqual(240)
        expect(lines.join(" ")).toBe(text)
        for (const line of lines) expect(line).toMatch(/^\w+\d+( \w+\d+)*$/)
        expect(cooldownsOf(cy, "rothrock")).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(personaLayer([makeInstantProvider({ reply: text })])))
    )
  })

  test("an 8-line reply goes out without a cooldown, even when the bot's own rate is set above the room's", () => {
    const text = Array.from({ length: 8 }, (_, i) => paragraph(`l${i}w`, 150)).join("\n")
    return runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { floodBurst: 3, floodSustainedPerSecond: 8 })
        // The room's channelOpts (burst 3, 8/s) are stricter than this: the bot follows the room.
        const persona = { channels: [cytubeSection(cy, { rate: { per_second: 50, burst: 10 } })] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona))
        cy.room("lobby").say("alice", "rothrock, the whole list please")
        yield* waitLines(cy, "rothrock", 8, 5000)
        expect(linesOf(cy, "rothrock").map((l) => l.rawMsg)).toEqual(text.split("\n"))
        expect(cooldownsOf(cy, "rothrock")).toEqual([])
        expect(cy.floodEvents).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(personaLayer([makeInstantProvider({ reply: text })])))
    )
  })

  test("markdown is stripped, a leading self-prefix removed, user names kept intact", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "kung_fu_fan" }] })
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona))
        cy.room("lobby").say("kung_fu_fan", "rothrock, best *kick*?")
        const [line] = yield* waitLines(cy, "rothrock", 1)
        expect(line?.rawMsg).toBe("@kung_fu_fan The spinning heel kick in Righting Wrongs. /me bows")
      }).pipe(
        Effect.scoped,
        Effect.provide(
          personaLayer([
            makeInstantProvider({
              reply: "Rothrock: @kung_fu_fan **The spinning heel kick** in _Righting Wrongs_.\n/me bows"
            })
          ])
        )
      )
    ))

  test("trigger words answer with their probability, rolled from the seeded random source", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "alice" }] })
        const decisions = yield* recordEvents(["PolicyDecision"])
        const persona = {
          channels: [cytubeSection(cy, { rate: { per_second: 20, burst: 10 } })],
          reply: { triggers: { "kung fu": 0.3 } }
        }
        const runtime = yield* runPersona(persona, { id: "rothrock", random: seeded(42) })
        yield* channelIn(runtime, channelIdFor(persona))
        const rolls = seeded(42)
        const expected: string[] = []
        for (let i = 0; i < 20; i++) {
          const text = `kung fu movie number ${i}`
          if (rolls() < 0.3) expected.push(text)
          cy.room("lobby").say("alice", text)
        }
        const humans = (events: ReadonlyArray<TroupeEvent>) =>
          events.filter((e) => e._tag === "PolicyDecision" && !e.reason.startsWith("own"))
        yield* eventually(() => humans(decisions).length === 20)
        const answered = humans(decisions).filter((e) => e._tag === "PolicyDecision" && e.decision === "answer")
        expect(answered).toHaveLength(expected.length)
        expect(expected.length).toBeGreaterThan(0)
        expect(expected.length).toBeLessThan(20)
        yield* waitLines(cy, "rothrock", expected.length)
        yield* waitQuiet(cy, 150)
        expect(linesOf(cy, "rothrock").map((l) => l.rawMsg.replace(/^ok: (alice: )?/, ""))).toEqual(expected)
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))

  test("what is playing, and who is here, reach the model's prompt", () => {
    const requests: ChatRequest[] = []
    const provider = makeInstantProvider({
      reply: (request) => {
        requests.push(request)
        return "Great fight scenes."
      }
    })
    return runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", {
          users: [{ name: "alice" }, { name: "bob", afk: true }],
          media: { title: "Righting Wrongs", id: "yt123", type: "yt", seconds: 5760, currentTime: 600, paused: true }
        })
        const media = yield* recordEvents(["MediaChanged"])
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor(persona))
        cy.room("lobby").say("alice", "rothrock, what do you think of this one?")
        yield* waitLines(cy, "rothrock", 1)
        const system = requests[0]?.system ?? ""
        expect(system).toContain('Now playing: "Righting Wrongs" (yt), 10:00 of 1:36:00')
        expect(system).toContain("People here (3): alice, bob (away), rothrock")
        expect(system).not.toContain("Recent chat:\nalice: rothrock, what do you think")

        cy.room("lobby").changeMedia({ title: "Yes, Madam!", id: "yt456", type: "yt", seconds: 5580 })
        cy.room("lobby").mediaUpdate(42)
        const changed = yield* eventually(() => media.find((e) => e._tag === "MediaChanged" && e.mediaId === "yt456"))
        expect(changed).toMatchObject({ title: "Yes, Madam!", mediaType: "yt", durationSec: 5580 })
        cy.room("lobby").say("alice", "rothrock, and this?")
        yield* waitLines(cy, "rothrock", 2)
        expect(requests[1]?.system).toContain('Now playing: "Yes, Madam!" (yt), 0:4')
        expect(requests[1]?.system).toContain("alice: rothrock, what do you think of this one?")
      }).pipe(Effect.scoped, Effect.provide(personaLayer([provider])))
    )
  })

  test("joins, AFK and leaves are published and kept in the room context", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "alice" }] })
        const presence = yield* recordEvents(["PresenceChanged"])
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        const channel = yield* channelIn(runtime, channelIdFor(persona))
        const room = cy.room("lobby")
        room.join("carol")
        room.setAfk("alice", true)
        room.leave("carol")
        room.setAfk("alice", false)
        room.setAfk("alice", true)
        const changes = () =>
          presence.flatMap((e) =>
            e._tag === "PresenceChanged" && e.user !== "rothrock" ? [`${e.change} ${e.user}`] : []
          )
        yield* eventually(() => changes().length === 5)
        expect(changes()).toEqual(["join carol", "afk alice", "leave carol", "back alice", "afk alice"])
        expect(channel.context({} as never)?.users).toEqual([{ name: "alice", afk: true }, { name: "rothrock" }])
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))

  test("a PM is its own conversation and is answered by PM", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("lobby", { users: [{ name: "alice" }] })
        const persona = { channels: [cytubeSection(cy)] }
        const runtime = yield* runPersona(persona, { id: "rothrock" })
        const id = channelIdFor(persona)
        yield* channelIn(runtime, id)
        cy.room("lobby").pmTo("alice", "rothrock", "psst, favourite &lt;film&gt;?")
        const reply = yield* eventually(() => cy.room("lobby").pms.find((pm) => pm.username === "rothrock"))
        expect(reply.to).toBe("alice")
        expect(reply.rawMsg).toBe("ok: psst, favourite &lt;film&gt;?")
        expect(linesOf(cy, "rothrock")).toEqual([])
        const store = yield* Store
        const history = yield* store.history(`rothrock/${id}/pm:alice`, 10)
        expect(history.map((m) => m.role)).toEqual(["user", "assistant"])
      }).pipe(Effect.scoped, Effect.provide(personaLayer()))
    ))
})
