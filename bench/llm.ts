/**
 * Agent loop figures, in one run, against the fake LLM server answering instantly (real `openai` SDK, real HTTP on
 * 127.0.0.1):
 * - turns per second through `runTurn` (message in → streamed reply out, usage recorded in an in-memory store) for 1
 *   and 100 concurrent conversations, next to direct SDK streaming calls to the same server at the same concurrency;
 * - the latency the runtime adds per turn over the direct call: p50 of each, their difference and ratio;
 * - the same loop with the in-process `InstantProvider` (no HTTP), as the runtime's own ceiling.
 *
 * Rounds alternate the measurements so a noisy neighbour hits both alike; medians of the rounds are reported.
 *
 * Run: bun bench/llm.ts [--turns N] [--rounds N] [--concurrency N]
 */
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Schema } from "effect"
import OpenAI from "openai"
import type { MessageReceived } from "../core/events/Events.ts"
import { runTurn, type TurnInput } from "../core/llm/AgentLoop.ts"
import { makeInstantProvider } from "../core/llm/InstantProvider.ts"
import { makeOpenAiProvider } from "../core/llm/OpenAiProvider.ts"
import { LlmProviders } from "../core/llm/Providers.ts"
import { type PersonaDefinition, PersonaFile } from "../core/persona/Persona.ts"
import { Store } from "../core/store/Store.ts"
import { Tools } from "../core/tools/Tools.ts"
import { startFakeLlm } from "../tests/fakes/llm/index.ts"
import { arg, fmt, percentile, report } from "./support.ts"

const turns = arg("turns", 400)
const rounds = arg("rounds", 5)
const concurrency = arg("concurrency", 100)

const llm = await startFakeLlm({ recordLimit: 1 })
const client = new OpenAI({ apiKey: "bench", baseURL: llm.openaiBaseUrl, maxRetries: 0 })
const provider = makeOpenAiProvider({
  name: "fake",
  baseUrl: llm.openaiBaseUrl,
  apiKey: "bench",
  defaultModel: "gpt-4o-mini",
  timeoutMs: 30_000,
  maxRetries: 0
})
const instant = makeInstantProvider({ reply: "echo: a short answer" })
const runtime = ManagedRuntime.make(
  Layer.mergeAll(LlmProviders.layerTest([provider, instant]), Tools.layerNone, Store.layerMemory)
)

const makePersona = (model: Record<string, unknown>): PersonaDefinition => ({
  ...Schema.decodeUnknownSync(PersonaFile)({ model }),
  id: "sage",
  title: "Sage",
  systemPrompt: "You are Sage, a calm helper. Answer briefly.",
  source: "bench",
  format: "folder"
})
const inbound = (text: string): MessageReceived => ({
  _tag: "MessageReceived",
  at: 0,
  correlationId: "c",
  persona: "sage",
  channel: "bench",
  platform: "bench",
  messageId: "m",
  chat: { id: "1", kind: "dm" },
  author: { id: "u1", name: "Ann", isBot: false },
  text,
  attachments: [],
  mentioned: false,
  replyToSelf: false,
  fromSelf: false
})
const sage = makePersona({ provider: "fake" })
const quick = makePersona({ provider: "instant" })
let deltas = 0
const input = (who: PersonaDefinition, i: number): TurnInput => ({
  persona: who,
  conversationId: `sage/bench/${i % 1000}`,
  correlationId: `c${i}`,
  turnId: `t${i}`,
  history: [],
  messages: [inbound(`question number ${i}`)],
  toolContext: {
    persona: who.id,
    conversationId: `sage/bench/${i % 1000}`,
    correlationId: `c${i}`,
    turnId: `t${i}`,
    channel: "bench",
    chatId: "1",
    userId: "u1",
    userName: "Ann"
  },
  emit: (event) =>
    Effect.sync(() => {
      if (event._tag === "ReplyDelta") deltas++
    })
})

