import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Effect, Either } from "effect"
import * as Actor from "../../../core/actor/Actor.ts"
import type { ChannelConfig } from "../../../core/persona/Persona.ts"
import { loadPersonaFolder } from "../../../core/persona/PersonaLoader.ts"
import { makeBotAccounts } from "../../../core/runtime/BotAccounts.ts"
import { startPersona } from "../../../core/runtime/PersonaRunner.ts"
import { FakeTelegram } from "../../fakes/telegram/FakeTelegram.ts"
import { addBots, ann, live, TOKEN, waitFor } from "./support.ts"

const folder = new URL("../../../personalities/sage", import.meta.url).pathname

let fake: FakeTelegram
beforeEach(() => {
  fake = FakeTelegram.start()
  addBots(fake)
})
afterEach(() => fake.stop())

describe("the sage example persona", () => {
  test("loads without a token: Telegram, the three tools, OpenAI with a fallback, a greeting in en/ru/uk", () => {
    const loaded = loadPersonaFolder(folder, { env: {} })
    if (Either.isLeft(loaded)) throw new Error(String(loaded.left))
    const sage = loaded.right
    expect(sage.id).toBe("sage")
    expect(sage.tools).toEqual(["clock", "calculator", "notes"])
    expect(sage.model.provider).toBe("openai")
    expect(sage.model.fallbacks.length).toBeGreaterThan(0)
    expect(Object.keys(sage.greeting as Record<string, string>)).toEqual(["en", "ru", "uk"])
    expect(sage.channels).toEqual([expect.objectContaining({ type: "telegram", token: "" })])
  })

  test("with TELEGRAM_BOT_TOKEN set it greets a Ukrainian user in Ukrainian on (fake) Telegram", () => {
    const loaded = loadPersonaFolder(folder, { env: { TELEGRAM_BOT_TOKEN: TOKEN } })
    if (Either.isLeft(loaded)) throw new Error(String(loaded.left))
    const section = loaded.right.channels[0] as ChannelConfig & { type: "telegram" }
    const sage = {
      ...loaded.right,
      // The test talks to the fake Telegram and an in-process model instead of OpenAI.
      model: { ...loaded.right.model, provider: "instant", fallbacks: [] },
      tools: [],
      channels: [{ ...section, apiRoot: fake.apiRoot }]
    }
    return live(
      Effect.gen(function* () {
        const root = yield* Actor.root("test-sage-persona")
        yield* startPersona(root, sage, { dryRun: false, platformChannels: true, accounts: makeBotAccounts() })
        const olena = { ...ann, id: 50, first_name: "Олена", language_code: "uk" }
        fake.userSends(TOKEN, { from: olena, text: "/start" })
        const reply = yield* waitFor(fake, () => fake.chat(TOKEN, olena.id).last)
        expect(reply.text).toBe((loaded.right.greeting as Record<string, string>).uk!)
      })
    )
  })
})
