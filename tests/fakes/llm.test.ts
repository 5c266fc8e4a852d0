import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import Anthropic, * as AnthropicErrors from "@anthropic-ai/sdk"
import OpenAI, * as OpenAIErrors from "openai"
import { type FakeLlm, startFakeLlm } from "./llm/index.ts"

let llm: FakeLlm
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  llm = await startFakeLlm()
  openai = new OpenAI({ apiKey: "test", baseURL: llm.openaiBaseUrl, maxRetries: 0 })
  anthropic = new Anthropic({ apiKey: "test", baseURL: llm.anthropicBaseUrl, maxRetries: 0 })
})
afterAll(() => llm.stop())
beforeEach(() => llm.reset())

const openaiStream = (content: string, extra: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {}) =>
  openai.chat.completions.create({
    model: "gpt-fake",
    messages: [{ role: "user", content }],
    stream: true,
    stream_options: { include_usage: true },
    ...extra
  })

const anthropicStream = (content: string, extra: Partial<Anthropic.MessageCreateParamsStreaming> = {}) =>
  anthropic.messages.create({
    model: "claude-fake",
    max_tokens: 100,
    messages: [{ role: "user", content }],
    stream: true,
    ...extra
  })

/** Iterate a stream to its end, returning the items seen and the error that ended it (if any). */
const drain = async <T>(stream: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> => {
  const items: T[] = []
  try {
    for await (const item of stream) items.push(item)
    return { items, error: undefined }
  } catch (error) {
    return { items, error }
  }
}

const caught = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

describe("OpenAI Chat Completions", () => {
  test("streamed text arrives as several deltas that join to the scripted text, with usage", async () => {
    llm.script({ text: "The quick brown fox jumps", usage: { input: 11, output: 7 } })
    const { items, error } = await drain(await openaiStream("hi"))
    expect(error).toBeUndefined()
    const deltas = items.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? "")).filter(Boolean)
    expect(deltas.length).toBeGreaterThanOrEqual(3)
    expect(deltas.join("")).toBe("The quick brown fox jumps")
    expect(items.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter(Boolean)).toEqual([
      "stop"
    ])
    expect(items.at(-1)?.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 })
  })

  test("the default reply echoes the last user message, streamed or not, with estimated usage", async () => {
    const completion = await openai.chat.completions.create({
      model: "gpt-fake",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "first" },
        { role: "assistant", content: "ok" },
        { role: "user", content: [{ type: "text", text: "second question" }] }
      ]
    })
    expect(completion.choices[0]?.message.content).toBe("echo: second question")
    expect(completion.choices[0]?.finish_reason).toBe("stop")
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0)
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0)

    const final = await openai.chat.completions
      .stream({ model: "gpt-fake", messages: [{ role: "user", content: "again" }] })
      .finalChatCompletion()
    expect(final.choices[0]?.message.content).toBe("echo: again")
  })

  test("a streamed tool call reassembles from argument fragments", async () => {
    llm.script({ toolCalls: [{ id: "call_abc", name: "get_weather", arguments: { city: "Oslo", days: 3 } }] })
    const { items } = await drain(await openaiStream("weather?"))
    const calls = items.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])
    expect(calls[0]).toMatchObject({ index: 0, id: "call_abc", type: "function", function: { name: "get_weather" } })
    const fragments = calls.map((call) => call.function?.arguments ?? "").filter(Boolean)
    expect(fragments.length).toBeGreaterThan(1)
    expect(JSON.parse(fragments.join(""))).toEqual({ city: "Oslo", days: 3 })
    expect(items.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter(Boolean)).toEqual([
      "tool_calls"
    ])
  })

  test("two parallel tool calls come back through the SDK's stream helper", async () => {
    llm.script({
      text: "Let me check.",
      toolCalls: [
        { name: "get_weather", arguments: { city: "Oslo" } },
        { name: "get_time", arguments: '{"tz":"Europe/Oslo"}' }
      ]
    })
    const final = await openai.chat.completions
      .stream({ model: "gpt-fake", messages: [{ role: "user", content: "go" }] })
      .finalChatCompletion()
    const message = final.choices[0]?.message
    expect(final.choices[0]?.finish_reason).toBe("tool_calls")
    expect(message?.content).toBe("Let me check.")
    const calls = (message?.tool_calls ?? []).map((call) =>
      call.type === "function" ? [call.id, call.function.name, JSON.parse(call.function.arguments)] : []
    )
    expect(calls).toEqual([
      ["call_fake1", "get_weather", { city: "Oslo" }],
      ["call_fake2", "get_time", { tz: "Europe/Oslo" }]
    ])
  })

  test("finish length is reported as finish_reason length", async () => {
    llm.script({ text: "cut short", finish: "length" }, { text: "also short", finish: "length" })
    const { items } = await drain(await openaiStream("x"))
    expect(items.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter(Boolean)).toEqual([
      "length"
    ])
    const completion = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })
    expect(completion.choices[0]?.finish_reason).toBe("length")
  })

  test("429 surfaces as RateLimitError with retry-after visible; 500 as InternalServerError", async () => {
    llm.script({ error: 429, retryAfter: 3 }, { error: 500, message: "boom" })
    const rateLimited = await caught(openaiStream("x"))
    expect(rateLimited).toBeInstanceOf(OpenAIErrors.RateLimitError)
    const err = rateLimited as OpenAIErrors.RateLimitError
    expect(err.status).toBe(429)
    expect(err.headers.get("retry-after")).toBe("3")
    expect(err.headers.get("x-ratelimit-remaining-requests")).toBe("0")
    expect(err.code).toBe("rate_limit_exceeded")
    expect(err.requestID).toBe("req_fake1")

    const failed = await caught(openai.chat.completions.create({ model: "m", messages: [] }))
    expect(failed).toBeInstanceOf(OpenAIErrors.InternalServerError)
    expect((failed as OpenAIErrors.InternalServerError).message).toBe("500 boom")
  })

  test("a connection cut mid-stream makes the SDK's iteration throw after the chunks sent so far", async () => {
    llm.script({ cutAfterChunks: 2, text: "one two three four five" })
    const { items, error } = await drain(await openaiStream("x"))
    expect(error).toBeDefined()
    expect(String(error)).toContain("ECONNRESET")
    const deltas = items.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? "")).filter(Boolean)
    expect(deltas).toEqual(["one ", "two "])
    expect(items.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false)
  })

  test("a hanging reply trips the client's timeout", async () => {
    llm.script({ hangMs: 5_000 })
    const err = await caught(
      openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }, { timeout: 50 })
    )
    expect(err).toBeInstanceOf(OpenAIErrors.APIConnectionTimeoutError)
    // The server is free again at once: the next request gets the default reply.
    const next = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "y" }] })
    expect(next.choices[0]?.message.content).toBe("echo: y")
  })

  test("the model list answers a health probe, and a baseURL without /v1 works too", async () => {
    const models = []
    for await (const model of openai.models.list()) models.push(model.id)
    expect(models).toEqual(["fake-model"])

    const bare = new OpenAI({ apiKey: "test", baseURL: llm.url, maxRetries: 0 })
    const completion = await bare.chat.completions.create({ model: "m", messages: [{ role: "user", content: "z" }] })
    expect(completion.choices[0]?.message.content).toBe("echo: z")
    expect(llm.requests[0]?.path).toBe("/chat/completions")
  })
})

