import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { catalogue } from "../../../core/i18n/messages.ts"
import { makeInstantProvider } from "../../../core/llm/InstantProvider.ts"
import { makeOpenAiProvider } from "../../../core/llm/OpenAiProvider.ts"
import type { ChatRequest } from "../../../core/llm/Provider.ts"
import { type FakeLlm, startFakeLlm } from "../../fakes/llm/index.ts"
import { FakeTelegram } from "../../fakes/telegram/FakeTelegram.ts"
import { runPersona } from "../../support/runtime.ts"
import { addBots, ann, live, section, TOKEN, waitFor } from "./support.ts"

let fake: FakeTelegram
let llm: FakeLlm

beforeAll(async () => {
  llm = await startFakeLlm()
})
afterAll(() => llm.stop())
beforeEach(() => {
  llm.reset()
  fake = FakeTelegram.start()
  addBots(fake)
})
afterEach(() => fake.stop())

/** The real OpenAI SDK provider, talking to the fake LLM server. */
const openai = () =>
  makeOpenAiProvider({ name: "openai", baseUrl: llm.openaiBaseUrl, apiKey: "test", timeoutMs: 10_000, maxRetries: 0 })
const viaOpenAi = { model: { provider: "openai", model: "fake-model" } }

const lastText = (request: ChatRequest) => {
  const content = request.messages.at(-1)?.content
  return typeof content === "string" ? content : ""
}

