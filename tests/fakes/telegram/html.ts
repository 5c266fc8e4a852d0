import type { MessageEntity } from "grammy/types"
import { byteOffset, checkedLink, type Formatted, sortEntities } from "./entities.ts"

// Telegram's HTML parse mode, following the Bot API docs and the behaviour of tdlib's parser (MessageEntity.cpp):
// only a fixed tag set; a `<` always starts a tag; `&` only decodes &lt; &gt; &amp; &quot; and numeric references
// (an unknown `&...` stays literal text, as on the real server); error texts name UTF-8 byte offsets.

const TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "s",
  "strike",
  "del",
  "u",
  "ins",
  "tg-spoiler",
  "tg-emoji",
  "span",
  "pre",
  "code",
  "blockquote"
])

const SIMPLE: Record<string, MessageEntity["type"]> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  span: "spoiler"
}

const isSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n" || c === "\v" || c === "\0"

/** Decodes an HTML entity at `pos` (which holds `&`); undefined when it is not one Telegram understands. */
export const decodeHtmlEntity = (s: string, pos: number): { char: string; end: number } | undefined => {
  let end = pos + 1
  let code = 0
  if (s[end] === "#") {
    end++
    const hex = s[end] === "x"
    if (hex) end++
    const digits = hex ? /[0-9a-fA-F]/ : /[0-9]/
    while (end < s.length && digits.test(s[end]!)) {
      code = code * (hex ? 16 : 10) + Number.parseInt(s[end]!, 16)
      end++
      if (code > 0x10ffff) break
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined
  } else {
    while (end < s.length && /[A-Za-z]/.test(s[end]!)) end++
    const name = s.slice(pos + 1, end)
    const named: Record<string, number> = { lt: 60, gt: 62, amp: 38, quot: 34 }
    const value = named[name]
    if (value === undefined) return undefined
    code = value
  }
  if (s[end] === ";") end++
  return { char: String.fromCodePoint(code), end }
}

interface Open {
  readonly tag: string
  readonly arg: string
  readonly offset: number
}

/** Parses `parse_mode: "HTML"` text into the plain text users see and its entities, or a Telegram error text. */
export const parseHtml = (src: string): Formatted => {
  const n = src.length
  const at = (i: number) => (i < n ? src[i]! : "\0")
  const fail = (message: string): Formatted => ({ ok: false, error: message })
  const entities: MessageEntity[] = []
  const stack: Open[] = []
  let out = ""
  let i = 0
  while (i < n) {
    const c = src[i]!
    if (c === "&") {
      const decoded = decodeHtmlEntity(src, i)
      if (decoded !== undefined) {
        out += decoded.char
        i = decoded.end
        continue
      }
    }
    if (c !== "<") {
      out += c
      i++
      continue
    }
    const begin = i
    const where = () => byteOffset(src, begin)
    i++
    if (at(i) !== "/") {
      while (!isSpace(at(i)) && at(i) !== ">") i++
      if (i >= n) return fail(`Unclosed start tag at byte offset ${where()}`)
      const tag = src.slice(begin + 1, i).toLowerCase()
      if (!TAGS.has(tag)) return fail(`Unsupported start tag "${tag}" at byte offset ${where()}`)
      let arg = ""
      while (at(i) !== ">") {
        while (i < n && isSpace(at(i))) i++
        if (at(i) === ">") break
        const nameStart = i
        while (!isSpace(at(i)) && at(i) !== "=" && at(i) !== ">") i++
        const name = src.slice(nameStart, i)
        if (name === "") return fail(`Empty attribute name in the tag "${tag}" at byte offset ${where()}`)
        while (i < n && isSpace(at(i))) i++
        if (at(i) !== "=") {
          if (tag === "blockquote" && name.toLowerCase() === "expandable") {
            arg = "expandable"
            continue
          }
          if (i >= n) return fail(`Unclosed start tag "${tag}" at byte offset ${where()}`)
          return fail(
            `Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${where()}`
          )
        }
        i++
        while (i < n && isSpace(at(i))) i++
        if (i >= n) return fail(`Unclosed start tag "${tag}" at byte offset ${where()}`)
        let value = ""
        const quote = at(i)
        if (quote !== "'" && quote !== '"') {
          const valueStart = i
          while (/[A-Za-z0-9.-]/.test(at(i))) i++
          value = src.slice(valueStart, i).toLowerCase()
          if (!isSpace(at(i)) && at(i) !== ">") {
            return fail(`Unexpected end of name token at byte offset ${byteOffset(src, valueStart)}`)
          }
        } else {
          i++
          while (i < n && at(i) !== quote) {
            if (at(i) === "&") {
              const decoded = decodeHtmlEntity(src, i)
              if (decoded !== undefined) {
                value += decoded.char
                i = decoded.end
                continue
              }
            }
            value += at(i)
            i++
          }
          if (at(i) === quote) i++
        }
        if (i >= n) return fail(`Unclosed start tag at byte offset ${where()}`)
        const attr = name.toLowerCase()
        if (tag === "a" && attr === "href") arg = value
        else if (tag === "code" && attr === "class" && value.startsWith("language-")) arg = value.slice(9)
        else if (tag === "span" && attr === "class" && value.startsWith("tg-")) arg = value.slice(3)
        else if (tag === "tg-emoji" && attr === "emoji-id") arg = value
      }
      i++
      if (tag === "span" && arg !== "spoiler") {
        return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${where()}`)
      }
      stack.push({ tag, arg, offset: out.length })
      continue
    }
    // an end tag
    if (stack.length === 0) return fail(`Unexpected end tag at byte offset ${where()}`)
    while (!isSpace(at(i)) && at(i) !== ">") i++
    const endName = src.slice(begin + 2, i).toLowerCase()
    while (i < n && isSpace(at(i))) i++
    if (at(i) !== ">") return fail(`Unclosed end tag at byte offset ${where()}`)
    i++
    const open = stack.pop()!
    if (endName !== "" && endName !== open.tag) {
      return fail(`Unmatched end tag at byte offset ${where()}, expected "</${open.tag}>", found "</${endName}>"`)
    }
    const offset = open.offset
    const length = out.length - offset
    if (length <= 0) continue
    const simple = SIMPLE[open.tag]
    if (simple !== undefined) {
      entities.push({ type: simple, offset, length } as MessageEntity)
    } else if (open.tag === "tg-emoji") {
      if (!/^[0-9]{1,19}$/.test(open.arg) || BigInt(open.arg) === 0n) {
        return fail("Invalid custom emoji identifier specified")
      }
      entities.push({ type: "custom_emoji", offset, length, custom_emoji_id: open.arg })
    } else if (open.tag === "a") {
      const url = checkedLink(open.arg === "" ? out.slice(offset) : open.arg)
      if (url !== undefined) entities.push({ type: "text_link", offset, length, url })
    } else if (open.tag === "pre") {
      const last = entities[entities.length - 1]
      if (last?.type === "code" && last.offset === offset && last.length === length && languageOf(last)) {
        entities[entities.length - 1] = { type: "pre", offset, length, language: languageOf(last)! }
      } else {
        entities.push({ type: "pre", offset, length })
      }
    } else if (open.tag === "code") {
      const last = entities[entities.length - 1]
      if (last?.type === "pre" && last.offset === offset && last.length === length && open.arg !== "") {
        entities[entities.length - 1] = { type: "pre", offset, length, language: open.arg }
      } else {
        entities.push(withLanguage({ type: "code", offset, length }, open.arg))
      }
    } else if (open.tag === "blockquote") {
      entities.push({ type: open.arg === "expandable" ? "expandable_blockquote" : "blockquote", offset, length })
    }
  }
  if (stack.length > 0) return fail(`Can't find end tag corresponding to start tag "${stack[stack.length - 1]!.tag}"`)
  // a language only survives on a pre entity
  const cleaned = entities.map((e) => (e.type === "code" ? { type: e.type, offset: e.offset, length: e.length } : e))
  return { ok: true, text: out, entities: sortEntities(cleaned) }
}

// A standalone <code class="language-x"> carries its language until a surrounding <pre> claims it.
const languages = new WeakMap<object, string>()
const withLanguage = (entity: MessageEntity, language: string): MessageEntity => {
  if (language !== "") languages.set(entity, language)
  return entity
}
const languageOf = (entity: MessageEntity): string | undefined => languages.get(entity)
