/**
 * Sending chat lines and PMs to a CyTube room, one at a time, paced, and confirmed.
 *
 * CyTube has no message ids and no acknowledgements, but it echoes every accepted chat line and PM back to its
 * sender, drops a throttled line with `cooldown` (ms), and a muted user's with `noflood`. So a line counts as sent
 * when its echo arrives; `cooldown` means "not sent, try again after the pause"; `noflood` and PM errors mean "not
 * sent". When the connection drops while a line is in flight, the outcome is unknown: after the re-join, the room's
 * replay of its last 15 lines decides (see `checkReplay`): seen → sent; not seen although the replay reaches back
 * far enough → sent again, once; otherwise it is given up as ambiguous (never blindly resent).
 *
 * The same rule settles outbox entries left `pending` or `unknown` by a crash or an earlier incarnation of the channel
 * (`reconcile`, run after every join).
 */
import { Clock, Deferred, Duration, Effect, Exit, FiberId, Option } from "effect"
import type { OutboxEntry, Store } from "../../store/Store.ts"
import { DeliveryError } from "../Channel.ts"
import type { ChatPayload, Joined } from "./Connection.ts"
import { matchKey, sameLine } from "./html.ts"
import type { Pacer } from "./Pacer.ts"
import { wireText } from "./replyText.ts"

export type Destination = { readonly kind: "room" } | { readonly kind: "pm"; readonly to: string }

/** Where an outbox entry was going, from its conversation id (`persona/channel/chat[/…]`). */
export const destinationOf = (conversationId: string): Destination => {
  const chat = conversationId.split("/")[2] ?? ""
  return chat.startsWith("pm:") ? { kind: "pm", to: chat.slice(3) } : { kind: "room" }
}

/** CyTube replays this many lines on join. */
export const REPLAY_SIZE = 15
/** Tolerance between our clock and the server's `time` stamps (on top of the measured offset). */
const SKEW_MS = 10_000

export type Verdict = "seen" | "unseen" | "uncertain"

/**
 * Did a line we may have sent at `sentAfter` (server time) reach the room? `seen`: the replay has it from us.
 * `unseen`: it does not, and the replay reaches back before `sentAfter` (or holds fewer lines than the server keeps),
 * so the line would be in it. `uncertain`: it may have scrolled out of the replay.
 */
export const checkReplay = (
  replay: ReadonlyArray<ChatPayload>,
  self: string,
  text: string,
  sentAfter: number
): Verdict => {
  const mine = replay.filter(
    (line) => line.username.toLowerCase() === self.toLowerCase() && line.time >= sentAfter - SKEW_MS
  )
  if (mine.some((line) => sameLine(line.msg, text))) return "seen"
  if (replay.length < REPLAY_SIZE) return "unseen"
  return replay[0]!.time <= sentAfter - SKEW_MS ? "unseen" : "uncertain"
}

type Outcome =
  | { readonly _tag: "Echo"; readonly time: number }
  | { readonly _tag: "Cooldown"; readonly ms: number }
  | { readonly _tag: "Refused"; readonly reason: string }
  | { readonly _tag: "Lost"; readonly reason: string }

interface InFlight {
  readonly destination: Destination
  readonly text: string
  readonly outcome: Deferred.Deferred<Outcome>
}

export interface SenderOptions {
  readonly channel: string
  readonly pacer: Pacer
  /** Emit on the joined socket; false when not joined. */
  readonly emit: (event: string, payload: unknown) => boolean
  /** The bot's account name as the server spells it. */
  readonly self: () => string
  /** How long to wait for the echo of a line before its outcome counts as unknown. */
  readonly echoTimeout: number
  /** How long a line waits for the room to be (re)joined before it is given up. */
  readonly readyTimeout: number
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

export class Sender {
  private gate = Deferred.unsafeMake<Joined, string>(FiberId.none)
  private gateOpen = false
  private inFlight: InFlight | undefined
  /** Server time minus local time, measured from live lines (0 until one arrives). */
  private offset = 0
  private readonly lock = Effect.unsafeMakeSemaphore(1)
  /** Keys this instance gave up on as ambiguous: the next `reconcile` settles them. */
  private readonly ambiguous = new Set<string>()
  /** Keys already sent a second time: never a third. */
  private readonly resent = new Set<string>()
  /**
   * What `reconcile` decided for entries of earlier incarnations: the platform id of a line found or resent, or
   * `undefined` for one given up. A reply of a resumed turn may have read such an entry as `pending` just before it
   * was settled; its `send` then returns that outcome instead of putting the line in the room a second time.
   */
  private readonly settled = new Map<string, string | undefined>()
  private readonly startedAt = Date.now()

  constructor(private readonly options: SenderOptions) {}

  // ---- connection events ----------------------------------------------------------------------------------------

