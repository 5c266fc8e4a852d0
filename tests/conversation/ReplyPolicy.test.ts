import { describe, expect, test } from "bun:test"
import { Schema } from "effect"
import { ReplyPolicyState, wordMatcher } from "../../core/conversation/ReplyPolicy.ts"
import { ReplyPolicyConfig } from "../../core/conversation/ReplyPolicyConfig.ts"
import type { MessageReceived } from "../../core/events/Events.ts"
import { inbound, inRoom } from "../support/messages.ts"
import { seeded } from "../support/random.ts"

const policyOf = (encoded: Record<string, unknown> = {}) => Schema.decodeUnknownSync(ReplyPolicyConfig)(encoded)
const T0 = Date.now()

const decider = (encoded: Record<string, unknown> = {}, random: () => number = () => 0.99) => {
  const state = new ReplyPolicyState()
  const policy = policyOf(encoded)
  return (message: MessageReceived, now = T0, queued = 0) =>
    state.decide({
      message: { ...message, at: Math.min(message.at, now) },
      policy,
      names: ["sage", "Sage the Wise", ...policy.aliases],
      room: `${message.channel}/${message.chat.id}`,
      now,
      random,
      queued
    })
}

const outcome = (decision: { decision: string; reason: string }) => `${decision.decision}: ${decision.reason}`

