/**
 * CyTube's two rate limiters, reproduced from src/utilities.js (`newRateLimiter`) and src/util/token-bucket.js.
 */

export interface AntifloodParams {
  /** Messages allowed back to back before throttling starts. */
  readonly burst: number
  /** Messages per second allowed once the burst is spent. */
  readonly sustained: number
  /** Seconds of silence after which the burst is available again (default `burst / sustained`). */
  readonly cooldown?: number
}

/** CyTube's `MIN_ANTIFLOOD`: what every channel applies when `chat_antiflood` is off (and to moderators). */
export const MIN_ANTIFLOOD: AntifloodParams = { burst: 20, sustained: 10 }

/**
 * The per-user chat limiter. A throttled message is dropped and answered with `cooldown` (1000 / sustained ms).
 * Note the quirk kept from CyTube: a throttled attempt does not move `lastTime`, so a client that keeps
 * retrying faster than `1000 / sustained` ms is throttled until it slows down.
 */
export class ChatLimiter {
  private count = 0
  private lastTime = 0

  constructor(private readonly now: () => number = Date.now) {}

  /** True when the message must be dropped. */
  throttle(params: AntifloodParams): boolean {
    const burst = params.burst
    const sustained = params.sustained
    const cooldown = params.cooldown ?? burst / sustained
    const now = this.now()
    if (this.lastTime < now - cooldown * 1000) {
      this.count = 1
      this.lastTime = now
      return false
    }
    if (this.count < burst) {
      this.count++
      this.lastTime = now
      return false
    }
    if (now - this.lastTime < 1000 / sustained) return true
    this.lastTime = now
    return false
  }
}

/** A refilling bucket: CyTube uses one per IP for connection attempts and one per socket for incoming events. */
export class TokenBucket {
  private count: number
  private lastRefill: number

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = Date.now
  ) {
    this.count = capacity
    this.lastRefill = now()
  }

  /** True when the bucket is empty (the action must be refused). */
  throttle(): boolean {
    const now = this.now()
    const refill = Math.floor(((now - this.lastRefill) / 1000) * this.refillPerSecond)
    if (refill > 0) {
      this.count = Math.min(this.capacity, this.count + refill)
      this.lastRefill = now
    }
    if (this.count === 0) return true
    this.count--
    return false
  }
}
