/**
 * Shared pieces of the Discord channel tests: a bot with its own guild on the shared fake Discord, a persona running
 * the real way (router, conversations, the Discord channel actor with the real discord.js client), and waiting.
 */
import { Effect, Logger, LogLevel, type Scope } from "effect"
import type { ActorSystem } from "../../../core/actor/ActorSystem.ts"
import type { ChannelFactory, ChannelInstance } from "../../../core/channels/Channel.ts"
import { channelIdOf } from "../../../core/channels/channelId.ts"
import { type DiscordChannelOptions, makeDiscordChannel } from "../../../core/channels/discord/DiscordChannel.ts"
import type { EventBus } from "../../../core/events/EventBus.ts"
import type { LlmProvider } from "../../../core/llm/Provider.ts"
import type { ChannelConfig } from "../../../core/persona/Persona.ts"
import type { PersonaRuntime, PersonaServices } from "../../../core/runtime/PersonaRunner.ts"
import { eventually } from "../../conversation/harness.ts"
import { type FakeDiscord, snowflake } from "../../fakes/discord/index.ts"
import { runLive } from "../../support/effect.ts"
import { personaLayer, runPersona } from "../../support/runtime.ts"

/** Fast and deterministic: exact rate-limit waits, short REST timeout, no identify throttle, small edit budget. */
export const testChannelOptions: DiscordChannelOptions = {
  rest: { offset: 0, timeout: 400 },
  identifyThrottle: false,
  waitGuildTimeoutMs: 1000,
  readyTimeoutMs: 5000,
  editBudget: { count: 5, windowMs: 750 },
  typingIntervalMs: 300
}

export interface World {
  readonly token: string
  readonly botId: string
  readonly guildId: string
  readonly general: string
  readonly other: string
  readonly roleId: string
  readonly alice: string
  readonly bob: string
  readonly dm: string
}

let counter = 0

/** A bot (token whose first segment is its id, like Discord's), two users, and a guild only this bot is in. */
export const makeWorld = (dc: FakeDiscord): World => {
  counter++
  const botId = snowflake()
  const token = `${Buffer.from(botId).toString("base64")}.fake.${counter}`
  dc.addBot({ token, id: botId, username: `amigo${counter}` })
  const alice = snowflake()
  const bob = snowflake()
  dc.addUser({ id: alice, username: `alice${counter}`, globalName: "Alice" })
  dc.addUser({ id: bob, username: `bob${counter}`, globalName: "Bob" })
  const guildId = snowflake()
  const general = snowflake()
  const other = snowflake()
  const roleId = snowflake()
  dc.addGuild({
    id: guildId,
    name: `Stage ${counter}`,
    channels: [
      { id: general, name: "general" },
      { id: other, name: "other" }
    ],
    roles: [{ id: roleId, name: "actors" }],
    members: [alice, bob, { userId: botId, roles: [roleId] }],
    bots: [botId]
  })
  return { token, botId, guildId, general, other, roleId, alice, bob, dm: dc.dmChannel(botId, alice).id }
}

/** The `channels:` entry for the world's bot. */
export const discordSection = (dc: FakeDiscord, world: World, extra: Record<string, unknown> = {}) => ({
  type: "discord",
  token: world.token,
  api: dc.api,
  commands: "off",
  edit_interval: 100,
  ...extra
})

export const channelIdOfWorld = (world: World) =>
  channelIdOf({ type: "discord", token: world.token } as unknown as ChannelConfig)

export type TestServices = PersonaServices | ActorSystem | EventBus | Scope.Scope

/** Start the persona and wait until its Discord channel is ready. */
export const startDiscordPersona = (
  encoded: Record<string, unknown>,
  world: World,
  options: { readonly channel?: DiscordChannelOptions; readonly id?: string } = {}
): Effect.Effect<{ runtime: PersonaRuntime; channel: ChannelInstance }, never, TestServices> =>
  Effect.gen(function* () {
    const factory = makeDiscordChannel({ ...testChannelOptions, ...options.channel }) as ChannelFactory<ChannelConfig>
    const runtime = yield* runPersona(encoded, {
      id: options.id ?? "amigo",
      loadFactory: () => Effect.succeed(factory)
    })
    const id = channelIdOfWorld(world)
    const channel = yield* eventually(() => {
      const instance = runtime.channels.get(id)
      return instance?.state() === "ready" ? instance : undefined
    }, 5000)
    return { runtime, channel }
  })

/** Run a test body with a persona layer over these providers (real clock). */
export const runDiscord = <A, E>(
  providers: ReadonlyArray<LlmProvider>,
  body: Effect.Effect<A, E, TestServices>
): Promise<A> =>
  // Scoped inside the layer: the persona's actors stop before the store and HTTP server they use are closed.
  runLive(Effect.scoped(body).pipe(Effect.provide(personaLayer(providers))))

/** Log lines captured from everything inside `body` (the channel actor's logs included). */
export const withCapturedLogs = <A, E, R>(body: (lines: ReadonlyArray<string>) => Effect.Effect<A, E, R>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push(`${logLevel.label} ${text}`)
  })
  return body(lines).pipe(
    Logger.withMinimumLogLevel(LogLevel.Debug),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger))
  )
}

/** Wait (real time) for the fake Discord to show something. */
export const until = <T>(dc: FakeDiscord, predicate: () => T | undefined | null | false, timeoutMs = 3000) =>
  Effect.promise(() => dc.waitFor(predicate, timeoutMs))

/** Messages the bot wrote in a channel, as users see them now. */
export const botMessages = (dc: FakeDiscord, world: World, channelId: string) =>
  dc.channelMessages(channelId).filter((m) => m.authorId === world.botId)

/** Run `effect` every few milliseconds until its value satisfies `done` (dies after `timeoutMs`). */
export const poll = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (value: A) => boolean, timeoutMs = 3000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* effect
      if (done(value)) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`poll: condition not met within ${timeoutMs} ms`)
      yield* Effect.sleep("5 millis")
    }
  })
