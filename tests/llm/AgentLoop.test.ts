import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { CONTINUE_PROMPT, NO_MORE_TOOLS, runTurn, TurnFailed } from "../../core/llm/AgentLoop.ts"
import { Metrics, MetricsRegistry } from "../../core/metrics/Metrics.ts"
import { Store } from "../../core/store/Store.ts"
import { type FakeLlm, startFakeLlm } from "../fakes/llm/index.ts"
import {
  anthropicAt,
  collector,
  inbound,
  nextEvent,
  openaiAt,
  passBackoff,
  persona,
  run,
  toolsLayer,
  turnInput
} from "./support.ts"

let llm: FakeLlm

beforeAll(async () => {
  llm = await startFakeLlm()
})
afterAll(() => llm.stop())
beforeEach(() => llm.reset())

const apis = [
  { api: "openai", provider: () => openaiAt(llm), model: "gpt-4o-mini" },
  { api: "anthropic", provider: () => anthropicAt(llm), model: "claude-sonnet-5-5" }
] as const

describe.each(apis)("streaming ($api)", ({ api, provider, model }) => {
  test("a caller's synchronous offer takes the deltas it accepts; the rest still come through emit, in order", async () => {
    llm.script({ text: "The quick brown fox jumps over", usage: { input: 30, output: 7 } })
    const sage = persona({ model: { provider: api === "openai" ? "fakeai" : "fakeclaude", model } })
    const { offered, emitted, result } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const offered: Array<string> = []
        let n = 0
        const result = yield* runTurn(
          turnInput(sage, collected, {
            // Every other delta is taken here (as a channel does while an edit is under way), typing too.
            offer: (event) => {
              if (event._tag === "ReplyDelta" && n++ % 2 === 1) return false
              offered.push(event._tag === "ReplyDelta" ? event.delta : "typing")
              return true
            }
          })
        )
        return { offered, emitted: collected.events.map((e) => (e._tag === "ReplyDelta" ? e.delta : e._tag)), result }
      }),
      { providers: [provider()] }
    )
    expect(offered).toEqual(["typing", "The ", "brown ", "jumps "])
    expect(emitted).toEqual(["quick ", "fox ", "over"])
    expect(result.text).toBe("The quick brown fox jumps over")
  })

  test("deltas arrive in order and the answer and transcript equal what was streamed", async () => {
    llm.script({ text: "The quick brown fox jumps over", usage: { input: 30, output: 7 } })
    const sage = persona({ model: { provider: api === "openai" ? "fakeai" : "fakeclaude", model } })
    const { result, deltas, usage } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const result = yield* runTurn(turnInput(sage, collected))
        const store = yield* Store
        return { result, deltas: collected.deltas(), usage: yield* store.usage({ persona: "sage" }) }
      }),
      { providers: [provider()] }
    )
    expect(deltas.map((d) => d.delta)).toEqual(["The ", "quick ", "brown ", "fox ", "jumps ", "over"])
    expect(deltas.map((d) => d.text).at(-1)).toBe("The quick brown fox jumps over")
    // Each delta's `text` is the running total.
    deltas.reduce((text, d) => {
      expect(d.text).toBe(text + d.delta)
      return d.text
    }, "")
    expect(result.text).toBe("The quick brown fox jumps over")
    expect(result.finishReason).toBe("stop")
    expect(result.usage).toEqual({ input: 30, output: 7 })
    expect(result.transcript).toHaveLength(1)
    expect(result.transcript[0]).toMatchObject({ role: "assistant", content: result.text, turnId: "turn-1" })
    expect(usage).toEqual([
      { persona: "sage", provider: provider().name, model, day: "1970-01-01", input: 30, output: 7 }
    ])
    // The request carried the system prompt and the user's message.
    const body = llm.requests[0]!.body
    const system = api === "openai" ? body.messages[0].content : body.system
    expect(system).toContain("You are Sage")
    expect(system).toContain("Current date and time: Thursday, 1970-01-01 00:00 UTC")
    expect(JSON.stringify(body.messages.at(-1))).toContain("hello")
    expect(body.stream).toBe(true)
  })

  test("a two-step tool conversation: call, result back to the model, final answer", async () => {
    llm.script(
      { text: "Let me look.", toolCalls: [{ id: "call_w1", name: "weather", arguments: { city: "Oslo" } }] },
      { text: "It is sunny in Oslo." }
    )
    const sage = persona({
      model: { provider: api === "openai" ? "fakeai" : "fakeclaude", model },
      tools: ["weather"],
      tool_options: { weather: { units: "metric" } }
    })
    const calls: Array<{ name: string; args: string; options: unknown }> = []
    const tools = toolsLayer({ weather: (args) => Effect.succeed(`sunny in ${args.city}`) }, calls)
    const { result, events } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const result = yield* runTurn(turnInput(sage, collected))
        return { result, events: collected.events }
      }),
      { providers: [provider()], tools }
    )
    expect(calls).toEqual([{ name: "weather", args: '{"city":"Oslo"}', options: { units: "metric" } }])
    const tags = events.filter((e) => e._tag !== "ReplyDelta" && e._tag !== "Typing").map((e) => e._tag)
    expect(tags).toEqual(["ToolCalled", "ToolResult"])
    expect(events.find((e) => e._tag === "ToolCalled")).toMatchObject({
      callId: "call_w1",
      tool: "weather",
      arguments: '{"city":"Oslo"}'
    })
    expect(events.find((e) => e._tag === "ToolResult")).toMatchObject({
      callId: "call_w1",
      ok: true,
      result: "sunny in Oslo"
    })
    expect(result.text).toBe("Let me look.\n\nIt is sunny in Oslo.")
    expect(result.transcript.map((m) => [m.role, m.content, m.toolCallId ?? m.toolCalls?.[0]?.id])).toEqual([
      ["assistant", "Let me look.", "call_w1"],
      ["tool", "sunny in Oslo", "call_w1"],
      ["assistant", "It is sunny in Oslo.", undefined]
    ])
    // The second request carries the call and its result in the API's own shape.
    const second = JSON.stringify(llm.requests[1]!.body.messages)
    if (api === "openai") {
      expect(second).toContain('"tool_call_id":"call_w1"')
      expect(second).toContain('"tool_calls":[{"id":"call_w1"')
    } else {
      expect(second).toContain('"type":"tool_use","id":"call_w1"')
      expect(second).toContain('"type":"tool_result","tool_use_id":"call_w1","content":"sunny in Oslo"')
    }
    expect(llm.requests[0]!.body.tools).toHaveLength(1)
  })
})

