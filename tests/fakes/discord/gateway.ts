import type { ServerWebSocket } from "bun"
import { guildCreatePayload, memberPayload, userPayload } from "./payloads.ts"
import type { State } from "./state.ts"
import type { BotRecord, Json } from "./types.ts"
import { Intent, PrivilegedIntents } from "./types.ts"

/** Per-connection data of one gateway WebSocket. */
export interface Conn {
  readonly id: number
  /** Whether the client connected to `resume_gateway_url`. */
  readonly resumeUrl: boolean
  readonly compress: string | null
  readonly version: string | null
  readonly encoding: string | null
  session: Session | null
}

interface LoggedDispatch {
  readonly op: 0
  readonly t: string
  readonly s: number
  readonly d: unknown
}

/** A gateway session: survives disconnects until it is invalidated, buffering dispatches for RESUME. */
export interface Session {
  readonly id: string
  readonly bot: BotRecord
  readonly intents: number
  seq: number
  readonly log: LoggedDispatch[]
  ws: ServerWebSocket<Conn> | null
}

export interface DropOptions {
  /** Close code; 1006 tears the TCP connection down without a close frame. Default 4000 (unknown error). */
  readonly code?: number
  /** Keep the session so the client can RESUME it (default true); false makes its RESUME fail with op 9. */
  readonly resumable?: boolean
  readonly reason?: string
}

const LOG_LIMIT = 2000

/** The fake's gateway: HELLO, IDENTIFY → READY + GUILD_CREATEs, heartbeats, RESUME with replay, RECONNECT. */
export class Gateway {
  readonly sessions = new Map<string, Session>()
  private readonly pausedAcks = new Set<string>()
  private nextConnId = 1

  constructor(
    private readonly state: State,
    private readonly heartbeatIntervalMs: number,
    private readonly resumeUrl: () => string
  ) {}

  newConn(url: URL): Conn {
    return {
      id: this.nextConnId++,
      resumeUrl: url.pathname.endsWith("/resume"),
      compress: url.searchParams.get("compress"),
      version: url.searchParams.get("v"),
      encoding: url.searchParams.get("encoding"),
      session: null
    }
  }

  onOpen(ws: ServerWebSocket<Conn>): void {
    if (ws.data.version !== null && ws.data.version !== "10") {
      ws.close(4012, "Invalid API version.")
      return
    }
    // The fake only speaks JSON; zlib-stream is never needed because discord.js parses text frames as-is.
    if (ws.data.encoding !== null && ws.data.encoding !== "json") {
      ws.close(4002, "Error while decoding payload.")
      return
    }
    this.send(ws, {
      op: 10,
      d: { heartbeat_interval: this.heartbeatIntervalMs, _trace: ["fake-gateway"] },
      s: null,
      t: null
    })
  }

  onMessage(ws: ServerWebSocket<Conn>, raw: string | Buffer): void {
    let payload: { op?: unknown; d?: unknown }
    try {
      payload = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"))
    } catch {
      ws.close(4002, "Error while decoding payload.")
      return
    }
    const d = (payload.d ?? null) as Json | null
    switch (payload.op) {
      case 1:
        if (!ws.data.session || !this.pausedAcks.has(ws.data.session.bot.id)) {
          this.send(ws, { op: 11, d: null, s: null, t: null })
        }
        return
      case 2:
        this.identify(ws, d ?? {})
        return
      case 6:
        this.resume(ws, d ?? {})
        return
      case 3:
        if (!ws.data.session) {
          ws.close(4003, "Not authenticated.")
          return
        }
        this.state.presences.push({ botId: ws.data.session.bot.id, presence: d, at: Date.now() })
        return
      case 8:
        if (!ws.data.session) {
          ws.close(4003, "Not authenticated.")
          return
        }
        this.membersChunk(ws.data.session, d ?? {})
        return
      case 4:
      case 14:
      case 31:
        return
      default:
        ws.close(4001, "Unknown opcode.")
    }
  }

