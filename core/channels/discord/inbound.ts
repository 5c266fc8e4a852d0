/**
 * Discord messages and slash commands as `MessageReceived` events: stable ids, where they were said (DM, guild
 * channel, thread), who said it, whether the persona was mentioned or replied to, and image attachments. Also the
 * guild/channel allow and deny lists, checked before anything reaches the router.
 */
import {
  type ChatInputCommandInteraction,
  type Attachment as DiscordAttachment,
  type Message,
  MessageType,
  type TextBasedChannel
} from "discord.js"
import type { Attachment, MessageReceived } from "../../events/Events.ts"
import { newCorrelationId } from "../../log/Correlation.ts"
import type { BotAccounts } from "../Channel.ts"
import type { DiscordConfig } from "./DiscordConfig.ts"

/** Where something was said: the chat (DM channel, or guild channel), the thread, and the ids the lists match. */
export interface Place {
  readonly guildId: string | null
  readonly chat: MessageReceived["chat"]
  readonly thread?: string
  /** The Discord channel to answer in (the thread when there is one). */
  readonly channelId: string
  /** Ids the channel allow/deny lists match: the channel or thread, its parent channel, its category. */
  readonly listIds: ReadonlyArray<string>
}

type AnyChannel = TextBasedChannel | ChatInputCommandInteraction["channel"]

export const placeOf = (channel: AnyChannel, channelId: string, guildId: string | null): Place => {
  if (guildId === null || channel?.isDMBased()) {
    return { guildId: null, chat: { id: channelId, kind: "dm" }, channelId, listIds: [channelId] }
  }
  const guildName = channel && "guild" in channel ? channel.guild?.name : undefined
  if (channel?.isThread()) {
    const parentId = channel.parentId ?? channelId
    const parentName = channel.parent?.name
    return {
      guildId,
      chat: { id: parentId, kind: "group", ...titleOf(guildName, parentName) },
      thread: channelId,
      channelId,
      listIds: compact([channelId, parentId, channel.parent?.parentId])
    }
  }
  const name = channel && "name" in channel ? channel.name : undefined
  const category = channel && "parentId" in channel ? channel.parentId : undefined
  return {
    guildId,
    chat: { id: channelId, kind: "group", ...titleOf(guildName, name ?? undefined) },
    channelId,
    listIds: compact([channelId, category])
  }
}

const titleOf = (guild: string | undefined, channel: string | undefined) => {
  const title = [guild, channel === undefined ? undefined : `#${channel}`].filter(Boolean).join(" ")
  return title === "" ? {} : { title }
}

const compact = (ids: ReadonlyArray<string | null | undefined>): Array<string> =>
  ids.filter((id): id is string => typeof id === "string" && id !== "")

/** Whether the allow/deny lists let the persona hear this place. DMs are not in a guild and always pass. */
export const allowedIn = (config: DiscordConfig, place: Place): boolean => {
  if (place.guildId === null) return true
  const { guilds, channels } = config
  if (guilds.deny.includes(place.guildId)) return false
  if (guilds.allow.length > 0 && !guilds.allow.includes(place.guildId)) return false
  if (place.listIds.some((id) => channels.deny.includes(id))) return false
  if (channels.allow.length > 0 && !place.listIds.some((id) => channels.allow.includes(id))) return false
  return true
}

const imageTypes: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp"
}

/** Discord attachments by URL (both providers fetch images by URL, so nothing is downloaded here). */
export const attachmentsOf = (attachments: Iterable<DiscordAttachment>): Array<Attachment> =>
  [...attachments].map((attachment) => {
    const extension = /\.([a-z0-9]+)$/i.exec(attachment.name)?.[1]?.toLowerCase() ?? ""
    const mime = attachment.contentType?.split(";")[0]?.trim() || imageTypes[extension] || "application/octet-stream"
    const kind = mime.startsWith("image/")
      ? "image"
      : mime.startsWith("audio/")
        ? "audio"
        : mime.startsWith("video/")
          ? "video"
          : "file"
    return { kind, mime, name: attachment.name, url: attachment.url, size: attachment.size }
  })

