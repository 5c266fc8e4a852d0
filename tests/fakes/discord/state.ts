import { snowflake } from "./snowflake.ts"
import type {
  BotRecord,
  ChannelRecord,
  GuildRecord,
  IdentifyRecord,
  InteractionRecord,
  InteractionResponseRecord,
  MemberRecord,
  RegisteredCommand,
  RequestRecord,
  ResumeRecord,
  RoleRecord,
  StoredMessage,
  TypingCall,
  UserRecord
} from "./types.ts"
import { ChannelKind, isThreadType } from "./types.ts"

/**
 * Permissions of the implicit `@everyone` role: view, send (also in threads), embed, attach, history, react,
 * mention everyone, application commands, create threads. Enough for discord.js permission checks to pass.
 */
export const EVERYONE_PERMISSIONS = (
  (1n << 6n) |
  (1n << 10n) |
  (1n << 11n) |
  (1n << 14n) |
  (1n << 15n) |
  (1n << 16n) |
  (1n << 17n) |
  (1n << 31n) |
  (1n << 35n) |
  (1n << 36n) |
  (1n << 38n)
).toString()

/** Everything the fake Discord knows: users, guilds, channels, messages, and what the bots did. */
export class State {
  readonly bots = new Map<string, BotRecord>()
  readonly botsByToken = new Map<string, BotRecord>()
  readonly users = new Map<string, UserRecord>()
  readonly guilds = new Map<string, GuildRecord>()
  readonly channels = new Map<string, ChannelRecord>()
  readonly messages = new Map<string, StoredMessage>()
  readonly interactions = new Map<string, InteractionRecord>()
  /** Files uploaded by bots, served back at their attachment URL. */
  readonly files = new Map<string, { data: Uint8Array<ArrayBuffer>; type: string }>()

  readonly sent: StoredMessage[] = []
  readonly typing: TypingCall[] = []
  readonly commands: RegisteredCommand[] = []
  readonly interactionResponses: InteractionResponseRecord[] = []
  readonly identifies: IdentifyRecord[] = []
  readonly resumes: ResumeRecord[] = []
  readonly requests: RequestRecord[] = []
  readonly presences: Array<{ botId: string; presence: unknown; at: number }> = []

  readonly createdAt = new Date().toISOString()

  user(id: string): UserRecord | undefined {
    return this.users.get(id)
  }

  requireUser(id: string): UserRecord {
    const user = this.users.get(id)
    if (!user) throw new Error(`fake discord: unknown user ${id}; add it with addUser first`)
    return user
  }

  requireChannel(id: string): ChannelRecord {
    const channel = this.channels.get(id)
    if (!channel) throw new Error(`fake discord: unknown channel ${id}`)
    return channel
  }

  botByToken(token: string): BotRecord | undefined {
    return this.botsByToken.get(token)
  }

  requireBotByToken(token: string): BotRecord {
    const bot = this.botsByToken.get(token)
    if (!bot) throw new Error("fake discord: unknown bot token")
    return bot
  }

  /** Bot ids that are members of a guild. */
  guildBotIds(guild: GuildRecord): string[] {
    return guild.botIds ?? [...this.bots.keys()]
  }

  isBotInGuild(botId: string, guild: GuildRecord): boolean {
    return this.guildBotIds(guild).includes(botId)
  }

  /** The member record of a user in a guild; bots that belong to it get one on demand. */
  member(guild: GuildRecord, userId: string): MemberRecord | undefined {
    const existing = guild.members.get(userId)
    if (existing) return existing
    if (this.bots.has(userId) && this.isBotInGuild(userId, guild)) {
      const member: MemberRecord = { userId, roles: [], nick: null, joinedAt: this.createdAt }
      guild.members.set(userId, member)
      return member
    }
    return undefined
  }

  /** Adds a user to a guild as a plain member unless they already are one. */
  ensureMember(guild: GuildRecord, userId: string): MemberRecord {
    const member = this.member(guild, userId)
    if (member) return member
    const added: MemberRecord = { userId, roles: [], nick: null, joinedAt: new Date().toISOString() }
    guild.members.set(userId, added)
    return added
  }

  role(guild: GuildRecord, id: string): RoleRecord | undefined {
    return guild.roles.find((role) => role.id === id)
  }

  /** Bots that can see a channel: members of its guild, or the bot side of a DM. */
  audience(channel: ChannelRecord): string[] {
    if (channel.dm) return [channel.dm.botId]
    const guild = channel.guildId ? this.guilds.get(channel.guildId) : undefined
    return guild ? this.guildBotIds(guild) : []
  }

  canSee(botId: string, channel: ChannelRecord): boolean {
    return this.audience(channel).includes(botId)
  }

  guildThreads(guildId: string): ChannelRecord[] {
    return [...this.channels.values()].filter((ch) => ch.guildId === guildId && isThreadType(ch.type))
  }

  guildChannels(guildId: string): ChannelRecord[] {
    return [...this.channels.values()].filter((ch) => ch.guildId === guildId && !isThreadType(ch.type))
  }

  addChannel(spec: Omit<ChannelRecord, "lastMessageId" | "messageIds" | "createdAt">): ChannelRecord {
    const channel: ChannelRecord = { ...spec, createdAt: new Date().toISOString(), lastMessageId: null, messageIds: [] }
    this.channels.set(channel.id, channel)
    return channel
  }

  /** The DM channel between a bot and a user, created on first use. */
  dmChannel(botId: string, userId: string): ChannelRecord {
    for (const channel of this.channels.values()) {
      if (channel.dm?.botId === botId && channel.dm.userId === userId) return channel
    }
    return this.addChannel({
      id: snowflake(),
      type: ChannelKind.DM,
      name: null,
      guildId: null,
      parentId: null,
      ownerId: null,
      topic: null,
      position: 0,
      dm: { botId, userId }
    })
  }

  storeMessage(message: StoredMessage): void {
    this.messages.set(message.id, message)
    const channel = this.channels.get(message.channelId)
    if (channel) {
      channel.messageIds.push(message.id)
      channel.lastMessageId = message.id
    }
    if (message.byBot) this.sent.push(message)
  }

  /** Messages in a channel as users see them now: oldest first, deleted and ephemeral ones left out. */
  channelMessages(channelId: string): StoredMessage[] {
    const channel = this.channels.get(channelId)
    if (!channel) return []
    return channel.messageIds
      .map((id) => this.messages.get(id))
      .filter((m): m is StoredMessage => m !== undefined && !m.deleted && (m.flags & 64) === 0)
  }
}