  onClose(ws: ServerWebSocket<Conn>, code: number): void {
    const session = ws.data.session
    if (!session || session.ws !== ws) return
    session.ws = null
    // Discord invalidates the session when the client closes normally (1000/1001); other codes keep it resumable.
    if (code === 1000 || code === 1001) this.sessions.delete(session.id)
  }

  /** Sends a dispatch to every session of a bot; `build` returns null to skip a session (e.g. missing intent). */
  dispatchToBot(botId: string, t: string, build: (session: Session) => unknown | null): void {
    for (const session of this.sessions.values()) {
      if (session.bot.id !== botId) continue
      const d = build(session)
      if (d !== null) this.dispatch(session, t, d)
    }
  }

  dispatch(session: Session, t: string, d: unknown): void {
    session.seq += 1
    const entry: LoggedDispatch = { op: 0, t, s: session.seq, d }
    session.log.push(entry)
    if (session.log.length > LOG_LIMIT) session.log.shift()
    if (session.ws) this.send(session.ws, entry)
  }

  /** Number of open, identified or resumed connections of a bot. */
  liveConnections(botId: string): number {
    return [...this.sessions.values()].filter((s) => s.bot.id === botId && s.ws !== null).length
  }

  /** Sends op 7 RECONNECT; discord.js closes with 4200 and RESUMEs on `resume_gateway_url`. */
  forceReconnect(botId: string): void {
    for (const session of this.sessions.values()) {
      if (session.bot.id === botId && session.ws) this.send(session.ws, { op: 7, d: null, s: null, t: null })
    }
  }

  /** Sends op 9 INVALID_SESSION; with `resumable: false` the session is gone and the client must IDENTIFY again. */
  invalidateSession(botId: string, resumable: boolean): void {
    for (const session of [...this.sessions.values()]) {
      if (session.bot.id !== botId || !session.ws) continue
      const ws = session.ws
      // The connection is no longer authenticated: discord.js answers op 9 on the same socket, with RESUME when
      // d is true (and the session is still there) or, after reconnecting, with IDENTIFY.
      session.ws = null
      ws.data.session = null
      if (!resumable) this.sessions.delete(session.id)
      this.send(ws, { op: 9, d: resumable, s: null, t: null })
    }
  }

  dropGateway(botId: string, options: DropOptions = {}): void {
    const code = options.code ?? 4000
    for (const session of [...this.sessions.values()]) {
      if (session.bot.id !== botId || !session.ws) continue
      const ws = session.ws
      session.ws = null
      ws.data.session = null
      if (options.resumable === false) this.sessions.delete(session.id)
      if (code === 1006) ws.terminate()
      else ws.close(code, options.reason ?? "fake discord dropped the connection")
    }
  }

  pauseHeartbeatAcks(botId: string, paused: boolean): void {
    if (paused) this.pausedAcks.add(botId)
    else this.pausedAcks.delete(botId)
  }

  /** Closes every connection (used by `stop`). */
  closeAll(): void {
    for (const session of this.sessions.values()) {
      const ws = session.ws
      session.ws = null
      if (ws) ws.data.session = null
      ws?.close(1001, "fake discord stopped")
    }
    this.sessions.clear()
  }

  private send(ws: ServerWebSocket<Conn>, payload: unknown): void {
    ws.send(JSON.stringify(payload))
  }

