import { describe, expect, test } from "bun:test"
import { Effect, Fiber, TestClock } from "effect"
import { EventBus } from "../../core/events/EventBus.ts"
import type { MessageReceived } from "../../core/events/Events.ts"
import { makeInstantProvider } from "../../core/llm/InstantProvider.ts"
import type { ChatRequest, LlmProvider } from "../../core/llm/Provider.ts"
import { Store } from "../../core/store/Store.ts"
import { runLive, runTest, settle } from "../support/effect.ts"
import { inbound, inRoom } from "../support/messages.ts"
import { conversationLayer, eventually, harness } from "./harness.ts"

/** Answers with what it was given: how many prompt messages, and the last user text. */
const echoCount = makeInstantProvider({
  reply: (request: ChatRequest) => {
    const last = request.messages.at(-1)
    const text = typeof last?.content === "string" ? last.content : ""
    return `[${request.messages.length}] ${text}`
  }
})

/** A provider that waits for `release` before each answer. */
const gated = (inner: LlmProvider) => {
  let release: () => void = () => {}
  let waiting = Promise.withResolvers<void>()
  const provider: LlmProvider = {
    ...inner,
    start: (request) => {
      const completion = inner.start(request)
      const gate = waiting.promise
      let passed = false
      return {
        cancel: completion.cancel,
        next: Effect.suspend(() =>
          passed
            ? completion.next
            : Effect.zipRight(Effect.promise(() => gate).pipe(Effect.tap(() => (passed = true))), completion.next)
        )
      }
    }
  }
  release = () => {
    waiting.resolve()
    waiting = Promise.withResolvers<void>()
  }
  return { provider, release: () => release() }
}

const texts = (replies: ReadonlyArray<{ text?: string }>) => replies.map((r) => r.text)

