/**
 * Issue 10's faults on Discord, against the real runtime process (discord.js talking to the fake REST + gateway): kill
 * -9 mid-stream, the gateway dropping mid-reply, a create Discord applied but never answered, 429 storms, and a persona
 * reload mid-turn. Assertions are on the DM channel as the user sees it.
 */
import { describe, expect, test } from "bun:test"
import { type FakeDiscord, snowflake, startFakeDiscord } from "../fakes/discord/index.ts"
import { longReply, markersOf, Scenario, systemOf } from "./harness.ts"

interface World {
  readonly dc: FakeDiscord
  readonly token: string
  readonly botId: string
  readonly alice: string
  readonly dm: string
}

const CREATE = "POST /channels/:id/messages"
const EDIT = "PATCH /channels/:id/messages/:id"

const withDiscord = (body: (s: Scenario, world: World) => Promise<void>) =>
  Scenario.run(async (s) => {
    const dc = await startFakeDiscord({ heartbeatIntervalMs: 500 })
    s.defer(() => dc.stop())
    const botId = snowflake()
    const token = `${Buffer.from(botId).toString("base64")}.fake.token`
    dc.addBot({ token, id: botId, username: "amigo" })
    const alice = snowflake()
    dc.addUser({ id: alice, username: "alice", globalName: "Alice" })
    const world = { dc, token, botId, alice, dm: dc.dmChannel(botId, alice).id }
    s.setup({
      personaId: "amigo",
      persona: [
        "display_name: Amigo",
        "model: { provider: openai, model: fake-model }",
        "channels:",
        "  - type: discord",
        `    token: "${token}"`,
        `    api: "${dc.api}"`,
        '    commands: "off"',
        "    edit_interval: 1s",
        "    request_timeout: 1s"
      ].join("\n"),
      system: "You are Amigo, version one."
    })
    await body(s, world)
  })

/** The bot's messages in the DM, as Alice sees them. */
const botMessages = (world: World) => world.dc.channelMessages(world.dm).filter((m) => m.authorId === world.botId)

const say = (world: World, content: string) =>
  world.dc.userSays({ channelId: world.dm, authorId: world.alice, content })

/** No sentence of any reply appears twice in the DM. */
const expectNoRepeats = (world: World) => {
  const markers = markersOf(
    botMessages(world)
      .map((m) => m.content)
      .join("\n")
  )
  expect(markers.length).toBe(new Set(markers).size)
}

const creates = (world: World) => world.dc.requests.filter((r) => r.method === "POST" && /\/messages$/.test(r.path))

