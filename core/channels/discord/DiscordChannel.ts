/**
 * The Discord channel: one discord.js client per bot token. Guild messages, DMs (through the channel partial) and
 * threads come in over the gateway and go to the persona's router as `MessageReceived`; replies stream back by
 * sending a message and editing it as the text grows, split at 2,000 characters, with mentions neutralised.
 *
 * discord.js owns the connection: it resumes a dropped session or identifies again, and its REST queue waits out rate
 * limits. This adapter reports `down` while the gateway is away and `ready` once it is back.
 *
 * @example
 * # persona.yaml
 * channels:
 *   - type: discord
 *     token: ${DISCORD_BOT_TOKEN:-}
 *     commands: guild
 *     dev_guild: "123456789012345678"
 */
import {
  type CacheFactory,
  Client,
  type ClientOptions,
  Collection,
  Events,
  GatewayIntentBits,
  type Interaction,
  LimitedCollection,
  type Message,
  MessageManager,
  Partials
} from "discord.js"
import { Deferred, Duration, Effect, FiberSet, Option, Queue } from "effect"
import type { MessageReceived } from "../../events/Events.ts"
import { Store } from "../../store/Store.ts"
import {
  type ChannelFactory,
  ChannelFailed,
  type ChannelInstance,
  type ChannelState,
  type ReplyTarget
} from "../Channel.ts"
import { makeStreamingReply, type StreamingOptions } from "../text/StreamingReply.ts"
import { registerCommands } from "./commands.ts"
import type { DiscordConfig } from "./DiscordConfig.ts"
import { allowedIn, discordMessageIdOf, fromCommand, fromMessage, type InboundContext, placeOf } from "./inbound.ts"
import { makeCommandHandler } from "./interactions.ts"
import { channelOps, makeEditPacer } from "./outbound.ts"
import { makeInteractionTurns, recoverOutbox } from "./recovery.ts"

/** Knobs for tests and embedders; the defaults are what production uses. */
export interface DiscordChannelOptions {
  /** discord.js REST options on top of the config's `api` (e.g. `{ offset: 0, timeout: 500 }` in tests). */
  readonly rest?: ClientOptions["rest"]
  /**
   * Wait for discord.js's identify throttle (one IDENTIFY per ~5 s per bot, as Discord requires). Tests that force a
   * re-identify turn it off; production keeps it on.
   */
  readonly identifyThrottle?: boolean
  /** How long discord.js waits for the guilds of READY before it is ready anyway (default 15 s). */
  readonly waitGuildTimeoutMs?: number
  /** Give up connecting after this long (default 60 s); the channel actor then retries with backoff. */
  readonly readyTimeoutMs?: number
  /** Edits per Discord channel: at most `count` in `windowMs` (default 5 per 5 s, Discord's limit). */
  readonly editBudget?: { readonly count: number; readonly windowMs: number }
  /** How often "typing…" is renewed while the model thinks (default 8 s; Discord shows it for 10 s). */
  readonly typingIntervalMs?: number
  /** Unsent outbox chunks younger than this are resent with their nonce at startup (default 2 min). */
  readonly resendWindowMs?: number
}

const intents = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.DirectMessages,
  GatewayIntentBits.MessageContent
]

/** Gateway close codes after which discord.js gives up, with what the user should do. */
const closeReasons: Readonly<Record<number, string>> = {
  4004: "the token was rejected (check DISCORD_BOT_TOKEN)",
  4010: "invalid shard",
  4011: "sharding required (the bot is in too many guilds for one connection)",
  4012: "invalid gateway version",
  4013: "invalid intents",
  4014: "intents not allowed: enable the Message Content intent in the developer portal (Bot > Privileged Gateway Intents)"
}

/** Messages discord.js keeps per channel (nothing here reads old messages; its default is 200). */
export const messageCacheSize = 10

/**
 * discord.js's caches: the last `messageCacheSize` messages per channel, everything else as discord.js keeps it (users,
 * channels, guilds: bounded by what the bot is in). The message managers are recognised by identity, not by class
 * name as `Options.cacheWithLimits` does: the bundle (`dist/troupe.js`) is minified, so `GuildMessageManager` is
 * called something like `pv` there, a name-keyed limit never matches, and every message the bot ever saw stays cached.
 */
export const makeCache = ((managerType) =>
  managerType === MessageManager
    ? new LimitedCollection({ maxSize: messageCacheSize })
    : new Collection()) as CacheFactory

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

