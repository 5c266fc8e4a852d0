import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { Store } from "../../../core/store/Store.ts"
import { FakeTelegram } from "../../fakes/telegram/FakeTelegram.ts"
import { runPersona } from "../../support/runtime.ts"
import { addBots, ann, bob, live, section, TOKEN, waitFor } from "./support.ts"

let fake: FakeTelegram
beforeEach(() => {
  fake = FakeTelegram.start()
  addBots(fake)
})
afterEach(() => fake.stop())

const group = { id: -1001, type: "supergroup" as const, title: "Friends" }
const forum = { id: -1002, type: "supergroup" as const, title: "Guild", is_forum: true }

describe("groups", () => {
  test("answers a mention, a reply to the bot and a command for it; not chatter or another bot's command", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { stream: false })] })
        const chat = fake.chat(TOKEN, group.id)
        fake.userSends(TOKEN, { chat: group, from: ann, text: "hello everyone, nice weather" })
        const mention = fake.userSends(TOKEN, { chat: group, from: ann, text: "@sage_bot what is two plus two?" })
        const first = yield* waitFor(fake, () => chat.messages[0])
        expect(first.text).toBe("ok: Ann: @sage_bot what is two plus two?")
        // In a group the answer quotes the message it answers.
        expect(first.reply_to_message_id).toBe(mention.message!.message_id)

        fake.userSends(TOKEN, { chat: group, from: bob, text: "thanks a lot", reply_to_message_id: first.message_id })
        fake.userSends(TOKEN, { chat: group, from: bob, text: "/help@rothrock_bot" })
        fake.userSends(TOKEN, { chat: group, from: bob, text: "/help@sage_bot" })
        fake.userSends(TOKEN, { chat: group, from: ann, text: "@sage_bot last one" })
        yield* waitFor(fake, () => chat.messages.length === 4 && chat.messages[3])
        const texts = chat.texts
        expect(texts[1]).toBe("ok: Bob: thanks a lot")
        expect(texts[2]).toStartWith("I'm sage.")
        expect(texts[3]).toBe("ok: Ann: @sage_bot last one")
      })
    ))

  test("reply: everything lets a persona answer all group messages", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { stream: false, reply: { everything: true } })] })
        fake.userSends(TOKEN, { chat: group, from: ann, text: "just chatting" })
        yield* waitFor(fake, () => fake.chat(TOKEN, group.id).last?.text === "ok: Ann: just chatting")
      })
    ))

  test("each forum topic is its own conversation, and replies stay in their topic", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { stream: false })] })
        const chat = fake.chat(TOKEN, forum.id)
        fake.userSends(TOKEN, { chat: forum, from: ann, text: "@sage_bot first topic", message_thread_id: 7 })
        fake.userSends(TOKEN, { chat: forum, from: bob, text: "@sage_bot second topic", message_thread_id: 9 })
        // Topic messages look like replies to the topic's first message: that is not a reply to the bot.
        fake.userSends(TOKEN, { chat: forum, from: ann, text: "plain chatter in the topic", message_thread_id: 7 })
        fake.userSends(TOKEN, { chat: forum, from: ann, text: "@sage_bot again", message_thread_id: 7 })
        yield* waitFor(fake, () => chat.messages.length === 3)
        const byText = Object.fromEntries(chat.messages.map((m) => [m.text, m.message_thread_id]))
        expect(byText).toEqual({
          "ok: Ann: @sage_bot first topic": 7,
          "ok: Bob: @sage_bot second topic": 9,
          "ok: Ann: @sage_bot again": 7
        })
        const store = yield* Store
        const conversations = (yield* store.conversations({ prefix: "sage/" })).map((c) => c.id).sort()
        expect(conversations).toEqual(["sage/telegram:1001/-1002/7", "sage/telegram:1001/-1002/9"])
        const history = yield* store.history("sage/telegram:1001/-1002/7", 10)
        expect(history.map((m) => m.content)).toEqual([
          "@sage_bot first topic",
          "ok: Ann: @sage_bot first topic",
          "@sage_bot again",
          "ok: Ann: @sage_bot again"
        ])
      })
    ))
})

describe("allowlists", () => {
  test("users and chats outside the allowlists get nothing", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({
          channels: [section(fake, { stream: false, allow_users: [ann.id], allow_chats: [ann.id, group.id] })]
        })
        fake.userSends(TOKEN, { from: bob, text: "hi, may I?" })
        fake.userSends(TOKEN, { chat: group, from: bob, text: "@sage_bot and here?" })
        fake.userSends(TOKEN, { chat: { id: -1003, type: "group" }, from: ann, text: "@sage_bot elsewhere" })
        fake.userSends(TOKEN, { from: ann, text: "hello" })
        yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last?.text === "ok: hello")
        expect(fake.sentMessages(TOKEN).map((m) => m.text)).toEqual(["ok: hello"])
      })
    ))

  test("with a refusal configured, an outsider gets it once per chat", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({
          channels: [
            section(fake, { stream: false, allow_users: [String(ann.id)], refusal: "Sorry, I only talk to Ann." })
          ]
        })
        fake.userSends(TOKEN, { from: bob, text: "hi" })
        fake.userSends(TOKEN, { from: bob, text: "hello?" })
        // Unaddressed group chatter from an outsider gets no refusal either.
        fake.userSends(TOKEN, { chat: group, from: bob, text: "talking to friends" })
        fake.userSends(TOKEN, { chat: group, from: bob, text: "@sage_bot and you?" })
        fake.userSends(TOKEN, { chat: group, from: bob, text: "@sage_bot hello??" })
        fake.userSends(TOKEN, { from: ann, text: "hello" })
        yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last?.text === "ok: hello")
        expect(fake.chat(TOKEN, bob.id).texts).toEqual(["Sorry, I only talk to Ann."])
        expect(fake.chat(TOKEN, group.id).texts).toEqual(["Sorry, I only talk to Ann."])
      })
    ))
})