describe("tools", () => {
  test("parallel tool calls run concurrently", async () => {
    llm.script(
      {
        toolCalls: [
          { id: "c1", name: "slow_a", arguments: {} },
          { id: "c2", name: "slow_b", arguments: {} }
        ]
      },
      { text: "both done" }
    )
    const sage = persona({ model: { provider: "fakeai" }, tools: ["slow_a", "slow_b"] })
    const result = await run(
      Effect.gen(function* () {
        // Each tool waits until both have started: run one after the other, they would wait forever.
        const started = yield* Ref.make(0)
        const both = yield* Deferred.make<void>()
        const tool = (name: string) => () =>
          Effect.gen(function* () {
            if ((yield* Ref.updateAndGet(started, (n) => n + 1)) === 2) yield* Deferred.succeed(both, undefined)
            yield* Deferred.await(both)
            return `${name} ok`
          })
        const collected = yield* collector
        return yield* runTurn(turnInput(sage, collected)).pipe(
          Effect.provide(toolsLayer({ slow_a: tool("a"), slow_b: tool("b") }))
        )
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(result.text).toBe("both done")
    expect(result.transcript.filter((m) => m.role === "tool").map((m) => m.content)).toEqual(["a ok", "b ok"])
    const messages = llm.requests[1]!.body.messages
    expect(messages.filter((m: any) => m.role === "tool").map((m: any) => m.tool_call_id)).toEqual(["c1", "c2"])
  })

  test("past max_tool_iterations the model is asked to answer without tools", async () => {
    const call = (id: string) => ({ toolCalls: [{ id, name: "lookup", arguments: { q: id } }] })
    llm.script(call("t1"), call("t2"), { text: "Here is what I found." })
    const sage = persona({ model: { provider: "fakeai", max_tool_iterations: 2 }, tools: ["lookup"] })
    const result = await run(
      Effect.gen(function* () {
        return yield* runTurn(turnInput(sage, yield* collector))
      }),
      { providers: [openaiAt(llm)], tools: toolsLayer({ lookup: (args) => Effect.succeed(`found ${args.q}`) }) }
    )
    expect(llm.requests).toHaveLength(3)
    expect(llm.requests.slice(0, 2).map((r) => r.body.tool_choice)).toEqual([undefined, undefined])
    const last = llm.requests[2]!.body
    expect(last.tool_choice).toBe("none")
    expect(last.messages[0].content).toContain(NO_MORE_TOOLS)
    expect(result.text).toBe("Here is what I found.")
    expect(result.transcript.map((m) => m.role)).toEqual(["assistant", "tool", "assistant", "tool", "assistant"])
  })
})

describe("retry and fallback", () => {
  test("a 429 is retried after the server's retry-after, then the answer streams", async () => {
    llm.script({ error: 429, retryAfter: 2 }, { text: "second time lucky" })
    const sage = persona({ model: { provider: "fakeai" } })
    const { result, failed } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
        const failed = yield* nextEvent(collected, "LlmAttemptFailed")
        expect(llm.requestCount).toBe(1)
        yield* passBackoff(failed.delayMs!)
        return { result: yield* Fiber.join(fiber), failed }
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(failed).toMatchObject({ provider: "fakeai", attempt: 1, next: "retry", delayMs: 2000 })
    expect(failed.reason).toContain("rate_limit")
    expect(result.text).toBe("second time lucky")
    expect(llm.requestCount).toBe(2)
  })

  test("500 everywhere on the main model: retried, then the fallback provider answers", async () => {
    llm.scriptFor("primary-model", { error: 500 }, { error: 502 }, { error: 503 })
    const sage = persona({
      model: { provider: "fakeai", model: "primary-model", fallbacks: ["fakeclaude/claude-3-5-haiku"] }
    })
    const { result, failed } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
        for (let i = 0; i < 2; i++) {
          const event = yield* nextEvent(collected, "LlmAttemptFailed")
          yield* passBackoff(event.delayMs!)
        }
        const result = yield* Fiber.join(fiber)
        return { result, failed: collected.ofTag("LlmAttemptFailed") }
      }),
      { providers: [openaiAt(llm), anthropicAt(llm)] }
    )
    expect(failed.map((e) => [e.provider, e.attempt, e.next])).toEqual([
      ["fakeai", 1, "retry"],
      ["fakeai", 2, "retry"],
      ["fakeai", 3, "fallback"]
    ])
    expect(failed[0]!.delayMs).toBeGreaterThanOrEqual(250)
    expect(failed[0]!.delayMs).toBeLessThanOrEqual(500)
    expect(failed[1]!.delayMs).toBeGreaterThanOrEqual(500)
    expect(failed[1]!.delayMs).toBeLessThanOrEqual(1000)
    expect(result).toMatchObject({ provider: "fakeclaude", model: "claude-3-5-haiku", text: "echo: hello" })
    expect(llm.requests.map((r) => r.api)).toEqual(["openai", "openai", "openai", "anthropic"])
  })

  test("all providers down: a friendly message in the persona's language", async () => {
    llm.onRequest(() => ({ error: 503 }))
    const sage = persona({
      language: "ru",
      model: { provider: "fakeai", fallbacks: ["fakeclaude/claude-3-5-haiku"] }
    })
    const error = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
        for (let i = 0; i < 2; i++) yield* passBackoff((yield* nextEvent(collected, "LlmAttemptFailed")).delayMs!)
        expect((yield* nextEvent(collected, "LlmAttemptFailed")).next).toBe("fallback")
        for (let i = 0; i < 2; i++) yield* passBackoff((yield* nextEvent(collected, "LlmAttemptFailed")).delayMs!)
        const last = yield* nextEvent(collected, "LlmAttemptFailed")
        expect([last.provider, last.next]).toEqual(["fakeclaude", "give_up"])
        return yield* Effect.flip(Fiber.join(fiber))
      }),
      { providers: [openaiAt(llm), anthropicAt(llm)] }
    )
    expect(error).toBeInstanceOf(TurnFailed)
    expect(error.kind).toBe("providers")
    expect(error.userText).toBe("Не получилось ответить прямо сейчас, попробуйте ещё раз чуть позже.")
    expect(error.reason).toContain("overloaded (503)")
    expect(llm.requestCount).toBe(6)
  })

  test("an auth error is not retried: straight to the fallback", async () => {
    llm.scriptFor("gpt-4o-mini", { error: 401 })
    const sage = persona({ model: { provider: "fakeai", fallbacks: ["fakeclaude/claude-3-5-haiku"] } })
    const { result, failed } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const result = yield* runTurn(turnInput(sage, collected))
        return { result, failed: collected.ofTag("LlmAttemptFailed") }
      }),
      { providers: [openaiAt(llm), anthropicAt(llm)] }
    )
    expect(failed.map((e) => [e.attempt, e.next, e.delayMs])).toEqual([[1, "fallback", undefined]])
    expect(failed[0]!.reason).toContain("auth (401)")
    expect(result.provider).toBe("fakeclaude")
    expect(llm.requests.map((r) => r.api)).toEqual(["openai", "anthropic"])
  })

  test("a stream cut mid-way is retried, and the channel is told to start over", async () => {
    llm.script({ cutAfterChunks: 2, text: "one two three four" }, { text: "a fresh answer" })
    const sage = persona({ model: { provider: "fakeai" } })
    const { result, deltas } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
        const failed = yield* nextEvent(collected, "LlmAttemptFailed")
        expect(failed.reason).toContain("connection")
        expect(failed.next).toBe("retry")
        yield* passBackoff(failed.delayMs!)
        return { result: yield* Fiber.join(fiber), deltas: collected.deltas() }
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(deltas.map((d) => [d.delta, d.text, d.reset ?? false])).toEqual([
      ["one ", "one ", false],
      ["two ", "one two ", false],
      ["", "", true],
      ["a ", "a ", false],
      ["fresh ", "a fresh ", false],
      ["answer", "a fresh answer", false]
    ])
    expect(result.text).toBe("a fresh answer")
    expect(result.transcript.map((m) => m.content)).toEqual(["a fresh answer"])
  })

  test("a stalled response times out and is retried", async () => {
    llm.script({ hangMs: 5_000 }, { text: "awake now" })
    const sage = persona({ model: { provider: "fakeai", timeout: "150ms" } })
    const { result, failed } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
        const failed = yield* nextEvent(collected, "LlmAttemptFailed")
        yield* passBackoff(failed.delayMs!)
        return { result: yield* Fiber.join(fiber), failed }
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(failed.reason).toContain("timeout")
    expect(result.text).toBe("awake now")
  })
})

