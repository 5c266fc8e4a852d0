/**
 * One CyTube channel of the fake: who is in it, its chat buffer, its playlist, and the handles a test drives.
 *
 * Event names, payloads and their order follow calzoneman/sync src/channel/channel.js (`acceptUser`,
 * `sendUserlist`, `sendUserJoin`, `partUser`) and the modules' `onUserPostJoin`.
 */
import type { Socket } from "socket.io"
import { channelOpts, DEFAULT_PERMISSIONS } from "./defaults.ts"
import { type Emote, emoteSource, formatChatText } from "./format.ts"
import { type AntifloodParams, MIN_ANTIFLOOD } from "./limits.ts"
import { type MediaInput, Playlist } from "./playlist.ts"

export type { MediaInput } from "./playlist.ts"

export interface Profile {
  readonly image: string
  readonly text: string
}

/** A user in a room: a connected socket (the client under test) or a virtual user the test controls. */
export interface Member {
  name: string
  rank: number
  afk: boolean
  muted: boolean
  readonly profile: Profile
  /** Undefined for virtual users. */
  readonly socket: Socket | undefined
  readonly ip: string
}

export interface ChatMessage {
  readonly username: string
  readonly msg: string
  readonly meta: Record<string, unknown>
  readonly time: number
}

export interface ChatRecord extends ChatMessage {
  /** The text as the sender sent it, before truncation, command stripping and escaping. */
  readonly rawMsg: string
}

export interface PmRecord extends ChatRecord {
  readonly to: string
}

export interface FloodEvent {
  /** `cooldown` (chat throttled), `noflood` (muted user chatted) or `kick` (any cause). */
  readonly kind: "cooldown" | "noflood" | "kick"
  readonly username: string
  readonly room: string | undefined
  readonly payload: unknown
  readonly time: number
}

export interface RoomOptions {
  /** Channel password: joiners get `needPassword` until `channelPassword` matches (moderators skip it). */
  readonly password?: string
  /** Chat buffer replayed to joiners (raw text, formatted like live chat; CyTube keeps the last 15). */
  readonly history?: ReadonlyArray<{ username: string; msg: string; time?: number; meta?: Record<string, unknown> }>
  /** Virtual users present from the start. */
  readonly users?: ReadonlyArray<{ name: string; rank?: number; afk?: boolean }>
  /** Channel ranks of registered accounts, by name (effective rank = max(global, channel)). */
  readonly ranks?: Readonly<Record<string, number>>
  /**
   * Setting any flood option turns on `chat_antiflood` for users below rank 2 (CyTube's defaults for it: burst 4,
   * 1/s, cooldown burst/sustained). Without them every user gets `MIN_ANTIFLOOD` (burst 20, 10/s, 2 s).
   * CyTube caps burst at 20 and sustained at 10; the fake does not, so tests can use short windows.
   */
  readonly floodBurst?: number
  readonly floodSustainedPerSecond?: number
  readonly floodCooldownSeconds?: number
  /** Chat/PM truncation length (CyTube: server-wide `max-chat-message-length`, 320). */
  readonly maxMessageLength?: number
  /** Sent as `emoteList`; rendered into messages only with `renderEmotes` (real CyTube leaves that to browsers). */
  readonly emotes?: ReadonlyArray<Emote>
  readonly renderEmotes?: boolean
  /** CyTube's default chat filters (bold/italic/code/strike/spoiler); default true, like a registered channel. */
  readonly filters?: boolean
  /** `enable_link_regex`; default true. */
  readonly linkify?: boolean
  readonly media?: MediaInput
  readonly motd?: string
  /** False for channels CyTube creates on demand (sends `channelNotRegistered`). Default true. */
  readonly registered?: boolean
}

/** What a room needs from its server. */
export interface RoomContext {
  readonly floodEvents: FloodEvent[]
  readonly defaultMaxMessageLength: number
}

const EMPTY_PROFILE: Profile = Object.freeze({ image: "", text: "" })
const CHAT_BUFFER_SIZE = 15

