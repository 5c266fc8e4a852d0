import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import {
  type CacheFactory,
  Client,
  DMMessageManager,
  Events,
  GatewayIntentBits,
  GuildMessageManager,
  LimitedCollection,
  MessageManager,
  Options,
  Partials
} from "discord.js"
import { makeCache, messageCacheSize } from "../../../core/channels/discord/DiscordChannel.ts"
import { type FakeDiscord, snowflake, startFakeDiscord } from "../../fakes/discord/index.ts"

let dc: FakeDiscord

beforeAll(async () => {
  dc = await startFakeDiscord({ heartbeatIntervalMs: 300 })
})

afterAll(async () => {
  await dc?.stop()
})

/** The bundle's minifier renames classes: give discord.js's message managers such names while `body` runs. */
const withMinifiedNames = async <A>(body: () => Promise<A>): Promise<A> => {
  const classes = [MessageManager, GuildMessageManager, DMMessageManager]
  const names = classes.map((c) => c.name)
  classes.forEach((c, i) => {
    Object.defineProperty(c, "name", { value: `m${i}`, configurable: true })
  })
  try {
    return await body()
  } finally {
    classes.forEach((c, i) => {
      Object.defineProperty(c, "name", { value: names[i], configurable: true })
    })
  }
}

/** The cache a factory makes for a guild channel's messages (discord.js passes the base manager, then the class). */
const guildMessageCache = (factory: CacheFactory) =>
  (factory as unknown as (type: unknown, holds: unknown, manager: unknown) => unknown)(
    MessageManager,
    undefined,
    GuildMessageManager
  )

describe("Discord channel: discord.js caches", () => {
  test("the message cache factory limits message managers by identity, not by their (minifiable) class name", async () => {
    await withMinifiedNames(async () => {
      // What discord.js's name-keyed helper does in a minified bundle: no limit at all.
      const byName = Options.cacheWithLimits({ MessageManager: messageCacheSize })
      expect(guildMessageCache(byName)).not.toBeInstanceOf(LimitedCollection)
      const limited = guildMessageCache(makeCache)
      expect(limited).toBeInstanceOf(LimitedCollection)
      expect((limited as LimitedCollection<unknown, unknown>).maxSize).toBe(messageCacheSize)
    })
  })

  test("a client with it keeps only the last few messages of each channel, in guilds and DMs", async () => {
    const botId = snowflake()
    const token = `${Buffer.from(botId).toString("base64")}.cache.1`
    dc.addBot({ token, id: botId, username: "cachebot" })
    const user = snowflake()
    dc.addUser({ id: user, username: "chatty" })
    const general = snowflake()
    dc.addGuild({ id: snowflake(), name: "Cache", channels: [{ id: general, name: "general" }], members: [user] })
    const dm = dc.dmChannel(botId, user).id
    await withMinifiedNames(async () => {
      const client = new Client({
        intents: [
          GatewayIntentBits.Guilds,
          GatewayIntentBits.GuildMessages,
          GatewayIntentBits.DirectMessages,
          GatewayIntentBits.MessageContent
        ],
        partials: [Partials.Channel],
        makeCache,
        rest: { api: dc.api, offset: 0 },
        waitGuildTimeout: 1000,
        ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) }
      })
      let seen = 0
      client.on(Events.MessageCreate, () => {
        seen++
      })
      try {
        await client.login(token)
        await dc.waitFor(() => client.isReady(), 5000)
        const count = 3 * messageCacheSize
        for (let i = 0; i < count; i++) {
          dc.userSays({ channelId: general, authorId: user, content: `guild ${i}` })
          dc.userSays({ channelId: dm, authorId: user, content: `dm ${i}` })
        }
        await dc.waitFor(() => seen === 2 * count, 5000)
        const sizes = [general, dm].map((id) => {
          const channel = client.channels.cache.get(id)
          return channel && "messages" in channel ? channel.messages.cache.size : -1
        })
        expect(sizes).toEqual([messageCacheSize, messageCacheSize])
      } finally {
        await client.destroy()
      }
    })
  })
})
