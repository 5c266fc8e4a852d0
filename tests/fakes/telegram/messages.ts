import type { BotCommand, Message, MessageEntity } from "grammy/types"
import { trimFormatted } from "./entities.ts"
import { parseHtml } from "./html.ts"
import { parseMarkdown, parseMarkdownV2 } from "./markdown.ts"
import { bool, int, isUpload, str } from "./params.ts"
import { type ApiResult, type BotState, badRequest, type ChatState, ok } from "./state.ts"
import type { SentMessage, StoredFile } from "./types.ts"

// The Bot API methods that read or change messages, files and commands. Each takes the bot's state and the
// normalised params and returns the answer; error texts are the real server's where known.

type Params = Record<string, unknown>
type Handler = (bot: BotState, params: Params) => ApiResult

export const TEXT_LIMIT = 4096
export const CAPTION_LIMIT = 1024
const FILE_DOWNLOAD_LIMIT = 20 * 1024 * 1024

const seconds = () => Math.floor(Date.now() / 1000)

type TextOutcome = { readonly error: ApiResult } | { readonly text: string; readonly entities: MessageEntity[] }

/** Turns raw text + parse mode into what users see, or the error Telegram gives. */
export const formatText = (raw: string, parseMode: unknown, entities: unknown): TextOutcome => {
  const mode = str(parseMode) ?? ""
  let parsed: { text: string; entities: readonly MessageEntity[] }
  if (mode === "") {
    parsed = { text: raw, entities: Array.isArray(entities) ? (entities as MessageEntity[]) : [] }
  } else {
    const parser = { html: parseHtml, markdownv2: parseMarkdownV2, markdown: parseMarkdown }[mode.toLowerCase()]
    if (parser === undefined) return { error: badRequest("unsupported parse_mode") }
    const result = parser(raw)
    if (!result.ok) return { error: badRequest(`can't parse entities: ${result.error}`) }
    parsed = result
  }
  return trimFormatted(parsed.text, parsed.entities)
}

const chatId = (params: Params): number | ApiResult => {
  const id = int(params.chat_id)
  if (id !== undefined) return id
  const named = str(params.chat_id)
  return named === undefined || named === "" ? badRequest("chat_id is empty") : badRequest("chat not found")
}

/** A message as it appears inside `reply_to_message`: Telegram does not nest replies. */
const asReplyTarget = (message: Message): Message => {
  const { reply_to_message: _, ...rest } = message as Message & { reply_to_message?: unknown }
  return rest as Message
}

const replyTarget = (chat: ChatState, params: Params): { error: ApiResult } | { target?: Message } => {
  const parameters = (typeof params.reply_parameters === "object" ? params.reply_parameters : {}) as Params | null
  const id = int(parameters?.message_id) ?? int(params.reply_to_message_id)
  if (id === undefined) return {}
  const allow = bool(parameters?.allow_sending_without_reply ?? params.allow_sending_without_reply)
  const stored = chat.byId.get(id)
  if (stored === undefined || stored.deleted) {
    return allow ? {} : { error: badRequest("message to be replied not found") }
  }
  return { target: asReplyTarget(stored.message) }
}

interface Content {
  readonly kind: SentMessage["kind"]
  readonly text: string
  readonly raw: string
  readonly entities: MessageEntity[]
  readonly fields: Record<string, unknown>
  readonly file?: StoredFile
}

/** Stores a new bot message in the chat and builds the Message the bot gets back. */
const deliver = (bot: BotState, chat: ChatState, params: Params, content: Content, target?: Message): Message => {
  const message_id = chat.take()
  const forum = chat.chat.type === "supergroup" && chat.chat.is_forum === true
  const thread = int(params.message_thread_id) ?? (forum ? target?.message_thread_id : undefined)
  const date = seconds()
  const message = {
    message_id,
    from: bot.from,
    chat: chat.chat,
    date,
    ...(thread === undefined ? {} : { message_thread_id: thread, ...(forum ? { is_topic_message: true } : {}) }),
    ...(target === undefined ? {} : { reply_to_message: target }),
    ...content.fields
  } as Message
  const parseMode = str(params.parse_mode)
  const sent: SentMessage = {
    message_id,
    chat_id: chat.chat.id,
    kind: content.kind,
    ...(thread === undefined ? {} : { message_thread_id: thread }),
    ...(target === undefined ? {} : { reply_to_message_id: target.message_id }),
    text: content.text,
    raw: content.raw,
    ...(parseMode === undefined ? {} : { parse_mode: parseMode }),
    entities: content.entities,
    ...(typeof params.link_preview_options === "object" && params.link_preview_options !== null
      ? { link_preview_options: params.link_preview_options }
      : {}),
    ...(params.reply_markup === undefined ? {} : { reply_markup: params.reply_markup }),
    date,
    sentAt: Date.now(),
    editCount: 0,
    history: [
      {
        text: content.text,
        raw: content.raw,
        ...(parseMode === undefined ? {} : { parse_mode: parseMode }),
        entities: content.entities,
        at: Date.now()
      }
    ],
    ...(content.file === undefined ? {} : { file: content.file }),
    message
  }
  chat.sent.push(sent)
  chat.byId.set(message_id, { origin: "bot", message, sent, deleted: false })
  return message
}

