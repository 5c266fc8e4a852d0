import { describe, expect, test } from "bun:test"
import { Effect, Layer, type Scope } from "effect"
import { DeliveryError, type ReplyTarget } from "../../../core/channels/Channel.ts"
import { makeStreamingReply, outboxKey, type PlatformOps } from "../../../core/channels/text/StreamingReply.ts"
import { Store } from "../../../core/store/Store.ts"
import { runLive } from "../../support/effect.ts"

const target: ReplyTarget = {
  conversationId: "sage/test:1/42",
  chat: { id: "42", kind: "dm" },
  turnId: "turn1",
  correlationId: "c1"
}

const base = { at: 0, correlationId: "c1", persona: "sage", conversationId: target.conversationId }
const delta = (text: string) => ({ _tag: "ReplyDelta" as const, ...base, turnId: "turn1", delta: "", text })
const completed = (text: string) => ({
  _tag: "ReplyCompleted" as const,
  ...base,
  turnId: "turn1",
  text,
  provider: "p",
  model: "m",
  usage: { input: 1, output: 1 },
  finishReason: "stop",
  durationMs: 1
})

const fakePlatform = (
  options: { failSend?: DeliveryError; failChunk?: number; sendDelay?: Effect.Effect<void> } = {}
) => {
  const log: Array<string> = []
  const messages = new Map<string, string>()
  let next = 0
  const ops: PlatformOps = {
    send: (text, chunk) =>
      options.failSend && (options.failChunk === undefined || options.failChunk === chunk)
        ? Effect.fail(options.failSend)
        : Effect.zipRight(
            options.sendDelay ?? Effect.void,
            Effect.sync(() => {
              const id = `m${++next}`
              messages.set(id, text)
              log.push(`send#${chunk} ${id}`)
              return id
            })
          ),
    edit: (id, text) =>
      Effect.sync(() => {
        messages.set(id, text)
        log.push(`edit ${id}`)
      }),
    typing: () => Effect.sync(() => log.push("typing"))
  }
  return { ops, log, messages }
}

const options = { channel: "test:1", persona: "sage", limit: 100, stream: true, editInterval: 50, typingInterval: 1000 }

const run = <A, E>(effect: Effect.Effect<A, E, Store | Scope.Scope>) =>
  runLive(Effect.provide(effect, Layer.orDie(Store.layerMemory)))

