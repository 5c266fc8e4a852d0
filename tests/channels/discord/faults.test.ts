import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { makeDiscordChannel } from "../../../core/channels/discord/DiscordChannel.ts"
import { nonceOf } from "../../../core/channels/discord/outbound.ts"
import { makeInteractionTurns } from "../../../core/channels/discord/recovery.ts"
import { outboxKey } from "../../../core/channels/text/StreamingReply.ts"
import { EventBus } from "../../../core/events/EventBus.ts"
import type { EventOf } from "../../../core/events/Events.ts"
import { makeInstantProvider } from "../../../core/llm/InstantProvider.ts"
import type { ChatRequest } from "../../../core/llm/Provider.ts"
import { Store } from "../../../core/store/Store.ts"
import { eventually } from "../../conversation/harness.ts"
import { type FakeDiscord, snowflake, startFakeDiscord } from "../../fakes/discord/index.ts"
import { runPersona } from "../../support/runtime.ts"
import {
  botMessages,
  channelIdOfWorld,
  discordSection,
  makeWorld,
  poll,
  runDiscord,
  startDiscordPersona,
  testChannelOptions,
  until,
  withCapturedLogs
} from "./support.ts"

let dc: FakeDiscord

beforeAll(async () => {
  dc = await startFakeDiscord({ heartbeatIntervalMs: 300 })
})

afterAll(async () => {
  await dc?.stop()
})

const userTurns = (request: ChatRequest) => request.messages.filter((m) => m.role === "user").length
const counting = () => makeInstantProvider({ reply: (request) => `turn ${userTurns(request)}` })

describe("Discord channel: commands", () => {
  test("/reset clears the conversation and answers the interaction; /persona answers without the model", async () => {
    const world = makeWorld(dc)
    let calls = 0
    const provider = makeInstantProvider({
      reply: (request) => {
        calls++
        return `turn ${userTurns(request)}`
      }
    })
    await runDiscord(
      [provider],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          {
            display_name: "Amigo",
            description: "A friendly test persona.",
            model: { provider: "instant" },
            channels: [discordSection(dc, world, { commands: "guild", dev_guild: world.guildId })],
            reply: { history: "user" }
          },
          world
        )
        yield* until(dc, () => dc.commands.filter((c) => c.guildId === world.guildId).length === 2)
        expect(dc.commands.filter((c) => c.guildId === world.guildId).map((c) => c.name)).toEqual(["reset", "persona"])

        const say = (content: string) =>
          dc.userSays({ channelId: world.general, authorId: world.alice, content: `<@${world.botId}> ${content}` })
        say("one")
        yield* until(dc, () => botMessages(dc, world, world.general)[0])
        say("two")
        const second = yield* until(dc, () => botMessages(dc, world, world.general)[1])
        expect(second.content).toBe("turn 2")

        const reset = dc.slashCommand({
          botToken: world.token,
          name: "reset",
          userId: world.alice,
          channelId: world.general
        })
        const answered = yield* until(dc, () => {
          const record = dc.interactions.find((i) => i.id === reset.id)
          const message = record?.originalMessageId ? dc.message(record.originalMessageId) : undefined
          return message && message.content !== "" ? message : undefined
        })
        expect(answered.content).toBe("Done, I've forgotten our conversation. Let's start over.")
        expect(dc.interactionResponses.filter((r) => r.interactionId === reset.id).map((r) => r.kind)).toEqual([
          "callback",
          "edit-original"
        ])
        expect(dc.wouldPing(answered).any).toBe(false)

        say("three")
        // The history was cleared: the model sees this message alone.
        const third = yield* until(dc, () => botMessages(dc, world, world.general).filter((m) => m.via === "rest")[2])
        expect(third.content).toBe("turn 1")

        const before = calls
        const persona = dc.slashCommand({
          botToken: world.token,
          name: "persona",
          userId: world.bob,
          channelId: world.general
        })
        const card = yield* until(dc, () => {
          const record = dc.interactions.find((i) => i.id === persona.id)
          return record?.originalMessageId ? dc.message(record.originalMessageId) : undefined
        })
        expect(card.content).toBe("I'm **Amigo**. A friendly test persona.")
        expect(calls).toBe(before)
      })
    )
  })

  test("/reset from an ignored user does not leave the interaction thinking", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [counting()],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          {
            model: { provider: "instant" },
            channels: [discordSection(dc, world, { commands: "guild" })],
            reply: { ignore_users: [world.bob] }
          },
          world
        )
        yield* until(dc, () => dc.commands.some((c) => c.guildId === world.guildId && c.name === "reset"))
        const reset = dc.slashCommand({
          botToken: world.token,
          name: "reset",
          userId: world.bob,
          channelId: world.general
        })
        yield* until(dc, () =>
          dc.interactionResponses.some((r) => r.interactionId === reset.id && r.kind === "delete-original")
        )
      })
    )
  })
})