const sendMessage: Handler = (bot, params) => {
  const id = chatId(params)
  if (typeof id !== "number") return id
  const raw = str(params.text) ?? ""
  if (raw === "") return badRequest("message text is empty")
  const formatted = formatText(raw, params.parse_mode, params.entities)
  if ("error" in formatted) return formatted.error
  if (formatted.text === "") return badRequest("message text is empty")
  if (formatted.text.length > TEXT_LIMIT) return badRequest("message is too long")
  const chat = bot.chat(id)
  const reply = replyTarget(chat, params)
  if ("error" in reply) return reply.error
  const fields = {
    text: formatted.text,
    ...(formatted.entities.length > 0 ? { entities: formatted.entities } : {}),
    ...(typeof params.link_preview_options === "object" && params.link_preview_options !== null
      ? { link_preview_options: params.link_preview_options }
      : {})
  }
  const content = { kind: "text" as const, text: formatted.text, raw, entities: formatted.entities, fields }
  return ok(deliver(bot, chat, params, content, reply.target))
}

const mediaFile = (bot: BotState, value: unknown, kind: "photo" | "document"): StoredFile | ApiResult => {
  if (isUpload(value)) {
    return bot.registerFile(value.bytes, {
      kind,
      ...(value.type === "" ? {} : { mime: value.type }),
      ...(value.name === "" ? {} : { fileName: value.name })
    })
  }
  const ref = str(value)
  if (ref === undefined || ref === "") return badRequest(`there is no ${kind} in the request`)
  const known = bot.files.get(ref)
  if (known !== undefined) return known
  if (/^https?:\/\//i.test(ref)) return bot.registerFile(new Uint8Array(), { kind, url: ref })
  return badRequest("wrong file identifier/HTTP URL specified")
}

const sendMedia =
  (kind: "photo" | "document"): Handler =>
  (bot, params) => {
    const id = chatId(params)
    if (typeof id !== "number") return id
    const file = mediaFile(bot, params[kind], kind)
    if ("ok" in file) return file
    const raw = str(params.caption) ?? ""
    const formatted = formatText(raw, params.parse_mode, params.caption_entities)
    if ("error" in formatted) return formatted.error
    if (formatted.text.length > CAPTION_LIMIT) return badRequest("message caption is too long")
    const chat = bot.chat(id)
    const reply = replyTarget(chat, params)
    if ("error" in reply) return reply.error
    const size = file.bytes.length
    const media =
      kind === "photo"
        ? {
            photo: [
              { file_id: file.file_id, file_unique_id: file.file_unique_id, width: 320, height: 320, file_size: size }
            ]
          }
        : {
            document: {
              file_id: file.file_id,
              file_unique_id: file.file_unique_id,
              file_size: size,
              ...(file.file_name === undefined ? {} : { file_name: file.file_name }),
              ...(file.mime_type === undefined ? {} : { mime_type: file.mime_type })
            }
          }
    const fields = {
      ...media,
      ...(formatted.text === "" ? {} : { caption: formatted.text }),
      ...(formatted.entities.length > 0 ? { caption_entities: formatted.entities } : {})
    }
    const content = { kind, text: formatted.text, raw, entities: formatted.entities, fields, file }
    return ok(deliver(bot, chat, params, content, reply.target))
  }

const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

const editMessageText: Handler = (bot, params) => {
  if (params.inline_message_id !== undefined) return badRequest("MESSAGE_ID_INVALID")
  const id = chatId(params)
  if (typeof id !== "number") return id
  const messageId = int(params.message_id)
  if (messageId === undefined) return badRequest("message identifier is not specified")
  const chat = bot.chats.get(id)
  const stored = chat?.byId.get(messageId)
  if (stored === undefined || stored.deleted) return badRequest("message to edit not found")
  if (stored.sent === undefined) return badRequest("message can't be edited")
  if (stored.sent.kind !== "text") return badRequest("there is no text in the message to edit")
  const raw = str(params.text) ?? ""
  if (raw === "") return badRequest("message text is empty")
  const formatted = formatText(raw, params.parse_mode, params.entities)
  if ("error" in formatted) return formatted.error
  if (formatted.text === "") return badRequest("message text is empty")
  if (formatted.text.length > TEXT_LIMIT) return badRequest("MESSAGE_TOO_LONG")
  const sent = stored.sent
  const sameText = sent.text === formatted.text && sameJson(sent.entities, formatted.entities)
  if (sameText && sameJson(sent.reply_markup, params.reply_markup)) return badRequest(NOT_MODIFIED)
  const parseMode = str(params.parse_mode)
  sent.text = formatted.text
  sent.raw = raw
  sent.parse_mode = parseMode
  sent.entities = formatted.entities
  sent.reply_markup = params.reply_markup
  sent.editCount++
  sent.history.push({
    text: formatted.text,
    raw,
    ...(parseMode === undefined ? {} : { parse_mode: parseMode }),
    entities: formatted.entities,
    at: Date.now()
  })
  const { entities: _, ...previous } = sent.message as Message & { entities?: unknown }
  const message = {
    ...previous,
    text: formatted.text,
    ...(formatted.entities.length > 0 ? { entities: formatted.entities } : {}),
    edit_date: seconds()
  } as Message
  sent.message = message
  stored.message = message
  return ok(message)
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

const deleteMessage: Handler = (bot, params) => {
  const id = chatId(params)
  if (typeof id !== "number") return id
  const messageId = int(params.message_id)
  const stored = messageId === undefined ? undefined : bot.chats.get(id)?.byId.get(messageId)
  if (stored === undefined || stored.deleted) return badRequest("message to delete not found")
  stored.deleted = true
  if (stored.sent !== undefined) stored.sent.deletedAt = Date.now()
  return ok(true)
}

const ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note"
])

