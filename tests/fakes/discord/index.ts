import type { Server } from "bun"
import type { FailOptions, RateLimitOptions, RouteMatcher } from "./faults.ts"
import { type Conn, type DropOptions, Gateway } from "./gateway.ts"
import { type SlashCommandSpec, slashCommand } from "./interactions.ts"
import { wouldPing } from "./mentions.ts"
import { type Ctx, createUserMessage } from "./messages.ts"
import { everyoneRole, guildCreatePayload } from "./payloads.ts"
import { Rest } from "./rest.ts"
import { appRoutes } from "./routes-app.ts"
import { channelRoutes, startThread } from "./routes-channels.ts"
import { State } from "./state.ts"
import type {
  BotRecord,
  ChannelRecord,
  GuildRecord,
  IdentifyRecord,
  InteractionRecord,
  InteractionResponseRecord,
  Pings,
  RegisteredCommand,
  RequestRecord,
  ResumeRecord,
  StoredMessage,
  TypingCall,
  UserRecord
} from "./types.ts"
import { ChannelKind, Intent, isThreadType, PrivilegedIntents } from "./types.ts"

export type { FailOptions, RateLimitOptions, RouteMatcher } from "./faults.ts"
export type { DropOptions } from "./gateway.ts"
export type { SlashCommandSpec } from "./interactions.ts"
export { snowflake } from "./snowflake.ts"
export type * from "./types.ts"
export { ChannelKind, Intent } from "./types.ts"

export interface FakeDiscordOptions {
  /** HELLO's `heartbeat_interval` (default 41250 ms like Discord; use a few hundred ms in tests). */
  readonly heartbeatIntervalMs?: number
  /** Enforce real per-route buckets (default: never limited, headers say 4 of 5 left). */
  readonly buckets?: { readonly limit: number; readonly windowMs: number }
}

export interface GuildSpec {
  readonly id: string
  readonly name: string
  readonly ownerId?: string
  /** Guild channels; `type` defaults to 0 (text). Thread types (10–12) need a `parentId`. */
  readonly channels?: ReadonlyArray<{ id: string; name: string; type?: number; parentId?: string; topic?: string }>
  /** Roles besides the implicit `@everyone` (whose id is the guild id). */
  readonly roles?: ReadonlyArray<{ id: string; name: string; permissions?: string; mentionable?: boolean }>
  /** Members by user id (users must be added with `addUser`); bots in the guild are members automatically. */
  readonly members?: ReadonlyArray<string | { userId: string; roles?: string[]; nick?: string }>
  /** Bot user ids in the guild (default: every bot, including ones added later). */
  readonly bots?: ReadonlyArray<string>
}

export interface UserSaysSpec {
  /** Channel (or thread) the message goes to. */
  readonly channelId: string
  /** Post in this thread instead of `channelId`. */
  readonly threadId?: string
  readonly authorId: string
  readonly content: string
  /** Must match the channel's guild when given (it is derived from the channel). */
  readonly guildId?: string
  /** User ids mentioned besides the `<@id>`s in `content`. */
  readonly mentions?: ReadonlyArray<string>
  readonly mentionRoles?: ReadonlyArray<string>
  /** Override whether it mentions everyone (default: `@everyone`/`@here` appear in a guild message's content). */
  readonly mentionEveryone?: boolean
  readonly replyTo?: string
  /** Whether the reply pings its author (default true, like Discord's client). */
  readonly replyPing?: boolean
  readonly attachments?: ReadonlyArray<{ url: string; filename: string; content_type?: string; size?: number }>
  readonly embeds?: unknown[]
  /** Deliver to this bot only (default: every bot that can see the channel). */
  readonly botToken?: string
}

