/**
 * Channel instance ids, derived from a channel's config section without connecting, so the runtime knows which
 * section a running channel came from (and reconnects only the one whose section changed). Ids never contain `/`.
 */
import { createHash } from "node:crypto"
import type { ChannelConfig } from "../persona/Persona.ts"

const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 10)

/** Telegram's bot id is the token's prefix (public; the secret is after the colon). */
const telegramId = (token: string) => {
  const prefix = /^(\d+):/.exec(token)?.[1]
  return `telegram:${prefix ?? shortHash(token)}`
}

/** A Discord token's first segment is the bot's user id in base64. */
const discordId = (token: string) => {
  const first = token.split(".")[0] ?? ""
  const decoded = Buffer.from(first, "base64").toString("utf8")
  return `discord:${/^\d{15,21}$/.test(decoded) ? decoded : shortHash(token)}`
}

const clean = (text: string) => text.replace(/[/\s]+/g, "_")

const cytubeId = (server: string, room: string, username: string) => {
  let host = server
  try {
    host = new URL(server).host
  } catch {
    // Not a URL: keep it as written.
  }
  return `cytube:${clean(host)}:${clean(room)}:${clean(username)}`
}

export const channelIdOf = (section: ChannelConfig): string => {
  switch (section.type) {
    case "telegram":
      return telegramId(section.token)
    case "discord":
      return discordId(section.token)
    case "cytube":
      return cytubeId(section.server, section.room, section.username)
  }
}