describe("Discord channel: faults", () => {
  test("a forced reconnect mid-conversation: down, resumed, ready, and the next message is answered", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [counting()],
      Effect.gen(function* () {
        const bus = yield* EventBus
        const statuses: Array<EventOf<"ChannelStatus">["status"]> = []
        const stop = bus.listen(["ChannelStatus"], (event) => {
          statuses.push(event.status)
        })
        yield* Effect.addFinalizer(() => Effect.sync(stop))
        const { channel } = yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, world)] },
          world
        )
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "before" })
        yield* until(dc, () => botMessages(dc, world, world.dm)[0])

        const resumes = dc.resumes.length
        dc.forceReconnect(world.token)
        yield* until(dc, () => dc.resumes.length > resumes)
        yield* eventually(() => statuses.includes("down") && channel.state() === "ready")
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "after" })
        const next = yield* until(dc, () => botMessages(dc, world, world.dm)[1])
        expect(next.content).toBe("turn 2")

        // A session the gateway forgets makes discord.js identify again; the channel comes back the same way.
        const identifies = dc.identifies.filter((i) => i.botId === world.botId).length
        dc.dropGateway(world.token, { code: 4000, resumable: false })
        yield* until(dc, () => dc.identifies.filter((i) => i.botId === world.botId).length > identifies)
        yield* eventually(() => channel.state() === "ready" && statuses.at(-1) === "ready")
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "and again" })
        const last = yield* until(dc, () => botMessages(dc, world, world.dm)[2])
        expect(last.content).toBe("turn 3")
        expect(statuses.filter((s) => s === "down").length).toBeGreaterThanOrEqual(2)
      })
    )
  })

  test("removing the channel from the persona closes the connection and reports nothing afterwards", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [counting()],
      Effect.gen(function* () {
        const bus = yield* EventBus
        const statuses: Array<string> = []
        const stop = bus.listen(["ChannelStatus"], (event) => {
          statuses.push(event.status)
        })
        yield* Effect.addFinalizer(() => Effect.sync(stop))
        const { runtime } = yield* startDiscordPersona(
          { model: { provider: "instant" }, channels: [discordSection(dc, world)] },
          world
        )
        expect(dc.connections(world.token)).toBe(1)
        const seen = statuses.length
        yield* runtime.update({ ...runtime.current(), channels: [] })
        expect(runtime.channels.size).toBe(0)
        yield* until(dc, () => dc.connections(world.token) === 0)
        expect(statuses.slice(seen)).toEqual([])
      })
    )
  })

  test("a rejected token leaves the channel down with a reason (and the actor retries with backoff)", async () => {
    const botId = snowflake()
    const token = `${Buffer.from(botId).toString("base64")}.unknown.token`
    await runDiscord(
      [counting()],
      Effect.gen(function* () {
        const bus = yield* EventBus
        const reasons: Array<string> = []
        const stop = bus.listen(["ChannelStatus"], (event) => {
          if (event.status === "down" && event.reason) reasons.push(event.reason)
        })
        yield* Effect.addFinalizer(() => Effect.sync(stop))
        yield* runPersona(
          { model: { provider: "instant" }, channels: [{ type: "discord", token, api: dc.api, commands: "off" }] },
          { id: "amigo", loadFactory: () => Effect.succeed(makeDiscordChannel(testChannelOptions) as never) }
        )
        const reason = yield* eventually(() => reasons[0])
        expect(reason).toContain("login failed")
        expect(reason).not.toContain("unknown.token")
      })
    )
  })

  test("a bot without the Message Content intent fails to connect with a reason that says what to enable", async () => {
    const botId = snowflake()
    const token = `${Buffer.from(botId).toString("base64")}.no.intents`
    dc.addBot({ token, id: botId, username: "shy", privilegedIntents: 0 })
    await runDiscord(
      [counting()],
      Effect.gen(function* () {
        const bus = yield* EventBus
        const reasons: Array<string> = []
        const stop = bus.listen(["ChannelStatus"], (event) => {
          if (event.reason) reasons.push(event.reason)
        })
        yield* Effect.addFinalizer(() => Effect.sync(stop))
        yield* runPersona(
          { model: { provider: "instant" }, channels: [{ type: "discord", token, api: dc.api, commands: "off" }] },
          { id: "amigo", loadFactory: () => Effect.succeed(makeDiscordChannel(testChannelOptions) as never) }
        )
        const reason = yield* eventually(() => reasons.find((r) => r.includes("Message Content")))
        expect(reason).toContain("intents not allowed")
      })
    )
  })

  test("a 429 on create message is waited out: exactly one message lands and the rate limit is logged", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [makeInstantProvider({ reply: "after the rate limit" })],
      withCapturedLogs((lines) =>
        Effect.gen(function* () {
          yield* startDiscordPersona({ model: { provider: "instant" }, channels: [discordSection(dc, world)] }, world)
          dc.rateLimitNext(`POST /channels/${world.dm}/messages`, { retryAfter: 0.2 })
          dc.userSays({ channelId: world.dm, authorId: world.alice, content: "hi" })
          const reply = yield* until(dc, () => botMessages(dc, world, world.dm)[0])
          expect(reply.content).toBe("after the rate limit")
          const creates = dc.requests.filter((r) => r.method === "POST" && r.path === `/channels/${world.dm}/messages`)
          expect(creates.map((r) => r.status)).toEqual([429, 200])
          expect(botMessages(dc, world, world.dm)).toHaveLength(1)
          expect(lines.some((line) => /rate limited on POST \/channels\/:id\/messages/.test(line))).toBe(true)
        })
      )
    )
  })

  test("a create that is accepted but never answered is retried with its nonce: no duplicate", async () => {
    const world = makeWorld(dc)
    await runDiscord(
      [makeInstantProvider({ reply: "exactly once, please" })],
      Effect.gen(function* () {
        yield* startDiscordPersona({ model: { provider: "instant" }, channels: [discordSection(dc, world)] }, world)
        dc.acceptThenHang(`POST /channels/${world.dm}/messages`)
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "hi" })
        // The first create took effect but its answer never came; discord.js timed out and asked again.
        const creates = yield* until(dc, () => {
          const list = dc.requests.filter((r) => r.method === "POST" && r.path === `/channels/${world.dm}/messages`)
          return list.length >= 2 ? list : undefined
        })
        expect(new Set(creates.map((r) => (r.body as { nonce: string }).nonce)).size).toBe(1)
        // The outbox learned the message id from Discord's answer to the repeated nonce.
        const store = yield* Store
        const channelId = channelIdOfWorld(world)
        yield* poll(store.outboxPending(channelId), (pending) => pending.length === 0)
        expect(botMessages(dc, world, world.dm).map((m) => m.content)).toEqual(["exactly once, please"])
        dc.releaseHung()
      })
    )
  })

  test("guild and channel allow/deny lists decide where the persona listens", async () => {
    const world = makeWorld(dc)
    const secondGuild = snowflake()
    const lobby = snowflake()
    dc.addGuild({
      id: secondGuild,
      name: "Elsewhere",
      channels: [{ id: lobby, name: "lobby" }],
      members: [world.alice],
      bots: [world.botId]
    })
    await runDiscord(
      [makeInstantProvider()],
      Effect.gen(function* () {
        yield* startDiscordPersona(
          {
            model: { provider: "instant" },
            channels: [
              discordSection(dc, world, {
                guilds: { allow: [world.guildId] },
                channels: { deny: [world.other] },
                commands: "guild",
                dev_guild: world.guildId
              })
            ]
          },
          world
        )
        const mention = `<@${world.botId}>`
        dc.userSays({ channelId: lobby, authorId: world.alice, content: `${mention} other guild` })
        dc.userSays({ channelId: world.other, authorId: world.alice, content: `${mention} denied channel` })
        dc.userSays({ channelId: world.general, authorId: world.alice, content: `${mention} allowed channel` })
        const reply = yield* until(dc, () => botMessages(dc, world, world.general)[0])
        expect(reply.content).toContain("allowed channel")
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "DMs are not in a guild" })
        yield* until(dc, () => botMessages(dc, world, world.dm)[0])
        expect(botMessages(dc, world, lobby)).toHaveLength(0)
        expect(botMessages(dc, world, world.other)).toHaveLength(0)

        yield* until(dc, () => dc.commands.some((c) => c.guildId === world.guildId && c.name === "persona"))
        const refused = dc.slashCommand({
          botToken: world.token,
          name: "persona",
          userId: world.alice,
          channelId: world.other
        })
        const response = yield* until(dc, () =>
          dc.interactionResponses.find((r) => r.interactionId === refused.id && r.kind === "callback")
        )
        expect(response.data).toMatchObject({ content: "I don't answer here.", flags: 64 })
      })
    )
  })

  test("after a restart, young unsent chunks are resent with their nonce: the one that landed is not doubled", async () => {
    const world = makeWorld(dc)
    const channelId = channelIdOfWorld(world)
    await runDiscord(
      [makeInstantProvider()],
      Effect.gen(function* () {
        const store = yield* Store
        // "landed": the create reached Discord before the crash; "lost": it never left.
        yield* store.outboxPut(outboxEntry(channelId, world.dm, "landedturn01", "the one that landed"))
        yield* store.outboxPut(outboxEntry(channelId, world.dm, "lostturn0001", "the one that was lost"))
        yield* store.commit
        const landed = yield* Effect.promise(() =>
          fetch(`${dc.api}/v10/channels/${world.dm}/messages`, {
            method: "POST",
            headers: { authorization: `Bot ${world.token}`, "content-type": "application/json" },
            body: JSON.stringify({
              content: "the one that landed",
              nonce: nonceOf(outboxKey("landedturn01", 0)),
              enforce_nonce: true
            })
          }).then((response) => response.json() as Promise<{ id: string }>)
        )
        yield* startDiscordPersona({ model: { provider: "instant" }, channels: [discordSection(dc, world)] }, world)
        yield* poll(store.outboxPending(channelId), (pending) => pending.length === 0)
        expect(botMessages(dc, world, world.dm).map((m) => m.content)).toEqual([
          "the one that landed",
          "the one that was lost"
        ])
        const settled = yield* store.outboxGet(outboxKey("landedturn01", 0))
        expect(settled).toMatchObject({ status: "sent", platformId: landed.id })
      })
    )
  })

  test("after a restart, chunks past the nonce window or answering a slash command are dropped with a log line", async () => {
    const world = makeWorld(dc)
    const channelId = channelIdOfWorld(world)
    await runDiscord(
      [makeInstantProvider()],
      withCapturedLogs((lines) =>
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.outboxPut(outboxEntry(channelId, world.dm, "interaction1", "answer to /reset"))
          yield* makeInteractionTurns(store, channelId).add("interaction1")
          yield* store.outboxPut(outboxEntry(channelId, world.general, "staleturn001", "too late"))
          yield* store.commit
          yield* startDiscordPersona(
            { model: { provider: "instant" }, channels: [discordSection(dc, world)] },
            world,
            // Every entry counts as old with a zero window.
            { channel: { resendWindowMs: 0 } }
          )
          yield* poll(store.outboxPending(channelId), (pending) => pending.length === 0)
          expect((yield* store.outboxGet(outboxKey("interaction1", 0)))?.status).toBe("dropped")
          expect((yield* store.outboxGet(outboxKey("staleturn001", 0)))?.status).toBe("dropped")
          expect(botMessages(dc, world, world.dm)).toHaveLength(0)
          expect(botMessages(dc, world, world.general)).toHaveLength(0)
          expect(lines.filter((line) => line.includes("dropping unsent chunk"))).toHaveLength(2)
          expect(lines.some((line) => line.includes("it answered a slash command"))).toBe(true)
        })
      )
    )
  })
})

const outboxEntry = (channel: string, chat: string, turnId: string, text: string) => ({
  key: outboxKey(turnId, 0),
  persona: "amigo",
  channel,
  conversationId: `amigo/${channel}/${chat}`,
  turnId,
  chunk: 0,
  text
})
