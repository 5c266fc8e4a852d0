/**
 * A fake CyTube server for tests: a real socket.io 4 server on 127.0.0.1 plus `GET /socketconfig/<room>.json`,
 * speaking CyTube's event protocol to the real `socket.io-client`.
 *
 * @example
 * const cy = await startFakeCytube()
 * cy.addRoom("lobby", { history: [{ username: "alice", msg: "hi" }] })
 * const { servers } = await (await fetch(`${cy.url}/socketconfig/lobby.json`)).json()
 * const socket = io(servers[0].url, { transports: ["websocket"] })
 * socket.emit("joinChannel", { name: "lobby" })
 * socket.emit("login", { name: "bot" })
 * cy.room("lobby").say("alice", "hello bot")
 * await cy.stop()
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Server, type Socket } from "socket.io"
import { isValidChannelName } from "./format.ts"
import { TokenBucket } from "./limits.ts"
import { FakeCytubeRoom, type FloodEvent, type RoomOptions } from "./room.ts"
import { type Account, Session, type SessionServer } from "./session.ts"

export type { Emote } from "./format.ts"
export type { ChatRecord, FloodEvent, MediaInput, PmRecord, RoomOptions } from "./room.ts"
export { FakeCytubeRoom } from "./room.ts"

export interface FakeCytubeOptions {
  /** Minimum time between guest logins from one IP (CyTube `guest-login-delay`: 60 s). Default 0. */
  readonly guestLoginDelayMs?: number
  /** Default chat/PM truncation length (CyTube `max-chat-message-length`: 320). */
  readonly maxMessageLength?: number
  /**
   * Per-socket limit on incoming events (CyTube `io.throttle.in-rate-limit` / `bucket-capacity`, off by default
   * there too). Exceeding it: `kick { reason: "Rate limit exceeded" }`, then a namespace disconnect.
   */
  readonly eventRateLimit?: { readonly perSecond: number; readonly burst?: number }
  /** Per-IP connection attempts (CyTube: burst 5, 0.1/s); refused with connect_error "Rate limit exceeded". */
  readonly connectionRateLimit?: { readonly burst: number; readonly perSecond: number }
  /** Concurrent sockets per IP (CyTube `io.ip-connection-limit`: 10). Off by default. */
  readonly ipConnectionLimit?: number
}

/** CyTube's stock server settings, for tests that want the real limits: `startFakeCytube(CYTUBE_SERVER_DEFAULTS)`. */
export const CYTUBE_SERVER_DEFAULTS: FakeCytubeOptions = Object.freeze({
  guestLoginDelayMs: 60_000,
  maxMessageLength: 320,
  connectionRateLimit: { burst: 5, perSecond: 0.1 },
  ipConnectionLimit: 10
})

/** A socket that joined a room. */
export interface Connection {
  readonly id: string
  readonly username: string
  readonly room: string
  readonly guest: boolean
  readonly rank: number
  readonly connectedAt: number
}

/** Every event a client sent, in arrival order. */
export interface ReceivedEvent {
  readonly socketId: string
  readonly username: string
  readonly event: string
  readonly args: ReadonlyArray<unknown>
  readonly time: number
}

export interface FakeCytube {
  /** `http://127.0.0.1:<port>`: the socketconfig host and the socket.io server. */
  readonly url: string
  readonly port: number
  /** Create (or replace) a registered room. Joining an unknown room creates an unregistered one, as CyTube does. */
  addRoom(name: string, options?: RoomOptions): FakeCytubeRoom
  /** A registered account; `rank` is its global rank (default 1). */
  addAccount(name: string, password: string, rank?: number): void
  /** The room's test handle; throws when it does not exist. */
  room(name: string): FakeCytubeRoom
  /**
   * Disconnect client sockets (of one room, or all). `"drop"` (default) closes the transport as a network drop
   * would: socket.io-client reconnects by itself. `"server"` is `socket.disconnect(true)`: the client sees
   * "io server disconnect" and does NOT reconnect by itself. Returns how many sockets were disconnected.
   */
  disconnectAll(roomName?: string, mode?: "drop" | "server"): number
  /** Sockets currently joined to a room. */
  readonly connections: ReadonlyArray<Connection>
  readonly received: ReadonlyArray<ReceivedEvent>
  /** Every `cooldown`, `noflood` and `kick` the server issued, all rooms. */
  readonly floodEvents: ReadonlyArray<FloodEvent>
  /** Resolve with the predicate's first truthy value, polling every 5 ms; reject after `timeoutMs`. */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>
  /** Close every socket and the HTTP server. */
  stop(): Promise<void>
}

