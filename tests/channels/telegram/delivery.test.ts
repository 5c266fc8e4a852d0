import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Effect, Schema } from "effect"
import { webhookUrl } from "../../../core/channels/telegram/webhook.ts"
import { Config, TroupeConfig } from "../../../core/config/Config.ts"
import { Http } from "../../../core/http/HttpServer.ts"
import { Store } from "../../../core/store/Store.ts"
import { FakeTelegram } from "../../fakes/telegram/FakeTelegram.ts"
import { runPersona } from "../../support/runtime.ts"
import { addBots, ann, bob, live, OTHER, section, TOKEN, waitFor } from "./support.ts"

let fake: FakeTelegram
beforeEach(() => {
  fake = FakeTelegram.start({ webhookRetryMs: 50 })
  addBots(fake)
})
afterEach(() => fake.stop())

/** Poll (real time) until `check` holds. */
const until = (check: () => boolean | Effect.Effect<boolean>, timeoutMs = 3000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const value = check()
      if (typeof value === "boolean" ? value : yield* value) return
      if (Date.now() > deadline) return yield* Effect.dieMessage(`condition not met within ${timeoutMs} ms`)
      yield* Effect.sleep("10 millis")
    }
  })

describe("restarts and the update offset", () => {
  test("after a restart, updates that came while down are answered once, and nothing is answered twice", () =>
    live(
      Effect.gen(function* () {
        const store = yield* Store
        const chat = fake.chat(TOKEN, ann.id)
        const persona = { channels: [section(fake, { stream: false })] }
        const first = fake.userSends(TOKEN, { from: ann, text: "one" })
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* runPersona(persona)
            yield* waitFor(fake, () => chat.last?.text === "ok: one")
          })
        )
        expect(yield* store.getCursor("telegram:1001:offset")).toBe(String(first.update_id + 1))
        // While the runtime is down: two new messages, and Telegram redelivering the first one.
        fake.userSends(TOKEN, { from: ann, text: "two" })
        fake.userSends(TOKEN, { from: ann, text: "three" })
        fake.pushUpdate(TOKEN, first)
        const polls = fake.callsTo("getUpdates").length
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* runPersona(persona)
            yield* waitFor(fake, () => chat.last?.text === "ok: three")
          })
        )
        expect(chat.texts).toEqual(["ok: one", "ok: two", "ok: three"])
        // The restarted channel resumed at the stored offset.
        expect(fake.callsTo("getUpdates")[polls]!.params.offset).toBe(first.update_id + 1)
        expect(yield* store.getCursor("telegram:1001:offset")).toBe(String(first.update_id + 3))
      })
    ))
})