describe("token budget", () => {
  test("an answer cut for length is continued with a doubled budget and shown as one answer", async () => {
    llm.script(
      { text: "The first part, ", finish: "length", usage: { input: 50, output: 256 } },
      { text: "and the end.", usage: { input: 60, output: 20 } }
    )
    const sage = persona({ model: { provider: "fakeai", initial_tokens: 256, max_tokens: 1024 } })
    const { result, deltas } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const result = yield* runTurn(turnInput(sage, collected))
        return { result, deltas: collected.deltas() }
      }),
      { providers: [openaiAt(llm, "fakeai", { baseUrl: llm.openaiBaseUrl })] }
    )
    expect(result.text).toBe("The first part, and the end.")
    expect(deltas.at(-1)!.text).toBe(result.text)
    expect(deltas.some((d) => d.reset)).toBe(false)
    expect(result.usage).toEqual({ input: 110, output: 276 })
    expect(result.finishReason).toBe("stop")
    expect(result.transcript.map((m) => m.content)).toEqual(["The first part, and the end."])
    const [first, second] = llm.requests.map((r) => r.body)
    expect([first.max_tokens, second.max_tokens]).toEqual([256, 512])
    expect(second.messages.slice(-2)).toEqual([
      { role: "assistant", content: "The first part, " },
      { role: "user", content: CONTINUE_PROMPT }
    ])
  })

  test("the answer as a whole never uses more than max_tokens", async () => {
    llm.onRequest(() => ({ text: "more ", finish: "length" }))
    const sage = persona({ model: { provider: "fakeai", initial_tokens: 100, max_tokens: 400 } })
    const result = await run(
      Effect.gen(function* () {
        return yield* runTurn(turnInput(sage, yield* collector))
      }),
      { providers: [openaiAt(llm)] }
    )
    // A call cut for length counts as its whole budget (the fake reports 2 tokens): 100, 200, then the last 100.
    expect(llm.requests.map((r) => r.body.max_tokens)).toEqual([100, 200, 100])
    expect(result.text).toBe("more more more ")
    expect(result.finishReason).toBe("length")
  })

  test("a persona past its daily token cap gets the budget message without calling the model", async () => {
    const sage = persona({ language: "uk", model: { provider: "fakeai", daily_tokens: 1000 } })
    const error = await run(
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.addUsage({
          persona: "sage",
          provider: "fakeai",
          model: "gpt-4o-mini",
          day: "1970-01-01",
          input: 700,
          output: 300
        })
        yield* store.addUsage({
          persona: "other",
          provider: "fakeai",
          model: "gpt-4o-mini",
          day: "1970-01-01",
          input: 1,
          output: 1
        })
        return yield* Effect.flip(runTurn(turnInput(sage, yield* collector)))
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(error.kind).toBe("budget")
    expect(error.userText).toBe("На сьогодні мій ліміт повідомлень вичерпано. Продовжимо завтра!")
    expect(error.reason).toContain("1000 of 1000")
    expect(llm.requestCount).toBe(0)
  })

  test("under the cap the turn runs and its usage counts toward the day", async () => {
    llm.script({ text: "fine", usage: { input: 10, output: 2 } })
    const sage = persona({ model: { provider: "fakeai", daily_tokens: 1000 } })
    const rows = await run(
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.addUsage({
          persona: "sage",
          provider: "fakeai",
          model: "gpt-4o-mini",
          day: "1970-01-01",
          input: 900,
          output: 0
        })
        yield* runTurn(turnInput(sage, yield* collector))
        return yield* store.usage({ persona: "sage", day: "1970-01-01" })
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(rows.map((row) => row.input + row.output)).toEqual([912])
  })
})

