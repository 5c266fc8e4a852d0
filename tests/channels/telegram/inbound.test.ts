import { describe, expect, test } from "bun:test"
import type { Message } from "grammy/types"
import {
  addressingOf,
  authorOf,
  messageIdOf,
  platformMessageId,
  threadOf
} from "../../../core/channels/telegram/inbound.ts"

const me = { id: 1001, username: "sage_bot" }
const ann = { id: 42, is_bot: false, first_name: "Ann" }
const bot = { id: 1001, is_bot: true, first_name: "Sage", username: "sage_bot" }
const forum = { id: -1002, type: "supergroup" as const, title: "Guild", is_forum: true as const }

const message = (fields: Partial<Message> & { text?: string }): Message =>
  ({ message_id: 10, date: 1_700_000_000, chat: forum, from: ann, ...fields }) as Message

describe("reading updates", () => {
  test("a mention of this bot, a text mention, a command for it or for everyone", () => {
    expect(
      addressingOf(message({ text: "hey @Sage_Bot look", entities: [{ type: "mention", offset: 4, length: 9 }] }), me)
    ).toEqual({ mentioned: true, replyToSelf: false })
    expect(
      addressingOf(message({ text: "hey @other_bot", entities: [{ type: "mention", offset: 4, length: 10 }] }), me)
        .mentioned
    ).toBe(false)
    expect(
      addressingOf(
        message({ text: "Sage, hi", entities: [{ type: "text_mention", offset: 0, length: 4, user: bot }] }),
        me
      ).mentioned
    ).toBe(true)
    expect(
      addressingOf(
        message({ text: "/Start@sage_bot deep-link", entities: [{ type: "bot_command", offset: 0, length: 15 }] }),
        me
      ).command
    ).toEqual({ name: "start", args: "deep-link" })
    expect(
      addressingOf(message({ text: "/reset", entities: [{ type: "bot_command", offset: 0, length: 6 }] }), me).command
    ).toEqual({ name: "reset", args: "" })
    expect(
      addressingOf(
        message({ text: "/help@rothrock_bot", entities: [{ type: "bot_command", offset: 0, length: 18 }] }),
        me
      ).command
    ).toBeUndefined()
  })

  test("a topic's opening message is not a reply to the bot, even when the bot opened the topic", () => {
    const opening = {
      message_id: 7,
      date: 1,
      chat: forum,
      from: bot,
      forum_topic_created: { name: "News", icon_color: 1 }
    } as Message
    const inTopic = message({
      text: "hello",
      message_thread_id: 7,
      is_topic_message: true,
      reply_to_message: opening
    } as Partial<Message>)
    expect(addressingOf(inTopic, me).replyToSelf).toBe(false)
    expect(threadOf(inTopic)).toBe("7")
    const botAnswer = {
      message_id: 12,
      date: 1,
      chat: forum,
      from: bot,
      text: "an answer",
      message_thread_id: 7
    } as Message
    const reply = message({
      text: "thanks",
      message_thread_id: 7,
      is_topic_message: true,
      reply_to_message: botAnswer
    } as Partial<Message>)
    expect(addressingOf(reply, me).replyToSelf).toBe(true)
  })

  test("reply threads of an ordinary supergroup are not separate conversations", () => {
    const group = { id: -1001, type: "supergroup" as const, title: "Friends" }
    expect(threadOf(message({ chat: group, text: "x", message_thread_id: 3 } as Partial<Message>))).toBeUndefined()
  })

  test("message ids are stable, edits get their own, and the Telegram id can be read back", () => {
    const plain = message({ text: "hi" })
    expect(messageIdOf("telegram:1001", plain, false)).toBe("telegram:1001/-1002/10")
    expect(messageIdOf("telegram:1001", { ...plain, edit_date: 1_700_000_100 } as Message, true)).toBe(
      "telegram:1001/-1002/10:e1700000100"
    )
    expect(platformMessageId("telegram:1001/-1002/10")).toBe(10)
    expect(platformMessageId("telegram:1001/-1002/10:e1700000100")).toBe(10)
    expect(platformMessageId(undefined)).toBeUndefined()
  })

  test("a message sent on behalf of a chat is authored by that chat; a channel post copied in counts as a bot", () => {
    const channel = { id: -1009, type: "channel" as const, title: "News" }
    const anonymous = { id: 1087968824, is_bot: true, first_name: "Group", username: "GroupAnonymousBot" }
    const admin = message({ text: "hi", from: anonymous, sender_chat: forum } as Partial<Message>)
    expect(authorOf(admin, () => false)).toEqual({ id: "chat:-1002", name: "Guild", isBot: false })
    const forwarded = message({ text: "post", sender_chat: channel, is_automatic_forward: true } as Partial<Message>)
    expect(authorOf(forwarded, () => false)?.isBot).toBe(true)
    expect(authorOf(message({ text: "x" }), (id) => id === "42")).toMatchObject({ id: "42", name: "Ann", isBot: true })
  })
})
