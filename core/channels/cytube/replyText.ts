/**
 * A model's reply made fit for CyTube chat: plain text (CyTube shows markdown raw, or half-renders it with its own
 * filters), no "Name:" prefix of the bot's own name (models imitate the "Name: text" lines of the room), one line per
 * message, and never a leading `/` (CyTube runs chat lines that start with `/` as commands — `/clear`, `/kick` for a
 * moderator account).
 */
import { oneLine, stripMarkdown } from "../text/markdown.ts"

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Remove one leading `Name:` (or `**Name**:`, `[Name]:`) where Name is one of the bot's names. */
export const stripSelfPrefix = (text: string, names: ReadonlyArray<string>): string => {
  const alternatives = names
    .map((name) => name.trim())
    .filter((name) => name.length > 0)
    .sort((a, b) => b.length - a.length)
    .map(escapeRegex)
  if (alternatives.length === 0) return text
  const prefix = new RegExp(`^\\s*(?:\\*\\*|\\[)?@?(?:${alternatives.join("|")})(?:\\*\\*|\\])?\\s*:\\s*`, "iu")
  return text.replace(prefix, "")
}

/** The whole reply, before it is split into messages: markdown stripped, self-prefix removed. Keeps line breaks. */
export const cleanReply = (text: string, names: ReadonlyArray<string>): string =>
  stripSelfPrefix(stripMarkdown(text), names).trim()

/** One message as it goes on the wire: one line, and not a command. */
export const wireText = (chunk: string): string => {
  const line = oneLine(chunk)
  return line.startsWith("/") ? ` ${line}` : line
}
