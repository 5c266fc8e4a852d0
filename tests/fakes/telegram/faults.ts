import { FLOOD_METHODS } from "./messages.ts"
import { int } from "./params.ts"
import { type ApiResult, type BotState, fail } from "./state.ts"
import type { Fault, RateLimit } from "./types.ts"

// What tests ask the fake to do wrong: answer with an error, answer late, apply a call without answering, and
// Telegram-style flood control. Each plan entry matches a method name (lower-cased, "*" = any) and optionally
// one token, and is used up after `remaining` calls.

interface Planned<T> {
  readonly method: string
  readonly token: string | undefined
  readonly value: T
  remaining: number
}

const take = <T>(list: Array<Planned<T>>, method: string, token: string): T | undefined => {
  const index = list.findIndex(
    (p) => (p.method === "*" || p.method === method) && (p.token === undefined || p.token === token)
  )
  if (index < 0) return undefined
  const found = list[index]!
  found.remaining--
  if (found.remaining <= 0) list.splice(index, 1)
  return found.value
}

export class Faults {
  rateLimit: RateLimit = {}
  private readonly faults: Array<Planned<Fault>> = []
  private readonly delays: Array<Planned<number>> = []
  private readonly holds: Array<Planned<true>> = []

  failNext(method: string, fault: Fault, times: number, token: string | undefined) {
    this.faults.push({ method: method.toLowerCase(), token, value: fault, remaining: times })
  }

  delayNext(method: string, ms: number, times: number, token: string | undefined) {
    this.delays.push({ method: method.toLowerCase(), token, value: ms, remaining: times })
  }

  holdNext(method: string, times: number, token: string | undefined) {
    this.holds.push({ method: method.toLowerCase(), token, value: true, remaining: times })
  }

  takeFault(method: string, token: string): Fault | undefined {
    return take(this.faults, method, token)
  }

  /** Milliseconds to wait before running this call, if a delay is planned. */
  takeDelay(method: string, token: string): number | undefined {
    return take(this.delays, method, token)
  }

  takeHold(method: string, token: string): boolean {
    return take(this.holds, method, token) === true
  }

  /** A 429 when this send or edit goes over the configured rate; otherwise counts it and answers undefined. */
  flood(bot: BotState, method: string, params: Record<string, unknown>): ApiResult | undefined {
    const { perChatPerSecond, perGroupPerMinute, globalPerSecond } = this.rateLimit
    if (!FLOOD_METHODS.has(method)) return undefined
    if (perChatPerSecond === undefined && perGroupPerMinute === undefined && globalPerSecond === undefined) return
    const now = Date.now()
    const chatId = int(params.chat_id) ?? 0
    let times = bot.chatSendTimes.get(chatId)
    if (times === undefined) {
      times = []
      bot.chatSendTimes.set(chatId, times)
    }
    const prune = (list: number[], window: number) => {
      while (list.length > 0 && list[0]! <= now - window) list.shift()
    }
    prune(times, 60_000)
    prune(bot.sendTimes, 1000)
    // seconds until the oldest send that keeps the window full has left it
    const retryAfter = (list: number[], window: number, limit: number) => {
      const recent = list.filter((t) => t > now - window)
      if (recent.length < limit) return undefined
      return Math.max(1, Math.ceil((recent[recent.length - limit]! + window - now) / 1000))
    }
    const wait =
      (globalPerSecond === undefined ? undefined : retryAfter(bot.sendTimes, 1000, globalPerSecond)) ??
      (perChatPerSecond === undefined ? undefined : retryAfter(times, 1000, perChatPerSecond)) ??
      (perGroupPerMinute === undefined || chatId >= 0 ? undefined : retryAfter(times, 60_000, perGroupPerMinute))
    if (wait !== undefined) return fail(429, `Too Many Requests: retry after ${wait}`, wait)
    times.push(now)
    bot.sendTimes.push(now)
    return undefined
  }
}
