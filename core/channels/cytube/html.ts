/**
 * CyTube chat text is HTML: the server escapes `&`, `<`, `>`, turns links into anchors and (in registered rooms) some
 * markup into tags (`*bold*` → `<strong>`, `_x_` → `<em>`, `` `code` `` → `<code>`, `~~s~~` → `<s>`, `[sp]` spoilers);
 * rooms that render emotes send `<img … title="Name">`. The model gets plain text.
 */

const named: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " "
}

/** Decode the HTML entities CyTube (and sanitize-html) produce: named ones and numeric `&#39;` / `&#x27;`. */
export const decodeEntities = (text: string): string =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity.startsWith("#")) {
      const code =
        entity[1] === "x" || entity[1] === "X" ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1))
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return named[entity.toLowerCase()] ?? whole
  })

const attribute = (tag: string, name: string): string | undefined => {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(tag)
  return match ? (match[2] ?? match[3] ?? match[4]) : undefined
}

/** A chat line's HTML as the plain text a person would read: tags removed, emotes by name, entities decoded. */
export const htmlToText = (html: string): string =>
  decodeEntities(
    html
      .replace(/<br\s*\/?>/gi, " ")
      // An emote image reads as its name; other images as their alt text, if any.
      .replace(/<img\b[^>]*>/gi, (tag) => attribute(tag, "title") ?? attribute(tag, "alt") ?? "")
      .replace(/<\/?[a-z][^>]*>/gi, "")
  )
    .replace(/\s+/g, " ")
    .trim()

/**
 * A key for "is this the line we sent?": CyTube's filters eat markup characters (`*`, `_`, `` ` ``, `~`), newlines
 * become spaces and long lines are cut, so both sides are reduced to lowercase words of a bounded length.
 */
export const matchKey = (text: string, length = 200): string =>
  text
    .replace(/[*_`~]/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase()
    .slice(0, length)

/** True when the line CyTube echoed (`html`) is the text we sent (possibly cut by the server's length limit). */
export const sameLine = (html: string, sent: string): boolean => {
  const echoed = matchKey(htmlToText(html), Number.MAX_SAFE_INTEGER)
  const ours = matchKey(sent, Number.MAX_SAFE_INTEGER)
  if (echoed === ours) return true
  // Cut by the server: the echo is a prefix of what we sent (at least a few words of it).
  return echoed.length >= 20 && ours.startsWith(echoed)
}
