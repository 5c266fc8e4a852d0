import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import * as AnthropicErrors from "@anthropic-ai/sdk"
import { Chunk, Effect, Fiber, Schema, Stream } from "effect"
import * as OpenAIErrors from "openai"
import { ProviderConfig } from "../../core/config/Config.ts"
import { runTurn } from "../../core/llm/AgentLoop.ts"
import { classifyError, retryAfterMs, scrubSecrets } from "../../core/llm/internal/errors.ts"
import { lookupModel } from "../../core/llm/ModelTable.ts"
import type { ChatRequest, LlmError, StreamEvent } from "../../core/llm/Provider.ts"
import { LlmProviders, makeLlmProviders } from "../../core/llm/Providers.ts"
import { type FakeLlm, startFakeLlm } from "../fakes/llm/index.ts"
import { API_KEY, anthropicAt, collector, nextEvent, openaiAt, persona, run, turnInput } from "./support.ts"

let llm: FakeLlm

beforeAll(async () => {
  llm = await startFakeLlm()
})
afterAll(() => llm.stop())
beforeEach(() => llm.reset())

const providersFrom = (config: Record<string, Record<string, unknown>>) =>
  makeLlmProviders(
    Object.fromEntries(
      Object.entries(config).map(([name, value]) => [name, Schema.decodeUnknownSync(ProviderConfig)(value)])
    )
  )

const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "gpt-4o-mini",
  system: "be brief",
  messages: [{ role: "user", content: "ping" }],
  maxTokens: 64,
  timeoutMs: 5_000,
  ...overrides
})

const collect = (stream: Stream.Stream<StreamEvent, LlmError>) =>
  Effect.runPromise(Stream.runCollect(stream).pipe(Effect.map(Chunk.toArray), Effect.either))

