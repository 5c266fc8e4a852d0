/** Plain JSON object as it travels on the wire. */
export type Json = Record<string, unknown>

/** Gateway intent bits the fake enforces. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15
} as const

/** The privileged intents; IDENTIFY asking for one the bot was not granted is closed with 4014. */
export const PrivilegedIntents = Intent.GuildMembers | Intent.GuildPresences | Intent.MessageContent

/** Channel types the fake models (Discord's numbering). */
export const ChannelKind = {
  GuildText: 0,
  DM: 1,
  GuildVoice: 2,
  GuildCategory: 4,
  GuildAnnouncement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12
} as const

export const isThreadType = (type: number): boolean => type === 10 || type === 11 || type === 12

export interface BotRecord {
  readonly token: string
  readonly id: string
  readonly applicationId: string
  readonly username: string
  /** Privileged intents this bot may ask for (default: all of them). */
  readonly privilegedIntents: number
}

export interface UserRecord {
  readonly id: string
  readonly username: string
  readonly globalName: string | null
  readonly bot: boolean
}

export interface RoleRecord {
  readonly id: string
  readonly name: string
  readonly permissions: string
  readonly mentionable: boolean
  readonly position: number
}

export interface MemberRecord {
  readonly userId: string
  roles: string[]
  nick: string | null
  readonly joinedAt: string
}

export interface GuildRecord {
  readonly id: string
  readonly name: string
  readonly ownerId: string
  readonly roles: RoleRecord[]
  readonly members: Map<string, MemberRecord>
  /** Bot user ids that are members; `undefined` means every bot, including ones added later. */
  readonly botIds: string[] | undefined
}

export interface ChannelRecord {
  readonly id: string
  readonly type: number
  readonly name: string | null
  readonly guildId: string | null
  readonly parentId: string | null
  readonly ownerId: string | null
  readonly topic: string | null
  readonly position: number
  readonly createdAt: string
  /** For DM channels: the bot and the user on either side. */
  readonly dm: { readonly botId: string; readonly userId: string } | null
  lastMessageId: string | null
  readonly messageIds: string[]
}

/** `allowed_mentions` exactly as a client sent it. */
export interface AllowedMentions {
  readonly parse?: ReadonlyArray<string>
  readonly users?: ReadonlyArray<string>
  readonly roles?: ReadonlyArray<string>
  readonly replied_user?: boolean
}

export interface AttachmentRecord {
  readonly id: string
  readonly filename: string
  readonly size: number
  readonly url: string
  readonly proxy_url: string
  readonly content_type?: string
  readonly description?: string
}

/** One version of a message's text: the creation, then one entry per edit. */
export interface MessageVersion {
  readonly content: string
  readonly at: number
  readonly allowedMentions: AllowedMentions | undefined
}

/** A message in the fake, whoever wrote it. `content` is always the text users see now. */
export interface StoredMessage {
  readonly id: string
  readonly channelId: string
  readonly guildId: string | null
  readonly authorId: string
  /** True when a bot created it (REST, interaction response or follow-up). */
  readonly byBot: boolean
  readonly via: "user" | "rest" | "interaction"
  content: string
  embeds: unknown[]
  components: unknown[]
  attachments: AttachmentRecord[]
  allowedMentions: AllowedMentions | undefined
  readonly history: MessageVersion[]
  readonly replyTo: string | null
  /** Whether a reply by a user pings the replied-to author (the Discord client's default is yes). */
  readonly replyPing: boolean
  /** Mentions as Discord resolved them (what the `mentions*` fields of the payload say). */
  mentions: { users: string[]; roles: string[]; everyone: boolean }
  flags: number
  readonly nonce: string | number | null
  readonly tts: boolean
  readonly createdAt: number
  editedAt: number | null
  deleted: boolean
  readonly interactionId: string | null
  readonly reactions: Array<{ emoji: string; userId: string }>
}

/** Who a message would actually notify. */
export interface Pings {
  readonly users: string[]
  readonly roles: string[]
  /** `@everyone` would notify. */
  readonly everyone: boolean
  /** `@here` would notify. */
  readonly here: boolean
  /** Anyone at all. */
  readonly any: boolean
}

export interface TypingCall {
  readonly channelId: string
  readonly botId: string
  readonly at: number
}

export interface RegisteredCommand {
  readonly id: string
  readonly applicationId: string
  readonly guildId: string | null
  readonly name: string
  readonly description: string
  readonly type: number
  readonly options: Json[]
  readonly raw: Json
}

export interface InteractionRecord {
  readonly id: string
  readonly token: string
  readonly botId: string
  readonly applicationId: string
  readonly channelId: string
  readonly guildId: string | null
  readonly userId: string
  readonly commandName: string
  /** Callback type of the initial response (4 reply, 5 deferred, …), null while unanswered. */
  acknowledged: number | null
  /** The message shown as the initial response (absent for ephemeral-less defers until edited). */
  originalMessageId: string | null
  readonly followupIds: string[]
  ephemeral: boolean
}

export interface InteractionResponseRecord {
  readonly interactionId: string
  readonly kind: "callback" | "edit-original" | "followup" | "delete-original"
  /** Callback type for `callback`, otherwise null. */
  readonly type: number | null
  readonly data: Json | null
  readonly at: number
}

export interface IdentifyRecord {
  readonly botId: string
  readonly token: string
  readonly intents: number
  readonly sessionId: string
  readonly compress: boolean
  readonly at: number
}

export interface ResumeRecord {
  readonly botId: string
  readonly sessionId: string
  readonly seq: number
  readonly replayed: number
  /** Whether the client reconnected to `resume_gateway_url` (as it should) rather than the plain gateway URL. */
  readonly viaResumeUrl: boolean
  readonly at: number
}

export interface RequestRecord {
  readonly method: string
  /** Path below `/api/v10`, without the query string. */
  readonly path: string
  readonly query: string
  readonly status: number
  readonly botId: string | null
  readonly body: unknown
  readonly at: number
}
