/**
 * Markdown from the model rendered as Telegram HTML (`parse_mode: "HTML"`): bold, italic, strikethrough, inline code,
 * fenced code with its language, links, headings (bold), block quotes and bullets. `&`, `<` and `>` are escaped
 * everywhere, `"` inside attributes too. Tags are produced only around a construct whose closing marker was found, so
 * the output is always balanced; a marker without its partner stays literal text (a streamed preview cut in the middle
 * of `**bold` renders as `**bold`). An unclosed code fence (a preview cut inside a code block) runs to the end.
 *
 * Split the markdown first (`splitMessage`), then render each chunk: the visible text of a rendered chunk is never
 * longer than its markdown, so a chunk within Telegram's 4,096 characters stays within it.
 */

const escapeText = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const escapeAttribute = (text: string) => escapeText(text).replace(/"/g, "&quot;")

const fenceLine = /^ {0,3}(```+|~~~+)\s*([\w+#.-]*)\s*$/
const headingLine = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/
const quoteLine = /^ {0,3}>\s?(.*)$/
const ruleLine = /^ {0,3}([-*_])( *\1){2,}\s*$/
const bulletLine = /^(\s*)[*+-]\s+(.*)$/
const linkAt = /^\[([^\]\n]+)\]\(\s*([^)\s]+)(?:\s+"[^"\n]*")?\s*\)/
const safeUrl = /^(https?:\/\/|tg:\/\/|mailto:)/i

const isWordChar = (char: string | undefined) => char !== undefined && /[\p{L}\p{N}_]/u.test(char)
const isSpace = (char: string | undefined) => char === undefined || /\s/.test(char)

/** Where the closing `marker` of an emphasis opened at `from` is, or -1. */
const closingOf = (text: string, marker: string, from: number): number => {
  let at = text.indexOf(marker, from)
  while (at >= 0) {
    const before = text[at - 1]
    const after = text[at + marker.length]
    const inner = text.slice(from, at)
    const underscore = marker[0] === "_"
    // Closing: not after a space, content not empty, and for underscores not inside a word (snake_case survives).
    if (inner.trim().length > 0 && !isSpace(before) && !(underscore && isWordChar(after))) {
      // A single `*` must not be half of a `**`.
      if (marker.length > 1 || (after !== marker[0] && before !== marker[0])) return at
    }
    at = text.indexOf(marker, at + 1)
  }
  return -1
}

const emphasis: ReadonlyArray<readonly [string, string]> = [
  ["**", "b"],
  ["__", "b"],
  ["~~", "s"],
  ["*", "i"],
  ["_", "i"]
]

/** Inline markdown of one line (or a few joined lines) as Telegram HTML. */
export const renderInline = (text: string): string => {
  let out = ""
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (char === "`") {
      const run = /^`+/.exec(text.slice(i))![0]
      const end = text.indexOf(run, i + run.length)
      if (end > i + run.length) {
        out += `<code>${escapeText(text.slice(i + run.length, end).replace(/^ (.*) $/s, "$1"))}</code>`
        i = end + run.length
        continue
      }
      out += escapeText(run)
      i += run.length
      continue
    }
    if (char === "[") {
      const link = linkAt.exec(text.slice(i))
      if (link) {
        const [whole, label, url] = link as unknown as [string, string, string]
        out += safeUrl.test(url)
          ? `<a href="${escapeAttribute(url)}">${renderInline(label)}</a>`
          : `${renderInline(label)} (${escapeText(url)})`
        i += whole.length
        continue
      }
    }
    if (char === "\\" && i + 1 < text.length && /[\\`*_~[\]()#>!-]/.test(text[i + 1]!)) {
      out += escapeText(text[i + 1]!)
      i += 2
      continue
    }
    let matched = false
    for (const [marker, tag] of emphasis) {
      if (!text.startsWith(marker, i)) continue
      const next = text[i + marker.length]
      // Opening: followed by a non-space; underscores only at the start of a word.
      if (isSpace(next) || (marker[0] === "_" && isWordChar(text[i - 1]))) continue
      if (marker.length === 1 && next === marker) continue
      const end = closingOf(text, marker, i + marker.length)
      if (end < 0) continue
      out += `<${tag}>${renderInline(text.slice(i + marker.length, end))}</${tag}>`
      i = end + marker.length
      matched = true
      break
    }
    if (matched) continue
    // A run of marker characters that opened nothing is literal text.
    if (char === "*" || char === "_" || char === "~") {
      const run = new RegExp(`^\\${char}+`).exec(text.slice(i))![0]
      out += run
      i += run.length
      continue
    }
    out += escapeText(char)
    i++
  }
  return out
}

const preBlock = (code: string, language: string) =>
  language === ""
    ? `<pre>${escapeText(code)}</pre>`
    : `<pre><code class="language-${escapeAttribute(language)}">${escapeText(code)}</code></pre>`

/**
 * A markdown text as Telegram HTML.
 *
 * @example
 * markdownToTelegramHtml("**Hi** <you> & `x < 1`") // "<b>Hi</b> &lt;you&gt; &amp; <code>x &lt; 1</code>"
 */
export const markdownToTelegramHtml = (markdown: string): string => {
  const lines = markdown.split("\n")
  const out: Array<string> = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    const fence = fenceLine.exec(line)
    if (fence) {
      const marker = fence[1]!
      const body: Array<string> = []
      i++
      while (i < lines.length) {
        const close = fenceLine.exec(lines[i]!)
        if (close && close[1]![0] === marker[0] && close[1]!.length >= marker.length && !close[2]) break
        body.push(lines[i]!)
        i++
      }
      i++ // the closing fence (or past the end when it is missing)
      out.push(preBlock(body.join("\n"), fence[2] ?? ""))
      continue
    }
    if (quoteLine.test(line)) {
      const quoted: Array<string> = []
      while (i < lines.length && quoteLine.test(lines[i]!)) {
        quoted.push(renderInline(quoteLine.exec(lines[i]!)![1]!))
        i++
      }
      out.push(`<blockquote>${quoted.join("\n")}</blockquote>`)
      continue
    }
    i++
    const heading = headingLine.exec(line)
    if (heading) {
      const inner = renderInline(heading[1]!)
      out.push(inner === "" ? "" : `<b>${inner}</b>`)
      continue
    }
    if (ruleLine.test(line)) {
      out.push("———")
      continue
    }
    const bullet = bulletLine.exec(line)
    if (bullet) {
      out.push(`${bullet[1]!}• ${renderInline(bullet[2]!)}`)
      continue
    }
    out.push(renderInline(line))
  }
  return out.join("\n")
}