describe("LlmProviders", () => {
  test("a preset that needs a key and is not configured says how to configure it", async () => {
    const providers = providersFrom({})
    const error = await Effect.runPromise(Effect.flip(providers.get("groq")))
    expect(error.message).toBe(
      "provider groq is not configured: add providers: groq: api_key: ${GROQ_API_KEY} to config.yaml"
    )
    const unknown = await Effect.runPromise(Effect.flip(providers.get("my-llm")))
    expect(unknown.message).toContain("add providers: my-llm: api_key: ${MY_LLM_API_KEY}")
  })

  test("ollama and echo work without any config; ollama assumes a small context", async () => {
    const providers = providersFrom({})
    const ollama = await Effect.runPromise(providers.get("ollama"))
    expect([ollama.api, ollama.defaultModel]).toEqual(["openai", "llama3.2"])
    expect(ollama.contextWindow("llama3.2")).toBe(4_096)
    const echo = await Effect.runPromise(providers.get("echo"))
    expect(echo.api).toBe("echo")
    const lifted = providersFrom({ ollama: { models: { "llama3.2": { context_window: 32_768, vision: true } } } })
    const big = await Effect.runPromise(lifted.get("ollama"))
    expect([big.contextWindow("llama3.2:3b"), big.supportsVision("llama3.2")]).toEqual([32_768, true])
  })

  test("status lists configured providers and the implicit presets, with what is missing", () => {
    const providers = providersFrom({
      groq: { api_key: "gsk_abcdefghijklmnopqrstuvwxyz" },
      openai: {},
      lab: { base_url: "http://10.0.0.5:8000/v1", default_model: "qwen2.5" },
      odd: { timeout: "5s" }
    })
    const status = Object.fromEntries(providers.status().map((s) => [s.name, s]))
    expect(Object.keys(status)).toEqual(["groq", "openai", "lab", "odd", "ollama", "echo"])
    expect(status.groq).toMatchObject({ configured: true, hasKey: true, usable: true, api: "openai" })
    expect(status.openai).toMatchObject({ configured: true, hasKey: false, usable: false })
    expect(status.openai!.problem).toBe(
      "provider openai has no api_key: add providers: openai: api_key: ${OPENAI_API_KEY} to config.yaml"
    )
    expect(status.lab).toMatchObject({ usable: true, needsKey: false, defaultModel: "qwen2.5" })
    expect(status.odd!.problem).toContain("needs a preset")
    expect(status.ollama).toMatchObject({ configured: false, usable: true, needsKey: false })
    expect(JSON.stringify(status)).not.toContain("gsk_abcdefghijklmnopqrstuvwxyz")
  })

  test("ollamaReachable probes /api/tags with a short timeout", async () => {
    const ollama = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        new URL(req.url).pathname === "/api/tags" ? Response.json({ models: [] }) : new Response(null, { status: 404 })
    })
    try {
      const up = providersFrom({ ollama: { base_url: `http://127.0.0.1:${ollama.port}/v1` } })
      expect(await Effect.runPromise(up.ollamaReachable(300))).toBe(true)
      const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
      const port = closed.port
      await closed.stop(true)
      const down = providersFrom({ ollama: { base_url: `http://127.0.0.1:${port}/v1` } })
      expect(await Effect.runPromise(down.ollamaReachable(300))).toBe(false)
    } finally {
      await ollama.stop(true)
    }
  })

  test("providers built from config talk to their server with their key and headers", async () => {
    llm.script({ text: "from openai-compatible" }, { text: "from anthropic" })
    const providers = providersFrom({
      lab: { base_url: llm.openaiBaseUrl, api_key: API_KEY, headers: { "x-team": "troupe" }, default_model: "m1" },
      claude: { preset: "anthropic", base_url: llm.anthropicBaseUrl, api_key: API_KEY }
    })
    const lab = await Effect.runPromise(providers.get("lab"))
    const first = await collect(lab.stream(request({ model: "m1" })))
    expect(first._tag === "Right" && first.right.at(-1)).toMatchObject({ _tag: "Finished", finishReason: "stop" })
    expect(llm.requests[0]!.headers).toMatchObject({ authorization: `Bearer ${API_KEY}`, "x-team": "troupe" })
    expect(llm.requests[0]!.body).toMatchObject({ max_tokens: 64, stream_options: { include_usage: true } })
    const claude = await Effect.runPromise(providers.get("claude"))
    const second = await collect(claude.stream(request({ model: "claude-haiku-4-5" })))
    expect(second._tag).toBe("Right")
    expect(llm.requests[1]!).toMatchObject({ api: "anthropic", path: "/v1/messages" })
    expect(llm.requests[1]!.body).toMatchObject({ system: "be brief", max_tokens: 64 })
  })

  test("OpenAI's own API gets max_completion_tokens and no temperature for reasoning models", async () => {
    const { requestBody } = await import("../../core/llm/OpenAiProvider.ts")
    const reasoning = requestBody(request({ model: "o4-mini", temperature: 0.3 }), true)
    expect(reasoning).toMatchObject({ max_completion_tokens: 64 })
    expect("temperature" in reasoning || "max_tokens" in reasoning).toBe(false)
    const compatible = requestBody(request({ model: "llama3", temperature: 0.3 }), false)
    expect(compatible).toMatchObject({ max_tokens: 64, temperature: 0.3 })
  })

  test("layerTest serves exactly the given providers", async () => {
    const names = await Effect.runPromise(
      Effect.map(LlmProviders, (providers) => providers.status().map((s) => s.name)).pipe(
        Effect.provide(LlmProviders.layerTest([openaiAt(llm), anthropicAt(llm)]))
      )
    )
    expect(names).toEqual(["fakeai", "fakeclaude"])
  })
})

describe("model table", () => {
  test("common models have their context window and vision; unknown ones a conservative default", () => {
    expect(lookupModel("gpt-4o-mini")).toEqual({ contextWindow: 128_000, vision: true })
    expect(lookupModel("gpt-4.1-nano").contextWindow).toBe(1_047_576)
    expect(lookupModel("o3-mini")).toEqual({ contextWindow: 128_000, vision: false })
    expect(lookupModel("claude-haiku-4-5")).toEqual({ contextWindow: 200_000, vision: true })
    expect(lookupModel("llama-3.3-70b-versatile")).toEqual({ contextWindow: 128_000, vision: false })
    expect(lookupModel("meta-llama/llama-3.2-11b-vision-instruct").vision).toBe(true)
    expect(lookupModel("mixtral-8x7b-32768").contextWindow).toBe(32_768)
    expect(lookupModel("sonar-pro").vision).toBe(true)
    expect(lookupModel("gemma3:1b").vision).toBe(false)
    expect(lookupModel("gemma3:12b").vision).toBe(true)
    expect(lookupModel("some-new-model")).toEqual({ contextWindow: 8_192, vision: false })
    expect(lookupModel("some-new-model", { "some-new-model": { contextWindow: 64_000 } })).toEqual({
      contextWindow: 64_000,
      vision: false
    })
  })
})

