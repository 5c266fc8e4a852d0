/**
 * One connected socket: CyTube's `User` (calzoneman/sync src/user.js) — login, joinChannel, the channel
 * password gate (src/channel/accesscontrol.js), and leaving on disconnect.
 */
import type { Socket } from "socket.io"
import { handleChatMsg, handlePm } from "./chat.ts"
import { isReservedUserName, isValidChannelName, isValidUserName } from "./format.ts"
import { ChatLimiter } from "./limits.ts"
import type { FakeCytubeRoom, FloodEvent, Member, Profile } from "./room.ts"

export interface Account {
  readonly name: string
  readonly password: string
  /** Global rank: 1 for a registered user, 2 moderator, 3 admin, 255 site admin. */
  readonly rank: number
}

/** What a session needs from its server. */
export interface SessionServer {
  readonly accounts: ReadonlyMap<string, Account>
  readonly lastGuestLogin: Map<string, number>
  readonly guestLoginDelayMs: number
  readonly floodEvents: FloodEvent[]
  roomFor(name: string): FakeCytubeRoom
}

const EMPTY_PROFILE: Profile = Object.freeze({ image: "", text: "" })

export class Session implements Member {
  name = ""
  rank = -1
  afk = false
  muted = false
  guest = false
  loggedIn = false
  readonly profile = EMPTY_PROFILE
  readonly ip: string
  readonly connectedAt = Date.now()
  readonly limiter = new ChatLimiter()
  /** Set by `joinChannel` (also while the password is pending, like CyTube's `user.channel`). */
  room: FakeCytubeRoom | undefined
  /** True once accepted into the room. */
  inChannel = false
  private account: Account | undefined
  private awaitingPassword = false

  constructor(
    readonly socket: Socket,
    readonly server: SessionServer
  ) {
    this.ip = socket.handshake.address
  }

  start(): void {
    this.socket.emit("rank", -1)
    this.socket.once("joinChannel", (data: unknown) => this.handleJoinChannel(data))
    this.socket.on("login", (data: unknown) => this.handleLogin(data))
    this.socket.on("disconnect", () => {
      if (this.inChannel) this.room?.part(this)
    })
  }

  /** CyTube's `user.kick`: `kick { reason }` then a namespace disconnect. */
  kick(reason: string): void {
    if (this.room) {
      this.room.kickSocket(this.socket, this.name, reason)
      return
    }
    this.server.floodEvents.push({
      kind: "kick",
      username: this.name,
      room: undefined,
      payload: { reason },
      time: Date.now()
    })
    this.socket.emit("kick", { reason })
    this.socket.disconnect()
  }

  private handleJoinChannel(data: unknown): void {
    if (typeof data !== "object" || data === null) return
    const request = data as { name?: unknown; pw?: unknown }
    if (typeof request.name !== "string" || this.room) return
    if (!isValidChannelName(request.name)) {
      this.socket.emit("errorMsg", {
        msg: "Invalid channel name.  Channel names may consist of 1-30 characters in the set a-z, A-Z, 0-9, -, and _"
      })
      this.kick("Invalid channel name")
      return
    }
    const room = this.server.roomFor(request.name.toLowerCase())
    this.room = room
    if (this.account) this.applyChannelRank()
    if (room.password === undefined || request.pw === room.password) {
      this.accept()
      return
    }
    if (this.loggedIn && this.rank >= 2) {
      this.socket.emit("cancelNeedPassword")
      this.accept()
      return
    }
    this.awaitingPassword = true
    this.socket.emit("needPassword", request.pw !== undefined)
    this.socket.on("channelPassword", (pw: unknown) => {
      if (!this.awaitingPassword) return
      if (pw !== room.password) {
        this.socket.emit("needPassword", true)
        return
      }
      this.socket.emit("cancelNeedPassword")
      this.accept()
    })
  }

  private accept(): void {
    const room = this.room
    if (!room || this.inChannel || this.socket.disconnected) return
    this.awaitingPassword = false
    this.inChannel = true
    room.accept(this)
    this.socket.on("chatMsg", (data: unknown) => handleChatMsg(this, room, data))
    this.socket.on("pm", (data: unknown) => handlePm(this, room, data))
    if (this.account) this.broadcastRank()
  }

  private handleLogin(data: unknown): void {
    if (typeof data !== "object" || data === null) {
      this.socket.emit("errorMsg", { msg: "Invalid login frame" })
      return
    }
    const request = data as { name?: unknown; pw?: unknown }
    if (typeof request.name !== "string" || this.loggedIn) return
    const pw = typeof request.pw === "string" ? request.pw : ""
    if (pw) this.registeredLogin(request.name, pw)
    else this.guestLogin(request.name)
  }

  private fail(error: string): void {
    this.socket.emit("login", { success: false, error })
  }

  private guestLoginError(name: string): string | undefined {
    const last = this.server.lastGuestLogin.get(this.ip)
    const delay = this.server.guestLoginDelayMs
    if (last !== undefined && Date.now() - last < delay) {
      return `Guest logins are restricted to one per IP address per ${delay / 1000} seconds.`
    }
    if (!isValidUserName(name)) {
      return "Invalid username.  Usernames must be 1-20 characters long and consist only of characters a-z, A-Z, 0-9, -, or _."
    }
    if (isReservedUserName(name)) return "That username is reserved."
    if (this.server.accounts.has(name.toLowerCase())) return "That username is registered."
    if (this.room?.find(name)) return "That name is already in use on this channel."
    return undefined
  }

  private guestLogin(name: string): void {
    const error = this.guestLoginError(name)
    if (error !== undefined) {
      this.fail(error)
      return
    }
    this.server.lastGuestLogin.set(this.ip, Date.now())
    this.name = name
    this.guest = true
    this.rank = 0
    this.socket.emit("rank", 0)
    this.socket.emit("login", { success: true, name, guest: true })
    this.loggedIn = true
    if (this.inChannel) this.room?.welcomeLoggedIn(this)
  }

  private registeredLogin(name: string, pw: string): void {
    const account = this.server.accounts.get(name.toLowerCase())
    const error = !isValidUserName(name)
      ? `Invalid username "${name}"`
      : !account
        ? "User does not exist"
        : account.password.slice(0, 100) !== pw.slice(0, 100)
          ? "Invalid username/password combination"
          : undefined
    if (error !== undefined || !account) {
      this.fail(error ?? "User does not exist")
      return
    }
    this.account = account
    this.name = account.name
    this.rank = account.rank
    this.socket.emit("rank", this.rank)
    // CyTube's password login answers without a `guest` field.
    this.socket.emit("login", { success: true, name: account.name })
    this.loggedIn = true
    if (this.inChannel) this.room?.welcomeLoggedIn(this)
    if (!this.room) return
    this.applyChannelRank()
    if (this.inChannel) this.broadcastRank()
    else if (this.awaitingPassword && this.rank >= 2) {
      this.socket.emit("cancelNeedPassword")
      this.accept()
    }
  }

  /** Effective rank = max(global, channel); CyTube re-sends the userlist when that crosses moderator rank. */
  private applyChannelRank(): void {
    const account = this.account
    if (!account || !this.room) return
    const before = this.rank
    this.rank = Math.max(account.rank, this.room.ranks.get(account.name.toLowerCase()) ?? 0)
    this.socket.emit("rank", this.rank)
    if (this.inChannel && before < 2 !== this.rank < 2) this.socket.emit("userlist", this.room.userlistFor(this.rank))
  }

  private broadcastRank(): void {
    this.room?.broadcast("setUserRank", { name: this.name, rank: this.rank })
  }
}
