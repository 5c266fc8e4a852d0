/**
 * One CyTube channel of the fake: who is in it, its chat buffer, its playlist, and the handles a test drives.
 *
 * Event names, payloads and their order follow calzoneman/sync src/channel/channel.js (`acceptUser`,
 * `sendUserlist`, `sendUserJoin`, `partUser`) and the modules' `onUserPostJoin`.
 */
import type { Socket } from "socket.io"
import { type Emote, emoteSource, formatChatText, formatDuration } from "./format.ts"
import { type AntifloodParams, MIN_ANTIFLOOD } from "./limits.ts"

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

export interface MediaInput {
  readonly title: string
  readonly id: string
  /** CyTube media type: "yt", "vi", "dm", "sc", "tw", "fi", "cu" … */
  readonly type: string
  readonly seconds: number
  /** Default: -3 and paused for media with a duration (CyTube's lead-in), else 0. */
  readonly currentTime?: number
  readonly paused?: boolean
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

interface PlaylistItem {
  readonly uid: number
  readonly media: ReturnType<typeof packMedia>
  readonly temp: boolean
  readonly queueby: string
}

const EMPTY_PROFILE: Profile = Object.freeze({ image: "", text: "" })
const CHAT_BUFFER_SIZE = 15

/** CyTube's `DEFAULT_PERMISSIONS` (src/channel/permissions.js), sent as `setPermissions`. */
export const DEFAULT_PERMISSIONS: Readonly<Record<string, number>> = Object.freeze({
  seeplaylist: -1,
  playlistadd: 1.5,
  playlistnext: 1.5,
  playlistmove: 1.5,
  playlistdelete: 2,
  playlistjump: 1.5,
  playlistaddlist: 1.5,
  oplaylistadd: -1,
  oplaylistnext: 1.5,
  oplaylistmove: 1.5,
  oplaylistdelete: 2,
  oplaylistjump: 1.5,
  oplaylistaddlist: 1.5,
  playlistaddcustom: 3,
  playlistaddrawfile: 2,
  playlistaddlive: 1.5,
  exceedmaxlength: 2,
  addnontemp: 2,
  settemp: 2,
  playlistshuffle: 2,
  playlistclear: 2,
  pollctl: 1.5,
  pollvote: -1,
  viewhiddenpoll: 1.5,
  voteskip: -1,
  viewvoteskip: 1.5,
  mute: 1.5,
  kick: 1.5,
  ban: 2,
  motdedit: 3,
  filteredit: 3,
  filterimport: 3,
  emoteedit: 3,
  emoteimport: 3,
  playlistlock: 2,
  leaderctl: 2,
  drink: 1.5,
  chat: 0,
  chatclear: 2,
  exceedmaxitems: 2,
  deletefromchannellib: 2,
  exceedmaxdurationperuser: 2
})

const packMedia = (media: MediaInput) => ({
  id: media.id,
  title: media.title.length > 100 ? `${media.title.slice(0, 97)}...` : media.title,
  seconds: media.seconds,
  duration: formatDuration(media.seconds),
  type: media.type,
  meta: {}
})

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
  private readonly playlist: PlaylistItem[] = []
  private current: { item: PlaylistItem; currentTime: number; paused: boolean } | undefined
  private nextUid = 0
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
    const item = this.queueMedia(media)
    this.current = {
      item: this.playlist.find((i) => i.uid === item) as PlaylistItem,
      currentTime: media.currentTime ?? (media.seconds > 0 ? -3 : 0),
      paused: media.paused ?? media.seconds > 0
    }
    this.broadcast("setCurrent", item)
    this.broadcast("changeMedia", this.fullUpdate())
    return item
  }

  /** Add media at the end of the playlist (`queue { item, after }` + `setPlaylistMeta`); returns its uid. */
  queueMedia(media: MediaInput): number {
    const item: PlaylistItem = { uid: this.nextUid++, media: packMedia(media), temp: true, queueby: "" }
    const after = this.playlist.at(-1)?.uid ?? "prepend"
    this.playlist.push(item)
    this.broadcast("queue", { item, after })
    this.broadcast("setPlaylistMeta", this.playlistMeta())
    return item.uid
  }

  /** Remove a playlist item (`delete { uid }` + `setPlaylistMeta`). */
  deleteMedia(uid: number): void {
    const index = this.playlist.findIndex((i) => i.uid === uid)
    if (index < 0) throw new Error(`deleteMedia: no item ${uid} in ${this.name}`)
    this.playlist.splice(index, 1)
    if (this.current?.item.uid === uid) this.current = undefined
    this.broadcast("delete", { uid })
    this.broadcast("setPlaylistMeta", this.playlistMeta())
  }

  /** The server's periodic sync of the current media (`mediaUpdate { currentTime, paused }`). */
  mediaUpdate(currentTime: number, paused = false): void {
    if (!this.current) throw new Error(`mediaUpdate: nothing is playing in ${this.name}`)
    this.current.currentTime = currentTime
    this.current.paused = paused
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
    socket.emit("channelOpts", this.channelOpts())
    socket.emit("setPlaylistMeta", this.playlistMeta())
    socket.emit("playlist", this.playlist)
    if (this.current) {
      // Twice on purpose: CyTube's sendPlaylist and sendChangeMedia each send it.
      socket.emit("setCurrent", this.current.item.uid)
      socket.emit("setCurrent", this.current.item.uid)
      socket.emit("changeMedia", this.fullUpdate())
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

  private playlistMeta() {
    const rawTime = this.playlist.reduce((sum, i) => sum + i.media.seconds, 0)
    return { count: this.playlist.length, rawTime, time: formatDuration(rawTime) }
  }

  private fullUpdate() {
    const current = this.current as NonNullable<typeof this.current>
    return { ...current.item.media, currentTime: current.currentTime, paused: current.paused }
  }

  private channelOpts() {
    const flood = this.antiflood(0)
    return {
      allow_voteskip: true,
      voteskip_ratio: 0.5,
      afk_timeout: 600,
      pagetitle: this.name,
      maxlength: 0,
      externalcss: "",
      externaljs: "",
      chat_antiflood: flood !== MIN_ANTIFLOOD,
      chat_antiflood_params: flood === MIN_ANTIFLOOD ? { burst: 4, sustained: 1, cooldown: 4 } : flood,
      show_public: false,
      enable_link_regex: this.options.linkify ?? true,
      password: this.password !== undefined,
      allow_dupes: false,
      torbanned: false,
      block_anonymous_users: false,
      allow_ascii_control: false,
      playlist_max_per_user: 0,
      new_user_chat_delay: 0,
      new_user_chat_link_delay: 0,
      playlist_max_duration_per_user: 0
    }
  }
}

/** CyTube shows moderators a cloaked IP; any stable string will do here. */
const cloak = (ip: string): string => ip.replace(/\.\d+$/, ".x")
