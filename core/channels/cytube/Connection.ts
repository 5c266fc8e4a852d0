/**
 * One CyTube room connection over `socket.io-client`, kept alive: connect, `joinChannel`, the room password, `login`,
 * and reconnecting with backoff when the connection goes.
 *
 * socket.io-client's own reconnection is off: it only covers transport drops, while CyTube's kicks and
 * `socket.disconnect(true)` end the socket for good ("io server disconnect") and a refused handshake ("Rate limit
 * exceeded") is not retried either. One loop here handles all of them, with one backoff that stays under CyTube's
 * per-IP connection limit (a burst of 5, then one per 10 s). It does not come back after a ban, after another client
 * logged in with the same account ("Duplicate login"), or after a configuration error (a wrong password).
 *
 * Each attempt is a fresh socket.io Manager, closed when the attempt ends, so nothing of an old connection lingers.
 */
import { io, type Socket } from "socket.io-client"

export interface ConnectionOptions {
  readonly url: string
  readonly room: string
  readonly username: string
  readonly password?: string | undefined
  readonly roomPassword?: string | undefined
  /** First reconnect delay; doubles per failed attempt up to `maxDelay` (with ±20 % jitter). */
  readonly minDelay: number
  readonly maxDelay: number
  /** Connecting plus joining may take this long before the attempt counts as failed. */
  readonly joinTimeout?: number
  /** A connection that stayed up this long starts the backoff over. */
  readonly stableAfter?: number
}

/** A `chatMsg` as CyTube sends it. */
export interface ChatPayload {
  readonly username: string
  readonly msg: string
  readonly meta: Readonly<Record<string, unknown>>
  readonly time: number
}

export interface Joined {
  /** The account name as the server spells it. */
  readonly name: string
  readonly guest: boolean
  /** The room's recent chat, replayed by the server on join (CyTube keeps 15 lines). */
  readonly replay: ReadonlyArray<ChatPayload>
  readonly at: number
}

export interface ConnectionListener {
  /** Every server event of the current socket, in order; `replay` marks the history replayed on join. */
  readonly event: (name: string, payload: unknown, replay: boolean) => void
  /** Joined the room and logged in: messages can be sent. */
  readonly joined: (info: Joined) => void
  /** The connection is gone; the next attempt starts in `retryInMs`. */
  readonly down: (reason: string, retryInMs: number) => void
  /** Given up for good (ban, duplicate login, configuration error). */
  readonly failed: (reason: string) => void
}

/** Kick reasons CyTube uses for bans: "You're banned!", "You are banned from this channel.", global bans. */
export const isBanReason = (reason: string): boolean => /\bbanned\b/i.test(reason)
const isDuplicateLogin = (reason: string): boolean => /duplicate login/i.test(reason)

/** CyTube refills its per-IP connection bucket once per 10 s. */
const RATE_LIMIT_WAIT = 10_000

/** Login errors that clear up by themselves; everything else (wrong password, unknown or reserved name) is config. */
const transientLogin = (error: string): number | undefined => {
  const guestDelay = /one per IP address per (\d+) seconds/i.exec(error)
  if (guestDelay) return Number(guestDelay[1]) * 1000
  if (/already in use|rate limit|try again|later/i.test(error)) return 0
  return undefined
}

interface Attempt {
  readonly socket: Socket
  readonly startedAt: number
  ended: boolean
  loggedIn: boolean
  listed: boolean
  readyAt: number | undefined
  name: string
  guest: boolean
  passwordSent: boolean
  kick: string | undefined
  /** The next attempt must not start sooner than this (ms). */
  retryHint: number
  readonly replay: Array<ChatPayload>
  timer: ReturnType<typeof setTimeout> | undefined
}

export class CytubeConnection {
  private attempt: Attempt | undefined
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private failures = 0
  private closed = false
  private failedReason: string | undefined

  constructor(
    private readonly options: ConnectionOptions,
    private readonly listener: ConnectionListener
  ) {}

  start(): void {
    if (this.closed || this.attempt || this.retryTimer) return
    this.open()
  }

  /** Disconnect for good (the channel's scope closed). */
  close(): void {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    const attempt = this.attempt
    this.attempt = undefined
    if (attempt) this.dispose(attempt)
  }

  /** Send an event on the joined socket; false when not joined. */
  emit(event: string, payload: unknown): boolean {
    const attempt = this.attempt
    if (!attempt || attempt.ended || attempt.readyAt === undefined || !attempt.socket.connected) return false
    attempt.socket.emit(event, payload)
    return true
  }

  get ready(): boolean {
    return this.attempt?.readyAt !== undefined && !this.attempt.ended
  }

  get failure(): string | undefined {
    return this.failedReason
  }

