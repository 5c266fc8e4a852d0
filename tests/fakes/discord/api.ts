import type { FailOptions, RateLimitOptions, RouteMatcher } from "./faults.ts"
import type { DropOptions } from "./gateway.ts"
import type { SlashCommandSpec } from "./interactions.ts"
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

/** A running fake Discord (REST on `api`, gateway on `gatewayUrl`); see README.md beside this file. */
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
