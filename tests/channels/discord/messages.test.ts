import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { makeInstantProvider } from "../../../core/llm/InstantProvider.ts"
import type { ChatRequest } from "../../../core/llm/Provider.ts"
import { type FakeDiscord, snowflake, startFakeDiscord } from "../../fakes/discord/index.ts"
import { type FakeLlm, startFakeLlm } from "../../fakes/llm/index.ts"
import { openaiAt } from "../../llm/support.ts"
import { botMessages, discordSection, makeWorld, runDiscord, startDiscordPersona, until } from "./support.ts"

let dc: FakeDiscord
let llm: FakeLlm

beforeAll(async () => {
  dc = await startFakeDiscord({ heartbeatIntervalMs: 300 })
  llm = await startFakeLlm()
})

afterAll(async () => {
  await dc?.stop()
  await llm?.stop()
})

const streamingPersona = (section: Record<string, unknown>, reply: Record<string, unknown> = {}) => ({
  display_name: "Amigo",
  description: "A friendly test persona.",
  model: { provider: "fakeai", model: "gpt-4o-mini" },
  channels: [section],
  reply
})

/** Who asked and how many user turns the model saw: lets a test tell conversations apart. */
const countingReply = (request: ChatRequest) => {
  const users = request.messages.filter((m) => m.role === "user")
  return `turn ${users.length} for ${JSON.stringify(users.at(-1)?.content ?? "")}`
}