describe("faults", () => {
  test("a 429 on sendMessage is waited out: one message, sent after retry_after", () =>
    live(
      Effect.gen(function* () {
        yield* runPersona({ channels: [section(fake, { stream: false })] })
        fake.failNext("sendMessage", { code: 429, retryAfter: 1 })
        fake.userSends(TOKEN, { from: ann, text: "busy?" })
        const chat = fake.chat(TOKEN, ann.id)
        yield* waitFor(fake, () => chat.last?.text === "ok: busy?", 4000)
        const sends = fake.callsTo("sendMessage")
        expect(sends.map((call) => call.status)).toEqual([429, 200])
        expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(950)
        expect(chat.texts).toEqual(["ok: busy?"])
      })
    ))

  test("5xx answers and gateway errors are retried with backoff for calls that are safe to repeat", () =>
    live(
      Effect.gen(function* () {
        fake.failNext("getUpdates", { code: 502 })
        fake.failNext("setMyCommands", { code: 500 })
        fake.failNext("sendChatAction", { code: 504 })
        yield* runPersona({ channels: [section(fake, { stream: false })] })
        fake.userSends(TOKEN, { from: ann, text: "anyone?" })
        yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last?.text === "ok: anyone?")
        yield* waitFor(fake, () => fake.commands(TOKEN, undefined, "uk").length === 3)
        expect(fake.callsTo("getUpdates")[0]!.status).toBe(502)
        expect(
          fake
            .callsTo("setMyCommands")
            .slice(0, 2)
            .map((call) => call.status)
        ).toEqual([500, 200])
        expect(fake.chat(TOKEN, ann.id).texts).toEqual(["ok: anyone?"])
      })
    ))

  test("a send that timed out after Telegram took it is not sent again; the channel goes on", () =>
    live(
      Effect.gen(function* () {
        const store = yield* Store
        yield* runPersona({ channels: [section(fake, { stream: false, request_timeout: "300ms" })] })
        fake.acceptThenTimeout("sendMessage")
        fake.userSends(TOKEN, { from: ann, text: "did it arrive?" })
        const chat = fake.chat(TOKEN, ann.id)
        yield* until(() => fake.callsTo("sendMessage")[0]?.aborted === true)
        const unknown = Effect.map(store.outboxPending("telegram:1001"), (entries) =>
          entries.some((entry) => entry.status === "unknown")
        )
        yield* until(() => unknown)
        fake.userSends(TOKEN, { from: ann, text: "and this?" })
        yield* waitFor(fake, () => chat.last?.text === "ok: and this?")
        expect(fake.callsTo("sendMessage")).toHaveLength(2)
        expect(chat.texts).toEqual(["ok: did it arrive?", "ok: and this?"])
      })
    ))

  test("on startup, reply chunks a previous run left pending or unknown are dropped, not sent", () =>
    live(
      Effect.gen(function* () {
        const store = yield* Store
        const entry = (key: string) => ({
          key,
          persona: "sage",
          channel: "telegram:1001",
          conversationId: "sage/telegram:1001/42",
          turnId: key.split(":")[0]!,
          chunk: 0,
          text: "half an answer"
        })
        yield* store.outboxPut(entry("crashed:000"))
        yield* store.outboxPut(entry("timedout:000"))
        yield* store.outboxMark("timedout:000", "unknown")
        yield* runPersona({ channels: [section(fake)] })
        yield* until(() => Effect.map(store.outboxPending("telegram:1001"), (left) => left.length === 0))
        expect((yield* store.outboxGet("crashed:000"))?.status).toBe("dropped")
        expect((yield* store.outboxGet("timedout:000"))?.status).toBe("dropped")
        expect(fake.callsTo("sendMessage")).toHaveLength(0)
      })
    ))

  test("a revoked token fails that channel once, without restarts, while another persona's channel goes on", () =>
    live(
      Effect.gen(function* () {
        const sage = yield* runPersona({ channels: [section(fake, { stream: false })] })
        const rothrock = yield* runPersona({ channels: [section(fake, { stream: false }, OTHER)] }, { id: "rothrock" })
        fake.userSends(OTHER, { from: ann, text: "hi rothrock" })
        yield* waitFor(fake, () => fake.chat(OTHER, ann.id).last?.text === "ok: hi rothrock")

        fake.revokeBot(OTHER)
        const channel = rothrock.channels.get("telegram:2002")!
        yield* until(() => channel.state() === "failed")
        const polls = fake.callsTo("getUpdates", OTHER).length
        fake.userSends(TOKEN, { from: bob, text: "still there, sage?" })
        yield* waitFor(fake, () => fake.chat(TOKEN, bob.id).last?.text === "ok: still there, sage?")
        expect(sage.channels.get("telegram:1001")!.state()).toBe("ready")
        // Failed for good: no reconnect attempts, no more polling.
        expect(fake.callsTo("getMe", OTHER)).toHaveLength(1)
        expect(fake.callsTo("getUpdates", OTHER)).toHaveLength(polls)
      })
    ))

  test("a token already revoked at startup leaves the channel failed after one getMe", () =>
    live(
      Effect.gen(function* () {
        fake.revokeBot(OTHER)
        const rothrock = yield* runPersona({ channels: [section(fake, {}, OTHER)] }, { id: "rothrock" })
        yield* until(() => rothrock.channels.get("telegram:2002")?.state() === "failed")
        expect(fake.callsTo("getMe", OTHER)).toHaveLength(1)
        expect(fake.callsTo("getUpdates", OTHER)).toHaveLength(0)
      })
    ))
})

