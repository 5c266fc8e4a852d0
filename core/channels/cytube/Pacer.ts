/**
 * Outgoing chat pacing, so the server never has to throttle the bot.
 *
 * CyTube's chat limiter (per user) lets `burst` messages through, then one per `1 / sustained` seconds, and gives the
 * burst back only after `cooldown` seconds of silence (default `burst / sustained`); a message over the limit is
 * dropped and answered with `cooldown`. A plain token bucket is not safe against that (it refills during short pauses
 * the server does not count as silence), so the bot runs the same algorithm on its side, with the stricter of its own
 * settings (`rate`) and the room's (`channelOpts.chat_antiflood_params`, or CyTube's minimum of 20 / 10 per second
 * when the room has no antiflood or the bot is a moderator), plus a margin for network jitter.
 */

export interface FloodParams {
  readonly burst: number
  /** Messages per second once the burst is spent. */
  readonly sustained: number
  /** Seconds of silence that restore the burst (default `burst / sustained`). */
  readonly cooldown?: number
}

/** What CyTube applies when a room's antiflood is off (and to moderators). */
export const SERVER_MINIMUM: FloodParams = { burst: 20, sustained: 10, cooldown: 2 }

/** Extra spacing on top of the server's minimum, for messages that travel at different speeds. */
const JITTER_MS = 40
const JITTER_FACTOR = 1.1

const cooldownOf = (params: FloodParams) => params.cooldown ?? params.burst / params.sustained

/** The stricter of two limits: smaller burst, slower rate, longer silence. */
export const stricter = (a: FloodParams, b: FloodParams): FloodParams => ({
  burst: Math.max(1, Math.min(a.burst, b.burst)),
  sustained: Math.min(a.sustained, b.sustained),
  cooldown: Math.max(cooldownOf(a), cooldownOf(b))
})

export class Pacer {
  private count = 0
  private last = Number.NEGATIVE_INFINITY
  private pausedUntil = 0

  constructor(
    private own: FloodParams,
    private server: FloodParams = SERVER_MINIMUM
  ) {}

  /** The room's limits changed (`channelOpts`, or the bot's rank crossed moderator). */
  setServer(server: FloodParams): void {
    this.server = server
  }

  setOwn(own: FloodParams): void {
    this.own = own
  }

  /** The server said `cooldown`: nothing goes out for `ms`, and the burst is spent. */
  pause(ms: number, now: number): void {
    const params = stricter(this.own, this.server)
    this.pausedUntil = Math.max(this.pausedUntil, now + ms + JITTER_MS)
    this.count = params.burst
    this.last = now
  }

  /** Milliseconds to wait before the next message may go out (0: now). */
  delay(now: number): number {
    const params = stricter(this.own, this.server)
    const paused = Math.max(0, this.pausedUntil - now)
    // The server forgets the burst after `cooldown` of silence; wait a little longer than that before we do.
    if (now - this.last > cooldownOf(params) * 1000 * JITTER_FACTOR + JITTER_MS) return paused
    if (this.count < params.burst) return paused
    const spacing = (1000 / params.sustained) * JITTER_FACTOR + JITTER_MS
    return Math.max(paused, this.last + spacing - now)
  }

  /** A message went out at `now` (call only when `delay(now)` is 0). */
  sent(now: number): void {
    const params = stricter(this.own, this.server)
    if (now - this.last > cooldownOf(params) * 1000 * JITTER_FACTOR + JITTER_MS) this.count = 1
    else if (this.count < params.burst) this.count++
    this.last = now
  }
}