export const startFakeCytube = async (options: FakeCytubeOptions = {}): Promise<FakeCytube> => {
  const rooms = new Map<string, FakeCytubeRoom>()
  const accounts = new Map<string, Account>()
  const sessions = new Set<Session>()
  const floodEvents: FloodEvent[] = []
  const received: ReceivedEvent[] = []
  const roomContext = { floodEvents, defaultMaxMessageLength: options.maxMessageLength ?? 320 }
  const connectionBuckets = new Map<string, TokenBucket>()
  const openPerIp = new Map<string, number>()
  let url = ""

  const sessionServer: SessionServer = {
    accounts,
    lastGuestLogin: new Map(),
    guestLoginDelayMs: options.guestLoginDelayMs ?? 0,
    floodEvents,
    roomFor: (name) => {
      const existing = rooms.get(name)
      if (existing) return existing
      const created = new FakeCytubeRoom(name, { registered: false }, roomContext)
      rooms.set(created.name, created)
      return created
    }
  }

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/socketconfig\/([^/]+)\.json$/.exec(new URL(req.url ?? "/", "http://x").pathname)
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    if (req.method !== "GET" || !match) return send(404, { error: "Not found" })
    const channel = decodeURIComponent(match[1] ?? "")
    if (!isValidChannelName(channel)) return send(404, { error: `Channel "${channel}" does not exist.` })
    send(200, { servers: [{ url, secure: false }] })
  })

  // CyTube's engine options, minus its 2-minute ping timeout.
  const io = new Server(http, {
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: 1 << 20,
    allowEIO3: true,
    cors: { origin: true, credentials: true }
  })

  const limit = options.connectionRateLimit
  if (limit) {
    io.use((socket, next) => {
      const ip = socket.handshake.address
      const bucket = connectionBuckets.get(ip) ?? new TokenBucket(limit.burst, limit.perSecond)
      connectionBuckets.set(ip, bucket)
      next(bucket.throttle() ? new Error("Rate limit exceeded") : undefined)
    })
  }

  io.on("connection", (socket: Socket) => {
    const session = new Session(socket, sessionServer)
    const ip = session.ip
    if (options.ipConnectionLimit !== undefined && (openPerIp.get(ip) ?? 0) >= options.ipConnectionLimit) {
      floodEvents.push({
        kind: "kick",
        username: "",
        room: undefined,
        payload: { reason: "Too many connections from your IP address" },
        time: Date.now()
      })
      socket.emit("kick", { reason: "Too many connections from your IP address" })
      socket.disconnect(true)
      return
    }
    openPerIp.set(ip, (openPerIp.get(ip) ?? 0) + 1)
    sessions.add(session)
    socket.once("disconnect", () => {
      sessions.delete(session)
      const left = (openPerIp.get(ip) ?? 1) - 1
      if (left > 0) openPerIp.set(ip, left)
      else openPerIp.delete(ip)
    })
    const rate = options.eventRateLimit
    const bucket = rate ? new TokenBucket(rate.burst ?? rate.perSecond, rate.perSecond) : undefined
    socket.onAny((event: string, ...args: unknown[]) => {
      received.push({ socketId: socket.id, username: session.name, event, args, time: Date.now() })
      if (bucket?.throttle() && socket.connected) session.kick("Rate limit exceeded")
    })
    session.start()
  })

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject)
    http.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (http.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}`

  const joined = () => [...sessions].filter((s) => s.inChannel && s.room !== undefined)

  return {
    url,
    port,
    addRoom: (name, roomOptions = {}) => {
      const room = new FakeCytubeRoom(name, roomOptions, roomContext)
      rooms.set(room.name, room)
      return room
    },
    addAccount: (name, password, rank = 1) => {
      accounts.set(name.toLowerCase(), { name, password, rank })
    },
    room: (name) => {
      const room = rooms.get(name.toLowerCase())
      if (!room) throw new Error(`no room ${name} in the fake CyTube server`)
      return room
    },
    disconnectAll: (roomName, mode = "drop") => {
      const targets = [...sessions].filter((s) => roomName === undefined || s.room?.name === roomName.toLowerCase())
      for (const s of targets) {
        if (mode === "drop") s.socket.conn.close()
        else s.socket.disconnect(true)
      }
      return targets.length
    },
    get connections() {
      return joined().map((s) => ({
        id: s.socket.id,
        username: s.name,
        room: s.room?.name ?? "",
        guest: s.guest,
        rank: s.rank,
        connectedAt: s.connectedAt
      }))
    },
    received,
    floodEvents,
    waitFor: <T>(predicate: () => T | undefined | null | false, timeoutMs = 2000) =>
      new Promise<T>((resolve, reject) => {
        const deadline = Date.now() + timeoutMs
        const check = () => {
          let value: T | undefined | null | false
          try {
            value = predicate()
          } catch (error) {
            return reject(error)
          }
          if (value) return resolve(value)
          if (Date.now() > deadline) return reject(new Error(`waitFor: condition not met within ${timeoutMs} ms`))
          setTimeout(check, 5)
        }
        check()
      }),
    stop: async () => {
      const closed = io.close()
      http.closeAllConnections()
      await closed
    }
  }
}
