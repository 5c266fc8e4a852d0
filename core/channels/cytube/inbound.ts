/**
 * CyTube chat lines and PMs as `MessageReceived` events.
 *
 * CyTube has no message ids: a line is identified by the server's `time` (ms), its author and a hash of its text,
 * which is the same when the server replays the line after a reconnect, so the router recognises it. CyTube has no
 * mention entities either: `mentioned` is set when the text names the bot's account (word-bounded); the router also
 * matches the persona's names and aliases.
 */
import { createHash } from "node:crypto"
import { wordMatcher } from "../../conversation/ReplyPolicy.ts"
import type { MessageReceived } from "../../events/Events.ts"
import { newCorrelationId } from "../../log/Correlation.ts"
import { htmlToText } from "./html.ts"

export interface InboundContext {
  /** `host.id`. */
  readonly channel: string
  readonly persona: string
  readonly room: string
  /** The bot's account name as the server spells it. */
  readonly self: string
  /** Other Troupe personas' accounts are bots (CyTube does not flag bots itself). */
  readonly isBot: (name: string) => boolean
  readonly now: number
}

export interface PmPayload {
  readonly username: string
  readonly msg: string
  readonly meta?: Readonly<Record<string, unknown>>
  readonly time: number
  readonly to: string
}

const textHash = (text: string) => createHash("sha1").update(text).digest("hex").slice(0, 8)

/** The chat id of a user's PM conversation. */
export const pmChatId = (user: string) => `pm:${user}`

/** `cytube:<server>:<room>:<bot>/<chat>/<time>:<user>:<hash>`: unique per bot account, stable across replays. */
export const messageIdOf = (channel: string, chat: string, time: number, user: string, html: string) =>
  `${channel}/${chat}/${time}:${user}:${textHash(html)}`

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** `/reset`, `/help@bot args`: the command, when it is addressed to this bot (in a PM, any command is). */
const commandOf = (text: string, self: string, pm: boolean): MessageReceived["command"] => {
  const match = /^\/([a-z][\w-]*)(?:@([\w-]+))?(?:\s+([\s\S]*))?$/i.exec(text)
  if (!match) return undefined
  const [, name, target, args] = match
  if (target !== undefined ? !sameName(target, self) : !pm) return undefined
  return { name: name!.toLowerCase(), args: (args ?? "").trim() }
}

/** A chat line of the room, or undefined for lines that are not from a person (server whispers). */
export const chatMessageOf = (
  context: InboundContext,
  payload: { readonly username: string; readonly msg: string; readonly time: number; readonly meta?: unknown }
): MessageReceived | undefined => {
  const meta = (typeof payload.meta === "object" && payload.meta !== null ? payload.meta : {}) as Record<
    string,
    unknown
  >
  if (payload.username === "" || payload.username.startsWith("[") || meta.addClass === "server-whisper") {
    return undefined
  }
  const text = htmlToText(payload.msg)
  const fromSelf = sameName(payload.username, context.self)
  const command = fromSelf ? undefined : commandOf(text, context.self, false)
  return {
    _tag: "MessageReceived",
    at: context.now,
    correlationId: newCorrelationId(),
    persona: context.persona,
    channel: context.channel,
    platform: "cytube",
    messageId: messageIdOf(context.channel, context.room, payload.time, payload.username, payload.msg),
    chat: { id: context.room, kind: "room", title: context.room },
    author: { id: payload.username, name: payload.username, isBot: !fromSelf && context.isBot(payload.username) },
    text: meta.action === true ? `/me ${text}` : text,
    attachments: [],
    mentioned: !fromSelf && (wordMatcher([context.self])?.test(text) ?? false),
    replyToSelf: false,
    fromSelf,
    ...(command === undefined ? {} : { command })
  }
}

/** A PM to the bot: its own conversation (chat kind `dm`, id `pm:<user>`). */
export const pmMessageOf = (context: InboundContext, payload: PmPayload): MessageReceived => {
  const text = htmlToText(payload.msg)
  const chat = pmChatId(payload.username)
  const command = commandOf(text, context.self, true)
  return {
    _tag: "MessageReceived",
    at: context.now,
    correlationId: newCorrelationId(),
    persona: context.persona,
    channel: context.channel,
    platform: "cytube",
    messageId: messageIdOf(context.channel, chat, payload.time, payload.username, payload.msg),
    chat: { id: chat, kind: "dm", title: payload.username },
    author: { id: payload.username, name: payload.username, isBot: context.isBot(payload.username) },
    text,
    attachments: [],
    mentioned: false,
    replyToSelf: false,
    fromSelf: false,
    ...(command === undefined ? {} : { command })
  }
}