  joined(info: Joined): void {
    if (this.gateOpen) this.gate = Deferred.unsafeMake<Joined, string>(FiberId.none)
    this.gateOpen = true
    Deferred.unsafeDone(this.gate, Exit.succeed(info))
  }

  down(reason: string): void {
    if (this.gateOpen) {
      this.gate = Deferred.unsafeMake<Joined, string>(FiberId.none)
      this.gateOpen = false
    }
    this.settle({ _tag: "Lost", reason })
  }

  /** Given up for good (ban, configuration error) or closed: everything waiting fails. */
  failed(reason: string): void {
    if (this.gateOpen) this.gate = Deferred.unsafeMake<Joined, string>(FiberId.none)
    this.gateOpen = false
    Deferred.unsafeDone(this.gate, Exit.fail(reason))
    this.settle({ _tag: "Lost", reason })
  }

  /** Every server event: echoes, `cooldown`, `noflood` and PM errors decide the line in flight. */
  observe(event: string, payload: unknown, replay: boolean): void {
    const flight = this.inFlight
    switch (event) {
      case "chatMsg": {
        if (replay || !isObject(payload) || typeof payload.time !== "number") return
        this.offset = payload.time - Date.now()
        if (flight?.destination.kind !== "room" || !this.mine(payload.username)) return
        if (typeof payload.msg === "string" && sameLine(payload.msg, flight.text)) {
          this.settle({ _tag: "Echo", time: payload.time })
        }
        return
      }
      case "pm": {
        if (flight?.destination.kind !== "pm" || !isObject(payload) || !this.mine(payload.username)) return
        const to = typeof payload.to === "string" ? payload.to.toLowerCase() : ""
        if (to === flight.destination.to.toLowerCase() && typeof payload.msg === "string") {
          if (sameLine(payload.msg, flight.text)) this.settle({ _tag: "Echo", time: Number(payload.time) || 0 })
        }
        return
      }
      case "cooldown":
        // CyTube sends a bare number of milliseconds; the line was dropped.
        this.options.pacer.pause(typeof payload === "number" ? payload : 1000, Date.now())
        this.settle({ _tag: "Cooldown", ms: typeof payload === "number" ? payload : 1000 })
        return
      case "noflood": {
        const msg = isObject(payload) && typeof payload.msg === "string" ? payload.msg : "refused by flood control"
        this.settle({ _tag: "Refused", reason: msg })
        return
      }
      case "errorMsg": {
        const msg = isObject(payload) && typeof payload.msg === "string" ? payload.msg : ""
        if (flight?.destination.kind === "pm" && /PM failed|signed in to send PMs|PM yourself/i.test(msg)) {
          this.settle({ _tag: "Refused", reason: msg })
        }
        return
      }
    }
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  /** Send one line (a chunk of a reply) and wait until the room has it. */
  send(destination: Destination, text: string, key: string): Effect.Effect<string, DeliveryError> {
    return this.lock.withPermits(1)(
      Effect.suspend(() => {
        if (!this.settled.has(key)) return this.deliver(destination, wireText(text), key)
        const id = this.settled.get(key)
        return id !== undefined
          ? Effect.succeed(id)
          : Effect.fail(
              new DeliveryError({
                channel: this.options.channel,
                reason: `line ${key} was given up after a restart or reconnect (outcome unknown): not sent again`,
                ambiguous: true
              })
            )
      }).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            if (error.ambiguous) this.ambiguous.add(key)
          })
        )
      )
    )
  }

  /**
   * Settle outbox entries whose outcome is unknown: those left by a crash or an earlier incarnation, and those this
   * instance gave up on as ambiguous. Runs after each join, with the replay of that join.
   */
  reconcile(store: Store["Type"], info: Joined, staleAfter: number): Effect.Effect<void> {
    return this.lock.withPermits(1)(
      Effect.gen(this, function* () {
        const entries = yield* store.outboxPending(this.options.channel)
        for (const entry of entries) {
          if (entry.createdAt > this.startedAt && !this.ambiguous.has(entry.key)) continue
          this.ambiguous.delete(entry.key)
          yield* this.settleEntry(store, entry, info, staleAfter)
        }
      })
    )
  }

  private settleEntry(store: Store["Type"], entry: OutboxEntry, info: Joined, staleAfter: number) {
    const drop = () =>
      Effect.zipRight(
        Effect.sync(() => this.settled.set(entry.key, undefined)),
        store.outboxMark(entry.key, "dropped")
      )
    // A line in the room is recorded as sent at once (committed), like every sent chunk.
    const sent = (id: string) =>
      Effect.gen(this, function* () {
        this.settled.set(entry.key, id)
        yield* store.outboxMark(entry.key, "sent", id)
        yield* store.commit.pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(`outbox ${entry.key}: recording it as sent failed: ${error.message}`)
          )
        )
      })
    return Effect.gen(this, function* () {
      const destination = destinationOf(entry.conversationId)
      const wire = wireText(entry.text)
      const label = `outbox ${entry.key} ("${matchKey(wire, 40)}")`
      if (Date.now() - entry.createdAt > staleAfter) {
        yield* drop()
        return yield* Effect.logWarning(`${label}: outcome unknown and older than ${staleAfter} ms; dropped`)
      }
      if (destination.kind === "pm") {
        yield* drop()
        return yield* Effect.logWarning(`${label}: a PM whose outcome is unknown (CyTube cannot tell); not resent`)
      }
      const verdict = checkReplay(info.replay, info.name, wire, entry.createdAt + this.offset)
      if (verdict === "seen") {
        yield* sent("cytube:replay")
        return yield* Effect.logInfo(`${label}: found in the room's replay; marked sent`)
      }
      if (verdict === "uncertain" || this.resent.has(entry.key)) {
        yield* drop()
        return yield* Effect.logWarning(
          verdict === "uncertain"
            ? `${label}: not in the room's replay, but older than the replay window; dropped, not resent`
            : `${label}: still unconfirmed after one resend; dropped`
        )
      }
      this.resent.add(entry.key)
      yield* Effect.logInfo(`${label}: not in the room's replay; sending it again (once)`)
      const result = yield* Effect.either(this.deliver(destination, wire, entry.key))
      if (result._tag === "Right") yield* sent(result.right)
      else {
        yield* drop()
        yield* Effect.logWarning(`${label}: resend failed (${result.left.reason}); dropped`)
      }
    })
  }

  private deliver(destination: Destination, wire: string, key: string): Effect.Effect<string, DeliveryError> {
    const fail = (reason: string, ambiguous: boolean) =>
      Effect.fail(new DeliveryError({ channel: this.options.channel, reason, ambiguous }))
    return Effect.gen(this, function* () {
      let cooldowns = 0
      while (true) {
        yield* this.awaitJoin().pipe(Effect.catchAll((reason) => fail(reason, false)))
        const now = yield* Clock.currentTimeMillis
        const wait = this.options.pacer.delay(now)
        if (wait > 0) {
          yield* Effect.sleep(Duration.millis(wait))
          continue
        }
        const outcome = yield* Deferred.make<Outcome>()
        this.inFlight = { destination, text: wire, outcome }
        const emitted =
          destination.kind === "room"
            ? this.options.emit("chatMsg", { msg: wire, meta: {} })
            : this.options.emit("pm", { to: destination.to, msg: wire, meta: {} })
        if (!emitted) {
          // The connection went between the join and now: wait for the next one.
          this.inFlight = undefined
          yield* Effect.sleep(Duration.millis(50))
          continue
        }
        this.options.pacer.sent(now)
        const result = yield* Deferred.await(outcome).pipe(
          Effect.timeoutOption(Duration.millis(this.options.echoTimeout)),
          Effect.ensuring(Effect.sync(() => (this.inFlight = undefined)))
        )
        if (Option.isNone(result)) {
          return yield* fail(`no echo from the server within ${this.options.echoTimeout} ms (outcome unknown)`, true)
        }
        const settled = result.value
        switch (settled._tag) {
          case "Echo":
            return `cytube:${settled.time}`
          case "Refused":
            return yield* fail(settled.reason, false)
          case "Cooldown":
            if (++cooldowns > 5) return yield* fail("the server kept throttling the bot (cooldown)", false)
            yield* Effect.logWarning(`the server throttled a line (cooldown ${settled.ms} ms); sending it again`)
            continue
          case "Lost": {
            if (destination.kind === "pm") {
              return yield* fail(`connection lost while a PM was in flight (${settled.reason}); not resent`, true)
            }
            const next = yield* this.awaitJoin().pipe(Effect.catchAll((reason) => fail(reason, true)))
            const verdict = checkReplay(next.replay, next.name, wire, now + this.offset)
            if (verdict === "seen") return "cytube:replay"
            if (verdict === "uncertain" || this.resent.has(key)) {
              return yield* fail(`connection lost while sending (${settled.reason}); outcome unknown`, true)
            }
            this.resent.add(key)
            yield* Effect.logInfo(`a line lost with the connection is not in the room's replay; sending it again`)
          }
        }
      }
    })
  }

  private awaitJoin(): Effect.Effect<Joined, string> {
    return Effect.suspend(() => Deferred.await(this.gate)).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(this.options.readyTimeout),
        onTimeout: () => `not connected to the room for ${Math.round(this.options.readyTimeout / 1000)} s`
      })
    )
  }

  private settle(outcome: Outcome): void {
    const flight = this.inFlight
    if (!flight) return
    this.inFlight = undefined
    Deferred.unsafeDone(flight.outcome, Exit.succeed(outcome))
  }

  private mine(name: unknown): boolean {
    return typeof name === "string" && name.toLowerCase() === this.options.self().toLowerCase()
  }
}
