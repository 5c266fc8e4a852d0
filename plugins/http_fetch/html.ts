/**
 * HTML as readable text for a model: the title, headings as `#` lines, paragraphs and list items on their own lines,
 * links as `[text](url)`, table cells separated by `|`; scripts, styles, navigation, forms and other page furniture
 * left out. A small scanner, not a browser: it never runs anything and copes with broken markup by ignoring it.
 */

/** Elements whose whole content is dropped. */
const skipped = new Set([
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "math",
  "nav",
  "iframe",
  "object",
  "embed",
  "canvas",
  "form",
  "select",
  "button",
  "title"
])

/** Elements that start a new line (the rest are inline). */
const blocks = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "body",
  "dd",
  "div",
  "dl",
  "dt",
  "figcaption",
  "figure",
  "footer",
  "header",
  "hr",
  "html",
  "main",
  "ol",
  "p",
  "section",
  "table",
  "tbody",
  "thead",
  "tfoot",
  "tr",
  "ul",
  "details",
  "summary",
  "caption"
])

const voids = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "source",
  "track",
  "wbr"
])

const entities: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ndash: "–",
  mdash: "—",
  hellip: "…",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  laquo: "«",
  raquo: "»",
  middot: "·",
  bull: "•",
  copy: "©",
  reg: "®",
  trade: "™",
  euro: "€",
  pound: "£",
  yen: "¥",
  times: "×",
  divide: "÷",
  deg: "°",
  shy: ""
}

export const decodeEntities = (text: string): string =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z][a-z0-9]*);?/gi, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code = name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1))
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole
    }
    return entities[name.toLowerCase()] ?? whole
  })

interface Tag {
  readonly name: string
  readonly closing: boolean
  readonly attributes: Readonly<Record<string, string>>
  /** Index just past the `>`. */
  readonly end: number
}

/** Read the tag starting at `html[start] === "<"`, respecting quoted attribute values. */
const readTag = (html: string, start: number): Tag | undefined => {
  const head = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/.exec(html.slice(start, start + 64))
  if (!head) return undefined
  const attributes: Record<string, string> = {}
  const space = /\s/
  let i = start + head[0].length
  const skipSpace = () => {
    while (i < html.length && space.test(html[i]!)) i++
  }
  while (i < html.length) {
    skipSpace()
    const c = html[i]
    if (c === ">") {
      i++
      break
    }
    if (c === "/") {
      i++
      continue
    }
    let name = ""
    while (i < html.length && !/[\s=>/]/.test(html[i]!)) name += html[i++]
    skipSpace()
    let value = ""
    if (html[i] === "=") {
      i++
      skipSpace()
      const quote = html[i]
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, i + 1)
        value = html.slice(i + 1, close < 0 ? html.length : close)
        i = close < 0 ? html.length : close + 1
      } else {
        while (i < html.length && !/[\s>]/.test(html[i]!)) value += html[i++]
      }
    }
    if (name) attributes[name.toLowerCase()] = decodeEntities(value)
  }
  return { name: head[2]!.toLowerCase(), closing: head[1] === "/", attributes, end: i }
}

const resolveLink = (href: string, base: string | undefined): string | undefined => {
  const trimmed = href.trim()
  if (trimmed === "" || trimmed.startsWith("#") || /^(javascript|data|vbscript):/i.test(trimmed)) return undefined
  try {
    return new URL(trimmed, base).href
  } catch {
    return undefined
  }
}

/** Readable text of an HTML document; `base` resolves relative links. */
export const htmlToText = (html: string, base?: string): string => {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]
  const out: Array<string> = []
  let skipping: string | undefined
  let skipDepth = 0
  let pre = 0
  const links: Array<{ href: string | undefined; start: number }> = []
  const newline = (count = 1) => out.push("\n".repeat(count))
  // Spaces inside <pre> are kept as no-break spaces until the end, so the whitespace clean-up leaves them alone.
  const text = (raw: string) => {
    const decoded = decodeEntities(raw).replace(/\u00a0/g, " ")
    out.push(pre > 0 ? decoded.replace(/[ \t]/g, "\u00a0") : decoded.replace(/\s+/g, " "))
  }
  const lower = html.toLowerCase()

  let i = 0
  while (i < html.length) {
    const lt = html.indexOf("<", i)
    if (lt < 0) {
      if (!skipping) text(html.slice(i))
      break
    }
    if (lt > i && !skipping) text(html.slice(i, lt))
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4)
      i = end < 0 ? html.length : end + 3
      continue
    }
    if (html[lt + 1] === "!" || html[lt + 1] === "?") {
      const end = html.indexOf(">", lt)
      i = end < 0 ? html.length : end + 1
      continue
    }
    const tag = readTag(html, lt)
    if (!tag) {
      if (!skipping) text("<")
      i = lt + 1
      continue
    }
    i = tag.end
    const { name } = tag
    if (skipping) {
      if (name === skipping) skipDepth += tag.closing ? -1 : voids.has(name) ? 0 : 1
      if (skipDepth === 0) skipping = undefined
      continue
    }
    if (skipped.has(name) && !tag.closing) {
      if (name === "script" || name === "style") {
        // Their content is raw text: jump straight to the closing tag.
        const close = lower.indexOf(`</${name}`, i)
        i = close < 0 ? html.length : html.indexOf(">", close) + 1 || html.length
        continue
      }
      skipping = name
      skipDepth = 1
      continue
    }
    const heading = /^h([1-6])$/.exec(name)
    if (heading) {
      newline(2)
      if (!tag.closing) out.push(`${"#".repeat(Number(heading[1]))} `)
    } else if (name === "br") newline()
    else if (name === "li") {
      if (!tag.closing) {
        newline()
        out.push("- ")
      }
    } else if (name === "p" || name === "blockquote" || name === "table") newline(2)
    else if (name === "td" || name === "th") {
      if (!tag.closing) out.push(" | ")
    } else if (name === "pre") {
      pre += tag.closing ? -1 : 1
      newline(2)
    } else if (name === "img" && tag.attributes.alt) out.push(`[image: ${tag.attributes.alt}]`)
    else if (name === "a") {
      if (!tag.closing) links.push({ href: resolveLink(tag.attributes.href ?? "", base), start: out.length })
      else {
        const link = links.pop()
        const label = link ? out.slice(link.start).join("").trim() : ""
        if (link?.href && label && label !== link.href) {
          out.splice(link.start, out.length - link.start, `[${label}](${link.href})`)
        }
      }
    } else if (blocks.has(name)) newline()
  }

  const body = out
    .join("")
    .split("\n")
    .map((line) => line.replace(/[ \t]+/g, " ").replace(/^ | $/g, ""))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/\u00a0/g, " ")
    .trim()
  const heading = title ? decodeEntities(title).replace(/\s+/g, " ").trim() : ""
  return heading ? `Title: ${heading}\n\n${body}` : body
}