describe("metrics", () => {
  test("latency and tokens of each call are recorded when the runtime has a metrics registry", async () => {
    llm.script({ text: "counted", usage: { input: 12, output: 3 } })
    const registry = new MetricsRegistry()
    const sage = persona({ model: { provider: "fakeai" } })
    await run(
      Effect.gen(function* () {
        yield* runTurn(turnInput(sage, yield* collector)).pipe(Effect.provideService(Metrics, registry))
      }),
      { providers: [openaiAt(llm)] }
    )
    const text = registry.render()
    const labels = 'persona="sage",provider="fakeai",model="gpt-4o-mini"'
    expect(text).toContain(`troupe_llm_tokens_total{${labels},direction="in"} 12`)
    expect(text).toContain(`troupe_llm_tokens_total{${labels},direction="out"} 3`)
    expect(text).toContain(`troupe_llm_latency_seconds_count{${labels}} 1`)
  })
})

describe("cancellation", () => {
  test("interrupting a turn aborts the HTTP request at the server", async () => {
    // A tap in front of the fake sees the client's request go away.
    const aborted: string[] = []
    const tap = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      async fetch(req) {
        const path = new URL(req.url).pathname
        req.signal.addEventListener("abort", () => aborted.push(path))
        return fetch(`${llm.url}${path}`, {
          method: req.method,
          headers: req.headers,
          body: await req.text(),
          signal: req.signal
        })
      }
    })
    try {
      // The first word comes after one delay, the next would come 200 ms later, the stream would end in a second.
      llm.script({ text: "a b c d e f", chunkDelayMs: 200 })
      const sage = persona({ model: { provider: "fakeai" } })
      const deltas = await run(
        Effect.gen(function* () {
          const collected = yield* collector
          const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
          yield* nextEvent(collected, "ReplyDelta")
          yield* Fiber.interrupt(fiber)
          yield* Effect.promise(() => waitFor(() => aborted.length > 0, 2_000))
          return collected.deltas()
        }),
        { providers: [openaiAt(llm, "fakeai", { baseUrl: `http://127.0.0.1:${tap.port}/v1` })] }
      )
      expect(deltas.map((d) => d.delta)).toEqual(["a "])
      expect(aborted).toEqual(["/v1/chat/completions"])
    } finally {
      await tap.stop(true)
    }
  })
})

