/**
 * What the bot knows about its CyTube room: who is in it (and who is AFK), what is playing and where, and the last
 * chat lines from everyone. Fed by the server's events; read as `RoomContext` for the model's prompt. Presence and
 * media changes are published as `PresenceChanged` / `MediaChanged`.
 */

import type { EventOf } from "../../events/Events.ts"
import type { RoomContext } from "../Channel.ts"

export interface RoomLine {
  readonly user: string
  readonly text: string
  readonly at: number
  /** The `MessageReceived.messageId` of the line, so the line being answered can be left out of the context. */
  readonly messageId?: string
}

interface Media {
  readonly title: string
  readonly type: string
  readonly id: string
  readonly durationSec: number
  /** Position at `updatedAt`, in seconds (CyTube starts new media at -3, paused). */
  position: number
  paused: boolean
  updatedAt: number
}

interface PlaylistEntry {
  readonly title: string
  readonly type: string
  readonly id: string
  readonly seconds: number
}

type Published = EventOf<"PresenceChanged"> | EventOf<"MediaChanged">

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null
const str = (value: unknown, fallback = ""): string => (typeof value === "string" ? value : fallback)
const num = (value: unknown, fallback = 0): number =>
  typeof value === "number" && Number.isFinite(value) ? value : fallback

const entryOf = (media: unknown): PlaylistEntry | undefined =>
  isObject(media) && typeof media.title === "string"
    ? { title: media.title, type: str(media.type), id: str(media.id), seconds: num(media.seconds) }
    : undefined

export class RoomState {
  private readonly users = new Map<string, { name: string; afk: boolean }>()
  private count = 0
  private media: Media | undefined
  private readonly playlist = new Map<number, PlaylistEntry>()
  private readonly lines: Array<RoomLine> = []
  /** False until the first `userlist`: the first list is the room as found, not a wave of joins. */
  private listed = false

  constructor(
    private readonly channel: string,
    private readonly room: string,
    private readonly contextLines: () => number,
    private readonly publish: (event: Published) => void,
    private readonly now: () => number = Date.now
  ) {}

  /** Apply one server event; returns true when it was a room-state event. */
  apply(event: string, payload: unknown): boolean {
    switch (event) {
      case "userlist":
        this.userlist(payload)
        return true
      case "addUser":
        if (isObject(payload) && typeof payload.name === "string") {
          const known = this.users.has(payload.name.toLowerCase())
          const afk = isObject(payload.meta) && payload.meta.afk === true
          this.users.set(payload.name.toLowerCase(), { name: payload.name, afk })
          if (!known) this.presence(payload.name, "join")
        }
        return true
      case "userLeave":
        if (isObject(payload) && typeof payload.name === "string" && this.users.delete(payload.name.toLowerCase())) {
          this.presence(payload.name, "leave")
        }
        return true
      case "setAFK":
        if (isObject(payload) && typeof payload.name === "string") this.setAfk(payload.name, payload.afk === true)
        return true
      case "setUserMeta":
        if (isObject(payload) && typeof payload.name === "string" && isObject(payload.meta)) {
          this.setAfk(payload.name, payload.meta.afk === true)
        }
        return true
      case "usercount":
        this.count = num(payload, this.count)
        return true
      case "changeMedia":
        this.changeMedia(payload)
        return true
      case "mediaUpdate":
        if (this.media && isObject(payload)) {
          this.media.position = num(payload.currentTime, this.media.position)
          this.media.paused = payload.paused === true
          this.media.updatedAt = this.now()
        }
        return true
      case "playlist":
        this.playlist.clear()
        if (Array.isArray(payload)) for (const item of payload) this.queued(item)
        return true
      case "queue":
        if (isObject(payload)) this.queued(payload.item)
        return true
      case "delete":
        if (isObject(payload)) this.playlist.delete(num(payload.uid, -1))
        return true
      case "setCurrent":
        // `changeMedia` follows with the position; the playlist entry tells what it is if it does not.
        if (typeof payload === "number" && !this.media) {
          const entry = this.playlist.get(payload)
          if (entry) this.changeMedia({ ...entry, currentTime: 0, paused: false })
        }
        return true
      default:
        return false
    }
  }

  /** A chat line from anyone (the bot included), kept for the room context. */
  addLine(line: RoomLine): void {
    this.lines.push(line)
    const keep = Math.max(0, this.contextLines())
    if (this.lines.length > keep) this.lines.splice(0, this.lines.length - keep)
  }

  /** Who is here, what is playing, what was said; `exclude` leaves out the line being answered. */
  context(exclude?: string): RoomContext {
    const users = [...this.users.values()].map((user) =>
      user.afk ? { name: user.name, afk: true } : { name: user.name }
    )
    const media = this.media
    const recent = this.lines
      .filter((line) => exclude === undefined || line.messageId !== exclude)
      .map((line) => ({ user: line.user, text: line.text, at: line.at }))
    return {
      users,
      ...(media === undefined
        ? {}
        : {
            media: {
              title: media.title,
              type: media.type,
              id: media.id,
              durationSec: media.durationSec,
              positionSec: this.position(media)
            }
          }),
      recent
    }
  }

  /** Users in the room as the server counts them (anonymous viewers included). */
  get usercount(): number {
    return Math.max(this.count, this.users.size)
  }

  private position(media: Media): number {
    const elapsed = media.paused ? 0 : (this.now() - media.updatedAt) / 1000
    const at = Math.max(0, media.position + elapsed)
    return media.durationSec > 0 ? Math.min(at, media.durationSec) : at
  }

  private userlist(payload: unknown): void {
    if (!Array.isArray(payload)) return
    const before = new Map(this.users)
    this.users.clear()
    for (const user of payload) {
      if (!isObject(user) || typeof user.name !== "string" || user.name === "") continue
      const afk = isObject(user.meta) && user.meta.afk === true
      this.users.set(user.name.toLowerCase(), { name: user.name, afk })
    }
    // After a reconnect the list is sent again: publish only what changed while we were away.
    if (this.listed) {
      for (const [key, user] of this.users) if (!before.has(key)) this.presence(user.name, "join")
      for (const [key, user] of before) if (!this.users.has(key)) this.presence(user.name, "leave")
    }
    this.listed = true
  }

  private setAfk(name: string, afk: boolean): void {
    const user = this.users.get(name.toLowerCase())
    if (!user || user.afk === afk) return
    user.afk = afk
    this.presence(user.name, afk ? "afk" : "back")
  }

  private queued(item: unknown): void {
    if (!isObject(item)) return
    const entry = entryOf(item.media)
    if (entry && typeof item.uid === "number") this.playlist.set(item.uid, entry)
  }

  private changeMedia(payload: unknown): void {
    const entry = entryOf(payload)
    if (!entry || !isObject(payload)) return
    const same = this.media?.id === entry.id && this.media.type === entry.type
    this.media = {
      title: entry.title,
      type: entry.type,
      id: entry.id,
      durationSec: entry.seconds,
      position: num(payload.currentTime),
      paused: payload.paused === true,
      updatedAt: this.now()
    }
    // A reconnect re-sends what is playing; that is not a change.
    if (same) return
    this.publish({
      _tag: "MediaChanged",
      at: this.now(),
      channel: this.channel,
      room: this.room,
      title: entry.title,
      mediaId: entry.id,
      mediaType: entry.type,
      durationSec: entry.seconds
    })
  }

  private presence(user: string, change: "join" | "leave" | "afk" | "back"): void {
    this.publish({
      _tag: "PresenceChanged",
      at: this.now(),
      channel: this.channel,
      room: this.room,
      user,
      change,
      count: this.usercount
    })
  }
}