describe("direct messages", () => {
  test("an answer is streamed: a first message early, several edits, then exactly the model's full text", () =>
    live(
      Effect.gen(function* () {
        const answer =
          "Streaming works like this: the first words arrive, more words follow, and the message grows in place until the whole answer is there."
        llm.script({ text: answer, chunks: 20, chunkDelayMs: 25 })
        yield* runPersona({ ...viaOpenAi, channels: [section(fake, { edit_interval: "100ms" })] })
        fake.userSends(TOKEN, { from: ann, text: "how does streaming work?" })
        const chat = fake.chat(TOKEN, ann.id)
        const message = yield* waitFor(fake, () => (chat.last?.text === answer ? chat.last : undefined))
        expect(chat.messages).toHaveLength(1)
        expect(message.editCount).toBeGreaterThanOrEqual(2)
        const versions = message.history.map((version) => version.text)
        expect(versions[0]!.length).toBeLessThan(answer.length)
        for (const version of versions.slice(0, -1)) expect(answer.startsWith(version.replace(/ …$/, ""))).toBe(true)
        // The first message was up well before the model finished.
        expect(message.history.at(-1)!.at - message.history[0]!.at).toBeGreaterThan(200)
        // A DM is answered without quoting the user's message.
        expect(message.reply_to_message_id).toBeUndefined()
        expect(message.parse_mode).toBe("HTML")
      }),
      [openai()]
    ))

  test("replies streaming into one chat at once (two forum topics) share the chat's edit pace", () =>
    live(
      Effect.gen(function* () {
        const forum = { id: -1002, type: "supergroup" as const, title: "Guild", is_forum: true }
        const first = "The first topic gets a long streamed answer with many words in it, one after the other."
        const second = "The second topic gets its own streamed answer, also long enough to need several edits."
        llm.script({ text: first, chunks: 16, chunkDelayMs: 35 }, { text: second, chunks: 16, chunkDelayMs: 35 })
        yield* runPersona({ ...viaOpenAi, channels: [section(fake, { group_edit_interval: "150ms" })] })
        fake.userSends(TOKEN, { chat: forum, from: ann, text: "@sage_bot one", message_thread_id: 7 })
        fake.userSends(TOKEN, { chat: forum, from: ann, text: "@sage_bot two", message_thread_id: 9 })
        const chat = fake.chat(TOKEN, forum.id)
        yield* waitFor(fake, () => chat.texts.includes(first) && chat.texts.includes(second))
        const edits = chat.messages
          .flatMap((message) => message.history.slice(1).map((version) => ({ id: message.message_id, at: version.at })))
          .sort((a, b) => a.at - b.at)
        expect(new Set(edits.map((edit) => edit.id)).size).toBe(2)
        for (const [i, edit] of edits.entries()) {
          const previous = edits[i - 1]
          // An edit of the other reply comes at least one interval after (a little slack for the clock).
          if (previous && previous.id !== edit.id) expect(edit.at - previous.at).toBeGreaterThanOrEqual(140)
        }
      }),
      [openai()]
    ))

  test("typing is shown, and renewed, while the model is slow to start", () =>
    live(
      Effect.gen(function* () {
        const answer = "Sorry for the wait, here is the answer."
        llm.script({ text: answer, delayMs: 500 })
        yield* runPersona({ ...viaOpenAi, channels: [section(fake, { typing_interval: "100ms" })] })
        fake.userSends(TOKEN, { from: ann, text: "are you there?" })
        const chat = fake.chat(TOKEN, ann.id)
        const message = yield* waitFor(fake, () => (chat.last?.text === answer ? chat.last : undefined))
        const before = chat.actions.filter((action) => action.at <= message.sentAt)
        expect(before.every((action) => action.action === "typing")).toBe(true)
        expect(before.length).toBeGreaterThanOrEqual(3)
        // Typing stops once the answer is there: nothing more over three typing intervals (an absence needs a wait).
        const count = chat.actions.length
        yield* Effect.sleep("300 millis")
        expect(chat.actions.length).toBe(count)
      }),
      [openai()]
    ))

  test("a 10,000-character answer arrives in messages of at most 4,096, on clean boundaries, code block whole", () => {
    const paragraph = (n: number) =>
      Array.from(
        { length: 6 },
        (_, i) => `Sentence ${n}.${i} tells a short story about item number ${n * 10 + i}.`
      ).join(" ")
    const code = Array.from({ length: 40 }, (_, i) => `    total_${i} = values[${i}] * factor  # step ${i}`).join("\n")
    let answer = ""
    for (let n = 0; answer.length < 3600; n++) answer += `${paragraph(n)}\n\n`
    answer += `\`\`\`python\ndef compute(values, factor):\n${code}\n\`\`\`\n\n`
    for (let n = 100; answer.length < 10_000; n++) answer += `${paragraph(n)}\n\n`
    answer = answer.trim()
    return live(
      Effect.gen(function* () {
        yield* runPersona({
          model: { provider: "instant", max_tokens: 4000, initial_tokens: 4000 },
          channels: [section(fake)]
        })
        fake.userSends(TOKEN, { from: ann, text: "tell me everything" })
        const chat = fake.chat(TOKEN, ann.id)
        const squash = (text: string) => text.replace(/\s+/g, "")
        const expected = squash(answer.replace(/```python\n|```/g, ""))
        yield* waitFor(fake, () => squash(chat.texts.join("")) === expected, 5000)
        expect(chat.messages.length).toBeGreaterThanOrEqual(3)
        for (const message of chat.messages) {
          expect(message.text.length).toBeLessThanOrEqual(4096)
          // Each message ends at the end of a sentence or block, never mid-word.
          expect(message.text.trimEnd()).toMatch(/[.)\d]$/)
        }
        // The code block is in one message, whole, as one pre entity with its language.
        const holder = chat.messages.filter((message) => message.entities.some((e) => e.type === "pre"))
        expect(holder).toHaveLength(1)
        const pre = holder[0]!.entities.find((e) => e.type === "pre")!
        expect(holder[0]!.text.slice(pre.offset, pre.offset + pre.length)).toBe(`def compute(values, factor):\n${code}`)
        expect(pre).toMatchObject({ language: "python" })
      }),
      [makeInstantProvider({ reply: answer })]
    )
  })

  test("markdown is sent as Telegram HTML; a chunk Telegram cannot parse is sent again as plain text", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { stream: false })] })
        const chat = fake.chat(TOKEN, ann.id)
        fake.userSends(TOKEN, { from: ann, text: "format please" })
        const first = yield* waitFor(fake, () => chat.messages[0])
        expect(first.text).toBe("Bold and italic with x < y and a link & format please")
        expect(first.entities.map((e) => e.type)).toEqual(["bold", "italic", "code", "text_link"])

        fake.failNext("sendMessage", {
          code: 400,
          description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0'
        })
        fake.userSends(TOKEN, { from: ann, text: "again please" })
        const second = yield* waitFor(fake, () => chat.messages[1])
        expect(second.parse_mode).toBeUndefined()
        expect(second.text).toBe("Bold and italic with x < y and a link (https://example.com) & again please")
        expect(fake.callsTo("sendMessage")).toHaveLength(3)
      }),
      // The reply ends with the user's words, so two answers differ (the instant provider would take a repeated
      // answer for the continuation of the previous one).
      [
        makeInstantProvider({
          reply: (request) =>
            `**Bold** and _italic_ with \`x < y\` and [a link](https://example.com) & ${lastText(request)}`
        })
      ]
    ))

  test("format: plain sends the text without markup", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { format: "plain", stream: false })] })
        fake.userSends(TOKEN, { from: ann, text: "plain please" })
        const message = yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last)
        expect(message.parse_mode).toBeUndefined()
        expect(message.text).toBe("Bold text and code")
      }),
      [makeInstantProvider({ reply: "**Bold** text and `code`" })]
    ))

  test("/start answers the persona's greeting in the user's language; the menu is registered in en, ru and uk", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({
          greeting: { en: "Hello! I am Sage.", ru: "Привет! Я Мудрец.", uk: "Привіт! Я Мудрець." },
          channels: [section(fake)]
        })
        const ivan = { id: 77, first_name: "Иван", language_code: "ru" }
        fake.userSends(TOKEN, { from: ivan, text: "/start" })
        const reply = yield* waitFor(fake, () => fake.chat(TOKEN, ivan.id).last)
        expect(reply.text).toBe("Привет! Я Мудрец.")
        fake.userSends(TOKEN, { from: ann, text: "/help" })
        const help = yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last)
        expect(help.text).toStartWith("I'm sage.")
        yield* waitFor(fake, () => fake.commands(TOKEN, undefined, "uk").length === 3)
        expect(fake.commands(TOKEN).map((c) => c.command)).toEqual(["start", "reset", "help"])
        expect(fake.commands(TOKEN, undefined, "ru").find((c) => c.command === "reset")?.description).toBe(
          "Забыть наш разговор"
        )
        expect(fake.commands(TOKEN, undefined, "uk").find((c) => c.command === "help")?.description).toBe("Що я вмію")
      })
    ))

  test("edited messages are ignored by default and answered with edited: answer", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { edited: "answer", stream: false })] })
        const chat = fake.chat(TOKEN, ann.id)
        const sent = fake.userSends(TOKEN, { from: ann, text: "first version" })
        yield* waitFor(fake, () => chat.last?.text === "ok: first version")
        fake.userEdits(TOKEN, ann.id, sent.message!.message_id, "second version")
        yield* waitFor(fake, () => chat.last?.text === "ok: second version")
        expect(chat.texts).toEqual(["ok: first version", "ok: second version"])
      })
    ))

  test("edits are not even requested from Telegram when they are ignored", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake)] })
        const sent = fake.userSends(TOKEN, { from: ann, text: "only once" })
        const chat = fake.chat(TOKEN, ann.id)
        yield* waitFor(fake, () => chat.last?.text === "ok: only once")
        fake.userEdits(TOKEN, ann.id, sent.message!.message_id, "changed")
        fake.userSends(TOKEN, { from: ann, text: "next" })
        yield* waitFor(fake, () => chat.last?.text === "ok: next")
        expect(chat.texts).toEqual(["ok: only once", "ok: next"])
        expect(fake.callsTo("getUpdates")[0]!.params.allowed_updates).toEqual(["message"])
      })
    ))
})