  private open(): void {
    this.retryTimer = undefined
    if (this.closed) return
    const socket = io(this.options.url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: this.options.joinTimeout ?? 20_000
    })
    const attempt: Attempt = {
      socket,
      startedAt: Date.now(),
      ended: false,
      loggedIn: false,
      listed: false,
      readyAt: undefined,
      name: this.options.username,
      guest: this.options.password === undefined,
      passwordSent: false,
      kick: undefined,
      retryHint: 0,
      replay: [],
      timer: undefined
    }
    this.attempt = attempt
    attempt.timer = setTimeout(
      () => this.end(attempt, "joining the room timed out"),
      this.options.joinTimeout ?? 20_000
    )
    socket.on("connect", () => {
      socket.emit("joinChannel", { name: this.options.room })
      socket.emit(
        "login",
        this.options.password === undefined
          ? { name: this.options.username }
          : { name: this.options.username, pw: this.options.password }
      )
    })
    socket.on("disconnect", (reason: string) => this.end(attempt, attempt.kick ? `kicked: ${attempt.kick}` : reason))
    socket.on("connect_error", (error: Error) => {
      if (/rate limit/i.test(error.message)) attempt.retryHint = RATE_LIMIT_WAIT
      this.end(attempt, `cannot connect to ${this.options.url}: ${error.message}`)
    })
    socket.onAny((event: string, payload: unknown) => this.handle(attempt, event, payload))
  }

  private handle(attempt: Attempt, event: string, payload: unknown): void {
    if (attempt.ended) return
    switch (event) {
      case "needPassword":
        this.needPassword(attempt, payload === true)
        return
      case "login":
        this.login(attempt, payload)
        return
      case "kick": {
        const reason = typeof payload === "object" && payload !== null ? (payload as { reason?: unknown }).reason : ""
        attempt.kick = typeof reason === "string" && reason !== "" ? reason : "no reason given"
        if (/rate limit/i.test(attempt.kick)) attempt.retryHint = RATE_LIMIT_WAIT
        return
      }
      case "chatMsg":
        if (!attempt.listed && typeof payload === "object" && payload !== null) {
          attempt.replay.push(payload as ChatPayload)
        }
        this.listener.event(event, payload, !attempt.listed)
        return
      case "userlist":
        this.listener.event(event, payload, false)
        attempt.listed = true
        this.maybeReady(attempt)
        return
      default:
        this.listener.event(event, payload, false)
    }
  }

  private needPassword(attempt: Attempt, wrong: boolean): void {
    const roomPassword = this.options.roomPassword
    if (roomPassword === undefined) {
      this.fail(attempt, `room "${this.options.room}" has a password: set room_password`)
    } else if (wrong || attempt.passwordSent) {
      this.fail(attempt, `the password of room "${this.options.room}" is wrong (room_password)`)
    } else {
      attempt.passwordSent = true
      attempt.socket.emit("channelPassword", roomPassword)
    }
  }

  private login(attempt: Attempt, payload: unknown): void {
    const answer = (typeof payload === "object" && payload !== null ? payload : {}) as {
      success?: unknown
      name?: unknown
      guest?: unknown
      error?: unknown
    }
    if (answer.success === true) {
      attempt.loggedIn = true
      if (typeof answer.name === "string" && answer.name !== "") attempt.name = answer.name
      attempt.guest = answer.guest === true
      this.maybeReady(attempt)
      return
    }
    const error = typeof answer.error === "string" ? answer.error : "login refused"
    const wait = transientLogin(error)
    const who = this.options.password === undefined ? `guest "${this.options.username}"` : this.options.username
    if (wait === undefined) {
      this.fail(attempt, `login as ${who} failed: ${error}`)
    } else {
      attempt.retryHint = wait
      this.end(attempt, `login as ${who} failed: ${error}`)
    }
  }

  private maybeReady(attempt: Attempt): void {
    if (!attempt.loggedIn || !attempt.listed || attempt.readyAt !== undefined) return
    attempt.readyAt = Date.now()
    if (attempt.timer) clearTimeout(attempt.timer)
    attempt.timer = undefined
    this.listener.joined({ name: attempt.name, guest: attempt.guest, replay: attempt.replay, at: attempt.readyAt })
  }

  /** The attempt is over: give up (ban, duplicate login) or try again later. */
  private end(attempt: Attempt, reason: string): void {
    if (attempt.ended) return
    this.dispose(attempt)
    if (this.closed || this.attempt !== attempt) return
    this.attempt = undefined
    if (attempt.kick !== undefined && isBanReason(attempt.kick)) {
      this.giveUp(`banned from room "${this.options.room}": ${attempt.kick}`)
      return
    }
    if (attempt.kick !== undefined && isDuplicateLogin(attempt.kick)) {
      this.giveUp(`another client logged in as ${attempt.name} ("${attempt.kick}"); not reconnecting`)
      return
    }
    const stable = attempt.readyAt !== undefined && Date.now() - attempt.readyAt >= (this.options.stableAfter ?? 60_000)
    if (stable) this.failures = 0
    const base = Math.min(this.options.maxDelay, this.options.minDelay * 2 ** this.failures)
    const delay = Math.max(attempt.retryHint, Math.round(base * (0.8 + Math.random() * 0.4)))
    this.failures++
    this.retryTimer = setTimeout(() => this.open(), delay)
    this.listener.down(reason, delay)
  }

  private fail(attempt: Attempt, reason: string): void {
    if (attempt.ended) return
    this.dispose(attempt)
    if (this.closed || this.attempt !== attempt) return
    this.attempt = undefined
    this.giveUp(reason)
  }

  private giveUp(reason: string): void {
    this.failedReason = reason
    this.listener.failed(reason)
  }

  private dispose(attempt: Attempt): void {
    attempt.ended = true
    if (attempt.timer) clearTimeout(attempt.timer)
    attempt.timer = undefined
    attempt.socket.offAny()
    attempt.socket.off()
    attempt.socket.disconnect()
  }
}
