import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Bot, GrammyError, HttpError, InputFile, webhookCallback } from "grammy"
import { FakeTelegram } from "./telegram/FakeTelegram.ts"

const TOKEN = "1001:sage-token"
const OTHER = "2002:rothrock-token"
const ann = { id: 42, first_name: "Ann", username: "ann", language_code: "en" }

let fake: FakeTelegram

beforeEach(() => {
  fake = FakeTelegram.start({ webhookRetryMs: 50 })
  fake.addBot({ token: TOKEN, id: 1001, username: "sage_bot", first_name: "Sage" })
  fake.addBot({ token: OTHER, id: 2002, username: "rothrock_bot" })
})

afterEach(async () => {
  await fake.stop()
})

const newBot = (token = TOKEN, timeoutSeconds?: number) =>
  new Bot(token, { client: { apiRoot: fake.apiRoot, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) } })

/** The Bot API error a call failed with. */
const apiError = async (call: Promise<unknown>): Promise<GrammyError> => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e
  )
  if (!(error instanceof GrammyError)) throw new Error(`expected a GrammyError, got ${String(error)}`)
  return error
}

describe("long polling", () => {
  test("a user's message reaches the bot and its reply lands in the chat", async () => {
    const bot = newBot()
    bot.command("start", (ctx) => ctx.reply(`hi ${ctx.from?.first_name}`))
    bot.on("message:text", async (ctx) => {
      await ctx.replyWithChatAction("typing")
      await ctx.reply(`echo: ${ctx.message.text}`, { reply_parameters: { message_id: ctx.message.message_id } })
    })
    const running = bot.start({ timeout: 1 })

    const sent = fake.userSends(TOKEN, { from: ann, text: "hello there" })
    const chat = fake.chat(TOKEN, ann.id)
    const reply = await fake.waitFor(() => chat.messages.find((m) => m.text === "echo: hello there"))
    expect(reply.reply_to_message_id).toBe(sent.message!.message_id)
    expect(reply.message.from?.username).toBe("sage_bot")
    expect(chat.actions.map((a) => a.action)).toEqual(["typing"])

    const command = fake.userSends(TOKEN, { from: ann, text: "/start@sage_bot now @bob" })
    expect(command.message!.entities).toEqual([
      { type: "bot_command", offset: 0, length: 15 },
      { type: "mention", offset: 20, length: 4 }
    ])
    await fake.waitFor(() => chat.last?.text === "hi Ann")

    await bot.stop()
    await running
    // bot.stop() confirms what it handled with a final getUpdates
    expect(fake.pendingUpdates(TOKEN)).toEqual([])
    expect(fake.callsTo("deleteWebhook", TOKEN)).toHaveLength(1)
    expect(fake.callsTo("getMe", TOKEN)).toHaveLength(1)
  })

  test("confirmed updates are gone: a restarted bot only gets what came after", async () => {
    const first = newBot()
    const seenFirst: string[] = []
    first.on("message:text", (ctx) => {
      seenFirst.push(ctx.message.text)
    })
    const running = first.start({ timeout: 1 })
    fake.userSends(TOKEN, { from: ann, text: "one" })
    await fake.waitFor(() => seenFirst.length === 1)
    await first.stop()
    await running

    fake.userSends(TOKEN, { from: ann, text: "two" })
    const second = newBot()
    const seenSecond: string[] = []
    second.on("message:text", (ctx) => {
      seenSecond.push(ctx.message.text)
    })
    const again = second.start({ timeout: 1 })
    await fake.waitFor(() => seenSecond.length === 1)
    await second.stop()
    await again
    expect(seenFirst).toEqual(["one"])
    expect(seenSecond).toEqual(["two"])
  })

  test("getUpdates honours offset, limit and timeout", async () => {
    const api = newBot().api
    const a = fake.userSends(TOKEN, { from: ann, text: "a" })
    const b = fake.userSends(TOKEN, { from: ann, text: "b" })
    expect((await api.getUpdates({ limit: 1 })).map((u) => u.update_id)).toEqual([a.update_id])
    // asking for offset b acknowledges a for good
    expect((await api.getUpdates({ offset: b.update_id })).map((u) => u.update_id)).toEqual([b.update_id])
    expect((await api.getUpdates({})).map((u) => u.update_id)).toEqual([b.update_id])

    const started = Date.now()
    const waiting = api.getUpdates({ offset: b.update_id + 1, timeout: 2 })
    await fake.waitFor(() => fake.callsTo("getUpdates").at(-1)?.status === null)
    const c = fake.userSends(TOKEN, { from: ann, text: "c" })
    expect((await waiting).map((u) => u.update_id)).toEqual([c.update_id])
    expect(Date.now() - started).toBeLessThan(1000)
  })

  test("allowed_updates and privacy mode filter what a bot receives", async () => {
    const api = newBot().api
    await api.getUpdates({ allowed_updates: ["message"] })
    const hello = fake.userSends(TOKEN, { from: ann, text: "hello" })
    fake.userEdits(TOKEN, ann.id, hello.message!.message_id, "hello again")
    fake.pushUpdate(TOKEN, { callback_query: { id: "1", from: { ...ann, is_bot: false }, chat_instance: "c" } })
    expect(fake.pendingUpdates(TOKEN).map((u) => Object.keys(u)[1])).toEqual(["message"])
    expect(fake.chat(TOKEN, ann.id).inbound[0]!.text).toBe("hello again")

    fake.addBot({ token: "3003:shy", id: 3003, username: "shy_bot", privacyMode: true })
    const shy = newBot("3003:shy").api
    const group = { id: -55, type: "group" as const, title: "Friends" }
    fake.userSends("3003:shy", { chat: group, from: ann, text: "chatter" })
    fake.userSends("3003:shy", { chat: group, from: ann, text: "/ask@other_bot x" })
    fake.userSends("3003:shy", { chat: group, from: ann, text: "/ask@shy_bot x" })
    const own = await shy.sendMessage(group.id, "I am here")
    fake.userSends("3003:shy", { chat: group, from: ann, text: "welcome", reply_to_message_id: own.message_id })
    const texts = (await shy.getUpdates()).map((u) => u.message?.text)
    expect(texts).toEqual(["/ask@shy_bot x", "welcome"])
  })

  test("a second poller terminates the first with 409 Conflict", async () => {
    const api = newBot().api
    const first = apiError(api.getUpdates({ timeout: 2 }))
    await fake.waitFor(() => fake.callsTo("getUpdates").length === 1)
    const second = api.getUpdates({ timeout: 0 })
    const error = await first
    expect(error.error_code).toBe(409)
    expect(error.description).toContain("terminated by other getUpdates request")
    expect(await second).toEqual([])
  })
})

