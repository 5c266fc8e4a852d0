/**
 * Splitting a long reply into messages a platform accepts: at most `limit` UTF-16 code units each (how Telegram and
 * Discord count), cut at the cleanest boundary available — paragraph, line, sentence, word — and never inside a
 * surrogate pair. A fenced code block is never cut while it fits in one message; one longer than a message is closed at
 * the end of a chunk and re-opened (with its language) at the start of the next.
 */

export interface SplitOptions {
  /** How many code units the closing/opening fences may add; reserved when a chunk ends inside a code block. */
  readonly fence?: boolean
}

const fenceLine = /^ {0,3}(```+|~~~+)\s*([\w+#.-]*)\s*$/

interface Line {
  readonly text: string
  /** The fence that is open after this line (undefined when outside a code block). */
  readonly openAfter: { readonly marker: string; readonly lang: string } | undefined
}

const scanFences = (text: string): Array<Line> => {
  let open: { marker: string; lang: string } | undefined
  return text.split("\n").map((line) => {
    const match = fenceLine.exec(line)
    if (match) {
      if (!open) open = { marker: match[1]!, lang: match[2] ?? "" }
      else if (match[1]!.startsWith(open.marker[0]!) && match[1]!.length >= open.marker.length && !match[2])
        open = undefined
    }
    return { text: line, openAfter: open }
  })
}

/** The last index <= max where a cut is clean, preferring paragraph, line, sentence, then word boundaries. */
const cutPoint = (text: string, max: number): number => {
  if (text.length <= max) return text.length
  const window = text.slice(0, max + 1)
  const floor = Math.floor(max * 0.3)
  const candidates: Array<(w: string) => number> = [
    (w) => w.lastIndexOf("\n\n"),
    (w) => w.lastIndexOf("\n"),
    (w) => Math.max(w.lastIndexOf(". "), w.lastIndexOf("! "), w.lastIndexOf("? "), w.lastIndexOf("。")) + 1,
    (w) => w.lastIndexOf(" ")
  ]
  for (const find of candidates) {
    const at = find(window)
    if (at > floor && at <= max) return at
  }
  // No boundary: a hard cut, but never between the halves of a surrogate pair.
  const code = text.charCodeAt(max - 1)
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max
}

/** Split `text` into chunks of at most `limit` code units. */
export const splitMessage = (text: string, limit: number, options: SplitOptions = {}): Array<string> => {
  const trimmed = text.trim()
  if (trimmed.length <= limit) return trimmed.length === 0 ? [] : [trimmed]
  const fences = options.fence ?? true
  const chunks: Array<string> = []
  let rest = trimmed
  let reopen = ""
  while (rest.length > 0) {
    const body = reopen + rest
    if (body.length <= limit) {
      chunks.push(body)
      break
    }
    let cut = cutPoint(body, limit)
    if (fences) {
      // Where would this cut leave us? Inside a code block the chunk needs a closing fence (and room for it).
      let chunk = body.slice(0, cut)
      let open = scanFences(chunk).at(-1)?.openAfter
      if (open) {
        // Prefer ending the chunk before the block starts, if that leaves a reasonable chunk.
        const start = blockStart(chunk)
        if (start > limit * 0.3 && body.slice(start).length > 0) {
          cut = start
          chunk = body.slice(0, cut)
          open = undefined
        } else {
          const closing = `\n${open.marker}`
          cut = cutPoint(body, limit - closing.length)
          chunk = body.slice(0, cut)
          open = scanFences(chunk).at(-1)?.openAfter
          if (open) chunk = `${chunk.replace(/\n$/, "")}\n${open.marker}`
        }
      }
      chunks.push(chunk.trimEnd())
      reopen = open ? `${open.marker}${open.lang}\n` : ""
      // Inside a code block only the line break at the cut goes: the next line's indentation is part of the code.
      rest = open ? body.slice(cut).replace(/^\n/, "") : body.slice(cut).replace(/^\s+/, "")
    } else {
      chunks.push(body.slice(0, cut).trimEnd())
      rest = body.slice(cut).trimStart()
    }
    if (reopen && rest.length === 0) break
  }
  return chunks.filter((chunk) => chunk.trim().length > 0)
}

/** Offset of the line that opens the last (still open) code block in `text`. */
const blockStart = (text: string): number => {
  const lines = scanFences(text)
  let offset = 0
  let start = -1
  let wasOpen = false
  for (const line of lines) {
    if (line.openAfter && !wasOpen) start = offset
    wasOpen = line.openAfter !== undefined
    offset += line.text.length + 1
  }
  return start
}