export class FakeCytubeRoom {
  readonly name: string
  readonly password: string | undefined
  readonly registered: boolean
  readonly ranks: ReadonlyMap<string, number>
  readonly maxMessageLength: number
  /** Every chat line broadcast in the room while the fake ran, in order (history replay excluded). */
  readonly chat: ChatRecord[] = []
  /** Every PM delivered in the room. */
  readonly pms: PmRecord[] = []
  /** Members in join order; anonymous sockets (name "") count for `usercount` but are not listed. */
  readonly members: Member[] = []
  private readonly buffer: ChatMessage[] = []
  private readonly playlist = new Playlist()
  private readonly options: RoomOptions

  constructor(
    name: string,
    options: RoomOptions,
    private readonly context: RoomContext
  ) {
    this.name = name.toLowerCase()
    this.options = options
    this.password = options.password
    this.registered = options.registered ?? true
    this.ranks = new Map(Object.entries(options.ranks ?? {}).map(([n, r]) => [n.toLowerCase(), r]))
    this.maxMessageLength = options.maxMessageLength ?? context.defaultMaxMessageLength
    const history = options.history ?? []
    history.forEach((line, i) => {
      this.pushBuffer({
        username: line.username,
        msg: this.format(line.msg),
        meta: line.meta ?? {},
        time: line.time ?? Date.now() - (history.length - i) * 1000
      })
    })
    for (const user of options.users ?? []) this.addVirtual(user.name, user.rank ?? 0, user.afk ?? false)
    if (options.media) this.changeMedia(options.media)
  }

  /** Flood/kick events of this room. */
  get floodEvents(): FloodEvent[] {
    return this.context.floodEvents.filter((e) => e.room === this.name)
  }

  /** The `userlist` a user of `viewerRank` would get now (moderators see more `meta`). */
  userlistFor(viewerRank = 0) {
    return this.members.filter((m) => m.name !== "").map((m) => this.packUser(m, viewerRank))
  }

  /** Antiflood parameters for a user of `rank` (CyTube applies the room's only below rank 2). */
  antiflood(rank: number): AntifloodParams {
    const o = this.options
    const enabled =
      o.floodBurst !== undefined || o.floodSustainedPerSecond !== undefined || o.floodCooldownSeconds !== undefined
    if (!enabled || rank >= 2) return MIN_ANTIFLOOD
    const burst = o.floodBurst ?? 4
    const sustained = o.floodSustainedPerSecond ?? 1
    return { burst, sustained, cooldown: o.floodCooldownSeconds ?? burst / sustained }
  }

  format(text: string): string {
    return formatChatText(text, {
      filters: this.options.filters ?? this.registered,
      linkify: this.options.linkify ?? true,
      renderEmotes: this.options.renderEmotes ? (this.options.emotes ?? []) : []
    })
  }

  find(name: string): Member | undefined {
    const lower = name.toLowerCase()
    return this.members.find((m) => m.name !== "" && m.name.toLowerCase() === lower)
  }

  // ---- test handles -------------------------------------------------------------------------------------------

  /** Another user chats: broadcast to everyone joined, buffered for later joiners; returns the broadcast record. */
  say(username: string, msg: string, meta: Record<string, unknown> = {}): ChatRecord {
    return this.broadcastChat({ username, msg: this.format(msg), meta, time: Date.now() }, msg)
  }

  /** A user PMs a connected client. Throws when `toUser` is not a connected socket in this room. */
  pmTo(fromUser: string, toUser: string, msg: string): PmRecord {
    const target = this.find(toUser)
    if (!target?.socket) throw new Error(`pmTo: ${toUser} is not a connected client in ${this.name}`)
    const text = msg.slice(0, this.maxMessageLength)
    const record: PmRecord = {
      username: fromUser,
      msg: this.format(text),
      meta: text.startsWith(">") ? { addClass: "greentext" } : {},
      time: Date.now(),
      to: target.name,
      rawMsg: msg
    }
    const payload = { username: record.username, msg: record.msg, meta: record.meta, time: record.time, to: record.to }
    target.socket.emit("pm", payload)
    this.find(fromUser)?.socket?.emit("pm", payload)
    this.pms.push(record)
    return record
  }

