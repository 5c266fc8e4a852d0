import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import {
  ApplicationCommandOptionType,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  type Message,
  Partials,
  type RateLimitData,
  RESTEvents,
  Routes,
  type TextChannel,
  type ThreadChannel
} from "discord.js"
import { type FakeDiscord, snowflake, startFakeDiscord } from "./discord/index.ts"

const TOKEN = "fake-bot-token"
const BOT_ID = snowflake()
const USER_ID = snowflake()
const GUILD_ID = snowflake()
const GENERAL_ID = snowflake()
const ROLE_ID = snowflake()
const TOKEN_2 = "fake-bot-token-2"
const BOT_2_ID = snowflake()

let dc: FakeDiscord
let client: Client
const received: Message[] = []
const interactions: Interaction[] = []
const rateLimits: RateLimitData[] = []

/** Waits for the first message the client received that satisfies the predicate. */
const receivedMessage = (predicate: (m: Message) => boolean): Promise<Message> =>
  dc.waitFor(() => received.find(predicate))

beforeAll(async () => {
  dc = await startFakeDiscord({ heartbeatIntervalMs: 400 })
  dc.addBot({ token: TOKEN, id: BOT_ID, username: "troupe" })
  dc.addUser({ id: USER_ID, username: "alice" })
  dc.addGuild({
    id: GUILD_ID,
    name: "Stage",
    channels: [{ id: GENERAL_ID, name: "general" }],
    roles: [{ id: ROLE_ID, name: "players" }],
    members: [{ userId: USER_ID, roles: [ROLE_ID] }]
  })
  client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.DirectMessages,
      GatewayIntentBits.MessageContent
    ],
    partials: [Partials.Channel],
    rest: { api: dc.api, offset: 0 }
  })
  client.on(Events.MessageCreate, (message) => {
    received.push(message)
  })
  client.on(Events.InteractionCreate, (interaction) => {
    interactions.push(interaction)
  })
  client.rest.on(RESTEvents.RateLimited, (info) => {
    rateLimits.push(info)
  })
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()))
  await client.login(TOKEN)
  await ready
})

afterAll(async () => {
  await client?.destroy()
  await dc?.stop()
})

