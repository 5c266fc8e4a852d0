import { describe, expect, test } from "bun:test"
import { Effect, Queue } from "effect"
import { makeEventBus } from "../../core/events/EventBus.ts"
import type { TroupeEvent } from "../../core/events/Events.ts"
import { runLive } from "../support/effect.ts"

const loaded = (n: number): TroupeEvent => ({
  _tag: "PersonaLoaded",
  at: n,
  persona: `p${n}`,
  file: "f",
  durationMs: 1
})
const started = (n: number): TroupeEvent => ({ _tag: "ActorStarted", at: n, path: `a${n}`, kind: "x" })

describe("EventBus", () => {
  test("typed subscriptions get only their event types, in order", () =>
    runLive(
      Effect.gen(function* () {
        const bus = makeEventBus()
        const personas = yield* bus.subscribe({ tags: ["PersonaLoaded"] })
        bus.unsafePublish(started(1))
        bus.unsafePublish(loaded(2))
        bus.unsafePublish(loaded(3))
        const got = yield* Queue.takeAll(personas)
        expect([...got].map((e) => e.persona)).toEqual(["p2", "p3"])
      })
    ))

  test("a slow subscriber loses its oldest events instead of holding the publisher up", () =>
    runLive(
      Effect.gen(function* () {
        const bus = makeEventBus()
        const slow = yield* bus.subscribe({ capacity: 3 })
        for (let n = 0; n < 10; n++) bus.unsafePublish(started(n))
        expect([...(yield* Queue.takeAll(slow))].map((e) => e.at)).toEqual([7, 8, 9])
      })
    ))

  test("plugin and persona loads are retained for subscribers that come later", () => {
    const bus = makeEventBus({ retain: { tags: ["PersonaLoaded"], limit: 2 } })
    for (let n = 0; n < 5; n++) {
      bus.unsafePublish(loaded(n))
      bus.unsafePublish(started(n))
    }
    expect(bus.retained().map((e) => e.at)).toEqual([3, 4])
  })
})
