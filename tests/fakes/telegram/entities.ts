import type { MessageEntity } from "grammy/types"

/** The outcome of parsing message text: what users see, or the text of Telegram's "can't parse entities" error. */
export type Formatted =
  | { readonly ok: true; readonly text: string; readonly entities: readonly MessageEntity[] }
  | { readonly ok: false; readonly error: string }

const encoder = new TextEncoder()

/** UTF-8 byte offset of the UTF-16 index `index` in `s` (Telegram's parse errors count bytes). */
export const byteOffset = (s: string, index: number): number => encoder.encode(s.slice(0, index)).length

/** Orders entities the way Telegram returns them: by offset, longer (outer) first. */
export const sortEntities = (entities: readonly MessageEntity[]): MessageEntity[] =>
  [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length)

/** Normalises a link target roughly like Telegram: bare hosts get `http://`; empty or spaced ones are dropped. */
export const checkedLink = (url: string): string | undefined => {
  const trimmed = url.trim()
  if (trimmed === "" || /\s/.test(trimmed)) return undefined
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return trimmed
  return `http://${trimmed}`
}

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c)
const isAsciiWord = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c)

/**
 * The entities Telegram detects by itself in what users type: `bot_command` (/start, /help@some_bot), `mention`
 * (@username) and `url` (http(s) links). Follows tdlib's rules for the first two; URLs are found simply.
 */
export const detectEntities = (text: string): MessageEntity[] => {
  const found: MessageEntity[] = []
  // work on UTF-16 indices so offsets match the Bot API
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "/") {
      const prev = text[i - 1]
      if (i > 0 && (isWordChar(prev) || prev === "/" || prev === "<" || prev === ">")) continue
      let j = i + 1
      while (j < text.length && isAsciiWord(text[j])) j++
      const size = j - i - 1
      if (size < 1 || size > 64) continue
      if (text[j] === "@") {
        let k = j + 1
        while (k < text.length && isAsciiWord(text[k])) k++
        const botSize = k - j - 1
        if (botSize < 3 || botSize > 32) continue
        j = k
      }
      const next = text[j]
      if (isWordChar(next) || next === "/" || next === "<" || next === ">") continue
      found.push({ type: "bot_command", offset: i, length: j - i })
      i = j - 1
    } else if (c === "@") {
      if (i > 0 && isWordChar(text[i - 1])) continue
      let j = i + 1
      while (j < text.length && isAsciiWord(text[j])) j++
      const size = j - i - 1
      if (size < 2 || size > 32 || isWordChar(text[j])) continue
      found.push({ type: "mention", offset: i, length: j - i })
      i = j - 1
    } else if ((c === "h" || c === "H") && /^https?:\/\/\S/i.test(text.slice(i, i + 9))) {
      if (i > 0 && isWordChar(text[i - 1])) continue
      let j = i
      while (j < text.length && !/\s/.test(text[j]!)) j++
      while (j > i && /[.,;:!?)\]'"]/.test(text[j - 1]!)) j--
      found.push({ type: "url", offset: i, length: j - i })
      i = j - 1
    }
  }
  return found
}

/** Strips leading and trailing whitespace like Telegram does with message text, keeping entities aligned. */
export const trimFormatted = (text: string, entities: readonly MessageEntity[]) => {
  const start = text.length - text.trimStart().length
  const trimmed = text.trim()
  const end = start + trimmed.length
  const kept: MessageEntity[] = []
  for (const entity of entities) {
    const from = Math.max(entity.offset, start)
    const to = Math.min(entity.offset + entity.length, end)
    if (to > from) kept.push({ ...entity, offset: from - start, length: to - from })
  }
  return { text: trimmed, entities: kept }
}