describe("router and conversations", () => {
  test("a DM is answered with a streamed reply, and the exchange is stored", () =>
    runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness()
        yield* router.receive(inbound({ text: "hello there" }))
        const reply = yield* eventually(() => (channel.replies[0]?.text ? channel.replies[0] : undefined))
        expect(reply.text).toBe("ok: hello there")
        const tags = reply.events.map((e) => e._tag)
        expect(tags[0]).toBe("Typing")
        expect(tags.filter((t) => t === "ReplyDelta").length).toBeGreaterThanOrEqual(2)
        expect(tags.at(-1)).toBe("ReplyCompleted")
        const store = yield* Store
        const history = yield* store.history("sage/memory:test/dm1", 10)
        expect(history.map((m) => `${m.role}: ${m.content}`)).toEqual([
          "user: hello there",
          "assistant: ok: hello there"
        ])
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("a long conversation's stored transcript is kept near memory.max_messages, newest kept", () =>
    runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness({ memory: { max_messages: 10 } })
        for (let i = 0; i < 30; i++) {
          yield* router.receive(inbound({ text: `m${i}` }))
          yield* eventually(() => channel.replies[i]?.text)
        }
        const store = yield* Store
        // Trimmed to 10 once 50 messages were appended (turn 25), then 5 more turns of 2 messages.
        expect(yield* store.messageCount("sage/memory:test/dm1")).toBe(20)
        const kept = yield* store.history("sage/memory:test/dm1", 100)
        expect(kept[0]!.content).toBe("m20")
        expect(kept.at(-1)!.content).toBe("ok: m29")
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("an idle conversation is passivated, and the next message revives it with its history", () =>
    runTest(
      Effect.gen(function* () {
        const { router, channel } = yield* harness({ memory: { idle_ttl: "1s" } })
        yield* router.receive(inbound({ text: "one" }))
        yield* eventually(() => channel.replies[0]?.text)
        expect(router.active()).toBe(1)
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(router.active()).toBe(0)
        yield* router.receive(inbound({ text: "two" }))
        yield* eventually(() => channel.replies[1]?.text)
        // The model saw the first exchange again: user, assistant, user.
        expect(texts(channel.replies)).toEqual(["[1] one", "[3] two"])
      }).pipe(Effect.scoped, Effect.provide(conversationLayer([echoCount])))
    ))

  test("200 conversations in parallel each keep their own order", () =>
    runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness({}, { id: "sage" })
        const perConversation = 5
        const messages: Array<MessageReceived> = []
        for (let round = 0; round < perConversation; round++) {
          for (let c = 0; c < 200; c++) {
            messages.push(
              inbound({
                text: `c${c} m${round}`,
                chat: { id: `chat${c}`, kind: "dm" },
                author: { id: `user${c}`, name: `U${c}`, isBot: false }
              })
            )
          }
        }
        yield* Effect.forEach(messages, router.receive, { concurrency: 50, discard: true })
        yield* eventually(() => channel.replies.filter((r) => r.text).length === 1000, 10_000)
        for (let c = 0; c < 200; c++) {
          const mine = channel.replies.filter((r) => r.target.chat.id === `chat${c}`).map((r) => r.text)
          expect(mine).toEqual(Array.from({ length: perConversation }, (_, round) => `ok: c${c} m${round}`))
        }
        expect(router.active()).toBe(200)
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("messages that arrive during a reply are queued and answered in order", () => {
    const { provider, release } = gated(makeInstantProvider())
    return runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness()
        yield* router.receive(inbound({ text: "first" }))
        yield* eventually(() => channel.replies.length === 1)
        yield* router.receive(inbound({ text: "second" }))
        yield* router.receive(inbound({ text: "third" }))
        for (let i = 0; i < 3; i++) {
          yield* eventually(() => channel.replies.length === i + 1)
          release()
          yield* eventually(() => channel.replies[i]?.text)
        }
        expect(texts(channel.replies)).toEqual(["ok: first", "ok: second", "ok: third"])
      }).pipe(Effect.scoped, Effect.provide(conversationLayer([provider])))
    )
  })

  test("with pending: fold, messages that queued up during a reply are answered together in one turn", () => {
    const { provider, release } = gated(echoCount)
    return runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness({ reply: { pending: "fold" } })
        yield* router.receive(inbound({ text: "first" }))
        yield* eventually(() => channel.replies.length === 1)
        yield* router.receive(inbound({ text: "second" }))
        yield* router.receive(inbound({ text: "third" }))
        release()
        yield* eventually(() => channel.replies.length === 2)
        release()
        yield* eventually(() => channel.replies[1]?.text)
        expect(channel.replies.length).toBe(2)
        // The second turn saw the first exchange plus both waiting messages.
        expect(channel.replies[1]!.text).toStartWith("[4]")
        const store = yield* Store
        const history = yield* store.history("sage/memory:test/dm1", 10)
        expect(history.map((m) => m.role)).toEqual(["user", "assistant", "user", "user", "assistant"])
      }).pipe(Effect.scoped, Effect.provide(conversationLayer([provider])))
    )
  })

  test("/reset forgets the history; /start greets in the user's language", () =>
    runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness({ greeting: { en: "Hello!", ru: "Привет!" } })
        yield* router.receive(inbound({ text: "remember me" }))
        yield* eventually(() => channel.replies[0]?.text)
        yield* router.receive(inbound({ text: "/reset", command: { name: "reset", args: "" } }))
        yield* eventually(() => channel.replies[1]?.text)
        expect(channel.replies[1]!.text).toContain("forgot")
        const store = yield* Store
        expect(yield* store.messageCount("sage/memory:test/dm1")).toBe(0)
        yield* router.receive(
          inbound({
            text: "/start",
            command: { name: "start", args: "" },
            author: { id: "u1", name: "Ann", isBot: false, language: "ru" }
          })
        )
        yield* eventually(() => channel.replies[2]?.text)
        expect(channel.replies[2]!.text).toBe("Привет!")
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("a message redelivered by the platform (same id) is answered once", () =>
    runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness()
        const message = inbound({ text: "once please" })
        yield* router.receive(message)
        yield* router.receive({ ...message, correlationId: "again" })
        yield* eventually(() => channel.replies[0]?.text)
        yield* Effect.sleep("50 millis")
        expect(channel.replies.length).toBe(1)
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("a rate-limited user is told to slow down once, and every decision is an event", () =>
    runLive(
      Effect.gen(function* () {
        const bus = yield* EventBus
        const decisions = yield* bus.subscribe({ tags: ["PolicyDecision"] })
        const { router, channel } = yield* harness({ reply: { rate_limit: { user: "1/min" }, limited: "notify" } })
        for (const text of ["a", "b", "c"]) yield* router.receive(inbound({ text }))
        yield* eventually(() => channel.replies.filter((r) => r.text).length === 2)
        yield* Effect.sleep("50 millis")
        expect(texts(channel.replies)).toEqual(["ok: a", expect.stringContaining("slow down")])
        const seen = []
        for (let i = 0; i < 3; i++) seen.push((yield* decisions.take).decision)
        expect(seen).toEqual(["answer", "limited", "limited"])
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("two personas in one room do not talk to each other forever", () =>
    runLive(
      Effect.gen(function* () {
        const policy = { reply: { everything: true, bots: true, bot_turns: { max: 3, window: "5m" } } }
        const a = yield* harness(policy, { id: "ann", channelId: "memory:room" })
        const b = yield* harness(policy, { id: "bob", channelId: "memory:room" })
        // Each persona's reply lands in the room, where the other persona sees a bot's message.
        const relay = (from: string, to: typeof a, seen: { count: number }) =>
          Effect.gen(function* () {
            const own = from === "ann" ? a.channel : b.channel
            while (true) {
              const done = own.replies.filter((r) => r.text)
              for (const reply of done.slice(seen.count)) {
                yield* to.router.receive(
                  inRoom(reply.text!, from, { channel: "memory:room", author: { id: from, name: from, isBot: true } })
                )
              }
              seen.count = done.length
              yield* Effect.sleep("5 millis")
            }
          })
        const relays = yield* Effect.fork(
          Effect.all([relay("ann", b, { count: 0 }), relay("bob", a, { count: 0 })], { concurrency: 2 })
        )
        yield* a.router.receive(inRoom("hi both", "human", { channel: "memory:room" }))
        yield* b.router.receive(inRoom("hi both", "human", { channel: "memory:room" }))
        yield* Effect.sleep("400 millis")
        yield* Fiber.interrupt(relays)
        const total = a.channel.replies.length + b.channel.replies.length
        // Each answered the human once, then at most 3 bot turns each.
        expect(total).toBeGreaterThanOrEqual(4)
        expect(total).toBeLessThanOrEqual(8)
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))

  test("reset through the router is ordered with the conversation's messages", () =>
    runLive(
      Effect.gen(function* () {
        const { router, channel } = yield* harness()
        yield* router.receive(inbound({ text: "x" }))
        yield* eventually(() => channel.replies[0]?.text)
        expect(yield* router.reset("sage/memory:test/dm1")).toBe(2)
        expect(yield* (yield* Store).messageCount("sage/memory:test/dm1")).toBe(0)
      }).pipe(Effect.scoped, Effect.provide(conversationLayer()))
    ))
})
