/**
 * When a persona speaks: one synchronous decision per inbound message, from the persona's (or channel's) reply policy
 * and the persona's recent activity. Every decision has a reason, published as a `PolicyDecision` event.
 *
 * State is per persona and in memory: cooldown timestamps, rate-limit windows, the bot-loop guard's counters and the
 * duplicate guard's recent messages. All of it expires, so memory stays bounded by recent activity.
 */
import type { MessageReceived } from "../events/Events.ts"
import type { ReplyPolicyConfig } from "./ReplyPolicyConfig.ts"

export type Decision =
  | { readonly decision: "answer"; readonly reason: string; readonly trigger?: string }
  | { readonly decision: "ignore"; readonly reason: string }
  | {
      readonly decision: "limited"
      readonly reason: string
      /** Tell the user to slow down (once per window), instead of staying silent. */
      readonly notify: boolean
    }

export interface PolicyInput {
  readonly message: MessageReceived
  readonly policy: ReplyPolicyConfig
  /** Names the persona answers to: its id, display name and aliases. */
  readonly names: ReadonlyArray<string>
  /** The room key for per-room limits (channel + chat + thread). */
  readonly room: string
  readonly now: number
  /** A number in [0, 1) for trigger and chime-in probabilities (seedable in tests). */
  readonly random: () => number
  /** Messages already waiting in the target conversation. */
  readonly queued: number
}

const answer = (reason: string, trigger?: string): Decision =>
  trigger === undefined ? { decision: "answer", reason } : { decision: "answer", reason, trigger }
const ignore = (reason: string): Decision => ({ decision: "ignore", reason })

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Whole-word, case-insensitive matcher for any of the phrases (Unicode letters count as word characters). */
export const wordMatcher = (phrases: ReadonlyArray<string>): RegExp | undefined => {
  const words = phrases.map((phrase) => phrase.trim()).filter((phrase) => phrase.length > 0)
  if (words.length === 0) return undefined
  const alternatives = words
    .sort((a, b) => b.length - a.length)
    .map((word) => escapeRegex(word).replace(/\s+/g, "\\s+"))
  return new RegExp(`(?<![\\p{L}\\p{N}_])@?(?:${alternatives.join("|")})(?![\\p{L}\\p{N}_])`, "iu")
}

/** A sliding window of timestamps per key, dropped when it empties. */
class Windows {
  private readonly entries = new Map<string, Array<number>>()

  count(key: string, windowMs: number, now: number): number {
    const times = this.entries.get(key)
    if (!times) return 0
    while (times.length > 0 && times[0]! <= now - windowMs) times.shift()
    if (times.length === 0) this.entries.delete(key)
    return times.length
  }

  add(key: string, now: number) {
    const times = this.entries.get(key)
    if (times) times.push(now)
    else this.entries.set(key, [now])
  }

  last(key: string): number | undefined {
    return this.entries.get(key)?.at(-1)
  }

  sweep(olderThan: number) {
    for (const [key, times] of this.entries) {
      if ((times.at(-1) ?? 0) <= olderThan) this.entries.delete(key)
    }
  }

  get size() {
    return this.entries.size
  }
}

interface BotLoop {
  turns: number
  since: number
}

/** One persona's policy state. */
export class ReplyPolicyState {
  private readonly answers = new Windows()
  private readonly notices = new Windows()
  private readonly botLoops = new Map<string, BotLoop>()
  private readonly recentTexts = new Map<string, number>()
  private readonly matchers = new Map<string, RegExp | undefined>()
  private lastSweep = 0

  /** Decide, and record the answer (cooldowns and limits count from the decision, not from the reply). */
  decide(input: PolicyInput): Decision {
    const { message, policy, now } = input
    this.maybeSweep(now, policy)
    const decision = this.evaluate(input)
    if (decision.decision === "answer" && !message.command) this.record(input, decision)
    if (decision.decision === "limited" && decision.notify) {
      // One notice per user per window; further limited messages are dropped silently.
      this.notices.add(`user:${message.author.id}`, now)
    }
    return decision
  }

  private evaluate(input: PolicyInput): Decision {
    const { message, policy, now, room } = input
    const author = message.author
    if (message.fromSelf) return ignore("own message")
    if (policy.ignoreUsers.includes(author.id)) return ignore("user is ignored")
    if (policy.allowUsers.length > 0 && !policy.allowUsers.includes(author.id)) return ignore("user not in allow_users")
    if (now - message.at > policy.staleAfter)
      return ignore(`stale: older than ${Math.round(policy.staleAfter / 1000)} s`)

    if (author.isBot) {
      if (!policy.bots) return ignore("message from a bot")
    } else {
      // A human spoke: the bot-loop guard of this room starts over.
      this.botLoops.delete(room)
    }

    const reason = this.why(input)
    if (reason === undefined) return ignore(message.chat.kind === "dm" ? "dms are off" : "not addressed")
    // Commands are answered whatever the limits say (a user must always be able to /reset).
    if (message.command) return reason

    if (author.isBot) {
      const loop = this.botLoops.get(room)
      if (loop && now - loop.since <= policy.botTurns.window && loop.turns >= policy.botTurns.max) {
        return ignore(`bot-loop guard: ${loop.turns} bot turns in a row, waiting for a human`)
      }
    }
    const text = message.text.trim().toLowerCase()
    if (policy.duplicateWindow > 0 && text.length > 0) {
      const seen = this.recentTexts.get(`${room}\u0000${author.id}\u0000${text}`)
      if (seen !== undefined && now - seen < policy.duplicateWindow) return ignore("duplicate of a recent message")
    }
    if (input.queued >= policy.maxQueued) return this.limited(input, `${input.queued} messages already waiting`)
    return this.limits(input, reason)
  }

