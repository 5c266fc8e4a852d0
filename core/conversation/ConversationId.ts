/**
 * Conversation ids (`persona/channel/chat[/thread][/user:id]`) and room keys. A conversation is one transcript; a room
 * is where rate limits and the bot-loop guard count (all users of one chat or thread).
 */
import type { ReplyTarget } from "../channels/Channel.ts"
import type { MessageReceived } from "../events/Events.ts"

/** The room a message was said in: channel + chat (+ thread). */
export const roomKeyOf = (message: MessageReceived): string =>
  message.thread === undefined
    ? `${message.channel}/${message.chat.id}`
    : `${message.channel}/${message.chat.id}/${message.thread}`

/** One conversation per room, or per user in each room (`history: user`); a DM is always its own conversation. */
export const conversationIdOf = (persona: string, message: MessageReceived, perUser: boolean): string => {
  const room = `${persona}/${roomKeyOf(message)}`
  return perUser && message.chat.kind !== "dm" ? `${room}/user:${message.author.id}` : room
}

/** Where the answer to `message` goes. */
export const targetOf = (
  conversationId: string,
  message: MessageReceived,
  turnId: string
): ReplyTarget & { readonly channel: string } => ({
  conversationId,
  channel: message.channel,
  chat: message.chat,
  ...(message.thread === undefined ? {} : { thread: message.thread }),
  replyTo: message.messageId,
  userId: message.author.id,
  turnId,
  correlationId: message.correlationId
})

/** The channel a conversation id belongs to (its second segment). */
export const channelOf = (conversationId: string): string => conversationId.split("/")[1] ?? ""