/** One direct SDK streaming call, read to the end, as a hand-written client would. */
const direct = async (i: number): Promise<string> => {
  const stream = await client.chat.completions.create(
    {
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: sage.systemPrompt },
        { role: "user", content: `question number ${i}` }
      ],
      max_tokens: 256,
      stream: true,
      stream_options: { include_usage: true }
    },
    { maxRetries: 0 }
  )
  let text = ""
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
  return text
}

const turn = (who: PersonaDefinition, i: number) =>
  runTurn(input(who, i)).pipe(Logger.withMinimumLogLevel(LogLevel.None), Effect.orDie)

/** Sequential latencies (ms) of `n` calls. */
const sequential = async (n: number, call: (i: number) => Promise<unknown>): Promise<number[]> => {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await call(i)
    times.push(performance.now() - start)
  }
  return times.sort((a, b) => a - b)
}

/** Calls per second with `workers` running at once until `n` calls are done. */
const throughput = async (n: number, workers: number, call: (i: number) => Promise<unknown>): Promise<number> => {
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < n) await call(next++)
    })
  )
  return n / ((performance.now() - start) / 1000)
}

const viaLoop = (who: PersonaDefinition) => (i: number) => runtime.runPromise(turn(who, i))

// Warm up both paths (JIT, connection pool, the store's statements).
await sequential(200, direct)
await sequential(200, viaLoop(sage))
await sequential(200, viaLoop(quick))
const check = await runtime.runPromise(turn(sage, 7))
if (check.text !== "echo: question number 7") throw new Error(`unexpected answer: ${check.text}`)

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const figures = {
  directP50: [] as number[],
  loopP50: [] as number[],
  directP99: [] as number[],
  loopP99: [] as number[],
  direct1: [] as number[],
  loop1: [] as number[],
  directN: [] as number[],
  loopN: [] as number[],
  instant1: [] as number[],
  instantN: [] as number[]
}
for (let round = 0; round < rounds; round++) {
  const d = await sequential(turns, direct)
  const l = await sequential(turns, viaLoop(sage))
  figures.directP50.push(percentile(d, 50))
  figures.loopP50.push(percentile(l, 50))
  figures.directP99.push(percentile(d, 99))
  figures.loopP99.push(percentile(l, 99))
  figures.direct1.push(turns / (d.reduce((a, b) => a + b, 0) / 1000))
  figures.loop1.push(turns / (l.reduce((a, b) => a + b, 0) / 1000))
  figures.directN.push(await throughput(turns * 2, concurrency, direct))
  figures.loopN.push(await throughput(turns * 2, concurrency, viaLoop(sage)))
  figures.instant1.push(await throughput(turns * 2, 1, viaLoop(quick)))
  figures.instantN.push(await throughput(turns * 5, concurrency, viaLoop(quick)))
}

const directP50 = median(figures.directP50)
const loopP50 = median(figures.loopP50)
report("agent loop vs direct SDK call (fake LLM over HTTP, instant answers)", [
  ["direct SDK call p50 / p99", `${fmt(directP50 * 1000)} µs / ${fmt(median(figures.directP99) * 1000)} µs`],
  ["runTurn p50 / p99", `${fmt(loopP50 * 1000)} µs / ${fmt(median(figures.loopP99) * 1000)} µs`],
  ["added per turn (p50)", `${fmt((loopP50 - directP50) * 1000)} µs (target < 1,000 µs)`],
  ["ratio runTurn / direct (p50)", `${fmt(loopP50 / directP50, 2)}x`],
  ["turns/s, 1 conversation", `${fmt(median(figures.loop1))} (direct ${fmt(median(figures.direct1))})`],
  [
    `turns/s, ${concurrency} conversations`,
    `${fmt(median(figures.loopN))} (direct ${fmt(median(figures.directN))}, ratio ${fmt(median(figures.loopN) / median(figures.directN), 2)})`
  ],
  [
    "turns/s, InstantProvider, 1 / " + concurrency,
    `${fmt(median(figures.instant1))} / ${fmt(median(figures.instantN))}`
  ],
  ["rounds x turns", `${rounds} x ${turns} (medians of rounds), ${fmt(deltas)} deltas streamed`]
])

await runtime.dispose()
await llm.stop()