describe("fake Discord with the real discord.js client", () => {
  test("login reaches ready with the bot user, the guild and its channels", () => {
    expect(client.user?.id).toBe(BOT_ID)
    expect(client.application?.id).toBe(BOT_ID)
    const guild = client.guilds.cache.get(GUILD_ID)
    expect(guild?.name).toBe("Stage")
    expect(guild?.channels.cache.get(GENERAL_ID)?.type).toBe(ChannelType.GuildText)
    expect(guild?.members.me?.id).toBe(BOT_ID)
    expect(dc.identifies).toHaveLength(1)
    expect(dc.identifies[0]?.compress).toBe(false)
  })

  test("a guild message that mentions the bot arrives with content and the mention", async () => {
    const sent = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: `<@${BOT_ID}> hello there` })
    const message = await receivedMessage((m) => m.id === sent.id)
    expect(message.content).toBe(`<@${BOT_ID}> hello there`)
    expect(message.guildId).toBe(GUILD_ID)
    expect(message.author.id).toBe(USER_ID)
    expect(message.mentions.has(client.user!)).toBe(true)
    expect(message.member?.roles.cache.has(ROLE_ID)).toBe(true)
  })

  test("a DM arrives through the channel partial, and reply/send land in the DM", async () => {
    const dm = dc.dmChannel(BOT_ID, USER_ID)
    const sent = dc.userSays({ channelId: dm.id, authorId: USER_ID, content: "psst, are you there?" })
    const message = await receivedMessage((m) => m.id === sent.id)
    expect(message.channel.type).toBe(ChannelType.DM)
    expect(message.guildId).toBeNull()
    expect(message.content).toBe("psst, are you there?")

    const reply = await message.reply("I am here")
    expect(dc.message(reply.id)).toMatchObject({
      channelId: dm.id,
      replyTo: sent.id,
      content: "I am here",
      authorId: BOT_ID
    })
    // message.reply() without allowedMentions pings the replied-to author, as on Discord.
    expect(dc.wouldPing(reply.id).users).toEqual([USER_ID])

    if (!message.channel.isSendable()) throw new Error("DM channel should be sendable")
    const second = await message.channel.send("and still here")
    expect(dc.channelMessages(dm.id).map((m) => m.content)).toEqual([
      "psst, are you there?",
      "I am here",
      "and still here"
    ])
    expect(second.channelId).toBe(dm.id)

    const opened = await (await client.users.fetch(USER_ID)).createDM()
    expect(opened.id).toBe(dm.id)

    await message.channel.sendTyping()
    expect(dc.typing.at(-1)).toMatchObject({ channelId: dm.id, botId: BOT_ID })
  })

  test("attachments: a user's arrive on the message, a bot's upload is stored and served", async () => {
    const sent = dc.userSays({
      channelId: GENERAL_ID,
      authorId: USER_ID,
      content: "look at this",
      attachments: [{ url: "http://127.0.0.1:9/cat.png", filename: "cat.png", content_type: "image/png", size: 3 }]
    })
    const message = await receivedMessage((m) => m.id === sent.id)
    expect(message.attachments.first()).toMatchObject({
      name: "cat.png",
      contentType: "image/png",
      url: "http://127.0.0.1:9/cat.png"
    })

    const channel = client.channels.cache.get(GENERAL_ID) as TextChannel
    const upload = await channel.send({
      content: "notes attached",
      files: [{ attachment: Buffer.from("hello file"), name: "notes.txt" }]
    })
    const stored = dc.message(upload.id)
    expect(stored?.content).toBe("notes attached")
    expect(stored?.attachments.map((a) => a.filename)).toEqual(["notes.txt"])
    expect(upload.attachments.first()?.name).toBe("notes.txt")
    const served = await fetch(stored!.attachments[0]!.url)
    expect(await served.text()).toBe("hello file")

    const history = await channel.messages.fetch({ limit: 2 })
    expect([...history.values()].map((m) => m.content)).toEqual(["notes attached", "look at this"])
  })

  test("a sent message can be edited and deleted", async () => {
    const channel = client.channels.cache.get(GENERAL_ID) as TextChannel
    const message = await channel.send("draft")
    await message.edit("final text")
    const stored = dc.message(message.id)
    expect(stored?.content).toBe("final text")
    expect(stored?.history.map((v) => v.content)).toEqual(["draft", "final text"])
    expect(stored?.editedAt).not.toBeNull()
    expect(dc.sent.some((m) => m.id === message.id)).toBe(true)

    await message.delete()
    expect(dc.message(message.id)?.deleted).toBe(true)
    expect(dc.channelMessages(GENERAL_ID).some((m) => m.id === message.id)).toBe(false)
  })

  test("content over 2000 characters is rejected with 50035, an empty message with 50006", async () => {
    const channel = client.channels.cache.get(GENERAL_ID) as TextChannel
    const tooLong = await channel.send("x".repeat(2001)).catch((error: unknown) => error)
    expect(tooLong).toBeInstanceOf(DiscordAPIError)
    expect(tooLong).toMatchObject({ code: 50035, status: 400 })
    expect((tooLong as DiscordAPIError).message).toContain("content[BASE_TYPE_MAX_LENGTH]")

    const empty = await channel.send({ content: "   " }).catch((error: unknown) => error)
    expect(empty).toMatchObject({ code: 50006, status: 400 })

    const exactly = await channel.send("y".repeat(2000))
    expect(dc.message(exactly.id)?.content).toHaveLength(2000)
  })

  test("a 429 on create message is waited out by the REST queue and the message lands", async () => {
    const channel = client.channels.cache.get(GENERAL_ID) as TextChannel
    dc.rateLimitNext("POST /channels/:id/messages", { retryAfter: 0.25 })
    const seen = dc.requests.length
    const startedAt = Date.now()
    const message = await channel.send("after the rate limit")
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(240)
    expect(dc.message(message.id)?.content).toBe("after the rate limit")
    expect(rateLimits.at(-1)).toMatchObject({ route: "/channels/:id/messages", method: "POST", global: false })
    const attempts = dc.requests.slice(seen).filter((r) => r.path === `/channels/${GENERAL_ID}/messages`)
    expect(attempts.map((r) => r.status)).toEqual([429, 200])

    dc.rateLimitNext("POST /channels/:id/typing", { retryAfter: 0.1, global: true })
    await channel.sendTyping()
    expect(rateLimits.at(-1)).toMatchObject({ global: true })
    expect(dc.typing.at(-1)?.channelId).toBe(GENERAL_ID)
  })

  test("a 500 is retried by discord.js; a request left hanging still took effect", async () => {
    const channel = client.channels.cache.get(GENERAL_ID) as TextChannel
    dc.failNext("POST /channels/:id/messages", 500)
    const seen = dc.requests.length
    await channel.send("after a 500")
    const attempts = dc.requests.slice(seen).filter((r) => r.path === `/channels/${GENERAL_ID}/messages`)
    expect(attempts.map((r) => r.status)).toEqual([500, 200])

    dc.acceptThenHang("POST /channels/:id/messages")
    let answered = false
    const pending = channel.send("outcome unknown").then((m) => {
      answered = true
      return m
    })
    const stored = await dc.waitFor(() => dc.sent.find((m) => m.content === "outcome unknown"))
    await receivedMessage((m) => m.id === stored.id)
    expect(answered).toBe(false)
    dc.releaseHung()
    expect((await pending).id).toBe(stored.id)
  })

  test("a repeated nonce with enforce_nonce returns the first message instead of a duplicate", async () => {
    const body = { content: "exactly once", nonce: "troupe-1", enforce_nonce: true }
    const first = (await client.rest.post(Routes.channelMessages(GENERAL_ID), { body })) as { id: string }
    const again = (await client.rest.post(Routes.channelMessages(GENERAL_ID), { body })) as { id: string }
    expect(again.id).toBe(first.id)
    expect(dc.channelMessages(GENERAL_ID).filter((m) => m.content === "exactly once")).toHaveLength(1)
  })

  test("allowed_mentions decide who would be pinged", async () => {
    const channel = client.channels.cache.get(GENERAL_ID) as TextChannel
    const text = `@everyone and <@${USER_ID}> and <@&${ROLE_ID}>`
    const quiet = await channel.send({ content: text, allowedMentions: { parse: [] } })
    expect(dc.wouldPing(quiet.id)).toEqual({ users: [], roles: [], everyone: false, here: false, any: false })
    expect(quiet.mentions.everyone).toBe(false)

    const targeted = await channel.send({ content: text, allowedMentions: { users: [USER_ID] } })
    expect(dc.wouldPing(targeted.id)).toMatchObject({ users: [USER_ID], roles: [], everyone: false })

    const loud = await channel.send(text)
    expect(dc.wouldPing(loud.id)).toMatchObject({ users: [USER_ID], roles: [ROLE_ID], everyone: true })

    const conflicting = await channel
      .send({ content: text, allowedMentions: { parse: ["users"], users: [USER_ID] } })
      .catch((error: unknown) => error)
    expect(conflicting).toMatchObject({ code: 50035 })
  })

  test("after a RECONNECT the client resumes and gets what was sent meanwhile and after", async () => {
    const resumed = new Promise<number>((resolve) =>
      client.once(Events.ShardResume, (_id, replayed) => resolve(replayed))
    )
    dc.forceReconnect(TOKEN)
    const during = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: "said while reconnecting" })
    await resumed
    const after = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: "said after the resume" })
    await receivedMessage((m) => m.id === after.id)
    expect(received.some((m) => m.id === during.id)).toBe(true)
    expect(dc.identifies.filter((i) => i.token === TOKEN)).toHaveLength(1)
    expect(dc.resumes.at(-1)).toMatchObject({ botId: BOT_ID, viaResumeUrl: true })
  })

  test("a registered slash command can be replied to, deferred, edited and followed up", async () => {
    await client.application!.commands.set([
      {
        name: "echo",
        description: "Repeats what you say",
        options: [{ type: ApplicationCommandOptionType.String, name: "text", description: "What to repeat" }]
      }
    ])
    expect(dc.commands.map((c) => [c.name, c.guildId])).toEqual([["echo", null]])

    const first = dc.slashCommand({
      botToken: TOKEN,
      name: "echo",
      userId: USER_ID,
      channelId: GENERAL_ID,
      options: { text: "hi" }
    })
    const interaction = await dc.waitFor(() => interactions.find((i) => i.id === first.id))
    if (!interaction.isChatInputCommand()) throw new Error("expected a chat input command")
    expect(interaction.options.getString("text")).toBe("hi")
    expect(interaction.guildId).toBe(GUILD_ID)
    await interaction.reply({ content: "you said hi", allowedMentions: { parse: [] } })
    expect(dc.interactionResponses.at(-1)).toMatchObject({ interactionId: first.id, kind: "callback", type: 4 })
    expect(dc.channelMessages(GENERAL_ID).at(-1)).toMatchObject({ content: "you said hi", interactionId: first.id })
    await expect(interaction.reply("again")).rejects.toThrow()

    const second = dc.slashCommand({ botToken: TOKEN, name: "echo", userId: USER_ID, channelId: GENERAL_ID })
    const deferred = await dc.waitFor(() => interactions.find((i) => i.id === second.id))
    if (!deferred.isChatInputCommand()) throw new Error("expected a chat input command")
    await deferred.deferReply()
    await deferred.editReply("thought about it")
    await deferred.followUp("one more thing")
    expect(dc.interactionResponses.filter((r) => r.interactionId === second.id).map((r) => r.kind)).toEqual([
      "callback",
      "edit-original",
      "followup"
    ])
    expect(
      dc
        .channelMessages(GENERAL_ID)
        .slice(-2)
        .map((m) => m.content)
    ).toEqual(["thought about it", "one more thing"])
  })

  test("a message in a new thread arrives with the thread as its channel", async () => {
    const created = new Promise<ThreadChannel>((resolve) => client.once(Events.ThreadCreate, (t) => resolve(t)))
    const thread = dc.createThread({ parentId: GENERAL_ID, guildId: GUILD_ID, name: "side plot" })
    expect((await created).id).toBe(thread.id)
    const sent = dc.userSays({
      channelId: GENERAL_ID,
      threadId: thread.id,
      authorId: USER_ID,
      content: "in the thread"
    })
    const message = await receivedMessage((m) => m.id === sent.id)
    expect(message.channel.isThread()).toBe(true)
    expect(message.channelId).toBe(thread.id)
    expect((message.channel as ThreadChannel).parentId).toBe(GENERAL_ID)
    const reply = await message.reply({ content: "answering in the thread", allowedMentions: { repliedUser: false } })
    expect(dc.message(reply.id)?.channelId).toBe(thread.id)
    expect(dc.wouldPing(reply.id).any).toBe(false)
  })

  describe("a second bot without the MessageContent intent", () => {
    let client2: Client
    const received2: Message[] = []

    beforeAll(async () => {
      dc.addBot({ token: TOKEN_2, id: BOT_2_ID, username: "understudy" })
      client2 = new Client({
        intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
        rest: { api: dc.api, offset: 0 },
        // Re-identifying within 5 s would otherwise wait for discord.js's identify throttle.
        ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) }
      })
      client2.on(Events.MessageCreate, (message) => {
        received2.push(message)
      })
      const ready = new Promise<void>((resolve) => client2.once(Events.ClientReady, () => resolve()))
      await client2.login(TOKEN_2)
      await ready
    })

    afterAll(async () => {
      await client2?.destroy()
    })

    test("sees content only when mentioned, and sees the other bot's messages", async () => {
      const plain = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: "nobody in particular" })
      const mentioned = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: `<@${BOT_2_ID}> you there?` })
      const fromBot = await (client.channels.cache.get(GENERAL_ID) as TextChannel).send("the lead speaks")
      const seen = await dc.waitFor(() => {
        const ids = [plain.id, mentioned.id, fromBot.id].map((id) => received2.find((m) => m.id === id))
        return ids.every(Boolean) ? ids : undefined
      })
      expect(seen.map((m) => m?.content)).toEqual(["", `<@${BOT_2_ID}> you there?`, ""])
      expect(seen[2]?.author.id).toBe(BOT_ID)
      expect((await receivedMessage((m) => m.id === plain.id)).content).toBe("nobody in particular")
    })

    test("a non-resumable drop makes it identify again; a 1006 drop is resumed", async () => {
      dc.dropGateway(TOKEN_2, { code: 4000, resumable: false })
      await dc.waitFor(() => dc.identifies.filter((i) => i.token === TOKEN_2).length === 2, 5000)
      const first = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: `<@${BOT_2_ID}> welcome back` })
      await dc.waitFor(() => received2.find((m) => m.id === first.id))

      const resumesBefore = dc.resumes.length
      dc.dropGateway(TOKEN_2, { code: 1006 })
      const second = dc.userSays({ channelId: GENERAL_ID, authorId: USER_ID, content: `<@${BOT_2_ID}> still there?` })
      await dc.waitFor(() => received2.find((m) => m.id === second.id), 5000)
      expect(dc.resumes.length).toBe(resumesBefore + 1)
      expect(dc.identifies.filter((i) => i.token === TOKEN_2)).toHaveLength(2)
    })
  })
})
