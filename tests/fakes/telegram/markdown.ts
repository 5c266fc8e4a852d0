import type { MessageEntity } from "grammy/types"
import { byteOffset, checkedLink, type Formatted, sortEntities } from "./entities.ts"

// Telegram's MarkdownV2 and legacy Markdown parse modes, following the Bot API docs and the behaviour of tdlib's
// parsers: in MarkdownV2 every one of _*[]()~`>#+-=|{}.! outside an entity must be escaped with a backslash, and
// the error texts name UTF-8 byte offsets and tdlib's entity type names.

type Kind =
  | "Bold"
  | "Italic"
  | "Underline"
  | "Strikethrough"
  | "Spoiler"
  | "TextUrl"
  | "CustomEmoji"
  | "Code"
  | "Pre"
  | "PreCode"
  | "BlockQuote"

interface Open {
  readonly kind: Kind
  readonly offset: number
  readonly byte: number
  readonly textStart: number
  language?: string
  expandable?: boolean
}

const TYPE: Record<
  Exclude<Kind, "TextUrl" | "CustomEmoji" | "Pre" | "PreCode" | "BlockQuote">,
  MessageEntity["type"]
> = {
  Bold: "bold",
  Italic: "italic",
  Underline: "underline",
  Strikethrough: "strikethrough",
  Spoiler: "spoiler",
  Code: "code"
}

const reserved = (c: string) => `Character '${c}' is reserved and must be escaped with the preceding '\\'`

/** Parses `parse_mode: "MarkdownV2"` text into the plain text users see and its entities, or a Telegram error text. */
export const parseMarkdownV2 = (src: string): Formatted => {
  const n = src.length
  const at = (i: number) => (i < n ? src[i]! : "\0")
  const fail = (error: string): Formatted => ({ ok: false, error })
  const entities: MessageEntity[] = []
  const stack: Open[] = []
  let out = ""
  let quote = false
  const top = () => stack[stack.length - 1]
  const open = (kind: Kind, pos: number, extra?: Partial<Open>) =>
    stack.push({ kind, offset: out.length, byte: byteOffset(src, pos), textStart: out.length, ...extra })

  for (let i = 0; i < n; i++) {
    const c = src[i]!
    const code = at(i + 1).charCodeAt(0)
    if (c === "\\" && code > 0 && code <= 126) {
      i++
      out += src[i]
      continue
    }
    const inCode = top()?.kind === "Code" || top()?.kind === "Pre" || top()?.kind === "PreCode"
    const special = inCode ? "`" : "_*[]()~`>#+-=|{}.!\n"
    if (!special.includes(c)) {
      out += c
      continue
    }
    const current = top()
    let closes = false
    if (current !== undefined) {
      if (quote && c === "\n" && at(i + 1) !== ">") closes = true
      else if (current.kind === "BlockQuote" && current.expandable && c === "|" && at(i + 1) === "|") {
        // `||` at the end of an expandable quote's last line ends the quote marker, not a spoiler
        const after = at(i + 2)
        if (after === "\n" || i + 2 >= n) {
          i++
          continue
        }
      }
      if (!closes) {
        switch (current.kind) {
          case "Bold":
            closes = c === "*"
            break
          case "Italic":
            closes = c === "_" && at(i + 1) !== "_"
            break
          case "Underline":
            closes = c === "_" && at(i + 1) === "_"
            break
          case "Strikethrough":
            closes = c === "~"
            break
          case "Spoiler":
            closes = c === "|" && at(i + 1) === "|"
            break
          case "Code":
            closes = c === "`"
            break
          case "Pre":
          case "PreCode":
            closes = c === "`" && at(i + 1) === "`" && at(i + 2) === "`"
            break
          case "TextUrl":
          case "CustomEmoji":
            closes = c === "]"
            break
          case "BlockQuote":
            closes = false
        }
      }
    }

    if (!closes) {
      switch (c) {
        case "_":
          if (at(i + 1) === "_") {
            open("Underline", i)
            i++
          } else open("Italic", i)
          break
        case "*":
          if (!quote && (i === 0 || src[i - 1] === "\n") && at(i + 1) === "*" && at(i + 2) === ">") {
            open("BlockQuote", i, { expandable: true })
            quote = true
            i += 2
          } else open("Bold", i)
          break
        case "~":
          open("Strikethrough", i)
          break
        case "|":
          if (at(i + 1) !== "|") return fail(reserved(c))
          open("Spoiler", i)
          i++
          break
        case "[":
          open("TextUrl", i)
          break
        case "`": {
          if (at(i + 1) !== "`" || at(i + 2) !== "`") {
            open("Code", i)
            break
          }
          const begin = i
          i += 3
          let languageEnd = i
          while (languageEnd < n && !/\s/.test(src[languageEnd]!) && src[languageEnd] !== "`") languageEnd++
          let language: string | undefined
          if (i !== languageEnd && languageEnd < n && src[languageEnd] !== "`") {
            language = src.slice(i, languageEnd)
            i = languageEnd
          }
          if (at(i) === "\n" || at(i) === "\r") {
            if ((at(i + 1) === "\n" || at(i + 1) === "\r") && at(i) !== at(i + 1)) i += 2
            else i++
          }
          i--
          open(language === undefined ? "Pre" : "PreCode", begin, language === undefined ? {} : { language })
          break
        }
        case "!":
          if (at(i + 1) !== "[") return fail(reserved(c))
          open("CustomEmoji", i)
          i++
          break
        case "\n":
          out += "\n"
          if (at(i + 1) === ">") {
            i++
            if (!quote) {
              open("BlockQuote", i)
              quote = true
            }
          } else if (at(i + 1) === "*" && at(i + 2) === "*" && at(i + 3) === ">" && !quote) {
            i += 3
            open("BlockQuote", i, { expandable: true })
            quote = true
          }
          break
        case ">":
          if (i !== 0) return fail(reserved(c))
          open("BlockQuote", i)
          quote = true
          break
        default:
          return fail(reserved(c))
      }
      continue
    }

    // closing the innermost entity
    const entity = stack.pop()!
    if (c === "\n" && entity.kind !== "BlockQuote") {
      return fail(`Can't find end of ${entity.kind} entity at byte offset ${entity.byte}`)
    }
    let skip = out.length === entity.offset
    let url: string | undefined
    let emoji: string | undefined
    switch (entity.kind) {
      case "Underline":
      case "Spoiler":
        i++
        break
      case "Pre":
      case "PreCode":
        i += 2
        break
      case "TextUrl": {
        if (at(i + 1) !== "(") {
          url = out.slice(entity.textStart)
        } else {
          i += 2
          const begin = i
          let target = ""
          while (i < n && src[i] !== ")") {
            const next = at(i + 1).charCodeAt(0)
            if (src[i] === "\\" && next > 0 && next <= 126) {
              target += src[i + 1]
              i += 2
              continue
            }
            target += src[i]
            i++
          }
          if (at(i) !== ")") return fail(`Can't find end of a URL at byte offset ${byteOffset(src, begin)}`)
          url = target
        }
        url = checkedLink(url)
        if (url === undefined) skip = true
        break
      }
      case "CustomEmoji": {
        if (at(i + 1) !== "(") return fail("Custom emoji entity must contain a tg://emoji URL")
        i += 2
        const begin = i
        let target = ""
        while (i < n && src[i] !== ")") {
          target += src[i]
          i++
        }
        if (at(i) !== ")") return fail(`Can't find end of a custom emoji URL at byte offset ${byteOffset(src, begin)}`)
        const match = /^tg:\/\/emoji\?id=([0-9]{1,19})$/.exec(target)
        if (match === null) return fail("Invalid custom emoji identifier specified")
        emoji = match[1]!
        break
      }
      case "BlockQuote":
        quote = false
        out += c
        break
      default:
        break
    }
    if (skip) continue
    const offset = entity.offset
    const length = (entity.kind === "BlockQuote" ? out.length - 1 : out.length) - offset
    if (length <= 0) continue
    if (entity.kind === "TextUrl") entities.push({ type: "text_link", offset, length, url: url! })
    else if (entity.kind === "CustomEmoji")
      entities.push({ type: "custom_emoji", offset, length, custom_emoji_id: emoji! })
    else if (entity.kind === "Pre") entities.push({ type: "pre", offset, length })
    else if (entity.kind === "PreCode") entities.push({ type: "pre", offset, length, language: entity.language! })
    else if (entity.kind === "BlockQuote") {
      entities.push({ type: entity.expandable ? "expandable_blockquote" : "blockquote", offset, length })
    } else entities.push({ type: TYPE[entity.kind], offset, length } as MessageEntity)
  }
  const last = top()
  if (quote && last?.kind === "BlockQuote") {
    stack.pop()
    const length = out.length - last.offset
    if (length > 0) {
      entities.push({ type: last.expandable ? "expandable_blockquote" : "blockquote", offset: last.offset, length })
    }
  }
  const unclosed = top()
  if (unclosed !== undefined) return fail(`Can't find end of ${unclosed.kind} entity at byte offset ${unclosed.byte}`)
  return { ok: true, text: out, entities: sortEntities(entities) }
}