const sendChatAction: Handler = (bot, params) => {
  const id = chatId(params)
  if (typeof id !== "number") return id
  const action = str(params.action) ?? ""
  if (!ACTIONS.has(action)) return badRequest("wrong parameter action in request")
  const thread = int(params.message_thread_id)
  bot.chat(id).actions.push({ action, ...(thread === undefined ? {} : { message_thread_id: thread }), at: Date.now() })
  return ok(true)
}

/** The key under which commands are stored: the scope object and the language, exactly as given. */
export const commandsKey = (scope: unknown, languageCode: unknown) =>
  `${JSON.stringify(typeof scope === "object" && scope !== null ? scope : { type: "default" })}|${str(languageCode) ?? ""}`

const setMyCommands: Handler = (bot, params) => {
  const commands = params.commands
  if (!Array.isArray(commands)) return badRequest('parameter "commands" is required')
  if (commands.length > 100) return badRequest("too many commands specified")
  for (const command of commands as BotCommand[]) {
    if (typeof command?.command !== "string" || !/^[a-z0-9_]{1,32}$/.test(command.command)) {
      return badRequest("BOT_COMMAND_INVALID")
    }
    if (typeof command.description !== "string" || command.description.length < 1 || command.description.length > 256) {
      return badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
    }
  }
  const key = commandsKey(params.scope, params.language_code)
  if (commands.length === 0) bot.commands.delete(key)
  else
    bot.commands.set(
      key,
      (commands as BotCommand[]).map((c) => ({ command: c.command, description: c.description }))
    )
  return ok(true)
}

const getMyCommands: Handler = (bot, params) =>
  ok(bot.commands.get(commandsKey(params.scope, params.language_code)) ?? [])

const deleteMyCommands: Handler = (bot, params) => {
  bot.commands.delete(commandsKey(params.scope, params.language_code))
  return ok(true)
}

const getFile: Handler = (bot, params) => {
  const file = bot.files.get(str(params.file_id) ?? "")
  if (file === undefined) return badRequest("invalid file_id")
  if (file.bytes.length > FILE_DOWNLOAD_LIMIT) return badRequest("file is too big")
  return ok({
    file_id: file.file_id,
    file_unique_id: file.file_unique_id,
    file_size: file.bytes.length,
    file_path: file.file_path
  })
}

const getChat: Handler = (bot, params) => {
  const id = chatId(params)
  if (typeof id !== "number") return id
  const chat = bot.chats.get(id)
  if (chat === undefined) return badRequest("chat not found")
  return ok({
    ...chat.chat,
    accent_color_id: 0,
    max_reaction_count: 11,
    accepted_gift_types: {
      unlimited_gifts: false,
      limited_gifts: false,
      unique_gifts: false,
      premium_subscription: false,
      gifts_from_channels: false
    }
  })
}

/** Message, file and command methods, keyed by their lower-cased name (Bot API method names ignore case). */
export const messageMethods: Record<string, { readonly name: string; readonly handler: Handler }> = Object.fromEntries(
  Object.entries({
    getMe: (bot: BotState) => ok(bot.user),
    sendMessage,
    editMessageText,
    deleteMessage,
    sendChatAction,
    sendPhoto: sendMedia("photo"),
    sendDocument: sendMedia("document"),
    setMyCommands,
    getMyCommands,
    deleteMyCommands,
    getFile,
    getChat
  } satisfies Record<string, Handler>).map(([name, handler]) => [name.toLowerCase(), { name, handler }])
)

/** Methods that put a message in a chat or change one; they count towards flood control. */
export const FLOOD_METHODS = new Set(["sendmessage", "sendphoto", "senddocument", "editmessagetext"])