describe("reply policy", () => {
  test("answers DMs, ignores its own messages and, by default, other bots", () => {
    const decide = decider()
    expect(outcome(decide(inbound({ text: "hi" })))).toBe("answer: direct message")
    expect(outcome(decide(inbound({ text: "echo", fromSelf: true })))).toBe("ignore: own message")
    const bot = inbound({ text: "beep", author: { id: "b1", name: "bot", isBot: true } })
    expect(outcome(decide(bot))).toBe("ignore: message from a bot")
    expect(outcome(decider({ dms: false })(inbound({ text: "hi" })))).toBe("ignore: dms are off")
  })

  test("in a room: answers mentions by name (word-bounded, case-insensitive, aliases), handles and replies", () => {
    const decide = decider({ aliases: ["wizard"] })
    expect(outcome(decide(inRoom("hey SAGE, what's up?")))).toBe("answer: mentioned by name")
    expect(outcome(decide(inRoom("ask sage the wise please", "u2")))).toBe("answer: mentioned by name")
    expect(outcome(decide(inRoom("the wizard knows", "u3")))).toBe("answer: mentioned by name")
    expect(outcome(decide(inRoom("sagebrush is a plant", "u4")))).toBe("ignore: not addressed")
    expect(outcome(decide(inRoom("presage", "u5")))).toBe("ignore: not addressed")
    expect(outcome(decide(inRoom("hello all", "u6", { mentioned: true })))).toBe("answer: mentioned")
    expect(outcome(decide(inRoom("indeed", "u7", { replyToSelf: true })))).toBe("answer: reply to the persona")
    expect(outcome(decide(inRoom("just chatting", "u8")))).toBe("ignore: not addressed")
  })

  test("trigger words answer with their probability, from a seeded random source", () => {
    const rolls = (seed: number) => {
      const decide = decider({ triggers: { "kung fu": 0.3 } }, seeded(seed))
      let answered = 0
      for (let i = 0; i < 1000; i++) {
        if (decide(inRoom("that KUNG  FU scene!", `user${i}`)).decision === "answer") answered++
      }
      return answered
    }
    const answered = rolls(42)
    expect(answered).toBe(rolls(42)) // same seed, same rolls
    expect(answered).toBeGreaterThan(250)
    expect(answered).toBeLessThan(350)
    const always = decider({ triggers: { rothrock: 1 } })
    expect(outcome(always(inRoom("Cynthia Rothrock!")))).toBe('answer: trigger "rothrock" (p=1)')
    expect(decider({ triggers: { rothrock: 0 } })(inRoom("Rothrock")).decision).toBe("ignore")
  })

  test("chime-in answers ordinary room messages with its probability", () => {
    expect(decider({ chime_in: 0.5 }, () => 0.4)(inRoom("nice weather")).reason).toBe("chimed in (p=0.5)")
    expect(decider({ chime_in: 0.5 }, () => 0.6)(inRoom("nice weather")).decision).toBe("ignore")
  })

  test("cooldowns per user, per room, per persona and per trigger", () => {
    const user = decider({ cooldown: { user: "10s" } })
    expect(user(inbound({ text: "a" }), T0).decision).toBe("answer")
    expect(outcome(user(inbound({ text: "b" }), T0 + 5_000))).toBe("limited: user cooldown")
    expect(user(inbound({ text: "c", author: { id: "u2", name: "Bo", isBot: false } }), T0 + 5_000).decision).toBe(
      "answer"
    )
    expect(user(inbound({ text: "d" }), T0 + 10_001).decision).toBe("answer")

    const room = decider({ cooldown: { room: "1m" } })
    expect(room(inRoom("sage?", "u1"), T0).decision).toBe("answer")
    expect(outcome(room(inRoom("sage!", "u2"), T0 + 1000))).toBe("limited: room cooldown")

    const global = decider({ cooldown: { global: "1m" } })
    expect(global(inbound({ text: "a" }), T0).decision).toBe("answer")
    expect(outcome(global(inRoom("sage", "u9"), T0 + 1000))).toBe("limited: persona cooldown")

    const trigger = decider({ triggers: { "kung fu": 1 }, cooldown: { trigger: "5m" } })
    expect(trigger(inRoom("kung fu", "u1"), T0).decision).toBe("answer")
    expect(outcome(trigger(inRoom("more kung fu", "u2"), T0 + 60_000))).toBe('ignore: trigger "kung fu" cooling down')
    expect(trigger(inRoom("sage?", "u3"), T0 + 60_000).decision).toBe("answer")
  })

  test("rate limits: a limited user is told to slow down once per window when asked to, never queued", () => {
    const decide = decider({ rate_limit: { user: "2/min" }, limited: "notify" })
    expect(decide(inbound({ text: "1" }), T0).decision).toBe("answer")
    expect(decide(inbound({ text: "2" }), T0 + 1).decision).toBe("answer")
    expect(decide(inbound({ text: "3" }), T0 + 2)).toEqual({
      decision: "limited",
      reason: "user rate limit 2/window",
      notify: true
    })
    expect(decide(inbound({ text: "4" }), T0 + 3)).toMatchObject({ decision: "limited", notify: false })
    expect(decide(inbound({ text: "5" }), T0 + 60_001).decision).toBe("answer")
    const silent = decider({ rate_limit: { room: "1/min" } })
    expect(silent(inRoom("sage 1"), T0).decision).toBe("answer")
    expect(silent(inRoom("sage 2", "u2"), T0 + 1)).toMatchObject({ decision: "limited", notify: false })
  })

  test("commands pass whatever the limits say", () => {
    const decide = decider({ rate_limit: { user: "1/min" } })
    decide(inbound({ text: "hi" }), T0)
    expect(decide(inbound({ text: "/reset", command: { name: "reset", args: "" } }), T0 + 1).reason).toBe(
      "command /reset"
    )
  })

  test("bot-loop guard: a bounded number of bot turns in a row per room, then silence until a human speaks", () => {
    const decide = decider({ bots: true, bot_turns: { max: 3, window: "5m" } })
    const fromBot = (n: number) =>
      inRoom(`sage, round ${n}`, "otherbot", { author: { id: "otherbot", name: "Rothrock", isBot: true } })
    const results = [1, 2, 3, 4, 5].map((n) => decide(fromBot(n), T0 + n).decision)
    expect(results).toEqual(["answer", "answer", "answer", "ignore", "ignore"])
    expect(decide(fromBot(6), T0 + 6).reason).toContain("bot-loop guard")
    // A human speaks (even to someone else): the guard starts over.
    expect(decide(inRoom("lol", "human"), T0 + 7).decision).toBe("ignore")
    expect(decide(fromBot(8), T0 + 8).decision).toBe("answer")
  })

  test("the same message repeated by a user within the window is answered once", () => {
    const decide = decider({ duplicate_window: "30s" })
    expect(decide(inbound({ text: "What time is it?" }), T0).decision).toBe("answer")
    expect(outcome(decide(inbound({ text: "what time is it? " }), T0 + 5_000))).toBe(
      "ignore: duplicate of a recent message"
    )
    expect(
      decide(inbound({ text: "What time is it?", author: { id: "u2", name: "Bo", isBot: false } }), T0 + 5_000).decision
    ).toBe("answer")
    expect(decide(inbound({ text: "What time is it?" }), T0 + 31_000).decision).toBe("answer")
  })

  test("stale messages, allowlists, ignored users and a full queue", () => {
    const decide = decider({ stale_after: "10m", allow_users: ["u1", "u2"], ignore_users: ["u2"], max_queued: 3 })
    expect(outcome(decide({ ...inbound({ text: "old" }), at: T0 - 11 * 60_000 }, T0))).toBe(
      "ignore: stale: older than 600 s"
    )
    expect(outcome(decide(inbound({ text: "hi", author: { id: "u3", name: "X", isBot: false } }), T0))).toBe(
      "ignore: user not in allow_users"
    )
    expect(outcome(decide(inbound({ text: "hi", author: { id: "u2", name: "Y", isBot: false } }), T0))).toBe(
      "ignore: user is ignored"
    )
    expect(decide(inbound({ text: "queued" }), T0, 3)).toMatchObject({ decision: "limited" })
  })

  test("state stays bounded: entries expire", () => {
    const state = new ReplyPolicyState()
    const policy = policyOf({ cooldown: { user: "10s" } })
    for (let i = 0; i < 500; i++) {
      state.decide({
        message: inbound({ text: `m${i}`, author: { id: `u${i}`, name: "x", isBot: false } }),
        policy,
        names: ["sage"],
        room: "r",
        now: T0,
        random: Math.random,
        queued: 0
      })
    }
    expect(state.size).toBeGreaterThan(500)
    state.decide({
      message: inbound({ text: "late" }),
      policy,
      names: ["sage"],
      room: "r",
      now: T0 + 3_600_000,
      random: Math.random,
      queued: 0
    })
    expect(state.size).toBeLessThan(10)
  })

  test("wordMatcher handles phrases, punctuation and Cyrillic", () => {
    expect(wordMatcher(["кунг фу"])!.test("Смотрим КУНГ ФУ!")).toBe(true)
    expect(wordMatcher(["мудрец"])!.test("мудрецы")).toBe(false)
    expect(wordMatcher(["sage"])!.test("@sage help")).toBe(true)
    expect(wordMatcher([])).toBeUndefined()
  })
})
