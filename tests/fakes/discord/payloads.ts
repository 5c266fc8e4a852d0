import { EVERYONE_PERMISSIONS, type State } from "./state.ts"
import type { ChannelRecord, GuildRecord, Json, MemberRecord, StoredMessage, UserRecord } from "./types.ts"
import { isThreadType } from "./types.ts"

const iso = (ms: number): string => new Date(ms).toISOString()

export const userPayload = (user: UserRecord): Json => ({
  id: user.id,
  username: user.username,
  discriminator: "0",
  global_name: user.globalName,
  avatar: null,
  ...(user.bot ? { bot: true } : {}),
  public_flags: 0,
  flags: 0,
  banner: null,
  accent_color: null,
  avatar_decoration_data: null
})

/** Like a user payload but never failing: unknown ids become a minimal user. */
export const userPayloadById = (state: State, id: string): Json => {
  const user = state.user(id)
  return user ? userPayload(user) : userPayload({ id, username: `unknown-${id}`, globalName: null, bot: false })
}

export const memberPayload = (state: State, member: MemberRecord, withUser: boolean): Json => ({
  ...(withUser ? { user: userPayloadById(state, member.userId) } : {}),
  nick: member.nick,
  avatar: null,
  banner: null,
  roles: member.roles,
  joined_at: member.joinedAt,
  premium_since: null,
  deaf: false,
  mute: false,
  flags: 0,
  pending: false,
  communication_disabled_until: null
})

export const rolePayload = (role: GuildRecord["roles"][number]): Json => ({
  id: role.id,
  name: role.name,
  color: 0,
  colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
  hoist: false,
  icon: null,
  unicode_emoji: null,
  position: role.position,
  permissions: role.permissions,
  managed: false,
  mentionable: role.mentionable,
  flags: 0
})

export const channelPayload = (state: State, channel: ChannelRecord): Json => {
  if (channel.dm) {
    return {
      id: channel.id,
      type: channel.type,
      last_message_id: channel.lastMessageId,
      flags: 0,
      recipients: [userPayloadById(state, channel.dm.userId)]
    }
  }
  if (isThreadType(channel.type)) {
    return {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      parent_id: channel.parentId,
      owner_id: channel.ownerId,
      name: channel.name,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: 0,
      flags: 0,
      message_count: channel.messageIds.length,
      member_count: 1,
      total_message_sent: channel.messageIds.length,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: channel.createdAt,
        locked: false,
        create_timestamp: channel.createdAt
      }
    }
  }
  return {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    permission_overwrites: [],
    parent_id: channel.parentId,
    topic: channel.topic,
    nsfw: false,
    last_message_id: channel.lastMessageId,
    rate_limit_per_user: 0,
    flags: 0
  }
}

/** The full GUILD_CREATE payload as the given bot sees the guild. */
export const guildCreatePayload = (state: State, guild: GuildRecord, botId: string): Json => {
  state.member(guild, botId)
  const members = [...guild.members.values()].map((m) => memberPayload(state, m, true))
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: guild.roles.map(rolePayload),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    max_members: 500000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: "en-US",
    nsfw_level: 0,
    joined_at: state.createdAt,
    large: false,
    unavailable: false,
    lazy: true,
    member_count: members.length,
    members,
    channels: state.guildChannels(guild.id).map((ch) => {
      const { guild_id: _omitted, ...rest } = channelPayload(state, ch)
      return rest
    }),
    threads: state.guildThreads(guild.id).map((ch) => channelPayload(state, ch)),
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    embedded_activities: []
  }
}

/** The `@everyone` role every guild has (its id is the guild id). */
export const everyoneRole = (guildId: string): GuildRecord["roles"][number] => ({
  id: guildId,
  name: "@everyone",
  permissions: EVERYONE_PERMISSIONS,
  mentionable: false,
  position: 0
})

export interface MessagePayloadOptions {
  /** Add the gateway-only fields: `guild_id`, `member`, `channel_type`, members on mentions. */
  readonly gateway: boolean
  /** Build without `referenced_message` (for the nested copy). */
  readonly nested?: boolean
}

/** A message object as Discord serialises it (REST shape, or the MESSAGE_CREATE shape when `gateway`). */
export const messagePayload = (state: State, message: StoredMessage, options: MessagePayloadOptions): Json => {
  const channel = state.channels.get(message.channelId)
  const guild = message.guildId ? state.guilds.get(message.guildId) : undefined
  const interaction = message.interactionId ? state.interactions.get(message.interactionId) : undefined
  const replied = message.replyTo ? state.messages.get(message.replyTo) : undefined
  const bot = state.bots.get(message.authorId)
  const type = interaction && !replied ? 20 : replied ? 19 : 0
  const payload: Json = {
    id: message.id,
    type,
    channel_id: message.channelId,
    content: message.content,
    author: userPayloadById(state, message.authorId),
    attachments: message.attachments,
    embeds: message.embeds,
    components: message.components,
    mentions: message.mentions.users.map((id) => {
      const member = guild && options.gateway ? state.member(guild, id) : undefined
      return { ...userPayloadById(state, id), ...(member ? { member: memberPayload(state, member, false) } : {}) }
    }),
    mention_roles: message.mentions.roles,
    mention_everyone: message.mentions.everyone,
    pinned: false,
    tts: message.tts,
    timestamp: iso(message.createdAt),
    edited_timestamp: message.editedAt === null ? null : iso(message.editedAt),
    flags: message.flags
  }
  if (message.nonce !== null) payload.nonce = message.nonce
  if (interaction) {
    payload.webhook_id = interaction.applicationId
    payload.application_id = interaction.applicationId
    payload.interaction_metadata = {
      id: interaction.id,
      type: 2,
      name: interaction.commandName,
      command_type: 1,
      user: userPayloadById(state, interaction.userId),
      authorizing_integration_owners: interaction.guildId ? { "0": interaction.guildId } : { "1": interaction.userId }
    }
  } else if (bot) {
    payload.application_id = bot.applicationId
  }
  if (message.replyTo) {
    payload.message_reference = {
      type: 0,
      message_id: message.replyTo,
      channel_id: message.channelId,
      ...(message.guildId ? { guild_id: message.guildId } : {})
    }
    if (!options.nested) {
      payload.referenced_message =
        replied && !replied.deleted ? messagePayload(state, replied, { gateway: false, nested: true }) : null
    }
  }
  if (options.gateway) {
    if (channel) payload.channel_type = channel.type
    if (message.guildId) {
      payload.guild_id = message.guildId
      const member = guild && !interaction ? state.member(guild, message.authorId) : undefined
      if (member) payload.member = memberPayload(state, member, false)
    }
  }
  return payload
}