describe("Anthropic Messages", () => {
  test("streamed text arrives as several text deltas with usage in message_start and message_delta", async () => {
    llm.script({ text: "Hello from the fake Claude", usage: { input: 21, output: 9 } })
    const { items, error } = await drain(await anthropicStream("hi"))
    expect(error).toBeUndefined()
    expect(items.map((event) => event.type)).toContain("message_stop")
    const deltas = items.flatMap((event) =>
      event.type === "content_block_delta" && event.delta.type === "text_delta" ? [event.delta.text] : []
    )
    expect(deltas.length).toBeGreaterThanOrEqual(3)
    expect(deltas.join("")).toBe("Hello from the fake Claude")
    const start = items.find((event) => event.type === "message_start")
    expect(start?.type === "message_start" && start.message.usage.input_tokens).toBe(21)
    const delta = items.find((event) => event.type === "message_delta")
    expect(delta?.type === "message_delta" && [delta.delta.stop_reason, delta.usage.output_tokens]).toEqual([
      "end_turn",
      9
    ])
  })

  test("the default reply echoes the last user text and the request records system and messages", async () => {
    const message = await anthropic.messages.create({
      model: "claude-fake",
      max_tokens: 50,
      system: "Be kind.",
      messages: [
        { role: "user", content: [{ type: "text", text: "what is up" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "look", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "nothing" }] }
      ]
    })
    expect(message.content).toEqual([{ type: "text", text: "echo: what is up", citations: null }])
    expect(message.stop_reason).toBe("end_turn")
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBeGreaterThan(0)

    const [recorded] = await llm.waitForRequests(1)
    expect(recorded).toMatchObject({ api: "anthropic", model: "claude-fake", stream: false, path: "/v1/messages" })
    expect(recorded?.body.system).toBe("Be kind.")
    expect(recorded?.body.messages).toHaveLength(3)
    // @anthropic-ai/sdk 1.x sends the API key as a bearer token, not as x-api-key.
    expect(recorded?.headers.authorization).toBe("Bearer test")
    expect(recorded?.headers["anthropic-version"]).toBeString()
  })

  test("a streamed tool call reassembles from partial_json fragments", async () => {
    llm.script({ toolCalls: [{ name: "roll", arguments: { sides: 20, times: 2 } }] })
    const { items } = await drain(await anthropicStream("roll"))
    const start = items.find((event) => event.type === "content_block_start")
    expect(start?.type === "content_block_start" && start.content_block).toMatchObject({
      type: "tool_use",
      id: "toolu_fake1",
      name: "roll",
      input: {}
    })
    const fragments = items.flatMap((event) =>
      event.type === "content_block_delta" && event.delta.type === "input_json_delta" ? [event.delta.partial_json] : []
    )
    expect(fragments.length).toBeGreaterThan(1)
    expect(JSON.parse(fragments.join(""))).toEqual({ sides: 20, times: 2 })
    const delta = items.find((event) => event.type === "message_delta")
    expect(delta?.type === "message_delta" && delta.delta.stop_reason).toBe("tool_use")
  })

  test("two parallel tool calls come back through the SDK's stream helper", async () => {
    llm.script({
      text: "Checking both.",
      toolCalls: [
        { id: "toolu_a", name: "get_weather", arguments: { city: "Oslo" } },
        { name: "get_time", arguments: { tz: "UTC" } }
      ]
    })
    const final = await anthropic.messages
      .stream({ model: "claude-fake", max_tokens: 100, messages: [{ role: "user", content: "go" }] })
      .finalMessage()
    expect(final.stop_reason).toBe("tool_use")
    expect(
      final.content.map((block) => (block.type === "tool_use" ? [block.id, block.name, block.input] : block.type))
    ).toEqual(["text", ["toolu_a", "get_weather", { city: "Oslo" }], ["toolu_fake1", "get_time", { tz: "UTC" }]])
  })

  test("finish length maps to stop_reason max_tokens", async () => {
    llm.script({ text: "truncated", finish: "length" }, { text: "truncated", finish: "length" })
    const final = await anthropic.messages
      .stream({ model: "claude-fake", max_tokens: 5, messages: [{ role: "user", content: "x" }] })
      .finalMessage()
    expect(final.stop_reason).toBe("max_tokens")
    const message = await anthropic.messages.create({
      model: "claude-fake",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }]
    })
    expect(message.stop_reason).toBe("max_tokens")
  })

  test("429 surfaces as RateLimitError with retry-after visible; 500 as InternalServerError", async () => {
    llm.script({ error: 429, retryAfter: 7 }, { error: 500 })
    const rateLimited = await caught(anthropicStream("x"))
    expect(rateLimited).toBeInstanceOf(AnthropicErrors.RateLimitError)
    const err = rateLimited as AnthropicErrors.RateLimitError
    expect(err.headers.get("retry-after")).toBe("7")
    expect(err.type).toBe("rate_limit_error")
    expect(err.requestID).toBe("req_fake1")

    const failed = await caught(anthropicStream("x"))
    expect(failed).toBeInstanceOf(AnthropicErrors.InternalServerError)
    expect((failed as AnthropicErrors.InternalServerError).type).toBe("api_error")
  })

  test("other statuses map to the SDK's error classes", async () => {
    llm.script({ error: 401 }, { error: 503 }, { error: 400, message: "bad field" })
    expect(await caught(anthropicStream("x"))).toBeInstanceOf(AnthropicErrors.AuthenticationError)
    expect(await caught(anthropicStream("x"))).toBeInstanceOf(AnthropicErrors.ServiceUnavailableError)
    const bad = await caught(anthropicStream("x"))
    expect(bad).toBeInstanceOf(AnthropicErrors.BadRequestError)
    expect((bad as AnthropicErrors.BadRequestError).apiMessage).toBe("bad field")

    llm.script({ error: 401 }, { error: 502 })
    expect(await caught(openaiStream("x"))).toBeInstanceOf(OpenAIErrors.AuthenticationError)
    expect(await caught(openaiStream("x"))).toBeInstanceOf(OpenAIErrors.InternalServerError)
  })

  test("the model list parses in the Anthropic shape", async () => {
    const models = []
    for await (const model of anthropic.models.list()) models.push(model.id)
    expect(models).toEqual(["fake-model"])
  })

  test("a connection cut mid-stream makes the SDK's iteration throw", async () => {
    llm.script({ cutAfterChunks: 3, text: "a b c d e f" }, { cutAfterChunks: 1, text: "a b c" })
    const { items, error } = await drain(await anthropicStream("x"))
    expect(String(error)).toContain("ECONNRESET")
    const deltas = items.flatMap((event) =>
      event.type === "content_block_delta" && event.delta.type === "text_delta" ? [event.delta.text] : []
    )
    expect(deltas).toEqual(["a ", "b ", "c "])
    expect(items.some((event) => event.type === "message_stop")).toBe(false)

    const helper = anthropic.messages.stream({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] })
    expect(await caught(helper.finalMessage())).toBeDefined()
  })
})