describe("messages", () => {
  test("editMessageText changes what users see; an identical edit is 400 not modified", async () => {
    const api = newBot().api
    const draft = await api.sendMessage(ann.id, "thinking…")
    const edited = await api.editMessageText(ann.id, draft.message_id, "<b>Final</b> answer", { parse_mode: "HTML" })
    expect(edited).toMatchObject({ text: "Final answer", entities: [{ type: "bold", offset: 0, length: 5 }] })

    const view = fake.chat(TOKEN, ann.id).messages[0]!
    expect(view).toMatchObject({ text: "Final answer", raw: "<b>Final</b> answer", parse_mode: "HTML", editCount: 1 })
    expect(view.history.map((v) => v.text)).toEqual(["thinking…", "Final answer"])

    const same = await apiError(
      api.editMessageText(ann.id, draft.message_id, "<b>Final</b> answer", { parse_mode: "HTML" })
    )
    expect(same.error_code).toBe(400)
    expect(same.description).toStartWith("Bad Request: message is not modified:")

    const missing = await apiError(api.editMessageText(ann.id, 999, "x"))
    expect(missing.description).toBe("Bad Request: message to edit not found")

    await api.deleteMessage(ann.id, draft.message_id)
    expect(fake.chat(TOKEN, ann.id).messages).toEqual([])
    expect(fake.chat(TOKEN, ann.id).deleted).toHaveLength(1)
  })

  test("HTML that Telegram cannot parse is a 400 naming the problem", async () => {
    const api = newBot().api
    const cases: Array<[string, string]> = [
      ["a <foo>b</foo>", 'Unsupported start tag "foo" at byte offset 2'],
      ["<b>bold", `Can't find end tag corresponding to start tag "b"`],
      ["<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'],
      ["1 < 2", 'Unsupported start tag "" at byte offset 2'],
      ['<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0']
    ]
    for (const [text, problem] of cases) {
      const error = await apiError(api.sendMessage(ann.id, text, { parse_mode: "HTML" }))
      expect(error.description).toBe(`Bad Request: can't parse entities: ${problem}`)
    }
    const fine = await api.sendMessage(
      ann.id,
      '<pre><code class="language-ts">x &lt; 1</code></pre> AT&T &quot;q&quot; <a href="https://a.example">link</a>',
      { parse_mode: "HTML" }
    )
    expect(fine.text).toBe('x < 1 AT&T "q" link')
    expect(fine.entities).toEqual([
      { type: "pre", offset: 0, length: 5, language: "ts" },
      { type: "text_link", offset: 15, length: 4, url: "https://a.example" }
    ])

    const markdown = await apiError(api.sendMessage(ann.id, "Done.", { parse_mode: "MarkdownV2" }))
    expect(markdown.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
    )
  })

  test("text over 4096 characters after parsing is too long; empty text is refused", async () => {
    const api = newBot().api
    const long = await apiError(api.sendMessage(ann.id, "x".repeat(4097)))
    expect(long.description).toBe("Bad Request: message is too long")
    // markup does not count
    await api.sendMessage(ann.id, `<b>${"x".repeat(4096)}</b>`, { parse_mode: "HTML" })
    const empty = await apiError(api.sendMessage(ann.id, "<b></b>", { parse_mode: "HTML" }))
    expect(empty.description).toBe("Bad Request: message text is empty")
    expect(fake.chat(TOKEN, ann.id).messages).toHaveLength(1)
  })

  test("a reply in a forum topic stays in the topic", async () => {
    const bot = newBot()
    bot.on("message:text", (ctx) => ctx.reply("in topic"))
    const running = bot.start({ timeout: 1 })
    const group = { id: -1001234, type: "supergroup" as const, title: "Guild", is_forum: true }
    const update = fake.userSends(TOKEN, { chat: group, from: ann, text: "hello", message_thread_id: 7 })
    // Telegram makes topic messages look like replies to the topic's first message
    expect(update.message!.reply_to_message?.forum_topic_created).toBeDefined()
    const reply = await fake.waitFor(() => fake.chat(TOKEN, group.id).last)
    expect(reply.message_thread_id).toBe(7)
    await bot.stop()
    await running
  })

  test("commands are stored per scope and language", async () => {
    const api = newBot().api
    await api.setMyCommands([{ command: "help", description: "How to talk to me" }])
    await api.setMyCommands([{ command: "hilfe", description: "Hilfe" }], { language_code: "de" })
    expect(await api.getMyCommands()).toEqual([{ command: "help", description: "How to talk to me" }])
    expect(fake.commands(TOKEN, undefined, "de")).toEqual([{ command: "hilfe", description: "Hilfe" }])
    const bad = await apiError(api.setMyCommands([{ command: "Help", description: "x" }]))
    expect(bad.error_code).toBe(400)
  })
})

describe("faults", () => {
  test("429 carries retry_after; flood control answers 429 too", async () => {
    const api = newBot().api
    fake.failNext("sendMessage", { code: 429, retryAfter: 3 })
    const limited = await apiError(api.sendMessage(ann.id, "one"))
    expect(limited.error_code).toBe(429)
    expect(limited.parameters.retry_after).toBe(3)
    expect(limited.description).toBe("Too Many Requests: retry after 3")
    await api.sendMessage(ann.id, "one")

    fake.setRateLimit({ perChatPerSecond: 1 })
    await api.sendMessage(ann.id, "two")
    const flood = await apiError(api.sendMessage(ann.id, "three"))
    expect(flood.parameters.retry_after).toBe(1)
    expect(fake.chat(TOKEN, ann.id).texts).toEqual(["one", "two"])
  })

  test("502 from the gateway is a network-level HttpError", async () => {
    const api = newBot().api
    fake.failNext("getMe", { code: 502 })
    const error = await api.getMe().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpError)
    expect(fake.callsTo("getMe")[0]!.status).toBe(502)
  })

  test("a send can be applied without an answer, so the client cannot know it worked", async () => {
    const api = newBot(TOKEN, 0.3).api
    fake.acceptThenTimeout("sendMessage")
    const error = await api.sendMessage(ann.id, "did it arrive?").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpError)
    expect(fake.chat(TOKEN, ann.id).texts).toEqual(["did it arrive?"])
    await fake.waitFor(() => fake.callsTo("sendMessage")[0]!.aborted)
  })

  test("a delayed send still happens after the client gave up", async () => {
    const api = newBot(TOKEN, 0.1).api
    fake.delayNext("sendMessage", 250)
    const error = await api.sendMessage(ann.id, "slow").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpError)
    expect(fake.chat(TOKEN, ann.id).texts).toEqual([])
    await fake.waitFor(() => fake.chat(TOKEN, ann.id).texts.includes("slow"))
  })

  test("a revoked or unknown token gets 401 Unauthorized", async () => {
    fake.revokeBot(OTHER)
    for (const token of [OTHER, "3003:nobody"]) {
      const error = await apiError(newBot(token).api.getMe())
      expect(error.error_code).toBe(401)
      expect(error.description).toBe("Unauthorized")
    }
    expect((await newBot().api.getMe()).username).toBe("sage_bot")
  })
})