export interface InboundContext {
  /** The Troupe channel id (`discord:<bot id>`). */
  readonly channel: string
  readonly persona: string
  readonly botId: string
  readonly config: DiscordConfig
  readonly accounts: BotAccounts
}

/** `discord:<bot>/<channel>/<message>`: what the router dedupes on and what a reply target carries back. */
export const inboundId = (channel: string, discordChannelId: string, id: string) =>
  `${channel}/${discordChannelId}/${id}`

/** The Discord message id inside an inbound id (undefined for interactions, whose last segment starts with `i`). */
export const discordMessageIdOf = (messageId: string | undefined): string | undefined => {
  const last = messageId?.split("/").at(-1)
  return last !== undefined && /^\d+$/.test(last) ? last : undefined
}

/** Whether the persona was addressed: its user, a role it has (when enabled), or @everyone/@here (when enabled). */
const mentionsPersona = (message: Message, context: InboundContext): boolean => {
  const mentions = message.mentions
  // A reply's automatic ping of the replied-to author is `replyToSelf`, not a mention.
  if (mentions.has(context.botId, { ignoreEveryone: true, ignoreRoles: true, ignoreRepliedUser: true })) return true
  if (context.config.everyone && mentions.everyone) return true
  if (context.config.roleMentions && mentions.roles.size > 0) {
    const own = message.guild?.members.me?.roles.cache
    if (own && mentions.roles.some((role) => own.has(role.id))) return true
  }
  return false
}

/** A user message as the router sees it, or undefined when there is nothing to answer (system messages, no content). */
export const fromMessage = (message: Message, context: InboundContext): MessageReceived | undefined => {
  if (message.type !== MessageType.Default && message.type !== MessageType.Reply) return undefined
  const attachments = attachmentsOf(message.attachments.values())
  const text = (message.cleanContent ?? message.content).trim()
  if (text === "" && attachments.length === 0) return undefined
  const place = placeOf(message.channel, message.channelId, message.guildId)
  const author = message.author
  return {
    _tag: "MessageReceived",
    at: message.createdTimestamp,
    correlationId: newCorrelationId(),
    persona: context.persona,
    channel: context.channel,
    platform: "discord",
    messageId: inboundId(context.channel, message.channelId, message.id),
    chat: place.chat,
    ...(place.thread === undefined ? {} : { thread: place.thread }),
    author: {
      id: author.id,
      name: message.member?.displayName ?? author.displayName,
      handle: author.username,
      isBot: author.bot || message.webhookId !== null || context.accounts.has("discord", author.id)
    },
    text,
    attachments,
    mentioned: mentionsPersona(message, context),
    replyToSelf: message.mentions.repliedUser?.id === context.botId,
    fromSelf: author.id === context.botId
  }
}

/** A slash command addressed to this bot, as a command message (answered by the conversation). */
export const fromCommand = (interaction: ChatInputCommandInteraction, context: InboundContext, place: Place) => {
  const user = interaction.user
  const member = interaction.member
  const memberName = member && "displayName" in member ? member.displayName : undefined
  const received: MessageReceived = {
    _tag: "MessageReceived",
    at: interaction.createdTimestamp,
    correlationId: newCorrelationId(),
    persona: context.persona,
    channel: context.channel,
    platform: "discord",
    messageId: inboundId(context.channel, interaction.channelId, `i${interaction.id}`),
    chat: place.chat,
    ...(place.thread === undefined ? {} : { thread: place.thread }),
    author: {
      id: user.id,
      name: memberName ?? user.displayName,
      handle: user.username,
      isBot: user.bot,
      language: interaction.locale
    },
    text: `/${interaction.commandName}`,
    attachments: [],
    mentioned: false,
    replyToSelf: false,
    fromSelf: false,
    command: { name: interaction.commandName, args: "" }
  }
  return received
}
