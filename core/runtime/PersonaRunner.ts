/**
 * One running persona: a group in the actor tree with one actor per channel connection and a router that spawns the
 * conversation actors. A channel actor's setup connects; a failure to connect (or a crash) restarts it with backoff,
 * like any actor. A persona reload applies to the next message of every conversation; only channel sections that
 * changed are reconnected.
 */
import { Effect, type Scope } from "effect"
import type { ActorRef, Supervisor } from "../actor/Actor.ts"
import type {
  BotAccounts,
  ChannelFactory,
  ChannelHost,
  ChannelInstance,
  ChannelServices,
  ChannelState
} from "../channels/Channel.ts"
import { channelIdOf } from "../channels/channelId.ts"
import { makeRouter, type Router, type RouterServices } from "../conversation/Router.ts"
import { EventBus } from "../events/EventBus.ts"
import { Health } from "../http/Health.ts"
import { Redaction } from "../log/Redactor.ts"
import type { ChannelConfig, PersonaDefinition } from "../persona/Persona.ts"

export type PersonaServices = RouterServices | ChannelServices | Health

/** Loads a channel adapter on first use, so a runtime without Discord personas never imports discord.js. */
export type FactoryLoader = (type: ChannelConfig["type"]) => Effect.Effect<ChannelFactory<ChannelConfig>>

export const loadFactory: FactoryLoader = (type) =>
  Effect.promise(async () => {
    switch (type) {
      case "telegram":
        return (await import("../channels/telegram/TelegramChannel.ts"))
          .telegramChannel as ChannelFactory<ChannelConfig>
      case "discord":
        return (await import("../channels/discord/DiscordChannel.ts")).discordChannel as ChannelFactory<ChannelConfig>
      case "cytube":
        return (await import("../channels/cytube/CytubeChannel.ts")).cytubeChannel as ChannelFactory<ChannelConfig>
    }
  })

export interface PersonaRunnerOptions {
  readonly dryRun: boolean
  /** Start the channels of `channels:` (off for `troupe chat`, which only talks on the console). */
  readonly platformChannels: boolean
  readonly accounts: BotAccounts
  readonly loadFactory?: FactoryLoader
  readonly random?: () => number
}

export interface PersonaRuntime {
  readonly id: string
  readonly router: Router
  readonly current: () => PersonaDefinition
  /** Running channel instances by id. */
  readonly channels: ReadonlyMap<string, ChannelInstance>
  /** Apply a new version of the persona: reconnect only the channel sections that changed. */
  readonly update: (next: PersonaDefinition) => Effect.Effect<void>
  /** Attach a channel that is not in `channels:` (the web playground, the console, an in-memory channel). */
  readonly attach: (instance: ChannelInstance) => Effect.Effect<void, never, Scope.Scope>
  readonly host: (id: string) => ChannelHost
}

/** Whether a section can connect at all (an empty token or server means "not configured"). */
export const missingCredential = (section: ChannelConfig): string | undefined => {
  switch (section.type) {
    case "telegram":
      return section.token ? undefined : "no token (set TELEGRAM_BOT_TOKEN or channels[].token)"
    case "discord":
      return section.token ? undefined : "no token (set DISCORD_BOT_TOKEN or channels[].token)"
    case "cytube":
      return section.server && section.room ? undefined : "no server or room (set CYTUBE_SERVER and CYTUBE_CHANNEL)"
  }
}

const secretsOf = (section: ChannelConfig): ReadonlyArray<string | undefined> => {
  switch (section.type) {
    case "telegram":
      return [section.token, section.webhook?.secret]
    case "discord":
      return [section.token]
    case "cytube":
      return [section.password, section.roomPassword]
  }
}