/** A running fake Discord (REST on `api`, gateway on `gatewayUrl`). See README in this folder's tests. */
export interface FakeDiscord {
  /** Pass as `rest: { api }` to discord.js: `http://127.0.0.1:PORT/api`. */
  readonly api: string
  readonly gatewayUrl: string
  readonly port: number
  addBot(bot: {
    token: string
    id: string
    username: string
    applicationId?: string
    privilegedIntents?: number
  }): BotRecord
  addUser(user: { id: string; username: string; bot?: boolean; globalName?: string }): UserRecord
  addGuild(guild: GuildSpec): GuildRecord
  dmChannel(botId: string, userId: string): ChannelRecord
  userSays(spec: UserSaysSpec): StoredMessage
  createThread(spec: {
    parentId: string
    name: string
    guildId?: string
    ownerId?: string
    type?: number
    id?: string
  }): ChannelRecord
  slashCommand(spec: SlashCommandSpec): InteractionRecord
  /** Sends a raw dispatch to every session of a bot. */
  dispatch(botToken: string, t: string, d: unknown): void
  forceReconnect(botToken: string): void
  dropGateway(botToken: string, options?: DropOptions): void
  invalidateSession(botToken: string, resumable?: boolean): void
  pauseHeartbeatAcks(botToken: string, paused?: boolean): void
  /** Open gateway connections of a bot. */
  connections(botToken: string): number
  rateLimitNext(route: RouteMatcher, options: RateLimitOptions): void
  failNext(route: RouteMatcher, status: number, options?: FailOptions): void
  /** The matching request takes effect (e.g. the message is created and dispatched) but is never answered. */
  acceptThenHang(route: RouteMatcher, options?: { times?: number }): void
  /** Answers the requests held by `acceptThenHang`. */
  releaseHung(): void
  wouldPing(message: StoredMessage | string): Pings
  message(id: string): StoredMessage | undefined
  channelMessages(channelId: string): StoredMessage[]
  readonly sent: ReadonlyArray<StoredMessage>
  readonly typing: ReadonlyArray<TypingCall>
  readonly commands: ReadonlyArray<RegisteredCommand>
  readonly interactions: ReadonlyArray<InteractionRecord>
  readonly interactionResponses: ReadonlyArray<InteractionResponseRecord>
  readonly identifies: ReadonlyArray<IdentifyRecord>
  readonly resumes: ReadonlyArray<ResumeRecord>
  readonly requests: ReadonlyArray<RequestRecord>
  /** Resolves with the predicate's first truthy value; rejects after `timeoutMs` (default 3000). */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>
  stop(): Promise<void>
}

/**
 * Starts a fake Discord on 127.0.0.1 (random port) that the real discord.js client talks to.
 *
 * @example
 * const dc = await startFakeDiscord({ heartbeatIntervalMs: 500 })
 * dc.addBot({ token: "t", id: snowflake(), username: "troupe" })
 * const client = new Client({ intents, partials, rest: { api: dc.api } })
 */