describe("webhooks", () => {
  test("updates are POSTed with the secret header to grammY's Bun webhook handler", async () => {
    const bot = newBot()
    bot.on("message:text", (ctx) => ctx.reply(`hooked: ${ctx.message.text}`))
    const receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: webhookCallback(bot, "bun", { secretToken: "right_secret" })
    })
    try {
      const url = `http://127.0.0.1:${receiver.port}/hook`
      // a wrong secret makes grammY answer 401; the update stays pending and is retried
      await bot.api.setWebhook(url, { secret_token: "wrong_secret" })
      fake.userSends(TOKEN, { from: ann, text: "ping" })
      await fake.waitFor(() => fake.webhookDeliveries.some((d) => d.status === 401))
      expect(fake.pendingUpdates(TOKEN)).toHaveLength(1)
      expect((await bot.api.getWebhookInfo()).last_error_message).toContain("401")

      await bot.api.setWebhook(url, { secret_token: "right_secret" })
      await fake.waitFor(() => fake.chat(TOKEN, ann.id).last?.text === "hooked: ping")
      // the delivery is recorded once grammY answers, after the reply it sent while handling the update
      const delivered = await fake.waitFor((f) => f.webhookDeliveries.find((d) => d.status === 200))
      expect(delivered).toMatchObject({ secretToken: "right_secret", url, update_id: 1 })
      expect(fake.pendingUpdates(TOKEN)).toEqual([])

      const conflict = await apiError(bot.api.getUpdates())
      expect(conflict.error_code).toBe(409)
      await bot.api.deleteWebhook()
      expect(await bot.api.getUpdates()).toEqual([])
    } finally {
      await receiver.stop(true)
    }
  })

  test("a webhook may answer with a method call, which Telegram runs", async () => {
    const receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const update = (await req.json()) as { message: { chat: { id: number } } }
        return Response.json({ method: "sendMessage", chat_id: update.message.chat.id, text: "from the reply" })
      }
    })
    try {
      await newBot().api.setWebhook(`http://127.0.0.1:${receiver.port}/`)
      fake.userSends(TOKEN, { from: ann, text: "hi" })
      await fake.waitFor(() => fake.chat(TOKEN, ann.id).last?.text === "from the reply")
      expect(fake.callsTo("sendMessage")[0]!.transport).toBe("webhook-reply")
    } finally {
      await receiver.stop(true)
    }
  })
})

