/**
 * The whole pipeline, in process: an in-memory channel feeds the real router (reply policy, inbound records),
 * conversation actors, the SQLite store on disk (every message kept) and the agent loop, whose provider answers
 * instantly (a real `LlmProvider`, not a bypass). Closed loop: each conversation sends its next message when the
 * previous reply is complete. Measured for 1 and 100 concurrent conversations, with in the same run the Effect
 * request/reply floor (one fiber answering through a Queue + Deferred) and the ratio to it.
 *
 * Run: bun bench/pipeline.ts [--seconds N] [--conversations N]
 */
import { Deferred, Effect, Queue } from "effect"
import * as Actor from "../core/actor/Actor.ts"
import type { ReplyTarget } from "../core/channels/Channel.ts"
import { makeMemoryChannel } from "../core/channels/memory/MemoryChannel.ts"
import { makeRouter } from "../core/conversation/Router.ts"
import { Store } from "../core/store/Store.ts"
import { inbound } from "../tests/support/messages.ts"
import { personaOf } from "../tests/support/persona.ts"
import { runInProcess } from "./inProcess.ts"
import { arg, fmt, percentile, report } from "./support.ts"

const seconds = arg("seconds", 5)
const wide = arg("conversations", 100)

interface Figures {
  readonly rate: number
  readonly p50: number
  readonly p99: number
  /** CPU time (user + system, all threads) per message, in µs: steadier than the rate on a shared machine. */
  readonly cpu: number
}

/** Run `loops` closed loops of `roundTrip` for `seconds`; latency in milliseconds. */
const closedLoop = (loops: number, roundTrip: (loop: number, n: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const latencies: Array<number> = []
    let count = 0
    const deadline = performance.now() + seconds * 1000
    const start = performance.now()
    const cpuBefore = process.cpuUsage()
    yield* Effect.forEach(
      Array.from({ length: loops }, (_, i) => i),
      (loop) =>
        Effect.gen(function* () {
          for (let n = 0; performance.now() < deadline; n++) {
            const t0 = performance.now()
            yield* roundTrip(loop, n)
            latencies.push(performance.now() - t0)
            count++
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    const elapsed = (performance.now() - start) / 1000
    const cpuUsed = process.cpuUsage(cpuBefore)
    latencies.sort((a, b) => a - b)
    return {
      rate: count / elapsed,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      cpu: (cpuUsed.user + cpuUsed.system) / count
    } satisfies Figures
  })

/** The floor: one fiber answering requests from a Queue through a Deferred. */
const floor = (loops: number) =>
  Effect.gen(function* () {
    const requests = yield* Queue.bounded<{ readonly n: number; readonly reply: Deferred.Deferred<number> }>(1024)
    const server = yield* Effect.fork(
      Effect.forever(Effect.flatMap(Queue.take(requests), (req) => Deferred.succeed(req.reply, req.n + 1)))
    )
    const figures = yield* closedLoop(loops, (_, n) =>
      Effect.flatMap(Deferred.make<number>(), (reply) =>
        Effect.zipRight(Queue.offer(requests, { n, reply }), Deferred.await(reply))
      )
    )
    yield* server.interruptAsFork(server.id())
    return figures
  })

let runs = 0

/** The pipeline: message in -> policy -> conversation -> store -> agent loop -> reply out. */
const pipeline = (loops: number) =>
  Effect.gen(function* () {
    // Message ids must differ between runs: the router rightly ignores an id it has seen (a platform redelivery).
    const run = ++runs
    const waiting = new Map<string, () => void>()
    const channel = makeMemoryChannel({
      record: false,
      onEvent: (target: ReplyTarget, event) => {
        if (event._tag === "ReplyCompleted" || event._tag === "ReplyFailed") waiting.get(target.chat.id)?.()
      }
    })
    const root = yield* Actor.root(`bench-${run}`)
    const group = yield* Effect.orDie(root.group("router", "router"))
    const persona = personaOf({ memory: { window: 16 }, reply: { duplicate_window: 0 } }, "bench")
    const router = yield* makeRouter(group, { persona: () => persona, channel: () => channel, dryRun: false })
    const messageOf = (loop: number, n: number) =>
      inbound({
        correlationId: `c${loop}-${n}`,
        persona: "bench",
        channel: channel.id,
        messageId: `memory/${run}/${loop}/${n}`,
        // (one conversation per loop and run)
        chat: { id: `chat${loop}`, kind: "dm" },
        author: { id: `user${loop}`, name: "User", isBot: false },
        text: `message ${n} from conversation ${loop}`
      })
    const figures = yield* closedLoop(loops, (loop, n) =>
      Effect.async<void>((resume) => {
        waiting.set(`chat${loop}`, () => resume(Effect.void))
        Effect.runFork(router.receive(messageOf(loop, n)))
      })
    )
    yield* root.shutdown
    return figures
  })

const program = Effect.gen(function* () {
  yield* pipeline(1).pipe(Effect.timeout("2 seconds"), Effect.ignore) // warm-up
  const floorOne = yield* floor(1)
  const one = yield* pipeline(1)
  const floorWide = yield* floor(wide)
  const many = yield* pipeline(wide)
  const store = yield* Store
  const stats = yield* store.stats
  const row = (name: string, f: Figures, base: Figures) =>
    [
      name,
      `${fmt(f.rate)} msg/s (${((f.rate / base.rate) * 100).toFixed(1)}% of floor), p50 ${(f.p50 * 1000).toFixed(0)} µs, p99 ${(f.p99 * 1000).toFixed(0)} µs, CPU ${f.cpu.toFixed(0)} µs/msg`
    ] as const
  report("pipeline (router + policy + conversation actors + SQLite on disk + agent loop, instant provider)", [
    row("floor, 1 requester", floorOne, floorOne),
    row("pipeline, 1 conversation", one, floorOne),
    row(`floor, ${wide} requesters`, floorWide, floorWide),
    row(`pipeline, ${wide} conversations`, many, floorWide),
    ["added latency p50, 1 conversation", `${((one.p50 - floorOne.p50) * 1000).toFixed(0)} µs (target < 100 µs)`],
    ["targets", ">= 11,000 msg/s with 1 conversation, >= 20,000 with 100"],
    ["store", `${fmt(stats.transactions)} transactions for ${fmt(stats.writes)} writes`]
  ])
})

await runInProcess("pipeline", "Sure, here is a short answer.", program)
