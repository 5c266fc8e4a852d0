import { type ApiError, Errors, invalidForm } from "./errors.ts"
import type { Gateway } from "./gateway.ts"
import { allowedMentionsErrors, parseMentions, pingsOf } from "./mentions.ts"
import { messagePayload } from "./payloads.ts"
import { snowflake } from "./snowflake.ts"
import type { State } from "./state.ts"
import type { AllowedMentions, AttachmentRecord, BotRecord, ChannelRecord, Json, StoredMessage } from "./types.ts"
import { Intent } from "./types.ts"

/** What message handlers need: the state, the gateway to dispatch on, and the server's base URL. */
export interface Ctx {
  readonly state: State
  readonly gateway: Gateway
  readonly baseUrl: () => string
}

/** A file uploaded with a multipart request (`files[n]`). */
export interface UploadedFile {
  readonly key: string
  readonly name: string
  readonly type: string
  readonly data: Uint8Array<ArrayBuffer>
}

const MAX_CONTENT = 2000
const NONCE_WINDOW_MS = 2 * 60 * 1000

/** Characters as Discord counts them (code points, not UTF-16 units). */
const length = (text: string): number => [...text].length

/** Field checks shared by create and edit. */
const checkFields = (body: Json): ApiError | null => {
  if (body.content !== undefined && body.content !== null && typeof body.content !== "string") {
    return invalidForm("content", "BASE_TYPE_BAD_TYPE", "Must be a string.")
  }
  if (typeof body.content === "string" && length(body.content) > MAX_CONTENT) {
    return invalidForm("content", "BASE_TYPE_MAX_LENGTH", `Must be ${MAX_CONTENT} or fewer in length.`)
  }
  if (Array.isArray(body.embeds) && body.embeds.length > 10) {
    return invalidForm("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
  }
  const mentionErrors = allowedMentionsErrors(body.allowed_mentions)
  if (mentionErrors)
    return { _tag: "ApiError", status: 400, body: { message: "Invalid Form Body", code: 50035, errors: mentionErrors } }
  return null
}

const hasVisibleBody = (content: string, body: Json, attachments: number): boolean =>
  content.trim().length > 0 ||
  attachments > 0 ||
  (Array.isArray(body.embeds) && body.embeds.length > 0) ||
  (Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0) ||
  (Array.isArray(body.components) && body.components.length > 0) ||
  (typeof body.poll === "object" && body.poll !== null)

const storeFiles = (ctx: Ctx, channelId: string, body: Json, files: UploadedFile[]): AttachmentRecord[] =>
  files.map((file, index) => {
    const id = snowflake()
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(file.name)}`
    ctx.state.files.set(path, { data: file.data, type: file.type })
    const described = Array.isArray(body.attachments)
      ? (body.attachments as Json[]).find((a) => String(a.id) === String(index))
      : undefined
    return {
      id,
      filename: file.name,
      size: file.data.byteLength,
      url: `${ctx.baseUrl()}${path}`,
      proxy_url: `${ctx.baseUrl()}${path}`,
      ...(file.type ? { content_type: file.type } : {}),
      ...(typeof described?.description === "string" ? { description: described.description } : {})
    }
  })

const resolveMentions = (ctx: Ctx, message: StoredMessage): StoredMessage["mentions"] => {
  const replied = message.replyTo ? ctx.state.messages.get(message.replyTo) : undefined
  const pings = pingsOf(ctx.state, {
    content: message.content,
    allowed: message.allowedMentions,
    authorId: message.authorId,
    guildId: message.guildId,
    repliedAuthorId: replied?.authorId ?? null,
    replyPingDefault: true
  })
  return { users: pings.users, roles: pings.roles, everyone: pings.everyone || pings.here }
}

export interface BotMessageInput {
  readonly bot: BotRecord
  readonly channel: ChannelRecord
  readonly body: Json
  readonly files: UploadedFile[]
  readonly interactionId?: string
  /** A deferred interaction's "thinking…" placeholder: may be empty, carries the LOADING flag (128). */
  readonly loading?: boolean
}

/** Creates a message written by a bot (REST or interaction); dispatches MESSAGE_CREATE unless it is ephemeral. */
export const createBotMessage = (ctx: Ctx, input: BotMessageInput): StoredMessage | ApiError => {
  const { bot, channel, body, files } = input
  const invalid = checkFields(body)
  if (invalid) return invalid
  const content = typeof body.content === "string" ? body.content : ""
  if (!input.loading && !hasVisibleBody(content, body, files.length)) return Errors.emptyMessage()
  let replyTo: string | null = null
  const reference = body.message_reference as Json | undefined
  if (reference && typeof reference.message_id === "string") {
    const target = ctx.state.messages.get(reference.message_id)
    const found = target && !target.deleted && target.channelId === (reference.channel_id ?? channel.id)
    if (found) replyTo = target.id
    else if (reference.fail_if_not_exists !== false) {
      return invalidForm("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
    }
  }
  const nonce = typeof body.nonce === "string" || typeof body.nonce === "number" ? body.nonce : null
  if (nonce !== null && body.enforce_nonce === true) {
    const duplicate = ctx.state
      .channelMessages(channel.id)
      .find((m) => m.authorId === bot.id && m.nonce === nonce && Date.now() - m.createdAt < NONCE_WINDOW_MS)
    if (duplicate) return duplicate
  }
  const allowedMentions = body.allowed_mentions as AllowedMentions | undefined
  const now = Date.now()
  const message: StoredMessage = {
    id: snowflake(now),
    channelId: channel.id,
    guildId: channel.guildId,
    authorId: bot.id,
    byBot: true,
    via: input.interactionId ? "interaction" : "rest",
    content,
    embeds: Array.isArray(body.embeds) ? body.embeds : [],
    components: Array.isArray(body.components) ? body.components : [],
    attachments: storeFiles(ctx, channel.id, body, files),
    allowedMentions,
    history: [{ content, at: now, allowedMentions }],
    replyTo,
    replyPing: false,
    mentions: { users: [], roles: [], everyone: false },
    flags: (typeof body.flags === "number" ? body.flags : 0) | (input.loading ? 128 : 0),
    nonce,
    tts: body.tts === true,
    createdAt: now,
    editedAt: null,
    deleted: false,
    interactionId: input.interactionId ?? null,
    reactions: []
  }
  message.mentions = resolveMentions(ctx, message)
  ctx.state.storeMessage(message)
  if ((message.flags & 64) === 0) deliver(ctx, message, "MESSAGE_CREATE")
  return message
}

/** Applies an edit (PATCH) by the message's author; dispatches MESSAGE_UPDATE. */
export const editBotMessage = (
  ctx: Ctx,
  message: StoredMessage,
  body: Json,
  files: UploadedFile[]
): StoredMessage | ApiError => {
  const invalid = checkFields(body)
  if (invalid) return invalid
  const content = typeof body.content === "string" ? body.content : body.content === null ? "" : message.content
  let attachments = message.attachments
  if (Array.isArray(body.attachments)) {
    const keep = new Set((body.attachments as Json[]).map((a) => String(a.id)))
    attachments = attachments.filter((a) => keep.has(a.id))
  }
  attachments = [...attachments, ...storeFiles(ctx, message.channelId, body, files)]
  const embeds = Array.isArray(body.embeds) ? body.embeds : body.embeds === null ? [] : message.embeds
  const components = Array.isArray(body.components) ? body.components : message.components
  if (!hasVisibleBody(content, { ...body, embeds, components }, attachments.length)) return Errors.emptyMessage()
  const allowedMentions =
    body.allowed_mentions === undefined
      ? message.allowedMentions
      : (body.allowed_mentions as AllowedMentions | undefined)
  const now = Date.now()
  message.content = content
  message.attachments = attachments
  message.embeds = embeds
  message.components = components
  message.allowedMentions = allowedMentions
  if (typeof body.flags === "number") message.flags = body.flags
  message.flags &= ~128
  message.editedAt = now
  message.history.push({ content, at: now, allowedMentions })
  message.mentions = resolveMentions(ctx, message)
  if ((message.flags & 64) === 0) deliver(ctx, message, "MESSAGE_UPDATE")
  return message
}

export const deleteMessage = (ctx: Ctx, message: StoredMessage): void => {
  message.deleted = true
  const channel = ctx.state.channels.get(message.channelId)
  if (!channel || (message.flags & 64) !== 0) return
  const d = { id: message.id, channel_id: message.channelId, ...(message.guildId ? { guild_id: message.guildId } : {}) }
  for (const botId of ctx.state.audience(channel)) {
    ctx.gateway.dispatchToBot(botId, "MESSAGE_DELETE", (session) =>
      (session.intents & (channel.dm ? Intent.DirectMessages : Intent.GuildMessages)) === 0 ? null : d
    )
  }
}

/**
 * Dispatches a message event to every bot that can see the channel and asked for the intent, stripping content,
 * embeds, attachments and components for bots without MessageContent (except in DMs, their own messages, and
 * messages that mention them) like Discord does. `onlyBotId` narrows delivery to one bot.
 */
export const deliver = (
  ctx: Ctx,
  message: StoredMessage,
  t: "MESSAGE_CREATE" | "MESSAGE_UPDATE",
  onlyBotId?: string
): void => {
  const channel = ctx.state.channels.get(message.channelId)
  if (!channel) return
  const full = messagePayload(ctx.state, message, { gateway: true })
  const needed = channel.dm ? Intent.DirectMessages : Intent.GuildMessages
  for (const botId of ctx.state.audience(channel)) {
    if (onlyBotId !== undefined && botId !== onlyBotId) continue
    ctx.gateway.dispatchToBot(botId, t, (session) => {
      if ((session.intents & needed) === 0) return null
      const readable =
        (session.intents & Intent.MessageContent) !== 0 ||
        channel.dm !== null ||
        message.authorId === botId ||
        message.mentions.users.includes(botId)
      return readable ? full : { ...full, content: "", embeds: [], attachments: [], components: [] }
    })
  }
}

export interface UserMessageInput {
  readonly channel: ChannelRecord
  readonly authorId: string
  readonly content: string
  readonly mentions?: ReadonlyArray<string>
  readonly mentionRoles?: ReadonlyArray<string>
  readonly mentionEveryone?: boolean
  readonly replyTo?: string
  readonly replyPing?: boolean
  readonly attachments?: ReadonlyArray<{ url: string; filename: string; content_type?: string; size?: number }>
  readonly embeds?: unknown[]
  readonly onlyBotId?: string
}

/** A message written by a (human or foreign bot) user, as Discord would store and dispatch it. */
export const createUserMessage = (ctx: Ctx, input: UserMessageInput): StoredMessage => {
  const { channel, authorId, content } = input
  const guild = channel.guildId ? ctx.state.guilds.get(channel.guildId) : undefined
  if (guild) ctx.state.ensureMember(guild, authorId)
  const replied = input.replyTo ? ctx.state.messages.get(input.replyTo) : undefined
  if (input.replyTo && !replied) throw new Error(`fake discord: replyTo ${input.replyTo} is not a known message`)
  const parsed = parseMentions(content)
  const replyPing = input.replyPing ?? true
  const users = new Set([...parsed.users, ...(input.mentions ?? [])])
  if (replied && replyPing) users.add(replied.authorId)
  users.delete(authorId)
  const roles = new Set([...parsed.roles, ...(input.mentionRoles ?? [])])
  const now = Date.now()
  const message: StoredMessage = {
    id: snowflake(now),
    channelId: channel.id,
    guildId: channel.guildId,
    authorId,
    byBot: false,
    via: "user",
    content,
    embeds: input.embeds ?? [],
    components: [],
    attachments: (input.attachments ?? []).map((a) => ({
      id: snowflake(),
      filename: a.filename,
      size: a.size ?? 0,
      url: a.url,
      proxy_url: a.url,
      ...(a.content_type ? { content_type: a.content_type } : {})
    })),
    allowedMentions: undefined,
    history: [{ content, at: now, allowedMentions: undefined }],
    replyTo: replied?.id ?? null,
    replyPing,
    mentions: {
      users: [...users].filter((id) => ctx.state.users.has(id)),
      roles: guild ? [...roles].filter((id) => guild.roles.some((r) => r.id === id)) : [],
      everyone: guild !== undefined && (input.mentionEveryone ?? (parsed.everyone || parsed.here))
    },
    flags: 0,
    nonce: null,
    tts: false,
    createdAt: now,
    editedAt: null,
    deleted: false,
    interactionId: null,
    reactions: []
  }
  ctx.state.storeMessage(message)
  deliver(ctx, message, "MESSAGE_CREATE", input.onlyBotId)
  return message
}