export const startFakeDiscord = async (options: FakeDiscordOptions = {}): Promise<FakeDiscord> => {
  const state = new State()
  let server: Server<Conn> | undefined
  const baseUrl = (): string => `http://127.0.0.1:${server?.port}`
  const gateway = new Gateway(
    state,
    options.heartbeatIntervalMs ?? 41_250,
    () => `${baseUrl().replace(/^http/, "ws")}/gateway/resume`
  )
  const ctx: Ctx = { state, gateway, baseUrl }
  const rest = new Rest(ctx, [...channelRoutes, ...appRoutes], options.buckets)
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request, srv) {
      const url = new URL(request.url)
      if (url.pathname === "/gateway" || url.pathname === "/gateway/resume") {
        return srv.upgrade(request, { data: gateway.newConn(url) })
          ? undefined
          : new Response("Upgrade required", { status: 426 })
      }
      return rest.handle(request)
    },
    websocket: {
      data: {} as Conn,
      open: (ws) => gateway.onOpen(ws),
      message: (ws, message) => gateway.onMessage(ws, message),
      close: (ws, code) => gateway.onClose(ws, code)
    }
  })
  const botId = (token: string): string => state.requireBotByToken(token).id

  const announceGuild = (guild: GuildRecord): void => {
    for (const id of state.guildBotIds(guild)) {
      gateway.dispatchToBot(id, "GUILD_CREATE", (session) =>
        (session.intents & Intent.Guilds) === 0 ? null : guildCreatePayload(state, guild, id)
      )
    }
  }

  return {
    api: `${baseUrl()}/api`,
    gatewayUrl: `${baseUrl().replace(/^http/, "ws")}/gateway`,
    port: server.port!,
    addBot(bot) {
      if (state.botsByToken.has(bot.token)) throw new Error("fake discord: duplicate bot token")
      const record: BotRecord = {
        token: bot.token,
        id: bot.id,
        applicationId: bot.applicationId ?? bot.id,
        username: bot.username,
        privilegedIntents: bot.privilegedIntents ?? PrivilegedIntents
      }
      state.users.set(bot.id, { id: bot.id, username: bot.username, globalName: null, bot: true })
      state.bots.set(bot.id, record)
      state.botsByToken.set(bot.token, record)
      return record
    },
    addUser(user) {
      const record: UserRecord = {
        id: user.id,
        username: user.username,
        globalName: user.globalName ?? null,
        bot: user.bot ?? false
      }
      state.users.set(user.id, record)
      return record
    },
    addGuild(spec) {
      const members = new Map(
        (spec.members ?? []).map((m) => {
          const member = typeof m === "string" ? { userId: m } : m
          state.requireUser(member.userId)
          return [
            member.userId,
            {
              userId: member.userId,
              roles: member.roles ?? [],
              nick: member.nick ?? null,
              joinedAt: new Date().toISOString()
            }
          ]
        })
      )
      const guild: GuildRecord = {
        id: spec.id,
        name: spec.name,
        ownerId: spec.ownerId ?? members.keys().next().value ?? spec.id,
        roles: [
          everyoneRole(spec.id),
          ...(spec.roles ?? []).map((r, i) => ({
            id: r.id,
            name: r.name,
            permissions: r.permissions ?? "0",
            mentionable: r.mentionable ?? true,
            position: i + 1
          }))
        ],
        members,
        botIds: spec.bots ? [...spec.bots] : undefined
      }
      state.guilds.set(guild.id, guild)
      for (const [position, ch] of (spec.channels ?? []).entries()) {
        const type = ch.type ?? ChannelKind.GuildText
        if (isThreadType(type) && !ch.parentId) throw new Error(`fake discord: thread ${ch.id} needs a parentId`)
        state.addChannel({
          id: ch.id,
          type,
          name: ch.name,
          guildId: guild.id,
          parentId: ch.parentId ?? null,
          ownerId: null,
          topic: ch.topic ?? null,
          position,
          dm: null
        })
      }
      announceGuild(guild)
      return guild
    },
    dmChannel: (bot, user) => {
      state.requireUser(user)
      if (!state.bots.has(bot)) throw new Error(`fake discord: ${bot} is not a bot`)
      return state.dmChannel(bot, user)
    },
    userSays(spec) {
      const channel = state.requireChannel(spec.threadId ?? spec.channelId)
      state.requireUser(spec.authorId)
      if (spec.guildId !== undefined && spec.guildId !== channel.guildId)
        throw new Error(`fake discord: channel ${channel.id} is not in guild ${spec.guildId}`)
      if (channel.dm && channel.dm.userId !== spec.authorId)
        throw new Error(`fake discord: ${spec.authorId} is not in DM ${channel.id}`)
      return createUserMessage(ctx, { ...spec, channel, ...(spec.botToken ? { onlyBotId: botId(spec.botToken) } : {}) })
    },
    createThread(spec) {
      const parent = state.requireChannel(spec.parentId)
      if (spec.guildId !== undefined && parent.guildId !== spec.guildId)
        throw new Error(`fake discord: ${parent.id} is not in guild ${spec.guildId}`)
      const ownerId = spec.ownerId ?? state.guilds.get(parent.guildId ?? "")?.ownerId ?? parent.id
      return startThread(ctx, parent, {
        name: spec.name,
        ownerId,
        ...(spec.type ? { type: spec.type } : {}),
        ...(spec.id ? { id: spec.id } : {})
      })
    },
    slashCommand: (spec) => slashCommand(ctx, spec),
    dispatch: (token, t, d) => gateway.dispatchToBot(botId(token), t, () => d),
    forceReconnect: (token) => gateway.forceReconnect(botId(token)),
    dropGateway: (token, opts) => gateway.dropGateway(botId(token), opts),
    invalidateSession: (token, resumable = false) => gateway.invalidateSession(botId(token), resumable),
    pauseHeartbeatAcks: (token, paused = true) => gateway.pauseHeartbeatAcks(botId(token), paused),
    connections: (token) => gateway.liveConnections(botId(token)),
    rateLimitNext: (route, opts) => rest.faults.arm(route, { kind: "rateLimit", options: opts }, opts.times),
    failNext: (route, status, opts = {}) => rest.faults.arm(route, { kind: "fail", status, options: opts }, opts.times),
    acceptThenHang: (route, opts = {}) => rest.faults.arm(route, { kind: "hang" }, opts.times),
    releaseHung: () => rest.releaseHung(),
    wouldPing(message) {
      const stored = typeof message === "string" ? state.messages.get(message) : message
      if (!stored) throw new Error(`fake discord: unknown message ${String(message)}`)
      return wouldPing(state, stored)
    },
    message: (id) => state.messages.get(id),
    channelMessages: (channelId) => state.channelMessages(channelId),
    get sent() {
      return state.sent
    },
    get typing() {
      return state.typing
    },
    get commands() {
      return state.commands
    },
    get interactions() {
      return [...state.interactions.values()]
    },
    get interactionResponses() {
      return state.interactionResponses
    },
    get identifies() {
      return state.identifies
    },
    get resumes() {
      return state.resumes
    },
    get requests() {
      return state.requests
    },
    async waitFor(predicate, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const value = predicate()
        if (value !== undefined && value !== null && value !== false) return value
        if (Date.now() > deadline) throw new Error(`fake discord: waitFor timed out after ${timeoutMs} ms`)
        await Bun.sleep(5)
      }
    },
    async stop() {
      gateway.closeAll()
      rest.releaseHung()
      await server?.stop(true)
    }
  }
}