  /** Why the persona would answer (before limits), or undefined. */
  private why(input: PolicyInput): Decision | undefined {
    const { message, policy, random } = input
    if (message.command) return answer(`command /${message.command.name}`)
    if (message.chat.kind === "dm") return policy.dms ? answer("direct message") : undefined
    if (message.mentioned && policy.mentions) return answer("mentioned")
    if (message.replyToSelf && policy.replies) return answer("reply to the persona")
    if (policy.mentions && this.matcher(input.names)?.test(message.text)) return answer("mentioned by name")
    for (const [phrase, probability] of Object.entries(policy.triggers)) {
      if (!this.matcher([phrase])?.test(message.text)) continue
      const roll = random()
      if (roll < probability) return answer(`trigger "${phrase}" (p=${probability})`, phrase)
    }
    if (policy.everything) return answer("answers everything here")
    if (policy.chimeIn > 0 && random() < policy.chimeIn) return answer(`chimed in (p=${policy.chimeIn})`)
    return undefined
  }

  private limits(input: PolicyInput, reason: Decision): Decision {
    const { message, policy, now, room } = input
    const { cooldown, rateLimit } = policy
    const user = `user:${message.author.id}`
    const roomKey = `room:${room}`
    const cooling = (key: string, ms: number) => {
      const last = this.answers.last(key)
      return ms > 0 && last !== undefined && now - last < ms
    }
    if (cooling(user, cooldown.user)) return this.limited(input, "user cooldown")
    if (cooling(roomKey, cooldown.room)) return this.limited(input, "room cooldown")
    if (cooling("global", cooldown.global)) return this.limited(input, "persona cooldown")
    const trigger = reason.decision === "answer" ? reason.trigger : undefined
    if (trigger !== undefined && cooling(`trigger:${trigger}`, cooldown.trigger)) {
      // A trigger on cooldown is not a reason to answer at all: stay silent, it was not addressed to us.
      return ignore(`trigger "${trigger}" cooling down`)
    }
    const over = (key: string, limit: { count: number; windowMs: number } | undefined) =>
      limit !== undefined && this.answers.count(key, limit.windowMs, now) >= limit.count
    if (over(user, rateLimit.user)) return this.limited(input, `user rate limit ${rateLimit.user!.count}/window`)
    if (over(roomKey, rateLimit.room)) return this.limited(input, `room rate limit ${rateLimit.room!.count}/window`)
    if (over("global", rateLimit.global))
      return this.limited(input, `persona rate limit ${rateLimit.global!.count}/window`)
    return reason
  }

  private limited(input: PolicyInput, reason: string): Decision {
    const { policy, message, now } = input
    const window = Math.max(policy.cooldown.user, policy.rateLimit.user?.windowMs ?? 60_000)
    const notify = policy.limited === "notify" && this.notices.count(`user:${message.author.id}`, window, now) === 0
    return { decision: "limited", reason, notify }
  }

  private record(input: PolicyInput, decision: Extract<Decision, { decision: "answer" }>) {
    const { message, now, room, policy } = input
    // Only what a configured limit will look at is kept: a persona without limits keeps nothing per user or room.
    const { cooldown, rateLimit } = policy
    if (cooldown.user > 0 || rateLimit.user) this.answers.add(`user:${message.author.id}`, now)
    if (cooldown.room > 0 || rateLimit.room) this.answers.add(`room:${room}`, now)
    if (cooldown.global > 0 || rateLimit.global) this.answers.add("global", now)
    if (decision.trigger !== undefined && cooldown.trigger > 0) this.answers.add(`trigger:${decision.trigger}`, now)
    const text = message.text.trim().toLowerCase()
    if (policy.duplicateWindow > 0 && text.length > 0 && !message.command) {
      this.recentTexts.set(`${room}\u0000${message.author.id}\u0000${text}`, now)
    }
    if (message.author.isBot) {
      const loop = this.botLoops.get(room)
      if (loop && now - loop.since <= policy.botTurns.window) loop.turns++
      else this.botLoops.set(room, { turns: 1, since: now })
    }
  }

  private matcher(phrases: ReadonlyArray<string>): RegExp | undefined {
    const key = phrases.join("\u0000")
    if (!this.matchers.has(key)) {
      if (this.matchers.size > 256) this.matchers.clear()
      this.matchers.set(key, wordMatcher(phrases))
    }
    return this.matchers.get(key)
  }

  /** Forget what no limit can need any more (every minute or so). */
  private maybeSweep(now: number, policy: ReplyPolicyConfig) {
    if (now - this.lastSweep < 60_000) return
    this.lastSweep = now
    const { cooldown, rateLimit, duplicateWindow, botTurns } = policy
    const longest = Math.max(
      cooldown.user,
      cooldown.room,
      cooldown.global,
      cooldown.trigger,
      rateLimit.user?.windowMs ?? 0,
      rateLimit.room?.windowMs ?? 0,
      rateLimit.global?.windowMs ?? 0,
      // "Slow down" notices are remembered for the user window (at least a minute, see `limited`).
      60_000
    )
    this.answers.sweep(now - longest)
    this.notices.sweep(now - longest)
    for (const [key, at] of this.recentTexts) if (now - at >= duplicateWindow) this.recentTexts.delete(key)
    for (const [room, loop] of this.botLoops) if (now - loop.since > botTurns.window) this.botLoops.delete(room)
  }

  /** Entries held, for tests and the dashboard. */
  get size() {
    return this.answers.size + this.notices.size + this.botLoops.size + this.recentTexts.size
  }
}
