/**
 * Actor module figures, in one run:
 * - the floor: raw Effect `Queue` hand-off between two fibers (messages/s);
 * - the same number of messages through a chain of three actors built with the actor module, and its ratio to the floor;
 * - heap bytes per idle actor (10,000 idle actors, each with its mailbox and fiber).
 *
 * Run: bun bench/actors.ts [--messages N] [--rounds N] [--idle N]
 */
import { Deferred, Effect, Layer, Logger, LogLevel, Queue } from "effect"
import * as Actor from "../core/actor/Actor.ts"
import { ActorSystem } from "../core/actor/ActorSystem.ts"
import { EventBus } from "../core/events/EventBus.ts"
import { arg, fmt, heapUsed, report } from "./support.ts"

const messages = arg("messages", 300_000)
const rounds = arg("rounds", 5)
const idle = arg("idle", 10_000)
let chains = 0

const floor = Effect.gen(function* () {
  const queue = yield* Queue.bounded<number>(1024)
  const done = yield* Deferred.make<void>()
  yield* Effect.fork(
    Effect.gen(function* () {
      for (let i = 0; i < messages; i++) yield* Queue.take(queue)
      yield* Deferred.succeed(done, undefined)
    })
  )
  const start = performance.now()
  for (let i = 0; i < messages; i++) yield* Queue.offer(queue, i)
  yield* Deferred.await(done)
  return messages / ((performance.now() - start) / 1000)
})

const chain = Effect.gen(function* () {
  const root = yield* Actor.root(`bench${++chains}`)
  const done = yield* Deferred.make<void>()
  let received = 0
  const last = yield* root.spawn(
    { id: "c" },
    Effect.succeed((_: number) => (++received === messages ? Deferred.succeed(done, undefined) : Effect.void))
  )
  const middle = yield* root.spawn(
    { id: "b" },
    Effect.succeed((n: number) => last.send(n))
  )
  const first = yield* root.spawn(
    { id: "a" },
    Effect.succeed((n: number) => middle.send(n))
  )
  const start = performance.now()
  for (let i = 0; i < messages; i++) yield* first.send(i)
  yield* Deferred.await(done)
  const rate = messages / ((performance.now() - start) / 1000)
  yield* root.shutdown
  return rate
})

const idleCost = Effect.gen(function* () {
  const root = yield* Actor.root("idle")
  Bun.gc(true)
  const before = heapUsed()
  for (let i = 0; i < idle; i++)
    yield* root.spawn(
      { id: `a${i}`, mailboxCapacity: 64 },
      Effect.succeed((_: number) => Effect.void)
    )
  yield* Effect.yieldNow()
  Bun.gc(true)
  const perActor = (heapUsed() - before) / idle
  yield* root.shutdown
  return perActor
})

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const program = Effect.gen(function* () {
  // Alternate the two measurements over several rounds and compare medians, so a noisy neighbour hits both alike.
  const floors: Array<number> = []
  const chains: Array<number> = []
  for (let round = 0; round < rounds + 1; round++) {
    const f = yield* floor
    const c = yield* chain
    if (round > 0) floors.push(f) // round 0 is warm-up
    if (round > 0) chains.push(c)
  }
  const floorRate = median(floors)
  const chainRate = median(chains)
  const perActor = yield* idleCost
  report("actors", [
    ["queue hand-off floor", `${fmt(floorRate)} msg/s (median of ${rounds} rounds of ${fmt(messages)})`],
    ["3-actor chain", `${fmt(chainRate)} msg/s`],
    ["chain / floor", `${((chainRate / floorRate) * 100).toFixed(1)}% (target >= 25%)`],
    ["heap per idle actor", `${fmt(perActor)} bytes (target <= 8192; ${idle} actors)`]
  ])
})

program.pipe(
  Effect.scoped,
  Effect.provide(ActorSystem.layer.pipe(Layer.provideMerge(EventBus.layer))),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.runPromise
)
