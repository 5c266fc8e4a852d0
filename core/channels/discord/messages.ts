/**
 * Discord-only bot texts (slash command descriptions, the `/persona` card, refusals), in the same shape as the shared
 * catalogue in `core/i18n/messages.ts`. A persona overrides any of them per language in `persona.yaml` (`messages:`).
 */
import { baseLanguage } from "../../i18n/messages.ts"
import type { PersonaDefinition } from "../../persona/Persona.ts"

export const discordCatalogue = {
  en: {
    command_reset: "Forget our conversation and start over",
    command_persona: "Who is this? Shows the persona's name and description",
    persona_card: "I'm **{name}**. {description}",
    not_here: "I don't answer here."
  },
  ru: {
    command_reset: "Забыть наш разговор и начать сначала",
    command_persona: "Кто это? Имя и описание персонажа",
    persona_card: "Я **{name}**. {description}",
    not_here: "Здесь я не отвечаю."
  },
  uk: {
    command_reset: "Забути нашу розмову і почати спочатку",
    command_persona: "Хто це? Ім'я та опис персонажа",
    persona_card: "Я **{name}**. {description}",
    not_here: "Тут я не відповідаю."
  }
} as const satisfies Record<string, Record<string, string>>

export type DiscordMessageKey = keyof (typeof discordCatalogue)["en"]

type PersonaTexts = Pick<PersonaDefinition, "language" | "messages" | "title" | "description">

/** A Discord bot text in the user's language, else the persona's, else English; the persona's overrides first. */
export const discordText = (
  persona: PersonaTexts,
  key: DiscordMessageKey,
  language?: string,
  vars: Readonly<Record<string, string>> = {}
): string => {
  const all: Record<string, string> = { name: persona.title, description: persona.description, ...vars }
  for (const candidate of [baseLanguage(language), baseLanguage(persona.language), "en"]) {
    if (candidate === undefined) continue
    const text =
      persona.messages[candidate]?.[key] ??
      (discordCatalogue as Record<string, Record<string, string> | undefined>)[candidate]?.[key]
    if (text !== undefined) return text.replace(/\{(\w+)\}/g, (match, name: string) => all[name] ?? match).trim()
  }
  return key
}

/** Localised texts for a slash command description (`description_localizations`), Discord's locale names. */
export const localizations = (key: DiscordMessageKey): Record<string, string> => ({
  ru: discordCatalogue.ru[key],
  uk: discordCatalogue.uk[key]
})
