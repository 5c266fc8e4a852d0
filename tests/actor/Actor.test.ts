import { describe, expect, test } from "bun:test"
import { Deferred, Effect, Queue, Ref, TestClock } from "effect"
import * as Actor from "../../core/actor/Actor.ts"
import { ActorSystem } from "../../core/actor/ActorSystem.ts"
import { EventBus } from "../../core/events/EventBus.ts"
import { runTest, settle } from "../support/effect.ts"

type Msg = { readonly n: number; readonly crash?: boolean }

const recorder = (seen: Ref.Ref<ReadonlyArray<number>>): Actor.Behavior<Msg> =>
  Effect.succeed((message: Msg) =>
    message.crash ? Effect.die(new Error(`boom on ${message.n}`)) : Ref.update(seen, (all) => [...all, message.n])
  )

describe("Actor", () => {
  test("a crashed child is restarted with backoff and a message sent while it is down is processed after", () =>
    runTest(
      Effect.gen(function* () {
        const bus = yield* EventBus
        const restarts = yield* bus.subscribe({ tags: ["ActorRestarted"] })
        const root = yield* Actor.root()
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        const child = yield* root.spawn(
          { id: "worker", restart: { initialDelay: "1 second", jitter: 0 } },
          recorder(seen)
        )
        yield* child.send({ n: 1 })
        yield* child.send({ n: 2, crash: true })
        yield* settle
        expect(child.state).toBe("restarting")
        // Sent while the child is down: it waits in the parent-owned mailbox.
        yield* child.send({ n: 3 })
        yield* settle
        expect(yield* Ref.get(seen)).toEqual([1])
        yield* TestClock.adjust("999 millis")
        yield* settle
        expect(child.state).toBe("restarting")
        yield* TestClock.adjust("1 millis")
        yield* settle
        expect(child.state).toBe("ready")
        expect(yield* Ref.get(seen)).toEqual([1, 3])
        expect(child.stats).toMatchObject({ received: 3, processed: 2, failed: 1, restarts: 1 })
        const event = yield* Queue.take(restarts)
        expect(event).toMatchObject({ path: "troupe/worker", attempt: 1, reason: "boom on 2" })
      })
    ))

  test("backoff grows exponentially between consecutive crashes", () =>
    runTest(
      Effect.gen(function* () {
        const root = yield* Actor.root()
        const starts = yield* Ref.make(0)
        const child = yield* root.spawn(
          { id: "flaky", restart: { initialDelay: "100 millis", factor: 2, jitter: 0, maxRestarts: 10 } },
          Effect.zipRight(
            Ref.update(starts, (n) => n + 1),
            Effect.succeed((_: string) => Effect.fail("nope"))
          )
        )
        for (let i = 0; i < 3; i++) yield* child.send("x")
        yield* settle
        expect(yield* Ref.get(starts)).toBe(1)
        yield* TestClock.adjust("100 millis") // first restart after 100 ms
        yield* settle
        expect(yield* Ref.get(starts)).toBe(2)
        yield* TestClock.adjust("199 millis") // second one waits 200 ms
        yield* settle
        expect(yield* Ref.get(starts)).toBe(2)
        yield* TestClock.adjust("1 millis")
        yield* settle
        expect(yield* Ref.get(starts)).toBe(3)
      })
    ))

  test("a child crashing in a loop is marked failed after its budget and its siblings go on", () =>
    runTest(
      Effect.gen(function* () {
        const bus = yield* EventBus
        const failures = yield* bus.subscribe({ tags: ["ActorFailed"] })
        const root = yield* Actor.root()
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        const sibling = yield* root.spawn({ id: "sibling" }, recorder(seen))
        const looping = yield* root.spawn(
          { id: "looping", restart: { initialDelay: "10 millis", jitter: 0, maxRestarts: 3, window: "1 minute" } },
          Effect.succeed((_: Msg) => Effect.die("always"))
        )
        for (let i = 0; i < 10; i++) yield* looping.send({ n: i })
        for (let i = 0; i < 5; i++) {
          yield* settle
          yield* TestClock.adjust("1 second")
        }
        expect(looping.state).toBe("failed")
        expect(looping.stats.restarts).toBe(3)
        const failed = yield* Queue.take(failures)
        expect(failed.path).toBe("troupe/looping")
        expect(failed.reason).toContain("more than 3 restarts")
        const refused = yield* Effect.either(looping.send({ n: 99 }))
        expect(refused._tag).toBe("Left")
        yield* sibling.send({ n: 7 })
        yield* settle
        expect(yield* Ref.get(seen)).toEqual([7])
        expect(sibling.state).toBe("ready")
        const snapshot = (yield* ActorSystem).snapshot()
        expect(snapshot.find((node) => node.path === "troupe/looping")?.state).toBe("failed")
      })
    ))

  test("stop drains the mailbox before the actor ends", () =>
    runTest(
      Effect.gen(function* () {
        const root = yield* Actor.root()
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        const gate = yield* Deferred.make<void>()
        const child = yield* root.spawn(
          { id: "slow" },
          Effect.succeed((message: Msg) =>
            Effect.zipRight(
              message.n === 0 ? Deferred.await(gate) : Effect.void,
              Ref.update(seen, (all) => [...all, message.n])
            )
          )
        )
        for (let i = 0; i < 5; i++) yield* child.send({ n: i })
        yield* settle
        const stopping = yield* Effect.fork(root.stop("slow"))
        yield* settle
        expect(child.state).toBe("stopping")
        expect((yield* Effect.either(child.send({ n: 9 })))._tag).toBe("Left")
        yield* Deferred.succeed(gate, undefined)
        yield* stopping.await
        expect(yield* Ref.get(seen)).toEqual([0, 1, 2, 3, 4])
        expect(child.state).toBe("stopped")
        expect(root.get("slow")).toBeUndefined()
      })
    ))

  test("stop in handback mode returns the queued messages untouched", () =>
    runTest(
      Effect.gen(function* () {
        const root = yield* Actor.root()
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        const gate = yield* Deferred.make<void>()
        const child = yield* root.spawn(
          { id: "busy" },
          Effect.succeed((message: Msg) =>
            Effect.zipRight(
              Deferred.await(gate),
              Ref.update(seen, (all) => [...all, message.n])
            )
          )
        )
        for (let i = 0; i < 4; i++) yield* child.send({ n: i })
        yield* settle
        const stopping = yield* Effect.fork(root.stop("busy", { mode: "handback" }))
        yield* settle
        yield* Deferred.succeed(gate, undefined)
        const handedBack = yield* stopping.await.pipe(Effect.flatten)
        expect(yield* Ref.get(seen)).toEqual([0])
        expect(handedBack).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
      })
    ))

  test("shutdown runs every finalizer of every actor, nested groups included", async () => {
    const released: Array<string> = []
    await runTest(
      Effect.gen(function* () {
        const root = yield* Actor.root()
        const persona = yield* root.group("persona:sage", "persona")
        const withFinalizer = (name: string): Actor.Behavior<string> =>
          Effect.zipRight(
            Effect.addFinalizer(() => Effect.sync(() => released.push(name))),
            Effect.succeed((_: string) => Effect.void)
          )
        yield* root.spawn({ id: "scheduler" }, withFinalizer("scheduler"))
        yield* persona.spawn({ id: "channel" }, withFinalizer("channel"))
        const router = yield* persona.group("router", "router")
        yield* router.spawn({ id: "conversation:1" }, withFinalizer("conversation:1"))
        yield* settle
        expect(released).toEqual([])
      })
    )
    expect(released.sort()).toEqual(["channel", "conversation:1", "scheduler"])
  })

  test("ask gets an answer through the mailbox", () =>
    runTest(
      Effect.gen(function* () {
        const root = yield* Actor.root()
        type Req = { readonly add: number; readonly reply: Deferred.Deferred<number> }
        const total = yield* Ref.make(0)
        const counter = yield* root.spawn(
          { id: "counter" },
          Effect.succeed((req: Req) =>
            Effect.flatMap(
              Ref.updateAndGet(total, (n) => n + req.add),
              (n) => Deferred.succeed(req.reply, n)
            )
          )
        )
        const answers = yield* Effect.forEach([1, 2, 3], (add) =>
          Actor.ask<Req, number>(counter, (reply) => ({ add, reply }))
        )
        expect(answers).toEqual([1, 3, 6])
      })
    ))
})

describe("Actor spawned from an uninterruptible region", () => {
  test("is still interruptible: a stop that times out on its drain interrupts it", () =>
    runTest(
      Effect.gen(function* () {
        const root = yield* Actor.root()
        const gate = yield* Deferred.make<void>()
        const child = yield* Effect.uninterruptible(
          root.spawn(
            { id: "stuck" },
            Effect.succeed((_: number) => Deferred.await(gate))
          )
        )
        yield* child.send(1)
        yield* settle
        const stopping = yield* Effect.fork(root.stop("stuck", { timeout: "1 second" }))
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* stopping.await
        expect(child.state).toBe("stopped")
      })
    ))
})
