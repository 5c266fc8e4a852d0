/**
 * The services the in-process benchmarks (`pipeline.ts`, `conversations.ts`) run the real router and conversation
 * actors on: a SQLite store on disk in a temporary folder, metrics, an instant provider, no tools, the actor system
 * and the event bus.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Logger, LogLevel, type Scope } from "effect"
import { ActorSystem } from "../core/actor/ActorSystem.ts"
import { EventBus } from "../core/events/EventBus.ts"
import { makeInstantProvider } from "../core/llm/InstantProvider.ts"
import { LlmProviders } from "../core/llm/Providers.ts"
import { Metrics } from "../core/metrics/Metrics.ts"
import { Store } from "../core/store/Store.ts"
import { Tools } from "../core/tools/Tools.ts"

export type InProcessServices = Store | Metrics | LlmProviders | Tools | ActorSystem | EventBus

/**
 * Run `program` on those services, with the instant provider answering `reply`; warnings and errors are logged. The
 * store's folder is removed afterwards.
 */
export const runInProcess = async <A, E>(
  name: string,
  reply: string,
  program: Effect.Effect<A, E, InProcessServices | Scope.Scope>
): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), `troupe-${name}-`))
  const layer = Layer.mergeAll(
    Store.layer({ path: join(dir, "bench.db"), flushDelayMs: 5 }),
    Metrics.layer,
    LlmProviders.layerTest([makeInstantProvider({ reply })]),
    Tools.layerNone,
    ActorSystem.layer.pipe(Layer.provideMerge(EventBus.layer))
  ).pipe(Layer.orDie)
  try {
    return await program.pipe(
      Effect.scoped,
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Warning),
      Effect.runPromise
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