const noPingsOption = { parse: [], repliedUser: false }

export const makeDiscordChannel =
  (options: DiscordChannelOptions = {}): ChannelFactory<DiscordConfig> =>
  (config, host) =>
    Effect.gen(function* () {
      // The runner provides the channel services; `ChannelFactory`'s type only names `Scope`, so ask without requiring.
      const store = yield* Effect.serviceOption(Store).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () =>
              Effect.fail(new ChannelFailed({ channel: host.id, reason: "no Store in the channel's context" })),
            onSome: Effect.succeed
          })
        )
      )
      const scope = yield* Effect.scope
      const run = yield* FiberSet.makeRuntime<never>()
      let state: ChannelState = "connecting"
      const setState = (next: ChannelState, reason?: string) => {
        if (next === state && reason === undefined) return
        state = next
        host.setState(next, reason)
      }

      const client = new Client({
        intents,
        partials: [Partials.Channel],
        // Defaults for anything sent through discord.js structures; raw REST calls set `allowed_mentions` themselves.
        allowedMentions: noPingsOption,
        enforceNonce: true,
        // Nothing here reads old messages: keep the per-channel message cache tiny so memory stays flat.
        makeCache,
        rest: {
          ...(config.api === undefined ? {} : { api: config.api }),
          ...(config.requestTimeout === undefined ? {} : { timeout: config.requestTimeout }),
          ...options.rest
        },
        ...(options.waitGuildTimeoutMs === undefined ? {} : { waitGuildTimeout: options.waitGuildTimeoutMs }),
        ...(options.identifyThrottle === false
          ? { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) } }
          : {})
      })
      // Runs last (finalizers run in reverse): every fiber below is stopped before the connection closes for good.
      // Listeners go first, so closing the session is not reported as a disconnect of a channel that no longer exists.
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          client.removeAllListeners()
          client.rest.removeAllListeners()
          // An "error" event without a listener would throw.
          client.on(Events.Error, () => {})
          return Effect.tryPromise(() => client.destroy())
        }).pipe(Effect.catchAll((error) => Effect.logWarning(`discord: destroy failed: ${describe(error)}`)))
      )

      const pacer = makeEditPacer(options.editBudget?.count ?? 5, options.editBudget?.windowMs ?? 5000)
      const inbox = yield* Queue.unbounded<MessageReceived>()
      const ready = yield* Deferred.make<void, ChannelFailed>()
      let connected = false

      const context = (botId: string): InboundContext => ({
        channel: host.id,
        persona: host.persona().id,
        botId,
        config,
        accounts: host.accounts
      })

      // --- connection state -------------------------------------------------------------------------------------
      client.on(Events.ClientReady, () => {
        connected = true
        Deferred.unsafeDone(ready, Effect.void)
      })
      client.on(Events.ShardReconnecting, () => setState("down", "gateway reconnecting"))
      client.on(Events.ShardResume, (_shard, replayed) => {
        if (!connected) return
        setState("ready")
        run(Effect.logInfo(`discord: gateway session resumed (${replayed} events replayed)`))
      })
      client.on(Events.ShardReady, () => {
        if (!connected) return
        setState("ready")
        run(Effect.logInfo("discord: gateway identified again (new session)"))
      })
      client.on(Events.ShardDisconnect, (event) => {
        const reason = closeReasons[event.code] ?? `gateway closed with code ${event.code}`
        // Before the first ready this fails the connect at once (the actor retries with backoff, then gives up).
        if (!connected) Deferred.unsafeDone(ready, Effect.fail(new ChannelFailed({ channel: host.id, reason })))
        setState("failed", reason)
        run(Effect.logError(`discord: disconnected for good: ${reason}`))
      })
      client.on(Events.Invalidated, () => setState("failed", "session invalidated"))
      client.on(Events.Error, (error) => run(Effect.logWarning(`discord: client error: ${describe(error)}`)))
      client.on(Events.ShardError, (error) => run(Effect.logWarning(`discord: gateway error: ${describe(error)}`)))
      client.on(Events.Warn, (message) => run(Effect.logWarning(`discord: ${message}`)))
      client.rest.on("rateLimited", (info) =>
        run(
          Effect.logWarning(
            `discord: rate limited on ${info.method.toUpperCase()} ${info.route}: waiting ${info.timeToReset} ms` +
              `${info.global ? " (global)" : ""}, retry after ${info.retryAfter} ms`
          )
        )
      )

      // --- inbound ----------------------------------------------------------------------------------------------
      // Messages count from READY on (the bot user is known), also while discord.js still waits for guilds.
      client.on(Events.MessageCreate, (message: Message) => {
        const me = client.user
        if (me === null) return
        const place = placeOf(message.channel, message.channelId, message.guildId)
        if (!allowedIn(config, place)) return
        const received = fromMessage(message, context(me.id))
        if (received) inbox.unsafeOffer(received)
      })

      const commands = makeCommandHandler({
        config,
        host,
        store,
        scope,
        run,
        inbound: (interaction, place) => fromCommand(interaction, context(interaction.client.user.id), place),
        hand: (received) => Queue.offer(inbox, received)
      })
      client.on(Events.InteractionCreate, (interaction: Interaction) => {
        if (interaction.isChatInputCommand()) run(commands.onCommand(interaction))
      })
      yield* Effect.addFinalizer(() => Effect.sync(commands.close))

      // One consumer hands messages to the router in gateway order; one message's defect never stops the next.
      const handOver = (message: MessageReceived) =>
        host
          .receive(message)
          .pipe(
            Effect.catchAllCause((cause) => Effect.logError(`discord: could not hand over ${message.messageId}`, cause))
          )
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(inbox), handOver)))

      // --- connect ----------------------------------------------------------------------------------------------
      yield* Effect.tryPromise({
        try: () => client.login(config.token),
        catch: (error) => new ChannelFailed({ channel: host.id, reason: `login failed: ${describe(error)}` })
      })
      yield* Deferred.await(ready).pipe(
        Effect.timeoutFail({
          duration: Duration.millis(options.readyTimeoutMs ?? 60_000),
          onTimeout: () => new ChannelFailed({ channel: host.id, reason: "the gateway never became ready" })
        })
      )
      const user = client.user
      if (!client.isReady() || user === null) {
        return yield* new ChannelFailed({ channel: host.id, reason: "ready without a bot user" })
      }
      const botId = user.id
      host.accounts.add("discord", botId)
      yield* Effect.addFinalizer(() => Effect.sync(() => host.accounts.remove("discord", botId)))
      setState("ready")
      yield* Effect.logInfo(`discord: connected as ${user.tag} (${client.guilds.cache.size} guilds)`)

      yield* Effect.forkScoped(registerCommands(client, config, host.persona()))
      // `commands: guild` without a dev guild: a guild the bot joins later gets the commands too.
      client.on(Events.GuildCreate, (guild) => {
        if (config.commands !== "guild" || config.devGuild !== undefined || !client.isReady()) return
        run(registerCommands(client, { ...config, devGuild: guild.id }, host.persona()))
      })
      yield* Effect.forkScoped(
        recoverOutbox({
          store,
          rest: client.rest,
          channel: host.id,
          windowMs: options.resendWindowMs ?? 2 * 60_000,
          interactions: makeInteractionTurns(store, host.id)
        }).pipe(
          Effect.tap((resent) =>
            resent > 0 ? Effect.logInfo(`discord: resent ${resent} chunks after a restart`) : Effect.void
          )
        )
      )

      // --- outbound ---------------------------------------------------------------------------------------------
      const streaming = (): StreamingOptions => ({
        channel: host.id,
        persona: host.persona().id,
        limit: 2000,
        stream: config.stream,
        editInterval: config.editInterval,
        typingInterval: options.typingIntervalMs ?? 8000
      })

      const openReply = (target: ReplyTarget) => {
        const discordChannelId = target.thread ?? target.chat.id
        const base = { rest: client.rest, channel: host.id, discordChannelId, turnId: target.turnId, pacer }
        // The answer to a slash command goes to its interaction.
        const toInteraction = commands.openReply(target, base, streaming())
        if (toInteraction) return toInteraction
        // In guilds the first chunk replies to the message it answers (without pinging its author).
        const replyTo = target.chat.kind === "dm" ? undefined : discordMessageIdOf(target.replyTo)
        return makeStreamingReply(target, channelOps({ ...base, replyTo }), streaming(), store, scope)
      }

      const instance: ChannelInstance = {
        id: host.id,
        platform: "discord",
        state: () => state,
        openReply,
        context: () => undefined,
        maxMessageLength: 2000,
        attachments: true
      }
      return instance
    })

/** The Discord channel adapter the runtime loads for `type: discord` sections. */
export const discordChannel: ChannelFactory<DiscordConfig> = makeDiscordChannel()