describe("errors", () => {
  test("SDK errors are classified for retry decisions", () => {
    const headers = (entries: Record<string, string>) => new Headers(entries)
    const rate = classifyError(
      "p",
      "m",
      new OpenAIErrors.RateLimitError(429, { message: "slow" }, "slow", headers({ "retry-after-ms": "1500" }))
    )
    expect([rate.kind, rate.retryAfterMs, rate.transient]).toEqual(["rate_limit", 1500, true])
    const overloaded = classifyError(
      "p",
      "m",
      new AnthropicErrors.InternalServerError(529, { error: { type: "overloaded_error" } }, undefined, headers({}))
    )
    expect([overloaded.kind, overloaded.status]).toEqual(["overloaded", 529])
    expect(classifyError("p", "m", new OpenAIErrors.NotFoundError(404, {}, "no model", headers({}))).kind).toBe(
      "bad_request"
    )
    expect(classifyError("p", "m", new OpenAIErrors.PermissionDeniedError(403, {}, "no", headers({}))).kind).toBe(
      "auth"
    )
    expect(classifyError("p", "m", new OpenAIErrors.APIConnectionTimeoutError()).kind).toBe("timeout")
    expect(classifyError("p", "m", new OpenAIErrors.APIConnectionError({ message: "Connection error." })).kind).toBe(
      "connection"
    )
    const reset = Object.assign(new TypeError("The socket connection was closed unexpectedly."), { code: "ECONNRESET" })
    expect(classifyError("p", "m", reset).kind).toBe("connection")
    // A mid-stream `event: error` carries no status, only the body's type.
    const midStream = new AnthropicErrors.APIError(
      undefined,
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      undefined,
      headers({})
    )
    expect(classifyError("p", "m", midStream).kind).toBe("overloaded")
    expect(classifyError("p", "m", new SyntaxError("Unexpected token")).kind).toBe("other")
  })

  test("retry-after is read as seconds, milliseconds or an HTTP date", () => {
    expect(retryAfterMs(new Headers({ "retry-after": "3" }))).toBe(3000)
    expect(retryAfterMs(new Headers({ "retry-after": "0.5" }))).toBe(500)
    const now = Date.parse("2025-01-01T00:00:00Z")
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:07 GMT" }), now)).toBe(7000)
    expect(retryAfterMs(new Headers({}))).toBeUndefined()
  })

  test("secrets never reach an error's detail", () => {
    const text = `401 Incorrect API key provided: ${API_KEY}. Headers: Authorization: Bearer ${API_KEY}; x-api-key: abc123def456`
    const scrubbed = scrubSecrets(text, [API_KEY])
    expect(scrubbed).not.toContain(API_KEY)
    expect(scrubbed).not.toContain("abc123def456")
    expect(scrubbed).toContain("Incorrect API key provided: [redacted]")
    // Even a key nobody registered, by its shape.
    expect(scrubSecrets("key sk-proj-abcdefghijklmnop1234 leaked")).toBe("key [redacted] leaked")
    const error = classifyError(
      "p",
      "m",
      new OpenAIErrors.AuthenticationError(401, { message: text }, text, new Headers()),
      [API_KEY]
    )
    expect(error.detail).not.toContain(API_KEY)
    expect(error.message).not.toContain(API_KEY)
  })

  test("no API key appears in any event or failure of a turn, whatever the servers echo", async () => {
    llm.onRequest(() => ({
      error: 401,
      message: `Incorrect API key provided: ${API_KEY} (Authorization: Bearer ${API_KEY})`
    }))
    const sage = persona({ model: { provider: "fakeai", fallbacks: ["fakeclaude/claude-haiku-4-5"] } })
    const { events, failure } = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const failure = yield* Effect.flip(runTurn(turnInput(sage, collected)))
        return { events: collected.events, failure }
      }),
      { providers: [openaiAt(llm), anthropicAt(llm)] }
    )
    expect(events.filter((e) => e._tag === "LlmAttemptFailed")).toHaveLength(2)
    const everything = JSON.stringify({ events, failure, reason: failure.reason, message: failure.message })
    expect(everything).toContain("Incorrect API key provided")
    expect(everything).not.toContain(API_KEY)
    expect(everything).not.toContain(API_KEY.slice(0, 16))
  })

  test("a 429 whose retry-after is too long goes straight to the fallback", async () => {
    llm.scriptFor("gpt-4o-mini", { error: 429, retryAfter: 120 })
    const sage = persona({ model: { provider: "fakeai", fallbacks: ["fakeclaude/claude-haiku-4-5"] } })
    const result = await run(
      Effect.gen(function* () {
        const collected = yield* collector
        const fiber = yield* Effect.fork(runTurn(turnInput(sage, collected)))
        const failed = yield* nextEvent(collected, "LlmAttemptFailed")
        expect(failed.next).toBe("fallback")
        return yield* Fiber.join(fiber)
      }),
      { providers: [openaiAt(llm), anthropicAt(llm)] }
    )
    expect(result.provider).toBe("fakeclaude")
  })
})
