/**
 * `chatMsg` and `pm` from a client, as CyTube's ChatModule handles them (calzoneman/sync src/channel/chat.js).
 */

import { DEFAULT_PERMISSIONS } from "./defaults.ts"
import { isValidUserName, stripControlCharacters } from "./format.ts"
import { MIN_ANTIFLOOD } from "./limits.ts"
import type { FakeCytubeRoom, FloodEvent, PmRecord } from "./room.ts"
import type { Session } from "./session.ts"

type Meta = Record<string, unknown>

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** CyTube's typecheck of a frame; answers `errorMsg` like its `typecheckedOn` wrapper and returns false. */
const typecheck = (session: Session, event: string, data: unknown, strings: ReadonlyArray<string>): data is Meta => {
  const bad = !isObject(data)
    ? "expected an object"
    : (strings.find((key) => typeof data[key] !== "string") ??
      (data.meta !== undefined && !isObject(data.meta) ? "meta" : undefined))
  if (bad === undefined) return true
  session.socket.emit("errorMsg", { msg: `Unexpected error for message ${event}: ${bad} has the wrong type` })
  return false
}

const recordFlood = (session: Session, room: FakeCytubeRoom, kind: FloodEvent["kind"], payload: unknown): void => {
  session.server.floodEvents.push({ kind, username: session.name, room: room.name, payload, time: Date.now() })
}

const modflair = (session: Session, requested: unknown): Meta =>
  session.rank >= 2 && isObject(requested) && requested.modflair === session.rank ? { modflair: session.rank } : {}

export const handleChatMsg = (session: Session, room: FakeCytubeRoom, data: unknown): void => {
  if (!typecheck(session, "chatMsg", data, ["msg"])) return
  if (session.rank < (DEFAULT_PERMISSIONS.chat ?? 0)) return
  const raw = data.msg as string
  const msg = stripControlCharacters(raw.slice(0, room.maxMessageLength))
  if (!msg.trim() || !session.loggedIn) return
  processChatMsg(session, room, msg, modflair(session, data.meta), raw)
}

const processChatMsg = (session: Session, room: FakeCytubeRoom, msg: string, meta: Meta, raw: string): void => {
  if (!msg.includes("/afk")) room.applyAfk(session, false)
  const line = { username: session.name, msg: room.format(msg), meta, time: Date.now() }
  const params = room.antiflood(session.rank)
  if (session.limiter.throttle(params)) {
    const wait = 1000 / params.sustained
    session.socket.emit("cooldown", wait)
    recordFlood(session, room, "cooldown", wait)
    return
  }
  if (msg.startsWith(">")) meta.addClass = "greentext"
  if (msg.startsWith("/")) {
    const space = msg.indexOf(" ")
    const command = space < 0 ? msg.slice(1) : msg.slice(1, space)
    const rest = space < 0 ? "" : msg.slice(space + 1)
    // Like CyTube, a command re-enters processChatMsg, so `/me` costs two antiflood tokens.
    const extra =
      command === "me" ? { addClass: "action", action: true } : command === "sp" ? { addClass: "spoiler" } : undefined
    if (extra) {
      processChatMsg(session, room, rest, { ...meta, ...extra }, raw)
      return
    }
    if (command === "afk") {
      room.applyAfk(session, !session.afk)
      return
    }
  }
  if (session.muted) {
    const payload = { action: "chat", msg: "You have been muted on this channel." }
    session.socket.emit("noflood", payload)
    recordFlood(session, room, "noflood", payload)
    return
  }
  room.broadcastChat(line, raw)
}

export const handlePm = (session: Session, room: FakeCytubeRoom, data: unknown): void => {
  if (!typecheck(session, "pm", data, ["msg", "to"])) return
  const to = (data.to as string).toLowerCase()
  const refusal = !session.loggedIn
    ? "You must be signed in to send PMs"
    : to === session.name.toLowerCase()
      ? "You can't PM yourself!"
      : !isValidUserName(to)
        ? `PM failed: ${to} isn't a valid username.`
        : undefined
  if (refusal !== undefined) {
    session.socket.emit("errorMsg", { msg: refusal })
    return
  }
  if (session.limiter.throttle(MIN_ANTIFLOOD)) {
    const wait = 1000 / MIN_ANTIFLOOD.sustained
    session.socket.emit("cooldown", wait)
    recordFlood(session, room, "cooldown", wait)
    return
  }
  const raw = data.msg as string
  const msg = raw.slice(0, room.maxMessageLength)
  const target = room.find(to)
  if (!target) {
    session.socket.emit("errorMsg", { msg: `PM failed: ${to} isn't connected to this channel.` })
    return
  }
  const meta = modflair(session, data.meta)
  if (msg.startsWith(">")) meta.addClass = "greentext"
  const payload = { username: session.name, msg: room.format(msg), meta, time: Date.now(), to: target.name }
  target.socket?.emit("pm", payload)
  session.socket.emit("pm", payload)
  const record: PmRecord = { ...payload, rawMsg: raw }
  room.pms.push(record)
}