describe("Discord, real runtime process", () => {
  test(
    "kill -9 mid-stream, restart: the streamed message is finished in place, no second message",
    () =>
      withDiscord(async (s, world) => {
        const reply = longReply(10, "Amigo")
        s.llm.script({ text: reply, chunks: 20, chunkDelayMs: 120 })
        const first = await s.start()
        say(world, "tell me a long story")
        await world.dc.waitFor(() => botMessages(world)[0]?.editedAt, 10_000)
        expect(botMessages(world)[0]!.content.length).toBeLessThan(reply.length)
        await first.crash()

        s.llm.script({ text: reply, chunks: 5 })
        const second = await s.start()
        await world.dc.waitFor(() => botMessages(world)[0]?.content === reply, 15_000)
        await second.waitForLog(/answering a message left unanswered by the last run/)
        expect(botMessages(world).length).toBe(1)
        expectNoRepeats(world)
        expect(s.timesInLastRequest("tell me a long story")).toBe(1)
      }),
    60_000
  )

  test(
    "kill -9 while a create Discord applied is unanswered: the restart resends it with its nonce, one message",
    () =>
      withDiscord(async (s, world) => {
        const reply = longReply(6, "Amigo")
        s.llm.script({ text: reply, chunks: 12, chunkDelayMs: 80 })
        const first = await s.start()
        world.dc.acceptThenHang(CREATE)
        say(world, "are you there?")
        await world.dc.waitFor(() => botMessages(world)[0], 10_000)
        const orphan = botMessages(world)[0]!
        await first.crash()

        s.llm.script({ text: reply, chunks: 3 })
        const second = await s.start()
        await world.dc.waitFor(() => botMessages(world)[0]?.content === reply, 15_000)
        await second.waitForLog(/chunk .*:000 settled after a restart|left unanswered by the last run/)
        expect(botMessages(world).map((m) => m.id)).toEqual([orphan.id])
        expect(s.outbox()).toMatchObject([{ chunk: 0, status: "sent", platformId: orphan.id }])
        // Every create of that chunk carried the same nonce; Discord answered the repeats with the first message.
        const nonces = new Set(creates(world).map((r) => (r.body as { nonce?: string }).nonce))
        expect(nonces.size).toBe(1)
        expectNoRepeats(world)
      }),
    60_000
  )

  test(
    "the gateway drops mid-reply: the reply finishes once, and a message said meanwhile is answered once",
    () =>
      withDiscord(async (s, world) => {
        const reply = longReply(8, "Amigo")
        s.llm.script({ text: reply, chunks: 16, chunkDelayMs: 100 })
        await s.start()
        say(world, "first")
        await world.dc.waitFor(() => botMessages(world)[0], 10_000)
        const resumes = world.dc.resumes.length
        world.dc.dropGateway(world.token, { code: 1006 })
        // Said while the bot is away: Discord replays it on RESUME.
        s.llm.script({ text: "Answer to the second." })
        say(world, "second")
        await world.dc.waitFor(() => world.dc.resumes.length > resumes, 15_000)
        await world.dc.waitFor(() => botMessages(world).length === 2 && botMessages(world)[1]!.content, 15_000)
        world.dc.forceReconnect(world.token)
        await world.dc.waitFor(() => world.dc.resumes.length > resumes + 1, 15_000)
        expect(botMessages(world).map((m) => m.content)).toEqual([reply, "Answer to the second."])
        expect(s.llm.requests.length).toBe(2)
        expectNoRepeats(world)
      }),
    60_000
  )

  test(
    "a create Discord applied but never answered is retried with the same nonce: one message",
    () =>
      withDiscord(async (s, world) => {
        const reply = longReply(6, "Amigo")
        s.llm.script({ text: reply, chunks: 12, chunkDelayMs: 80 })
        await s.start()
        world.dc.acceptThenHang(CREATE)
        say(world, "hello?")
        await world.dc.waitFor(() => botMessages(world)[0]?.content === reply, 15_000)
        expect(botMessages(world).length).toBe(1)
        const attempts = creates(world)
        expect(attempts.length).toBeGreaterThanOrEqual(2)
        expect(new Set(attempts.map((r) => (r.body as { nonce?: string }).nonce)).size).toBe(1)
        expectNoRepeats(world)
      }),
    60_000
  )

  test(
    "429 storms on creates and edits are waited out: the reply arrives once, complete",
    () =>
      withDiscord(async (s, world) => {
        const reply = longReply(6, "Amigo")
        s.llm.script({ text: reply, chunks: 12, chunkDelayMs: 60 })
        await s.start()
        world.dc.rateLimitNext(CREATE, { retryAfter: 0.2, times: 3 })
        world.dc.rateLimitNext(EDIT, { retryAfter: 0.2, times: 3 })
        say(world, "busy?")
        await world.dc.waitFor(() => botMessages(world)[0]?.content === reply, 15_000)
        expect(creates(world).map((r) => r.status)).toEqual([429, 429, 429, 200])
        expect(world.dc.requests.filter((r) => r.method === "PATCH" && r.status === 429).length).toBe(3)
        expect(botMessages(world).length).toBe(1)
        expectNoRepeats(world)
      }),
    60_000
  )

  test(
    "a persona reload (SIGHUP) mid-turn: the turn finishes once, the next message uses the new prompt",
    () =>
      withDiscord(async (s, world) => {
        const reply = longReply(8, "Amigo")
        s.llm.script({ text: reply, chunks: 16, chunkDelayMs: 100 })
        const child = await s.start()
        say(world, "first question")
        await world.dc.waitFor(() => botMessages(world)[0], 10_000)
        s.project.write("personalities/amigo/system.md", "You are Amigo, version two.")
        child.proc.kill("SIGHUP")
        await child.waitForLog(/reloaded personas and plugins \(SIGHUP\)/)
        await world.dc.waitFor(() => botMessages(world)[0]?.content === reply, 15_000)
        s.llm.script({ text: "Answer under the new prompt." })
        say(world, "second question")
        await world.dc.waitFor(() => botMessages(world)[1]?.content === "Answer under the new prompt.", 10_000)
        expect(botMessages(world).map((m) => m.content)).toEqual([reply, "Answer under the new prompt."])
        expectNoRepeats(world)
        const [before, after] = s.llm.requests
        expect(systemOf(before!.body)).toContain("version one")
        expect(systemOf(after!.body)).toContain("version two")
      }),
    60_000
  )
})