  private identify(ws: ServerWebSocket<Conn>, d: Json): void {
    if (ws.data.session) {
      ws.close(4005, "Already authenticated.")
      return
    }
    const bot = typeof d.token === "string" ? this.state.botByToken(d.token.replace(/^Bot\s+/i, "")) : undefined
    if (!bot) {
      ws.close(4004, "Authentication failed.")
      return
    }
    const intents = d.intents
    if (typeof intents !== "number" || !Number.isInteger(intents) || intents < 0) {
      ws.close(4013, "Invalid intent(s).")
      return
    }
    if ((intents & PrivilegedIntents & ~bot.privilegedIntents) !== 0) {
      ws.close(4014, "Disallowed intent(s).")
      return
    }
    const shard = d.shard
    if (Array.isArray(shard) && (shard[0] !== 0 || shard[1] !== 1)) {
      ws.close(4010, "Invalid shard.")
      return
    }
    const session: Session = { id: crypto.randomUUID().replaceAll("-", ""), bot, intents, seq: 0, log: [], ws }
    this.sessions.set(session.id, session)
    ws.data.session = session
    this.state.identifies.push({
      botId: bot.id,
      token: bot.token,
      intents,
      sessionId: session.id,
      compress: d.compress === true || ws.data.compress !== null,
      at: Date.now()
    })
    const guilds = [...this.state.guilds.values()].filter((g) => this.state.isBotInGuild(bot.id, g))
    const user = this.state.requireUser(bot.id)
    this.dispatch(session, "READY", {
      v: 10,
      user: { ...userPayload(user), verified: true, mfa_enabled: false, email: null },
      user_settings: {},
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      guild_join_requests: [],
      relationships: [],
      presences: [],
      private_channels: [],
      geo_ordered_rtc_regions: [],
      session_type: "normal",
      session_id: session.id,
      resume_gateway_url: this.resumeUrl(),
      shard: [0, 1],
      application: { id: bot.applicationId, flags: 0 },
      _trace: ["fake-gateway"]
    })
    if ((intents & Intent.Guilds) === 0) return
    for (const guild of guilds) this.dispatch(session, "GUILD_CREATE", guildCreatePayload(this.state, guild, bot.id))
  }

  private resume(ws: ServerWebSocket<Conn>, d: Json): void {
    if (ws.data.session) {
      ws.close(4005, "Already authenticated.")
      return
    }
    const session = typeof d.session_id === "string" ? this.sessions.get(d.session_id) : undefined
    const token = typeof d.token === "string" ? d.token.replace(/^Bot\s+/i, "") : ""
    const seq = typeof d.seq === "number" ? d.seq : 0
    const oldest = session?.log[0]?.s ?? 1
    if (!session || session.bot.token !== token || seq > session.seq || seq < oldest - 1) {
      this.send(ws, { op: 9, d: false, s: null, t: null })
      return
    }
    if (session.ws && session.ws !== ws) {
      const old = session.ws
      old.data.session = null
      old.close(4000, "Session resumed elsewhere.")
    }
    session.ws = ws
    ws.data.session = session
    const missed = session.log.filter((entry) => entry.s > seq)
    for (const entry of missed) this.send(ws, entry)
    this.state.resumes.push({
      botId: session.bot.id,
      sessionId: session.id,
      seq,
      replayed: missed.length,
      viaResumeUrl: ws.data.resumeUrl,
      at: Date.now()
    })
    this.dispatch(session, "RESUMED", { _trace: ["fake-gateway"] })
  }

  private membersChunk(session: Session, d: Json): void {
    const guild = typeof d.guild_id === "string" ? this.state.guilds.get(d.guild_id) : undefined
    if (!guild) return
    const ids = Array.isArray(d.user_ids)
      ? d.user_ids.map(String)
      : typeof d.user_ids === "string"
        ? [d.user_ids]
        : null
    const query = typeof d.query === "string" ? d.query.toLowerCase() : ""
    const limit = typeof d.limit === "number" && d.limit > 0 ? d.limit : Number.POSITIVE_INFINITY
    const members = [...guild.members.values()]
      .filter((m) =>
        ids ? ids.includes(m.userId) : (this.state.user(m.userId)?.username ?? "").toLowerCase().startsWith(query)
      )
      .slice(0, limit)
    this.dispatch(session, "GUILD_MEMBERS_CHUNK", {
      guild_id: guild.id,
      members: members.map((m) => memberPayload(this.state, m, true)),
      chunk_index: 0,
      chunk_count: 1,
      not_found: ids ? ids.filter((id) => !guild.members.has(id)) : [],
      ...(d.nonce === undefined ? {} : { nonce: d.nonce })
    })
  }
}
