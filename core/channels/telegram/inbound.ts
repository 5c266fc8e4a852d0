/**
 * Reading Telegram updates: which message an update carries, whom it addresses (mention entity, reply to the bot,
 * a command for this bot), and the stable ids Troupe gives it. Pure functions over grammY's types.
 */
import type { Message, MessageEntity, Update } from "grammy/types"
import type { Attachment, Author, Chat, MessageReceived } from "../../events/Events.ts"

export interface BotIdentity {
  readonly id: number
  readonly username: string
}

/** The message an update carries, if it is one we read (`edited_message` only when edits are answered). */
export const messageOf = (
  update: Update,
  edited: "ignore" | "answer"
): { readonly message: Message; readonly edited: boolean } | undefined => {
  if (update.message) return { message: update.message, edited: false }
  if (update.edited_message && edited === "answer") return { message: update.edited_message, edited: true }
  return undefined
}

/** `telegram:123/42/987` (channel / chat / message); an edit gets its own id so it is answered again. */
export const messageIdOf = (channel: string, message: Message, edited: boolean): string =>
  `${channel}/${message.chat.id}/${message.message_id}${edited ? `:e${message.edit_date ?? 0}` : ""}`

/** The Telegram message id inside a `messageIdOf` id, for replies. */
export const platformMessageId = (messageId: string | undefined): number | undefined => {
  if (messageId === undefined) return undefined
  const last = messageId.slice(messageId.lastIndexOf("/") + 1)
  const id = Number.parseInt(last, 10)
  return Number.isSafeInteger(id) && id > 0 ? id : undefined
}

export const textOf = (message: Message): string => message.text ?? message.caption ?? ""

const entitiesOf = (message: Message): ReadonlyArray<MessageEntity> =>
  message.entities ?? message.caption_entities ?? []

export interface Addressing {
  /** An `@botname` mention entity, or a text mention of the bot. */
  readonly mentioned: boolean
  /** A reply to one of the bot's messages (not a forum topic's opening message). */
  readonly replyToSelf: boolean
  /** `/cmd` or `/cmd@thisbot` at the start of the message. */
  readonly command?: { readonly name: string; readonly args: string }
}

/**
 * In a forum, a topic message that is not an explicit reply carries the topic's opening service message as
 * `reply_to_message`; that is not a reply to anyone.
 */
const isTopicOpening = (message: Message, reply: Message) =>
  reply.forum_topic_created !== undefined ||
  (message.is_topic_message === true && reply.message_id === message.message_thread_id)

export const addressingOf = (message: Message, me: BotIdentity): Addressing => {
  const text = textOf(message)
  const handle = `@${me.username}`.toLowerCase()
  let mentioned = false
  let command: Addressing["command"]
  for (const entity of entitiesOf(message)) {
    const slice = text.slice(entity.offset, entity.offset + entity.length)
    if (entity.type === "mention" && slice.toLowerCase() === handle) mentioned = true
    if (entity.type === "text_mention" && entity.user.id === me.id) mentioned = true
    if (entity.type === "bot_command" && entity.offset === 0) {
      const [name = "", target] = slice.slice(1).split("@")
      if (target === undefined || target.toLowerCase() === me.username.toLowerCase()) {
        command = { name: name.toLowerCase(), args: text.slice(entity.length).trim() }
      }
    }
  }
  const reply = message.reply_to_message
  const replyToSelf = reply !== undefined && reply.from?.id === me.id && !isTopicOpening(message, reply)
  return { mentioned, replyToSelf, ...(command === undefined ? {} : { command }) }
}

/** Each forum topic is its own conversation; reply threads of ordinary supergroups are not. */
export const threadOf = (message: Message): string | undefined =>
  message.is_topic_message === true && message.message_thread_id !== undefined
    ? String(message.message_thread_id)
    : undefined

export const chatOf = (message: Message): Chat | undefined => {
  const chat = message.chat
  switch (chat.type) {
    case "private":
      return { id: String(chat.id), kind: "dm" }
    case "group":
    case "supergroup":
      return { id: String(chat.id), kind: "group", title: chat.title }
    default:
      return undefined
  }
}

/**
 * Who wrote the message. A message sent on behalf of a chat (an anonymous group admin, a channel post forwarded into
 * its discussion group, a user posting as a channel) has `sender_chat`, and `from` is a placeholder account.
 */
export const authorOf = (message: Message, isOwnBot: (id: string) => boolean): Author | undefined => {
  const from = message.from
  if (message.sender_chat !== undefined) {
    const sender = message.sender_chat
    const name = "title" in sender && sender.title ? sender.title : String(sender.id)
    // A channel post copied into its discussion group is not someone talking to the persona.
    return { id: `chat:${sender.id}`, name, isBot: message.is_automatic_forward === true }
  }
  if (from === undefined) return undefined
  const id = String(from.id)
  return {
    id,
    name: [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username || id,
    ...(from.username === undefined ? {} : { handle: from.username }),
    isBot: from.is_bot || isOwnBot(id),
    ...(from.language_code === undefined ? {} : { language: from.language_code })
  }
}

export interface InboundFacts {
  readonly channel: string
  readonly persona: string
  readonly correlationId: string
  readonly me: BotIdentity
  readonly message: Message
  readonly edited: boolean
  readonly chat: Chat
  readonly author: Author
  readonly attachments: ReadonlyArray<Attachment>
}

export const toMessageReceived = (facts: InboundFacts): MessageReceived => {
  const { message, me } = facts
  const addressing = addressingOf(message, me)
  const thread = threadOf(message)
  const seconds = facts.edited ? (message.edit_date ?? message.date) : message.date
  return {
    _tag: "MessageReceived",
    at: seconds * 1000,
    correlationId: facts.correlationId,
    persona: facts.persona,
    channel: facts.channel,
    platform: "telegram",
    messageId: messageIdOf(facts.channel, message, facts.edited),
    chat: facts.chat,
    ...(thread === undefined ? {} : { thread }),
    author: facts.author,
    text: textOf(message),
    attachments: facts.attachments,
    mentioned: addressing.mentioned,
    replyToSelf: addressing.replyToSelf,
    fromSelf: message.from?.id === me.id,
    ...(addressing.command === undefined ? {} : { command: addressing.command })
  }
}
