/**
 * What the bot itself says (errors, limits, /help, /start), as opposed to what the model says: a small catalogue in
 * English, Russian and Ukrainian. A persona overrides any text per language in `persona.yaml`:
 *
 * @example
 * # persona.yaml
 * language: ru
 * messages:
 *   ru: { error: "Что-то пошло не так, попробуй ещё раз." }
 *
 * botMessage(persona, "error", "uk") // the Ukrainian text, or the persona's override for uk
 */
import type { PersonaDefinition } from "../persona/Persona.ts"

/** The built-in texts. `{name}`-style placeholders are filled from `vars` (`name` and `description` by default). */
export const catalogue = {
  en: {
    error: "I couldn't answer right now, please try again in a moment.",
    budget_reached: "I've reached my message limit for today. Let's talk again tomorrow!",
    slow_down: "You're sending messages faster than I can answer. Please slow down a little.",
    cant_see_files: "I can't look at attachments, sorry. Could you describe it in words?",
    cant_see_images: "I can't see images, sorry. Could you describe it in words?",
    reset_done: "Done, I've forgotten our conversation. Let's start over.",
    help: "I'm {name}. {description}\n\nCommands:\n/reset: forget our conversation\n/help: this message",
    start: "Hi! I'm {name}. How can I help?",
    unknown_command: "I don't know that command. Try /help.",
    not_configured: "I'm not set up to answer yet: my model provider is not configured.",
    busy: "I'm still thinking about your previous message, one moment."
  },
  ru: {
    error: "Не получилось ответить прямо сейчас, попробуйте ещё раз чуть позже.",
    budget_reached: "На сегодня мой лимит сообщений исчерпан. Давайте продолжим завтра!",
    slow_down: "Вы пишете быстрее, чем я успеваю отвечать. Пожалуйста, чуть помедленнее.",
    cant_see_files: "Я не могу открывать вложения, извините. Опишите, пожалуйста, словами?",
    cant_see_images: "Я не вижу изображения, извините. Опишите, пожалуйста, словами?",
    reset_done: "Готово, я забыл наш разговор. Начнём сначала.",
    help: "Я {name}. {description}\n\nКоманды:\n/reset: забыть наш разговор\n/help: это сообщение",
    start: "Привет! Я {name}. Чем могу помочь?",
    unknown_command: "Я не знаю такой команды. Попробуйте /help.",
    not_configured: "Я пока не могу отвечать: мой провайдер модели не настроен.",
    busy: "Я ещё думаю над вашим предыдущим сообщением, секунду."
  },
  uk: {
    error: "Не вдалося відповісти зараз, спробуйте ще раз трохи згодом.",
    budget_reached: "На сьогодні мій ліміт повідомлень вичерпано. Продовжимо завтра!",
    slow_down: "Ви пишете швидше, ніж я встигаю відповідати. Будь ласка, трохи повільніше.",
    cant_see_files: "Я не можу відкривати вкладення, вибачте. Опишіть, будь ласка, словами?",
    cant_see_images: "Я не бачу зображень, вибачте. Опишіть, будь ласка, словами?",
    reset_done: "Готово, я забув нашу розмову. Почнімо спочатку.",
    help: "Я {name}. {description}\n\nКоманди:\n/reset: забути нашу розмову\n/help: це повідомлення",
    start: "Привіт! Я {name}. Чим можу допомогти?",
    unknown_command: "Я не знаю такої команди. Спробуйте /help.",
    not_configured: "Я поки не можу відповідати: мій провайдер моделі не налаштований.",
    busy: "Я ще думаю над вашим попереднім повідомленням, секунду."
  }
} as const satisfies Record<string, Record<string, string>>

/** Ids of the built-in messages. Channels may use their own keys too (looked up in persona overrides, then here). */
export type BotMessageKey = keyof (typeof catalogue)["en"]

/** Languages the catalogue has. */
export const catalogueLanguages: ReadonlyArray<string> = Object.keys(catalogue)

/** `ru-RU` → `ru`, `pt_BR` → `pt`, `` → undefined. */
export const baseLanguage = (tag: string | undefined): string | undefined => {
  if (tag === undefined) return undefined
  const base = tag.trim().toLowerCase().split(/[-_]/)[0]
  return base === undefined || base === "" ? undefined : base
}

type PersonaMessages = Pick<PersonaDefinition, "language" | "messages" | "title" | "description">

const lookup = (persona: PersonaMessages, language: string, key: string): string | undefined => {
  const override = persona.messages[language]?.[key]
  if (override !== undefined) return override
  return (catalogue as Record<string, Record<string, string>>)[language]?.[key]
}

const fill = (text: string, vars: Readonly<Record<string, string | number>>): string =>
  text
    .replace(/\{(\w+)\}/g, (match, name: string) => (name in vars ? String(vars[name]) : match))
    .replace(/[ \t]+\n/g, "\n")

/**
 * A bot-side message in the best language: the user's `language` when there is a text for it (the persona's override
 * or the catalogue), else the persona's `language`, else English. Placeholders such as `{name}` are filled from `vars`
 * (`name` defaults to the persona's title, `description` to its description).
 *
 * @example
 * botMessage(persona, "budget_reached", message.author.language)
 * botMessage(persona, "help", "ru", { name: "Мудрец" })
 */
export const botMessage = (
  persona: PersonaMessages,
  key: BotMessageKey | (string & {}),
  language?: string,
  vars: Readonly<Record<string, string | number>> = {}
): string => {
  const candidates = [baseLanguage(language), baseLanguage(persona.language), "en"]
  for (const candidate of candidates) {
    if (candidate === undefined) continue
    const text = lookup(persona, candidate, key)
    if (text !== undefined) {
      return fill(text, { name: persona.title, description: persona.description, ...vars }).trim()
    }
  }
  return key
}

/** The language bot-side messages will use for this user (same rule as `botMessage`, for the key `error`). */
export const userLanguage = (persona: PersonaMessages, language?: string): string => {
  const candidates = [baseLanguage(language), baseLanguage(persona.language)]
  for (const candidate of candidates) {
    if (candidate !== undefined && lookup(persona, candidate, "error") !== undefined) return candidate
  }
  return "en"
}
