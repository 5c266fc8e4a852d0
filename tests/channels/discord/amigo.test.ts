import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Either } from "effect"
import * as Actor from "../../../core/actor/Actor.ts"
import type { ChannelFactory } from "../../../core/channels/Channel.ts"
import { makeDiscordChannel } from "../../../core/channels/discord/DiscordChannel.ts"
import { makeInstantProvider } from "../../../core/llm/InstantProvider.ts"
import type { ChannelConfig } from "../../../core/persona/Persona.ts"
import { loadPersonaFolder } from "../../../core/persona/PersonaLoader.ts"
import { makeBotAccounts } from "../../../core/runtime/BotAccounts.ts"
import { startPersona } from "../../../core/runtime/PersonaRunner.ts"
import { eventually } from "../../conversation/harness.ts"
import { type FakeDiscord, startFakeDiscord } from "../../fakes/discord/index.ts"
import { botMessages, channelIdOfWorld, makeWorld, runDiscord, testChannelOptions, until } from "./support.ts"

let dc: FakeDiscord

beforeAll(async () => {
  dc = await startFakeDiscord({ heartbeatIntervalMs: 300 })
})

afterAll(async () => {
  await dc?.stop()
})

const folder = new URL("../../../personalities/amigo", import.meta.url).pathname

describe("the amigo example persona", () => {
  test("loads without a token: a Discord persona with per-user history on OpenAI with an Anthropic fallback", () => {
    const loaded = loadPersonaFolder(folder, { env: {} })
    if (Either.isLeft(loaded)) throw new Error(String(loaded.left))
    const amigo = loaded.right
    expect(amigo.id).toBe("amigo")
    expect(amigo.reply.history).toBe("user")
    expect(amigo.model.provider).toBe("openai")
    expect(amigo.model.fallbacks.map((f) => f.provider)).toEqual(["anthropic"])
    expect(amigo.channels).toHaveLength(1)
    expect(amigo.channels[0]).toMatchObject({ type: "discord", token: "" })
  })

  test("with DISCORD_BOT_TOKEN set it answers a DM and a mention on (fake) Discord", async () => {
    const world = makeWorld(dc)
    const loaded = loadPersonaFolder(folder, { env: { DISCORD_BOT_TOKEN: world.token } })
    if (Either.isLeft(loaded)) throw new Error(String(loaded.left))
    const section = loaded.right.channels[0] as ChannelConfig & { type: "discord" }
    const amigo = {
      ...loaded.right,
      // The test talks to the fake Discord and an in-process model instead of OpenAI.
      model: { ...loaded.right.model, provider: "instant", fallbacks: [] },
      channels: [{ ...section, api: dc.api, commands: "off" as const }]
    }
    await runDiscord(
      [makeInstantProvider()],
      Effect.gen(function* () {
        const root = yield* Actor.root("test-amigo")
        const factory = makeDiscordChannel(testChannelOptions) as ChannelFactory<ChannelConfig>
        const runtime = yield* startPersona(root, amigo, {
          dryRun: false,
          platformChannels: true,
          accounts: makeBotAccounts(),
          loadFactory: () => Effect.succeed(factory)
        })
        yield* eventually(() => runtime.channels.get(channelIdOfWorld(world))?.state() === "ready", 5000)
        dc.userSays({ channelId: world.dm, authorId: world.alice, content: "hola" })
        expect((yield* until(dc, () => botMessages(dc, world, world.dm)[0], 5000)).content).toBe("ok: hola")
        dc.userSays({ channelId: world.general, authorId: world.bob, content: `<@${world.botId}> qué tal?` })
        const reply = yield* until(dc, () => botMessages(dc, world, world.general)[0])
        expect(reply.content).toMatch(/^ok: Bob: @amigo\d+ qué tal\?$/)
      })
    )
  })
})