describe("multimodal", () => {
  const png = Buffer.from("fake png bytes").toString("base64")
  const withImage = inbound("what is this?", {
    attachments: [{ kind: "image", mime: "image/png", data: png, name: "cat.png" }]
  })

  test("an image reaches a vision model as an image part (OpenAI) and an image block (Anthropic)", async () => {
    const sage = persona({ model: { provider: "fakeai", model: "gpt-4o", fallbacks: [] } })
    await run(
      Effect.gen(function* () {
        yield* runTurn(turnInput(sage, yield* collector, { messages: [withImage] }))
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(llm.requests[0]!.body.messages.at(-1).content).toEqual([
      { type: "text", text: "what is this?" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }
    ])
    const claude = persona({ model: { provider: "fakeclaude", model: "claude-sonnet-5-5" } })
    await run(
      Effect.gen(function* () {
        yield* runTurn(turnInput(claude, yield* collector, { messages: [withImage] }))
      }),
      { providers: [anthropicAt(llm)] }
    )
    expect(llm.requests[1]!.body.messages.at(-1).content).toEqual([
      { type: "text", text: "what is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: png } }
    ])
  })

  test("a model without vision gets a short note instead of the image", async () => {
    const sage = persona({ model: { provider: "fakeai", model: "llama-3.1-8b-instant" } })
    await run(
      Effect.gen(function* () {
        yield* runTurn(turnInput(sage, yield* collector, { messages: [withImage] }))
      }),
      { providers: [openaiAt(llm)] }
    )
    const content = llm.requests[0]!.body.messages.at(-1).content
    expect(content).toBe("what is this? [an image was attached, but you cannot see images]")
    // The persona can say its model sees images after all.
    const seeing = persona({ model: { provider: "fakeai", model: "llama-3.1-8b-instant", vision: true } })
    await run(
      Effect.gen(function* () {
        yield* runTurn(turnInput(seeing, yield* collector, { messages: [withImage] }))
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(llm.requests[1]!.body.messages.at(-1).content[1].type).toBe("image_url")
  })
})

describe("prompt", () => {
  test("history, names in group chats, room context and examples reach the model", async () => {
    const sage = persona({
      model: { provider: "fakeai" },
      examples: [{ user: "hi", assistant: "Greetings, traveller." }]
    })
    const group = { id: "-100", kind: "group" as const, title: "Friends" }
    await run(
      Effect.gen(function* () {
        yield* runTurn(
          turnInput(sage, yield* collector, {
            history: [
              { id: 1, conversationId: "c", role: "user", content: "first", at: 0, authorName: "Bob" },
              { id: 2, conversationId: "c", role: "assistant", content: "reply one", at: 0 }
            ],
            messages: [inbound("and now?", { chat: group, author: { id: "u2", name: "Cleo", isBot: false } })],
            room: {
              users: [{ name: "Bob" }, { name: "Cleo", afk: true }],
              media: { title: "Big Buck Bunny", type: "yt", id: "x", durationSec: 596, positionSec: 83 },
              recent: [{ user: "Bob", text: "lol", at: 0 }]
            }
          })
        )
      }),
      { providers: [openaiAt(llm)] }
    )
    const messages = llm.requests[0]!.body.messages
    expect(messages.slice(1)).toEqual([
      { role: "user", content: "Bob: first" },
      { role: "assistant", content: "reply one" },
      { role: "user", content: "Cleo: and now?" }
    ])
    const system: string = messages[0].content
    expect(system).toContain("User: hi\nYou: Greetings, traveller.")
    expect(system).toContain("People here (2): Bob, Cleo (away)")
    expect(system).toContain('Now playing: "Big Buck Bunny" (yt), 1:23 of 9:56')
    expect(system).toContain("Recent chat:\nBob: lol")
  })

  test("a scheduled instruction is given to the model when there is no user message", async () => {
    const sage = persona({ model: { provider: "fakeai" } })
    const result = await run(
      Effect.gen(function* () {
        return yield* runTurn(
          turnInput(sage, yield* collector, { messages: [], instruction: "Remind Ann to drink water" })
        )
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(llm.requests[0]!.body.messages.at(-1).content).toContain("Remind Ann to drink water")
    expect(result.text).toContain("Remind Ann to drink water")
  })

  test("with a small context window the oldest history is trimmed and tool calls keep their results", async () => {
    const long = "x".repeat(400) // ~100 tokens
    const history = [
      { id: 1, conversationId: "c", role: "user" as const, content: `old ${long}`, at: 0 },
      {
        id: 2,
        conversationId: "c",
        role: "assistant" as const,
        content: "",
        at: 0,
        toolCalls: [{ id: "k1", name: "lookup", arguments: "{}" }]
      },
      { id: 3, conversationId: "c", role: "tool" as const, content: long, at: 0, toolCallId: "k1", toolName: "lookup" },
      { id: 4, conversationId: "c", role: "assistant" as const, content: `done ${long}`, at: 0 },
      { id: 5, conversationId: "c", role: "user" as const, content: "newest question", at: 0 },
      { id: 6, conversationId: "c", role: "assistant" as const, content: "newest answer", at: 0 }
    ]
    // 620 tokens, minus 5%, minus 256 output, minus the system prompt and this turn (~65): ~270 left, room for
    // everything but the oldest message (~105 tokens; the tool call with its result is ~115).
    const sage = persona({ model: { provider: "fakeai", context_window: 620, max_tokens: 256 } })
    await run(
      Effect.gen(function* () {
        yield* runTurn(turnInput(sage, yield* collector, { history }))
      }),
      { providers: [openaiAt(llm)] }
    )
    const sent = llm.requests[0]!.body.messages.slice(1)
    const roles = sent.map((m: any) => m.role)
    expect(sent.at(-1)).toEqual({ role: "user", content: "hello" })
    expect(sent.slice(-3, -1)).toEqual([
      { role: "user", content: "newest question" },
      { role: "assistant", content: "newest answer" }
    ])
    expect(sent.some((m: any) => typeof m.content === "string" && m.content.startsWith("old"))).toBe(false)
    expect(roles).toEqual(["assistant", "tool", "assistant", "user", "assistant", "user"])
    expect(sent[0].tool_calls[0].id).toBe("k1")
    expect(sent[1].tool_call_id).toBe("k1")
  })
})

describe("empty answers", () => {
  test("an empty completion becomes the short error message instead of silence", async () => {
    llm.script({ text: "" })
    const sage = persona({ model: { provider: "fakeai" } })
    const error = await run(
      Effect.gen(function* () {
        return yield* Effect.flip(runTurn(turnInput(sage, yield* collector)))
      }),
      { providers: [openaiAt(llm)] }
    )
    expect(error.kind).toBe("providers")
    expect(error.reason).toContain("empty answer")
    expect(error.userText).toBe("I couldn't answer right now, please try again in a moment.")
  })
})

describe("local providers", () => {
  test("the echo provider streams the user's message back word by word", async () => {
    const { makeEchoProvider } = await import("../../core/llm/EchoProvider.ts")
    const sage = persona({ model: { provider: "echo" } })
    const { result, deltas } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const result = yield* runTurn(turnInput(sage, collected, { messages: [inbound("good morning")] }))
        return { result, deltas: collected.deltas().map((d) => d.delta) }
      }),
      { providers: [makeEchoProvider()] }
    )
    expect(result.text).toBe("[echo] good morning")
    expect(deltas).toEqual(["[echo] ", "good ", "morning"])
    expect(result.usage.output).toBeGreaterThan(0)
  })

  test("the instant provider answers through the whole loop, continuation included", async () => {
    const { makeInstantProvider } = await import("../../core/llm/InstantProvider.ts")
    const sage = persona({ model: { provider: "instant", initial_tokens: 16, max_tokens: 100 } })
    const result = await run(
      Effect.gen(function* () {
        return yield* runTurn(turnInput(sage, yield* collector))
      }),
      { providers: [makeInstantProvider({ reply: "word ".repeat(30) })] }
    )
    // 16 tokens ≈ 64 characters, then 32 more tokens: the 150 characters arrive whole over two calls.
    expect(result.text).toBe("word ".repeat(30))
    expect(result.usage.output).toBe(16 + 22)
    expect(result.finishReason).toBe("stop")
  })

  test("events taken through poll and through next give the same deltas, in order, with a caller refusing some", async () => {
    const { makeInstantProvider } = await import("../../core/llm/InstantProvider.ts")
    const instant = makeInstantProvider({ reply: "one two three four five" })
    // The same provider whose completions offer only `next`.
    const pullOnly = {
      ...instant,
      name: "pull-only",
      start: (request: Parameters<typeof instant.start>[0]) => {
        const { next, cancel } = instant.start(request)
        return { next, cancel }
      }
    }
    const turn = (provider: string) =>
      Effect.gen(function* () {
        const collected = yield* collector
        const order: Array<string> = []
        let n = 0
        const result = yield* runTurn(
          turnInput(persona({ model: { provider } }), collected, {
            offer: (event) => {
              if (event._tag !== "ReplyDelta") return false
              if (n++ % 2 === 0) return false
              order.push(`offered ${event.delta}`)
              return true
            }
          })
        )
        const emitted = collected.deltas().map((d) => d.delta)
        return { result: result.text, offered: order, emitted }
      })
    const [polled, pulled] = await run(Effect.all([turn("instant"), turn("pull-only")]), {
      providers: [instant, pullOnly]
    })
    expect(polled).toEqual(pulled)
    expect(polled.offered).toEqual(["offered two ", "offered four "])
    expect(polled.emitted).toEqual(["one ", "three ", "five"])
    expect(polled.result).toBe("one two three four five")
  })

  test("a persona naming an unknown provider fails with a config error", async () => {
    const sage = persona({ model: { provider: "groq" } })
    const error = await run(
      Effect.flip(
        Effect.gen(function* () {
          return yield* runTurn(turnInput(sage, yield* collector))
        })
      ),
      { providers: [] }
    )
    expect(error.kind).toBe("config")
    expect(error.reason).toContain("groq")
    expect(error.userText).toContain("not configured")
  })
})

/** Resolve once `predicate` holds; reject after `timeoutMs`. */
const waitFor = async (predicate: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error("waitFor: timed out")
    await Bun.sleep(5)
  }
}
