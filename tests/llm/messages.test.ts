import { describe, expect, test } from "bun:test"
import { botMessage, catalogue, userLanguage } from "../../core/i18n/messages.ts"
import { persona } from "./support.ts"

describe("bot-side messages", () => {
  test("every catalogue language has every key", () => {
    const keys = Object.keys(catalogue.en).sort()
    for (const texts of Object.values(catalogue)) expect(Object.keys(texts).sort()).toEqual(keys)
  })

  test("the user's language first, then the persona's, then English", () => {
    const sage = persona({ language: "ru", model: { provider: "echo" } })
    expect(botMessage(sage, "error", "uk-UA")).toBe(catalogue.uk.error)
    expect(botMessage(sage, "error", "de")).toBe(catalogue.ru.error)
    expect(botMessage(sage, "error")).toBe(catalogue.ru.error)
    const english = persona({ language: "fr", model: { provider: "echo" } })
    expect(botMessage(english, "error", "ja")).toBe(catalogue.en.error)
    expect(userLanguage(sage, "de")).toBe("ru")
  })

  test("persona overrides win, per language, and placeholders are filled", () => {
    const sage = persona({
      language: "en",
      display_name: "Sage",
      description: "A calm helper.",
      model: { provider: "echo" },
      messages: { ru: { error: "Ой, {name} задумался." }, de: { error: "Hoppla." } }
    })
    expect(botMessage(sage, "error", "ru")).toBe("Ой, Sage задумался.")
    expect(botMessage(sage, "error", "de")).toBe("Hoppla.")
    // German has only the override: other keys fall back to the persona's language.
    expect(botMessage(sage, "reset_done", "de")).toBe(catalogue.en.reset_done)
    expect(botMessage(sage, "start", "en")).toBe("Hi! I'm Sage. How can I help?")
    expect(botMessage(sage, "help", "en").split("\n")[0]).toBe("I'm Sage. A calm helper.")
    expect(botMessage(sage, "start", "en", { name: "Mr. Sage" })).toBe("Hi! I'm Mr. Sage. How can I help?")
    expect(botMessage(sage, "some_channel_key")).toBe("some_channel_key")
  })
})