describe("streaming reply", () => {
  test("first message on the first tokens, throttled edits, final text in place", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const platform = fakePlatform()
        const sink = makeStreamingReply(target, platform.ops, options, store, yield* Effect.scope)
        yield* sink.emit({ _tag: "Typing", ...base })
        let text = ""
        for (let i = 0; i < 40; i++) {
          text += `word${i} `
          yield* sink.emit(delta(text))
          yield* Effect.sleep("5 millis")
        }
        yield* sink.emit(completed("The final answer."))
        expect(platform.log[0]).toBe("typing")
        expect(platform.log.filter((l) => l.startsWith("send")).length).toBe(1)
        const edits = platform.log.filter((l) => l.startsWith("edit")).length
        // 40 deltas over ~200 ms with a 50 ms interval: a handful of edits, not 40.
        expect(edits).toBeGreaterThanOrEqual(2)
        expect(edits).toBeLessThanOrEqual(7)
        expect([...platform.messages.values()]).toEqual(["The final answer."])
        expect((yield* store.outboxGet(outboxKey("turn1", 0)))?.status).toBe("sent")
      })
    ))

  test("offered deltas: taken at once while an edit is under way, handed back when one must start", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const platform = fakePlatform()
        const sink = makeStreamingReply(target, platform.ops, options, store, yield* Effect.scope)
        const offer = sink.offer!
        // Nothing started yet: typing and the first delta need `emit` (each starts a fiber).
        expect(offer({ _tag: "Typing", ...base })).toBe(false)
        yield* sink.emit({ _tag: "Typing", ...base })
        expect(offer({ _tag: "Typing", ...base })).toBe(true)
        expect(offer(delta("The first words of it"))).toBe(false)
        yield* sink.emit(delta("The first words of it"))
        // While that preview is being sent and the edit interval runs, newer text is just taken.
        expect(offer(delta("The first words of it and more"))).toBe(true)
        expect(offer(delta("The first words of it and more words"))).toBe(true)
        yield* Effect.sleep("120 millis")
        // The edit showed the newest offered text; its fiber is done, so the next delta needs `emit` again.
        expect([...platform.messages.values()]).toEqual(["The first words of it and more words"])
        expect(offer(delta("The first words of it and more words, then some"))).toBe(false)
        yield* sink.emit(completed("Done."))
        expect([...platform.messages.values()]).toEqual(["Done."])
      })
    ))

  test("a long final answer is split: the streamed message takes the first chunk, the rest are new messages", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const platform = fakePlatform()
        const sink = makeStreamingReply(target, platform.ops, options, store, yield* Effect.scope)
        yield* sink.emit(delta("Some streamed text that is long enough"))
        yield* Effect.sleep("20 millis")
        const final = Array.from({ length: 6 }, (_, i) => `Paragraph ${i} has some words in it.`).join("\n\n")
        yield* sink.emit(completed(final))
        const texts = [...platform.messages.values()]
        expect(texts.length).toBeGreaterThan(1)
        for (const t of texts) expect(t.length).toBeLessThanOrEqual(100)
        expect(texts.join("\n\n")).toBe(final)
        const pending = yield* store.outboxPending("test:1")
        expect(pending).toEqual([])
      })
    ))

  test("without streaming only the final chunks are sent, and a chunk already sent is never sent again", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const platform = fakePlatform()
        const sink = makeStreamingReply(target, platform.ops, { ...options, stream: false }, store, yield* Effect.scope)
        yield* sink.emit(delta("partial text that would have been streamed"))
        yield* sink.emit(completed("final"))
        // The same turn delivered again (e.g. retried after a crash): the outbox says chunk 0 is out.
        const again = makeStreamingReply(
          target,
          platform.ops,
          { ...options, stream: false },
          store,
          yield* Effect.scope
        )
        yield* again.emit(completed("final"))
        expect(platform.log).toEqual(["send#0 m1"])
      })
    ))

  test("a send whose outcome is unknown is recorded as such", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const failSend = new DeliveryError({ channel: "test:1", reason: "timeout", ambiguous: true })
        const platform = fakePlatform({ failSend })
        const sink = makeStreamingReply(target, platform.ops, { ...options, stream: false }, store, yield* Effect.scope)
        const result = yield* Effect.either(sink.emit(completed("hello")))
        expect(result._tag).toBe("Left")
        expect((yield* store.outboxGet(outboxKey("turn1", 0)))?.status).toBe("unknown")
      })
    ))

  test("a first message whose send was in flight when the answer completed is edited, not posted again", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const platform = fakePlatform({ sendDelay: Effect.sleep("40 millis") })
        const sink = makeStreamingReply(target, platform.ops, options, store, yield* Effect.scope)
        yield* sink.emit(delta("The beginning of a streamed answer"))
        yield* Effect.sleep("10 millis")
        // The send is talking to the platform now; the answer completes before it returns.
        yield* sink.emit(completed("The beginning of a streamed answer, and its end."))
        expect(platform.log).toEqual(["send#0 m1", "edit m1"])
        expect([...platform.messages.values()]).toEqual(["The beginning of a streamed answer, and its end."])
      })
    ))

  test("a chunk with an unknown outcome is never sent again; the chunks after it still go", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const failSend = new DeliveryError({ channel: "test:1", reason: "timeout", ambiguous: true })
        const platform = fakePlatform({ failSend, failChunk: 0 })
        const final = Array.from({ length: 6 }, (_, i) => `Paragraph ${i} has some words in it.`).join("\n\n")
        const noStream = { ...options, stream: false }
        const sink = makeStreamingReply(target, platform.ops, noStream, store, yield* Effect.scope)
        const result = yield* Effect.either(sink.emit(completed(final)))
        expect(result._tag).toBe("Left")
        const sent = platform.log.length
        expect(sent).toBeGreaterThan(0)
        expect(platform.log.every((line) => !line.startsWith("send#0"))).toBe(true)
        // Delivered again (a retry of the same turn): the unknown chunk stays unsent, the rest is not repeated.
        const healthy = fakePlatform()
        const again = makeStreamingReply(target, healthy.ops, noStream, store, yield* Effect.scope)
        const second = yield* Effect.either(again.emit(completed(final)))
        expect(second._tag).toBe("Left")
        expect(healthy.log).toEqual([])
        expect((yield* store.outboxGet(outboxKey("turn1", 0)))?.status).toBe("unknown")
      })
    ))

  test("a turn delivered again edits the message it had already streamed", () =>
    run(
      Effect.gen(function* () {
        const store = yield* Store
        const platform = fakePlatform()
        const first = makeStreamingReply(target, platform.ops, options, store, yield* Effect.scope)
        yield* first.emit(delta("A streamed preview of the answer"))
        yield* Effect.sleep("20 millis")
        // The first delivery stops here (a crash); the turn is delivered again with its final text.
        const again = makeStreamingReply(target, platform.ops, options, store, yield* Effect.scope)
        yield* again.emit(completed("A streamed preview of the answer, finished."))
        expect(platform.log).toEqual(["send#0 m1", "edit m1"])
        expect([...platform.messages.values()]).toEqual(["A streamed preview of the answer, finished."])
      })
    ))
})
