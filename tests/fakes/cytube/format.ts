/**
 * How CyTube's server turns a chat line into the HTML it broadcasts, and its name rules.
 *
 * Reproduced from reading calzoneman/sync (src/xss.js, src/channel/chat.js, src/channel/filters.js,
 * src/utilities.js); no code copied. The pipeline is:
 *   1. escape & < > " ' ( ) as entities (XSS.sanitizeText)
 *   2. cut links out, run the channel's chat filters (registered channels get bold/italic/code/strike/spoiler),
 *      put the links back as `<a href target rel>` anchors (option `enable_link_regex`, default on)
 *   3. pass the result through sanitize-html, which decodes entities in text and re-escapes only & < >,
 *      so a broadcast message shows `&lt;`, `&gt;`, `&amp;` but raw `"`, `'`, `(`, `)`.
 * Emotes are NOT rendered by the server: CyTube sends `emoteList` and the browser swaps names for
 * `<img class="channel-emote">`. `renderEmotes` does that swap server-side for tests that want the tags.
 */

export interface Emote {
  readonly name: string
  readonly image: string
}

export interface FormatOptions {
  /** Apply CyTube's default chat filters (registered channels have them; unregistered ones have none). */
  readonly filters: boolean
  /** Turn URLs into anchors (`enable_link_regex`, default true). */
  readonly linkify: boolean
  /** Emotes to render as `<img class="channel-emote">` (the browser's job on real CyTube). */
  readonly renderEmotes: ReadonlyArray<Emote>
}

const LINK = /(\w+:\/\/(?:[^:/[\]\s]+|\[[0-9a-f:]+\])(?::\d+)?(?:\/[^/\s]*)*)/gi
const LINK_PLACEHOLDER = "\ueeee"
const LINK_PLACEHOLDER_RE = /\ueeee/g

const DEFAULT_FILTERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/`(.+?)`/g, "<code>$1</code>"],
  [/\*(.+?)\*/g, "<strong>$1</strong>"],
  [/_(.+?)_/g, "<em>$1</em>"],
  [/~~(.+?)~~/g, "<s>$1</s>"],
  [/\[sp\](.*?)\[\/sp\]/gi, '<span class="spoiler">$1</span>']
]

/** CyTube's strict text escaping (XSS.sanitizeText). */
export const escapeText = (text: string): string =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    .replace(/\(/g, "&#40;")
    .replace(/\)/g, "&#41;")

/** What sanitize-html's decode/re-encode does to the entities step 1 produced. */
const resanitize = (html: string): string =>
  html
    .split(/(<[^>]*>)/)
    .map((part) =>
      part.startsWith("<")
        ? part.replace(/&#39;/g, "'").replace(/&#40;/g, "(").replace(/&#41;/g, ")")
        : part
            .replace(/&#39;/g, "'")
            .replace(/&quot;/g, '"')
            .replace(/&#40;/g, "(")
            .replace(/&#41;/g, ")")
    )
    .join("")

/** The regex source CyTube stores with each emote (`(^|\s)name(?!\S)`, name loosely escaped). */
export const emoteSource = (name: string): string => {
  const loose = name.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
  return `(^|\\s)${loose.replace(/[\\.?+*$^|()[\]{}]/g, "\\$&")}(?!\\S)`
}

/** What the browser does with `emoteList` (www/js/util.js `execEmotes`). */
const renderEmotes = (html: string, emotes: ReadonlyArray<Emote>): string =>
  emotes.reduce(
    (acc, emote) =>
      acc.replace(
        new RegExp(emoteSource(emote.name), "gi"),
        `$1<img class="channel-emote" src="${escapeText(emote.image)}" title="${emote.name}">`
      ),
    html
  )

/** The `msg` field CyTube broadcasts for a chat line or PM that a user sent as `text`. */
export const formatChatText = (text: string, options: FormatOptions): string => {
  const escaped = escapeText(text)
  const links = escaped.match(LINK) ?? []
  let html = escaped.replace(LINK, LINK_PLACEHOLDER)
  if (options.filters) {
    for (const [pattern, replacement] of DEFAULT_FILTERS) html = html.replace(pattern, replacement)
  }
  html = html.replace(LINK_PLACEHOLDER_RE, () => {
    const link = links.shift()
    if (link === undefined) return ""
    return options.linkify ? `<a href="${link}" target="_blank" rel="noopener noreferrer">${link}</a>` : link
  })
  html = resanitize(html)
  return options.renderEmotes.length > 0 ? renderEmotes(html, options.renderEmotes) : html
}

/** ASCII control characters become one space each run (CyTube strips them unless `allow_ascii_control`). */
export const stripControlCharacters = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: CyTube replaces exactly this range
  text.replace(/[\x00-\x1f]+/g, " ")

/** `mm:ss`, or `hh:mm:ss` from one hour up (utilities.formatTime). */
export const formatDuration = (seconds: number): string => {
  let rest = Math.floor(seconds)
  const pad = (n: number) => String(n).padStart(2, "0")
  const hours = rest >= 3600 ? Math.floor(rest / 3600) : -1
  if (hours >= 0) rest %= 3600
  const clock = `${pad(Math.floor(rest / 60))}:${pad(rest % 60)}`
  return hours >= 0 ? `${pad(hours)}:${clock}` : clock
}

export const isValidUserName = (name: string): boolean => /^[\w-]{1,20}$/.test(name)
export const isValidChannelName = (name: string): boolean => /^[\w-]{1,30}$/.test(name)

/** CyTube's default `reserved-names.usernames`: "admin", "administrator" or "owner" as a `-`/`_`-separated word. */
export const isReservedUserName = (name: string): boolean =>
  /^(.*?[-_])?admin(istrator)?([-_].*)?$|^(.*?[-_])?owner([-_].*)?$/i.test(name)
