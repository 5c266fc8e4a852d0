/**
 * The `{{char}}` / `{{user}}` macros of character cards (SillyTavern), also accepted in persona folders.
 *
 * - `{{char}}` and `<BOT>` become the persona's name.
 * - `{{user}}` and `<USER>` become "friend" where the text addresses the user ("Hello, {{user}}!") and "the user"
 *   elsewhere ("{{char}} greets {{user}}"): the real name is not known until a conversation starts, and the model
 *   learns it from the messages.
 */
const vocative = /(?:,\s*|\b(?:hi|hello|hey|dear|welcome|thanks|thank you|goodbye|bye|morning|evening)\s+)$/i

export const replaceMacros = (text: string, charName: string): string =>
  text
    .replace(/\{\{char\}\}|<BOT>/gi, charName)
    .replace(/\{\{user\}\}|<USER>/gi, (_match, offset: number, whole: string) => {
      const before = whole.slice(0, offset)
      if (vocative.test(before)) return "friend"
      return /(?:^|[.!?:]\s+|\n\s*|^\s*[*"_]|[.!?:]\s*[*"_])$/.test(before) ? "The user" : "the user"
    })