describe("photos and files", () => {
  const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])

  test("a photo reaches a vision model as image data", () => {
    const seen: Array<ChatRequest> = []
    const provider = makeInstantProvider({
      vision: true,
      reply: (request) => {
        seen.push(request)
        return "I see it"
      }
    })
    return live(
      Effect.gen(function* () {
        yield* runPersona({
          model: { provider: "instant", vision: true },
          channels: [section(fake, { stream: false })]
        })
        fake.userSends(TOKEN, {
          from: ann,
          photo: { fileContent: bytes, mime: "image/jpeg" },
          caption: "what is this?"
        })
        yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last?.text === "I see it")
        const content = seen[0]!.messages.at(-1)!.content
        expect(Array.isArray(content)).toBe(true)
        const parts = content as ReadonlyArray<{ type: string; text?: string; data?: string; mime?: string }>
        expect(parts.find((p) => p.type === "text")?.text).toContain("what is this?")
        const image = parts.find((p) => p.type === "image")!
        expect(image.mime).toBe("image/jpeg")
        expect(Buffer.from(image.data!, "base64")).toEqual(Buffer.from(bytes))
        expect(fake.callsTo("getFile")).toHaveLength(1)
      }),
      [provider]
    )
  })

  test("without vision, a bare photo gets a short 'I can't see images' and the model is not asked", () => {
    let calls = 0
    const provider = makeInstantProvider({
      reply: () => {
        calls++
        return "model answer"
      }
    })
    return live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake)] })
        fake.userSends(TOKEN, { from: ann, photo: { fileContent: bytes, mime: "image/jpeg" } })
        const chat = fake.chat(TOKEN, ann.id)
        yield* waitFor(fake, () => chat.last?.text === catalogue.en.cant_see_images)
        fake.userSends(TOKEN, {
          from: { ...ann, language_code: "uk" },
          document: { fileContent: bytes, fileName: "a.pdf", mime: "application/pdf" }
        })
        yield* waitFor(fake, () => chat.last?.text === catalogue.uk.cant_see_files)
        expect(calls).toBe(0)
        expect(fake.callsTo("getFile")).toHaveLength(0)
      }),
      [provider]
    )
  })
})
