import type { Chat, Message, MessageEntity, User } from "grammy/types"
import { detectEntities } from "./entities.ts"
import type { BotState, ChatState } from "./state.ts"
import type { FakeChat, FakeUpload, FakeUser, UserMessage } from "./types.ts"

// Builds the Message objects Telegram would put in updates for what fake users do, and stores them in the
// chat so the bot can reply to them.

const seconds = () => Math.floor(Date.now() / 1000)

const toUser = (from: FakeUser): User => ({
  id: from.id,
  is_bot: from.is_bot ?? false,
  first_name: from.first_name,
  ...(from.last_name === undefined ? {} : { last_name: from.last_name }),
  ...(from.username === undefined ? {} : { username: from.username }),
  ...(from.language_code === undefined ? {} : { language_code: from.language_code })
})

const toChat = (chat: FakeChat | undefined, from: FakeUser): Chat => {
  if (chat === undefined || chat.type === "private") {
    return {
      id: chat?.id ?? from.id,
      type: "private",
      first_name: from.first_name,
      ...(from.last_name === undefined ? {} : { last_name: from.last_name }),
      ...(from.username === undefined ? {} : { username: from.username })
    }
  }
  if (chat.type === "group") return { id: chat.id, type: "group", title: chat.title ?? `Group ${chat.id}` }
  return {
    id: chat.id,
    type: "supergroup",
    title: chat.title ?? `Supergroup ${chat.id}`,
    ...(chat.username === undefined ? {} : { username: chat.username }),
    ...(chat.is_forum === true ? { is_forum: true } : {})
  }
}

const media = (bot: BotState, input: UserMessage) => {
  const fields: Record<string, unknown> = {}
  const register = (upload: FakeUpload, kind: "photo" | "document") =>
    bot.registerFile(upload.fileContent, {
      kind,
      ...(upload.mime === undefined ? {} : { mime: upload.mime }),
      ...(upload.fileName === undefined ? {} : { fileName: upload.fileName })
    })
  if (input.photo !== undefined) {
    const file = register(input.photo, "photo")
    fields.photo = [
      {
        file_id: file.file_id,
        file_unique_id: file.file_unique_id,
        width: input.photo.width ?? 320,
        height: input.photo.height ?? 320,
        file_size: file.bytes.length
      }
    ]
  }
  if (input.document !== undefined) {
    const file = register(input.document, "document")
    fields.document = {
      file_id: file.file_id,
      file_unique_id: file.file_unique_id,
      file_size: file.bytes.length,
      ...(file.file_name === undefined ? {} : { file_name: file.file_name }),
      ...(file.mime_type === undefined ? {} : { mime_type: file.mime_type })
    }
  }
  return fields
}

const textFields = (text: string, entities: MessageEntity[] | undefined, asCaption: boolean) => {
  const found = entities ?? detectEntities(text)
  const key = asCaption ? "caption" : "text"
  const entityKey = asCaption ? "caption_entities" : "entities"
  return { [key]: text, ...(found.length > 0 ? { [entityKey]: found } : {}) }
}

/**
 * The service message a forum topic starts with. Telegram sets it as `reply_to_message` of every topic message
 * that is not an explicit reply, so code that treats `reply_to_message` as "the user replied" must look closer.
 */
const topicStart = (chat: Chat, from: User, thread: number): Message =>
  ({
    message_id: thread,
    message_thread_id: thread,
    from,
    chat,
    date: seconds(),
    is_topic_message: true,
    forum_topic_created: { name: `Topic ${thread}`, icon_color: 7322096 }
  }) as Message

/** Builds and stores the message a fake user sends; throws when the test refers to an unknown message. */
export const buildUserMessage = (bot: BotState, input: UserMessage): { chat: ChatState; message: Message } => {
  const from = toUser(input.from)
  const chatObject = toChat(input.chat, input.from)
  const chat = bot.chat(chatObject.id, chatObject)
  const hasMedia = input.photo !== undefined || input.document !== undefined
  const text = hasMedia ? (input.caption ?? input.text) : (input.text ?? input.caption)
  let reply: Message | undefined
  if (input.reply_to_message_id !== undefined) {
    const stored = chat.byId.get(input.reply_to_message_id)
    if (stored === undefined || stored.deleted) {
      throw new Error(`FakeTelegram: message ${input.reply_to_message_id} does not exist in chat ${chatObject.id}`)
    }
    const { reply_to_message: _, ...target } = stored.message as Message & { reply_to_message?: unknown }
    reply = target as Message
  }
  const forum = chatObject.type === "supergroup" && chatObject.is_forum === true
  const thread = input.message_thread_id ?? (forum ? reply?.message_thread_id : undefined)
  if (forum && thread !== undefined && reply === undefined) reply = topicStart(chatObject, from, thread)
  const message = {
    message_id: chat.take(),
    from,
    chat: chatObject,
    date: input.date ?? seconds(),
    ...(thread === undefined ? {} : { message_thread_id: thread, ...(forum ? { is_topic_message: true } : {}) }),
    ...(reply === undefined ? {} : { reply_to_message: reply }),
    ...media(bot, input),
    ...(text === undefined ? {} : textFields(text, input.entities, hasMedia))
  } as Message
  chat.inbound.push(message)
  chat.byId.set(message.message_id, { origin: "user", message, deleted: false })
  return { chat, message }
}

/** Applies a fake user's edit to their stored message and returns the edited message. */
export const editUserMessage = (bot: BotState, chatId: number, messageId: number, newText: string): Message => {
  const stored = bot.chats.get(chatId)?.byId.get(messageId)
  if (stored === undefined || stored.origin !== "user") {
    throw new Error(`FakeTelegram: no user message ${messageId} in chat ${chatId}`)
  }
  const old = stored.message as Message & { caption?: string; entities?: unknown; caption_entities?: unknown }
  const asCaption = old.caption !== undefined
  const { entities: _e, caption_entities: _c, ...rest } = old
  const message = { ...rest, ...textFields(newText, undefined, asCaption), edit_date: seconds() } as Message
  stored.message = message
  const inbound = bot.chats.get(chatId)!.inbound
  const index = inbound.findIndex((m) => m.message_id === messageId)
  if (index >= 0) inbound[index] = message
  return message
}

/** Whether a bot with privacy mode on gets this group message: commands for it and replies to it. */
export const passesPrivacy = (bot: BotState, message: Message): boolean => {
  if (bot.spec.privacyMode !== true || message.chat.type === "private") return true
  if (message.reply_to_message?.from?.id === bot.user.id) return true
  const text = message.text ?? message.caption ?? ""
  const entities = message.entities ?? message.caption_entities ?? []
  return entities.some((entity) => {
    if (entity.type !== "bot_command") return false
    const command = text.slice(entity.offset, entity.offset + entity.length)
    const at = command.indexOf("@")
    return at < 0 || command.slice(at + 1).toLowerCase() === bot.user.username.toLowerCase()
  })
}