  /** A virtual user joins (`addUser` + `usercount` to everyone). */
  join(username: string, options: { rank?: number; afk?: boolean } = {}): void {
    const member = this.addVirtual(username, options.rank ?? 0, options.afk ?? false)
    this.sendUserJoin(member, this.members)
    this.broadcastUsercount()
  }

  /** A virtual user leaves (`userLeave` + `usercount`). */
  leave(username: string): void {
    const member = this.find(username)
    if (!member) throw new Error(`leave: ${username} is not in ${this.name}`)
    if (member.socket) throw new Error(`leave: ${username} is a connected client; use kick or disconnectAll`)
    this.part(member)
  }

  setAfk(username: string, afk: boolean): void {
    const member = this.find(username)
    if (!member) throw new Error(`setAfk: ${username} is not in ${this.name}`)
    this.applyAfk(member, afk)
  }

  /** `/mute`: the user's chat is then refused with `noflood`. */
  mute(username: string, muted = true): void {
    const member = this.find(username)
    if (!member) throw new Error(`mute: ${username} is not in ${this.name}`)
    member.muted = muted
    this.sendUserMeta(member)
  }

  /** Kick like CyTube: `kick { reason }`, then a namespace disconnect (the client does NOT auto-reconnect). */
  kick(username: string, reason: string): void {
    const member = this.find(username)
    if (!member) throw new Error(`kick: ${username} is not in ${this.name}`)
    if (member.socket) this.kickSocket(member.socket, member.name, reason)
    else this.part(member)
  }

  /** Queue media and start playing it (`queue`, `setPlaylistMeta`, `setCurrent`, `changeMedia`); returns its uid. */
  changeMedia(media: MediaInput): number {
    const uid = this.queueMedia(media)
    this.playlist.play(uid, media)
    this.broadcast("setCurrent", uid)
    this.broadcast("changeMedia", this.playlist.fullUpdate())
    return uid
  }

  /** Add media at the end of the playlist (`queue { item, after }` + `setPlaylistMeta`); returns its uid. */
  queueMedia(media: MediaInput): number {
    const queued = this.playlist.queue(media)
    this.broadcast("queue", queued)
    this.broadcast("setPlaylistMeta", this.playlist.meta())
    return queued.item.uid
  }

  /** Remove a playlist item (`delete { uid }` + `setPlaylistMeta`). */
  deleteMedia(uid: number): void {
    if (!this.playlist.delete(uid)) throw new Error(`deleteMedia: no item ${uid} in ${this.name}`)
    this.broadcast("delete", { uid })
    this.broadcast("setPlaylistMeta", this.playlist.meta())
  }

  /** The server's periodic sync of the current media (`mediaUpdate { currentTime, paused }`). */
  mediaUpdate(currentTime: number, paused = false): void {
    if (!this.playlist.seek(currentTime, paused)) throw new Error(`mediaUpdate: nothing is playing in ${this.name}`)
    this.broadcast("mediaUpdate", { currentTime, paused })
  }

  // ---- used by sessions -----------------------------------------------------------------------------------------

  /** The join sequence of `Channel.acceptUser`, for a socket that passed the password check. */
  accept(member: Member): void {
    const socket = member.socket as Socket
    if (member.name !== "") this.welcomeLoggedIn(member)
    this.members.push(member)
    socket.emit("setPermissions", DEFAULT_PERMISSIONS)
    socket.emit("setPlaylistLocked", true)
    socket.emit(
      "emoteList",
      (this.options.emotes ?? []).map((e) => ({ ...e, source: emoteSource(e.name) }))
    )
    for (const line of this.buffer) socket.emit("chatMsg", line)
    socket.emit("drinkCount", 0)
    socket.emit("channelCSSJS", { css: "", cssHash: "", js: "", jsHash: "" })
    socket.emit("setMotd", this.options.motd ?? "")
    socket.emit(
      "channelOpts",
      channelOpts({
        name: this.name,
        antiflood: this.antiflood(0),
        linkify: this.options.linkify ?? true,
        hasPassword: this.password !== undefined
      })
    )
    socket.emit("setPlaylistMeta", this.playlist.meta())
    socket.emit("playlist", this.playlist.items)
    const uid = this.playlist.currentUid
    if (uid !== undefined) {
      // Twice on purpose: CyTube's sendPlaylist and sendChangeMedia each send it.
      socket.emit("setCurrent", uid)
      socket.emit("setCurrent", uid)
      socket.emit("changeMedia", this.playlist.fullUpdate())
    }
    socket.emit("userlist", this.userlistFor(member.rank))
    this.broadcastUsercount()
    if (!this.registered) socket.emit("channelNotRegistered")
  }