describe("scripting", () => {
  test("scriptFor(model) routes by model before the global queue", async () => {
    llm.script({ text: "global one" }, { text: "global two" })
    llm.scriptFor("special", { text: "just for special" })
    const ask = async (model: string) =>
      (await openai.chat.completions.create({ model, messages: [{ role: "user", content: "q" }] })).choices[0]?.message
        .content
    expect(await ask("plain")).toBe("global one")
    expect(await ask("special")).toBe("just for special")
    expect(await ask("special")).toBe("global two")
    expect(await ask("special")).toBe("echo: q")
    expect(llm.pendingSteps).toBe(0)
    expect(llm.requests.map((request) => request.model)).toEqual(["plain", "special", "special", "special"])
  })

  test("the queue is shared by both APIs and onRequest decides when nothing is queued", async () => {
    llm.onRequest((request) => ({ text: `${request.api} handled ${request.model}` }))
    llm.script({ text: "queued first" })
    const first = await anthropic.messages.create({
      model: "claude-fake",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }]
    })
    expect(first.content[0]?.type === "text" && first.content[0].text).toBe("queued first")
    const second = await openai.chat.completions.create({ model: "gpt-x", messages: [{ role: "user", content: "y" }] })
    expect(second.choices[0]?.message.content).toBe("openai handled gpt-x")
  })

  test("delayMs holds the whole reply back", async () => {
    llm.script({ text: "late", delayMs: 30 })
    const started = performance.now()
    const completion = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })
    expect(completion.choices[0]?.message.content).toBe("late")
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
  })

  test("chunkDelayMs spaces the deltas out", async () => {
    llm.script({ text: "a b c d", chunkDelayMs: 15 })
    const arrivals: number[] = []
    for await (const chunk of await openaiStream("x")) {
      if (chunk.choices[0]?.delta.content) arrivals.push(performance.now())
    }
    expect(arrivals).toHaveLength(4)
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(40)
  })

  test("50 concurrent streams over both APIs all complete", async () => {
    const runs = Array.from({ length: 50 }, async (_, i) => {
      if (i % 2 === 0) {
        const { items } = await drain(await openaiStream(`question ${i}`))
        return items.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")
      }
      const { items } = await drain(await anthropicStream(`question ${i}`))
      return items
        .map((event) =>
          event.type === "content_block_delta" && event.delta.type === "text_delta" ? event.delta.text : ""
        )
        .join("")
    })
    const texts = await Promise.all(runs)
    expect(texts).toEqual(Array.from({ length: 50 }, (_, i) => `echo: question ${i}`))
    expect(llm.requests).toHaveLength(50)
  })

  test("waitForRequests resolves once enough requests arrived and rejects on timeout", async () => {
    const waiting = llm.waitForRequests(2, 1_000)
    await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "1" }] })
    await anthropic.messages.create({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "2" }] })
    expect((await waiting).map((request) => request.api)).toEqual(["openai", "anthropic"])
    expect(await caught(llm.waitForRequests(3, 20))).toBeInstanceOf(Error)
  })

  test("chunks that do not join to the text are refused when scripted", () => {
    expect(() => llm.script({ text: "abc", chunks: ["a", "c"] })).toThrow(TypeError)
  })
})