export const startPersona = (
  root: Supervisor,
  initial: PersonaDefinition,
  options: PersonaRunnerOptions
): Effect.Effect<PersonaRuntime, never, PersonaServices | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<PersonaServices>()
    const health = yield* Health
    const bus = yield* EventBus
    const redactor = yield* Redaction
    const load = options.loadFactory ?? loadFactory
    let current = initial
    const id = initial.id
    const group = yield* Effect.orDie(root.group(`persona:${id}`, "persona", { persona: id }))
    const routerGroup = yield* Effect.orDie(group.group("router", "router", { persona: id }))
    const channels = new Map<string, ChannelInstance>()
    const sections = new Map<string, ChannelConfig>()
    // A channel of `channels:` that has not connected yet is worth waiting for (up to 30 s); any other is not there,
    // and nothing is waited for once the persona is stopping.
    let stopping = false
    const awaitChannel = (channelId: string) =>
      Effect.gen(function* () {
        for (let waited = 0; waited < 30_000 && sections.has(channelId) && !stopping; waited += 100) {
          const instance = channels.get(channelId)
          if (instance) return instance
          yield* Effect.sleep("100 millis")
        }
        return channels.get(channelId)
      })
    const router = yield* makeRouter(routerGroup, {
      persona: () => current,
      channel: (channelId) => channels.get(channelId),
      awaitChannel,
      dryRun: options.dryRun,
      ...(options.random ? { random: options.random } : {})
    })

    const host = (channelId: string): ChannelHost => ({
      id: channelId,
      persona: () => current,
      receive: router.receive,
      bus,
      dryRun: options.dryRun,
      accounts: options.accounts,
      setState: (state: ChannelState, reason?: string) => {
        health.set(`channel ${channelId}`, state === "connecting" ? "starting" : state, reason)
        bus.unsafePublish({
          _tag: "ChannelStatus",
          at: Date.now(),
          persona: id,
          channel: channelId,
          status: state,
          ...(reason === undefined ? {} : { reason })
        })
      }
    })

    type ChannelCommand = { readonly _tag: "Crash"; readonly reason: string }
    const channelActors = new Map<string, ActorRef<ChannelCommand>>()

    const startChannel = (section: ChannelConfig) =>
      Effect.gen(function* () {
        const channelId = channelIdOf(section)
        sections.set(channelId, section)
        for (const secret of secretsOf(section)) redactor.add(secret)
        const channelHost = host(channelId)
        const missing = missingCredential(section)
        if (missing) {
          channelHost.setState("disabled", missing)
          yield* Effect.logWarning(`persona ${id}: ${section.type} channel is off: ${missing}`)
          return
        }
        channelHost.setState("connecting")
        const ref = yield* group
          .spawn<ChannelCommand, PersonaServices>(
            {
              id: `channel:${channelId}`,
              kind: "channel",
              labels: { persona: id, channel: channelId, platform: section.type },
              mailboxCapacity: 16,
              restart: { initialDelay: "1 second", maxDelay: "1 minute", maxRestarts: 10, window: "10 minutes" }
            },
            Effect.gen(function* () {
              const factory = yield* load(section.type)
              const instance = yield* factory(section, channelHost).pipe(
                Effect.tapError((error) => Effect.sync(() => channelHost.setState("down", error.reason)))
              )
              channels.set(channelId, instance)
              yield* Effect.addFinalizer(() =>
                Effect.sync(() => {
                  if (channels.get(channelId) === instance) channels.delete(channelId)
                })
              )
              return (command: ChannelCommand) => Effect.fail(new Error(command.reason))
            })
          )
          .pipe(Effect.orDie)
        channelActors.set(channelId, ref)
        // When the restart budget runs out the channel stays failed; the rest of the persona goes on.
        yield* Effect.forkDaemon(
          Effect.flatMap(ref.done, () =>
            Effect.sync(() => {
              if (ref.state === "failed") channelHost.setState("failed", "gave up reconnecting (see the log)")
            })
          )
        )
      }).pipe(Effect.annotateLogs({ persona: id }))

    const stopChannel = (channelId: string) =>
      Effect.gen(function* () {
        sections.delete(channelId)
        channelActors.delete(channelId)
        health.remove(`channel ${channelId}`)
        yield* group.stop(`channel:${channelId}`)
      })

    if (options.platformChannels) {
      for (const section of initial.channels) yield* startChannel(section)
    }

    const update = (next: PersonaDefinition) =>
      Effect.gen(function* () {
        current = next
        if (!options.platformChannels) return
        const wanted = new Map(next.channels.map((section) => [channelIdOf(section), section]))
        for (const channelId of [...sections.keys()]) {
          const section = wanted.get(channelId)
          if (!section) {
            yield* Effect.logInfo(`persona ${id}: channel ${channelId} removed`)
            yield* stopChannel(channelId)
          } else if (JSON.stringify(section) !== JSON.stringify(sections.get(channelId))) {
            yield* Effect.logInfo(`persona ${id}: channel ${channelId} changed, reconnecting`)
            yield* stopChannel(channelId)
            yield* startChannel(section)
          }
        }
        for (const [channelId, section] of wanted) {
          if (!sections.has(channelId)) yield* startChannel(section)
        }
      }).pipe(Effect.provide(context))

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopping = true
        for (const channelId of sections.keys()) health.remove(`channel ${channelId}`)
      })
    )

    return {
      id,
      router,
      current: () => current,
      channels,
      update,
      host,
      attach: (instance) =>
        Effect.acquireRelease(
          Effect.sync(() => channels.set(instance.id, instance)),
          () => Effect.sync(() => channels.delete(instance.id))
        )
    }
  })