  /** A member in the room just logged in (`Channel.acceptUser`'s login wait). */
  welcomeLoggedIn(member: Member): void {
    for (const other of [...this.members]) {
      if (other !== member && other.name !== "" && other.name.toLowerCase() === member.name.toLowerCase()) {
        if (other.socket) this.kickSocket(other.socket, other.name, "Duplicate login")
        else this.part(other)
      }
    }
    this.sendUserJoin(member, this.members)
  }

  /** A member leaves: `userLeave` when it was logged in, then `usercount`. */
  part(member: Member): void {
    const index = this.members.indexOf(member)
    if (index < 0) return
    this.members.splice(index, 1)
    if (member.name !== "") this.broadcast("userLeave", { name: member.name })
    this.broadcastUsercount()
  }

  broadcastChat(line: ChatMessage, rawMsg: string): ChatRecord {
    this.broadcast("chatMsg", line)
    this.pushBuffer(line)
    const record: ChatRecord = { ...line, rawMsg }
    this.chat.push(record)
    return record
  }

  applyAfk(member: Member, afk: boolean): void {
    if (member.afk === afk) return
    member.afk = afk
    this.sendUserMeta(member)
    this.broadcast("setAFK", { name: member.name, afk })
  }

  kickSocket(socket: Socket, username: string, reason: string): void {
    this.context.floodEvents.push({ kind: "kick", username, room: this.name, payload: { reason }, time: Date.now() })
    socket.emit("kick", { reason })
    socket.disconnect()
  }

  broadcast(event: string, payload: unknown | ((viewer: Member) => unknown)): void {
    for (const m of this.members) {
      m.socket?.emit(event, typeof payload === "function" ? payload(m) : payload)
    }
  }

  /** `[server]` whispers CyTube shows to moderators (rank >= 2), e.g. "x joined (aliases: x)". */
  modMessage(msg: string): void {
    const line = {
      username: "[server]",
      msg,
      meta: { addClass: "server-whisper", addClassToNameAndTimestamp: true },
      time: Date.now()
    }
    for (const m of this.members) if (m.rank >= 2) m.socket?.emit("chatMsg", line)
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private addVirtual(name: string, rank: number, afk: boolean): Member {
    const member: Member = { name, rank, afk, muted: false, profile: EMPTY_PROFILE, socket: undefined, ip: "127.0.0.1" }
    this.members.push(member)
    return member
  }

  private packUser(member: Member, viewerRank: number) {
    const base = { name: member.name, rank: member.rank, profile: member.profile }
    return viewerRank >= 2
      ? {
          ...base,
          meta: { afk: member.afk, muted: member.muted, smuted: false, aliases: [member.name], ip: cloak(member.ip) }
        }
      : { ...base, meta: { afk: member.afk, muted: member.muted } }
  }

  private sendUserJoin(member: Member, to: ReadonlyArray<Member>): void {
    for (const viewer of to) viewer.socket?.emit("addUser", this.packUser(member, viewer.rank))
    this.modMessage(`${member.name} joined (aliases: ${member.name})`)
  }

  private sendUserMeta(member: Member): void {
    this.broadcast("setUserMeta", (viewer: Member) => ({
      name: member.name,
      meta: this.packUser(member, viewer.rank).meta
    }))
  }

  private broadcastUsercount(): void {
    this.broadcast("usercount", this.members.length)
  }

  private pushBuffer(line: ChatMessage): void {
    this.buffer.push(line)
    if (this.buffer.length > CHAT_BUFFER_SIZE) this.buffer.shift()
  }
}

/** CyTube shows moderators a cloaked IP; any stable string will do here. */
const cloak = (ip: string): string => ip.replace(/\.\d+$/, ".x")
