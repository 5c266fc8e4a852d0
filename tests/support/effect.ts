import { Effect, Layer, Logger, LogLevel, type Scope, TestContext } from "effect"
import { ActorSystem } from "../../core/actor/ActorSystem.ts"
import { EventBus } from "../../core/events/EventBus.ts"

/** The bus and actor registry every runtime test needs, fresh per test. */
export const baseLayer = ActorSystem.layer.pipe(Layer.provideMerge(EventBus.layer))

/** Run an effect with the TestClock, a fresh bus + actor system, and quiet logs (set TROUPE_TEST_LOGS=1 to see them). */
export const runTest = <A, E>(effect: Effect.Effect<A, E, EventBus | ActorSystem | Scope.Scope>): Promise<A> =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(baseLayer),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(process.env.TROUPE_TEST_LOGS ? LogLevel.Debug : LogLevel.None),
    Effect.runPromise
  )

/** Same with the real clock, for tests that talk to real servers. */
export const runLive = <A, E>(effect: Effect.Effect<A, E, EventBus | ActorSystem | Scope.Scope>): Promise<A> =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(baseLayer),
    Logger.withMinimumLogLevel(process.env.TROUPE_TEST_LOGS ? LogLevel.Debug : LogLevel.None),
    Effect.runPromise
  )

/** Let every runnable fiber run (the TestClock does not advance). */
export const settle = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow(), { discard: true })
