/**
 * Telegram-only bot texts: the descriptions of /start, /reset and /help shown in Telegram's command menu, per language.
 * Same shape and lookup as `core/i18n/messages.ts`: a persona's `messages.<lang>.<key>` wins over this catalogue.
 *
 * @example
 * # persona.yaml
 * messages:
 *   ru: { command_help: "Что я умею" }
 */
import { baseLanguage } from "../../i18n/messages.ts"
import type { PersonaDefinition } from "../../persona/Persona.ts"

export const telegramCatalogue = {
  en: {
    command_start: "Start a conversation",
    command_reset: "Forget our conversation",
    command_help: "What I can do"
  },
  ru: {
    command_start: "Начать разговор",
    command_reset: "Забыть наш разговор",
    command_help: "Что я умею"
  },
  uk: {
    command_start: "Почати розмову",
    command_reset: "Забути нашу розмову",
    command_help: "Що я вмію"
  }
} as const satisfies Record<string, Record<string, string>>

export type TelegramMessageKey = keyof (typeof telegramCatalogue)["en"]

/** Languages the command menu is registered in (besides the default menu). */
export const commandLanguages = Object.keys(telegramCatalogue)

/** The text for `key` in exactly `language` (persona override first), falling back to English. */
export const telegramMessage = (
  persona: Pick<PersonaDefinition, "messages">,
  key: TelegramMessageKey,
  language: string
): string => {
  const lang = baseLanguage(language) ?? "en"
  const override = persona.messages[lang]?.[key]
  if (override !== undefined) return override
  const table = (telegramCatalogue as Record<string, Record<string, string>>)[lang] ?? telegramCatalogue.en
  return table[key] ?? telegramCatalogue.en[key]
}

/** The command menu in one language. */
export const commandMenu = (persona: Pick<PersonaDefinition, "messages">, language: string) =>
  (["start", "reset", "help"] as const).map((command) => ({
    command,
    description: telegramMessage(persona, `command_${command}`, language)
  }))