describe("Discord channel: messages", () => {
  test("a DM is answered by streaming: one message, several edits, final text equal to the model's answer", async () => {
    const world = makeWorld(dc)
    const answer = Array.from({ length: 16 }, (_, i) => `word${i}`).join(" ")
    llm.script({ text: answer, chunkDelayMs: 20 })
    await runDiscord(
      [openaiAt(llm)],
      Effect.gen(function* () {
        yield* startDiscordPersona(streamingPersona(discordSection(dc, world)), world)
        const asked = dc.userSays({ channelId: world.dm, authorId: world.alice, content: "hola, amigo" })
        const reply = yield* until(dc, () => botMessages(dc, world, world.dm).find((m) => m.content === answer), 5000)
        expect(reply.history.length).toBeGreaterThanOrEqual(3)
        expect(reply.history[0]!.content.length).toBeLessThan(answer.length)
        expect(botMessages(dc, world, world.dm)).toHaveLength(1)
        // DMs are plain messages (no reply reference), typing was shown while thinking.
        expect(reply.replyTo).toBeNull()
        expect(dc.typing.some((t) => t.channelId === world.dm && t.botId === world.botId)).toBe(true)
        expect(dc.wouldPing(reply).any).toBe(false)
        // Every create carried a nonce with enforce_nonce.
        const creates = dc.requests.filter((r) => r.method === "POST" && r.path === `/channels/${world.dm}/messages`)
        expect(creates.every((r) => (r.body as { enforce_nonce?: boolean }).enforce_nonce === true)).toBe(true)
        expect(llm.requests.at(-1)?.body.messages.at(-1)).toMatchObject({ role: "user", content: "hola, amigo" })
        expect(asked.id).toBeTruthy()
      })
    )
  })

  test("a mention in a guild channel is answered as a reply with streaming edits; other talk is not", async () => {
    const world = makeWorld(dc)
    const answer = Array.from({ length: 14 }, (_, i) => `palabra${i}`).join(" ")
    llm.script({ text: answer, chunkDelayMs: 20 })
    await runDiscord(
      [openaiAt(llm)],
      Effect.gen(function* () {
        yield* startDiscordPersona(streamingPersona(discordSection(dc, world)), world)
        dc.userSays({ channelId: world.general, authorId: world.bob, content: "just chatting, nobody in particular" })
        const asked = dc.userSays({ channelId: world.general, authorId: world.alice, content: `<@${world.botId}> hi!` })
        const reply = yield* until(
          dc,
          () => botMessages(dc, world, world.general).find((m) => m.content === answer),
          5000
        )
        expect(reply.replyTo).toBe(asked.id)
        expect(reply.history.length).toBeGreaterThanOrEqual(3)
        expect(dc.wouldPing(reply).any).toBe(false)
        expect(botMessages(dc, world, world.general)).toHaveLength(1)
        // The model saw the mention as a readable name (not `<@id>`), and only Alice's message.
        const seen = llm.requests.at(-1)?.body.messages.at(-1).content as string
        expect(seen).toMatch(/^Alice: @amigo\d+ hi!$/)
      })
    )
  })

  test("edits are paced per Discord channel, also across two conversations streaming at once", async () => {
    const world = makeWorld(dc)
    const words = Array.from({ length: 24 }, (_, i) => `w${i}`).join(" ")
    llm.onRequest(() => ({ text: words, chunkDelayMs: 15 }))
    await runDiscord(
      [openaiAt(llm)],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          streamingPersona(discordSection(dc, world, { edit_interval: 10 }), { history: "user", everything: true }),
          world
        )
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "stream please" })
        dc.userSays({ channelId: world.general, authorId: world.bob, content: "me too" })
        yield* until(
          dc,
          () => botMessages(dc, world, world.general).filter((m) => m.content === words).length === 2,
          5000
        )
        const edits = dc.requests
          .filter((r) => r.method === "PATCH" && r.path.startsWith(`/channels/${world.general}/messages/`))
          .map((r) => r.at)
        expect(edits.length).toBeGreaterThan(5)
        // The test budget is 5 edits per 750 ms per channel (production: 5 per 5 s), shared by both replies.
        for (const at of edits) {
          expect(edits.filter((other) => other >= at && other < at + 700).length).toBeLessThanOrEqual(5)
        }
      })
    )
    llm.onRequest(undefined)
  })

  test("role mentions of the bot's role count; @everyone does not unless configured; replies to the bot count", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [makeInstantProvider({ reply: (request) => `ok ${countingReply(request)}` })],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, world)], reply: { history: "user" } },
          world
        )
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "@everyone meeting now" })
        dc.userSays({ channelId: world.general, authorId: world.alice, content: `<@&${world.roleId}> actors, line up` })
        const first = yield* until(dc, () => botMessages(dc, world, world.general)[0])
        expect(first.content).toContain("actors, line up")
        const asked = dc.userSays({
          channelId: world.general,
          authorId: world.alice,
          content: "and what about me?",
          replyTo: first.id
        })
        const second = yield* until(dc, () => botMessages(dc, world, world.general)[1])
        expect(second.replyTo).toBe(asked.id)
        expect(second.content).toContain("and what about me?")
        // Per-user history: Alice's two messages are one conversation, the @everyone line never reached it.
        expect(second.content).toContain("turn 2")
        expect(botMessages(dc, world, world.general)).toHaveLength(2)
      })
    )
  })

  test("@everyone counts as a mention when `everyone: true`", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [makeInstantProvider()],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, world, { everyone: true })] },
          world
        )
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "@everyone meeting now" })
        const reply = yield* until(dc, () => botMessages(dc, world, world.general)[0])
        expect(reply.content).toContain("meeting now")
      })
    )
  })

  test("a 5,000-character answer with a code block is split at 2,000 with fences closed and re-opened", async () => {
    const world = makeWorld(dc)
    const code = Array.from({ length: 100 }, (_, i) => `    print("line ${String(i).padStart(3, "0")} of the program")`)
    const answer = [
      "Here is the script you asked for.",
      "",
      Array.from({ length: 24 }, (_, i) => `Sentence number ${i} explains a part of it in plain words.`).join(" "),
      "",
      "```python",
      "def main():",
      ...code,
      "```",
      "",
      "That is all; run it with python3."
    ].join("\n")
    expect(answer.length).toBeGreaterThan(5000)
    await runDiscord(
      [makeInstantProvider({ reply: answer })],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          {
            model: { provider: "instant", max_tokens: 4000, initial_tokens: 4000 },
            channels: [discordSection(dc, world)]
          },
          world
        )
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "write me a long script" })
        const chunks = yield* until(dc, () => {
          const sent = botMessages(dc, world, world.dm)
          return sent.at(-1)?.content.includes("run it with python3") ? sent : undefined
        })
        expect(chunks.length).toBeGreaterThanOrEqual(3)
        for (const chunk of chunks) {
          expect([...chunk.content].length).toBeLessThanOrEqual(2000)
          expect((chunk.content.match(/^```/gm) ?? []).length % 2).toBe(0)
          expect(dc.wouldPing(chunk).any).toBe(false)
        }
        // Every chunk after the one that opened the block and before the one that closes it re-opens it as python.
        const inside = chunks.filter((c, i) => i > 0 && c.content.includes("of the program"))
        expect(inside.length).toBeGreaterThan(0)
        for (const chunk of inside) expect(chunk.content.startsWith("```python\n")).toBe(true)
        const joined = chunks
          .map((c) => c.content)
          .join("\n")
          .replace(/\n```\n```python\n/g, "\n")
        for (const line of code) expect(joined).toContain(line)
      })
    )
  })

  test("its own messages and other bots are ignored; another bot is answered when the persona allows bots", async () => {
    const world = makeWorld(dc)
    const robot = snowflake()
    dc.addUser({ id: robot, username: "robot", bot: true })
    await runDiscord(
      [makeInstantProvider()],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, world, { reply: { everything: true } })] },
          world
        )
        dc.userSays({ channelId: world.general, authorId: robot, content: "beep, I am a bot" })
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "hello everyone here" })
        const reply = yield* until(dc, () => botMessages(dc, world, world.general)[0])
        expect(reply.content).toBe("ok: Alice: hello everyone here")
        // The persona hears its own reply (Discord sends it back) and must not answer it; a human's next line shows it.
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "second line" })
        yield* until(dc, () => botMessages(dc, world, world.general)[1])
        expect(botMessages(dc, world, world.general).map((m) => m.content)).toEqual([
          "ok: Alice: hello everyone here",
          "ok: Alice: second line"
        ])
      })
    )

    const friendly = makeWorld(dc)
    await runDiscord(
      [makeInstantProvider()],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, friendly)], reply: { bots: true } },
          friendly
        )
        dc.userSays({ channelId: friendly.general, authorId: robot, content: `<@${friendly.botId}> beep boop` })
        const reply = yield* until(dc, () => botMessages(dc, friendly, friendly.general)[0])
        expect(reply.content).toContain("beep boop")
      })
    )
  })

  test("a persona whose model writes @everyone and user mentions pings nobody", async () => {
    const world = makeWorld(dc)
    const loud = `@everyone @here listen! <@${world.bob}> and <@&${world.roleId}> too`
    await runDiscord(
      [makeInstantProvider({ reply: loud })],
      Effect.gen(function* () {
        yield* startDiscordPersona({ model: { provider: "instant" }, channels: [discordSection(dc, world)] }, world)
        dc.userSays({ channelId: world.general, authorId: world.alice, content: `<@${world.botId}> shout` })
        const reply = yield* until(dc, () => botMessages(dc, world, world.general)[0])
        expect(reply.content).toBe(loud)
        expect(dc.wouldPing(reply)).toEqual({ users: [], roles: [], everyone: false, here: false, any: false })
      })
    )
  })

  test("a thread is its own conversation, answered in the thread, with history apart from its channel", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [makeInstantProvider({ reply: countingReply })],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, world)], reply: { everything: true } },
          world
        )
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "in the channel" })
        yield* until(dc, () => botMessages(dc, world, world.general)[0])
        const thread = dc.createThread({ parentId: world.general, guildId: world.guildId, name: "side plot" })
        dc.userSays({ channelId: world.general, threadId: thread.id, authorId: world.alice, content: "in the thread" })
        const first = yield* until(dc, () => botMessages(dc, world, thread.id)[0])
        expect(first.content).toBe('turn 1 for "Alice: in the thread"')
        dc.userSays({ channelId: world.general, threadId: thread.id, authorId: world.alice, content: "again" })
        const second = yield* until(dc, () => botMessages(dc, world, thread.id)[1])
        expect(second.content).toBe('turn 2 for "Alice: again"')
        dc.userSays({ channelId: world.general, authorId: world.alice, content: "back in the channel" })
        const channel = yield* until(dc, () => botMessages(dc, world, world.general)[1])
        expect(channel.content).toBe('turn 2 for "Alice: back in the channel"')
      })
    )
  })

  test("an image attachment reaches a vision model by URL", async () => {
    const world = makeWorld(dc)
    let seen: unknown
    await runDiscord(
      [
        makeInstantProvider({
          vision: true,
          reply: (request) => {
            seen = request.messages.at(-1)?.content
            return "nice cat"
          }
        })
      ],
      Effect.gen(function* () {
        yield* startDiscordPersona({ model: { provider: "instant" }, channels: [discordSection(dc, world)] }, world)
        dc.userSays({
          channelId: world.dm,
          authorId: world.alice,
          content: "look",
          attachments: [{ url: "http://127.0.0.1:9/cat.png", filename: "cat.png", content_type: "image/png", size: 3 }]
        })
        yield* until(dc, () => botMessages(dc, world, world.dm)[0])
        expect(seen).toEqual([
          { type: "text", text: "look" },
          { type: "image", mime: "image/png", url: "http://127.0.0.1:9/cat.png" }
        ])
      })
    )
  })
})