describe("webhook", () => {
  test("updates with the right secret are answered; a wrong or missing secret gets 401 and nothing happens", () =>
    live(
      Effect.gen(function* () {
        const http = yield* Http
        const url = `${http.url}/hooks/sage`
        yield* runPersona({
          channels: [
            section(fake, {
              stream: false,
              mode: "webhook",
              webhook: { url, path: "/hooks/sage", secret: "right_secret" }
            })
          ]
        })
        yield* waitFor(fake, () => fake.webhookUrl(TOKEN) === url)
        const chat = fake.chat(TOKEN, ann.id)
        fake.userSends(TOKEN, { from: ann, text: "via webhook" })
        yield* waitFor(fake, () => chat.last?.text === "ok: via webhook")
        // The fake records a delivery once our answer is read, which may be after the reply landed.
        const delivered = yield* waitFor(fake, () => fake.webhookDeliveries[0])
        expect(delivered).toMatchObject({ status: 200, secretToken: "right_secret" })

        const forged = {
          update_id: 9999,
          message: {
            message_id: 500,
            date: Math.floor(Date.now() / 1000),
            chat: { id: ann.id, type: "private", first_name: "Ann" },
            from: { ...ann, is_bot: false },
            text: "forged"
          }
        }
        const attempts: ReadonlyArray<Record<string, string>> = [
          { "X-Telegram-Bot-Api-Secret-Token": "wrong_secret" },
          {}
        ]
        for (const headers of attempts) {
          const response = yield* Effect.promise(() =>
            fetch(url, {
              method: "POST",
              headers: { "content-type": "application/json", ...headers },
              body: JSON.stringify(forged)
            })
          )
          expect(response.status).toBe(401)
        }
        fake.userSends(TOKEN, { from: ann, text: "after the forgery" })
        yield* waitFor(fake, () => chat.last?.text === "ok: after the forgery")
        expect(chat.texts).toEqual(["ok: via webhook", "ok: after the forgery"])
        expect(fake.callsTo("getUpdates", TOKEN)).toHaveLength(0)
      })
    ))

  test("without webhook.url, Telegram is given http.public_url + /telegram/<bot id>", () =>
    live(
      Effect.gen(function* () {
        const http = yield* Http
        const config = Schema.decodeUnknownSync(TroupeConfig)({ http: { public_url: `${http.url}/` } })
        yield* runPersona({ channels: [section(fake, { stream: false, mode: "webhook" })] }).pipe(
          Effect.provide(Config.layerValue({ config, file: undefined, root: "." }))
        )
        yield* waitFor(fake, () => fake.webhookUrl(TOKEN) === `${http.url}/telegram/1001`)
        fake.userSends(TOKEN, { from: ann, text: "hello hook" })
        yield* waitFor(fake, () => fake.chat(TOKEN, ann.id).last?.text === "ok: hello hook")
        // A secret was generated although none is configured.
        const delivered = yield* waitFor(fake, () => fake.webhookDeliveries[0])
        expect(delivered.status).toBe(200)
        expect(delivered.secretToken).toMatch(/^[\w-]{32}$/)
        expect(webhookUrl({ webhook: { url: "https://x.io/hook" } } as never, 1, "https://y.io")).toBe(
          "https://x.io/hook"
        )
      })
    ))

  test("webhook mode without a public URL leaves the channel failed with the reason", () =>
    live(
      Effect.gen(function* () {
        const sage = yield* runPersona({ channels: [section(fake, { mode: "webhook" })] })
        yield* until(() => sage.channels.get("telegram:1001")?.state() === "failed")
        expect(fake.callsTo("setWebhook")).toHaveLength(0)
      })
    ))
})