describe("files and isolation", () => {
  test("a user's photo can be fetched with getFile and downloaded; uploads are stored", async () => {
    const bot = newBot()
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])
    const update = fake.userSends(TOKEN, { from: ann, photo: { fileContent: bytes, mime: "image/jpeg" }, text: "look" })
    expect(update.message!.caption).toBe("look")
    const file = await bot.api.getFile(update.message!.photo![0]!.file_id)
    const download = await fetch(`${fake.apiRoot}/file/bot${TOKEN}/${file.file_path}`)
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes)
    const elsewhere = await fetch(`${fake.apiRoot}/file/bot${OTHER}/${file.file_path}`)
    expect(elsewhere.status).toBe(404)

    const sent = await bot.api.sendPhoto(ann.id, new InputFile(new Uint8Array([9, 8, 7]), "chart.png"), {
      caption: "<i>chart</i>",
      parse_mode: "HTML"
    })
    expect(sent.caption).toBe("chart")
    const stored = fake.chat(TOKEN, ann.id).last!
    expect(stored).toMatchObject({ kind: "photo", text: "chart" })
    expect(stored.file?.bytes).toEqual(new Uint8Array([9, 8, 7]))
    expect(fake.callsTo("sendPhoto")[0]!.transport).toBe("multipart")
  })

  test("two bots do not see each other's updates or chats", async () => {
    const sage = newBot(TOKEN).api
    const rothrock = newBot(OTHER).api
    fake.userSends(TOKEN, { from: ann, text: "for sage" })
    expect(await rothrock.getUpdates()).toEqual([])
    expect((await sage.getUpdates()).map((u) => u.message?.text)).toEqual(["for sage"])
    const first = await rothrock.sendMessage(ann.id, "from rothrock")
    expect(first.message_id).toBe(1)
    expect(fake.chat(OTHER, ann.id).texts).toEqual(["from rothrock"])
    expect(fake.chat(TOKEN, ann.id).texts).toEqual([])
  })
})
