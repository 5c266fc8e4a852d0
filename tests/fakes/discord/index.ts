import type { Server } from "bun"
import type { FakeDiscord, FakeDiscordOptions } from "./api.ts"
import { type Conn, Gateway } from "./gateway.ts"
import { slashCommand } from "./interactions.ts"
import { wouldPing } from "./mentions.ts"
import { type Ctx, createUserMessage } from "./messages.ts"
import { everyoneRole, guildCreatePayload } from "./payloads.ts"
import { Rest } from "./rest.ts"
import { appRoutes } from "./routes-app.ts"
import { channelRoutes, startThread } from "./routes-channels.ts"
import { State } from "./state.ts"
import type { BotRecord, GuildRecord, UserRecord } from "./types.ts"
import { ChannelKind, Intent, isThreadType, PrivilegedIntents } from "./types.ts"

export type { FakeDiscord, FakeDiscordOptions, GuildSpec, UserSaysSpec } from "./api.ts"
export type { FailOptions, RateLimitOptions, RouteMatcher } from "./faults.ts"
export type { DropOptions } from "./gateway.ts"
export type { SlashCommandSpec } from "./interactions.ts"
export { snowflake } from "./snowflake.ts"
export type * from "./types.ts"
export { ChannelKind, Intent } from "./types.ts"

/**
 * Starts a fake Discord on 127.0.0.1 (random port) that the real discord.js client talks to. Destroy every client
 * before `stop()`: a client that is still running reconnects when the gateway goes away.
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