/** Parses legacy `parse_mode: "Markdown"`: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting. */
export const parseMarkdown = (src: string): Formatted => {
  const n = src.length
  const entities: MessageEntity[] = []
  let out = ""
  for (let i = 0; i < n; i++) {
    const c = src[i]!
    if (c === "\\" && "_*`[".includes(src[i + 1] ?? "")) {
      i++
      out += src[i]
      continue
    }
    if (!"_*`[".includes(c)) {
      out += c
      continue
    }
    const begin = i
    const end = c === "[" ? "]" : c
    const pre = c === "`" && src[i + 1] === "`" && src[i + 2] === "`"
    i++
    let language: string | undefined
    if (pre) {
      i += 2
      let languageEnd = i
      while (languageEnd < n && !/\s/.test(src[languageEnd]!) && src[languageEnd] !== "`") languageEnd++
      if (i !== languageEnd && languageEnd < n && src[languageEnd] !== "`") {
        language = src.slice(i, languageEnd)
        i = languageEnd
      }
      if (src[i] === "\n" || src[i] === "\r") i++
    }
    const offset = out.length
    while (i < n && (src[i] !== end || (pre && !(src[i + 1] === "`" && src[i + 2] === "`")))) {
      out += src[i]
      i++
    }
    if (i >= n)
      return { ok: false, error: `Can't find end of the entity starting at byte offset ${byteOffset(src, begin)}` }
    const length = out.length - offset
    if (length > 0) {
      if (c === "_") entities.push({ type: "italic", offset, length })
      else if (c === "*") entities.push({ type: "bold", offset, length })
      else if (c === "[") {
        let url = out.slice(offset)
        if (src[i + 1] === "(") {
          i += 2
          url = ""
          while (i < n && src[i] !== ")") {
            url += src[i]
            i++
          }
        }
        const checked = checkedLink(url)
        if (checked !== undefined) entities.push({ type: "text_link", offset, length, url: checked })
      } else if (pre) {
        entities.push(
          language === undefined ? { type: "pre", offset, length } : { type: "pre", offset, length, language }
        )
      } else entities.push({ type: "code", offset, length })
    }
    if (pre) i += 2
  }
  return { ok: true, text: out, entities: sortEntities(entities) }
}
