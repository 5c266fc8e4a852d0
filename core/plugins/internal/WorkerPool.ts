/**
 * Warm spare Workers: started ahead of need, with the bootstrap (SDK + Effect) already evaluated, so loading a plugin
 * version or replacing a hung Worker only imports the plugin's own files. The first spare is started when the first
 * Worker is taken (a runtime without plugins runs no Worker at all). Spares are terminated when the pool's scope
 * closes.
 */
import { Effect, type Scope } from "effect"
import { workerEntry } from "./bundle.ts"
import { WorkerProcess } from "./WorkerProcess.ts"

export interface WorkerPool {
  /** A started Worker: a spare when one is ready, else a new one. */
  readonly take: Effect.Effect<WorkerProcess, string>
}

export const makeWorkerPool = (spares: number): Effect.Effect<WorkerPool, never, Scope.Scope> =>
  Effect.gen(function* () {
    const entry = yield* workerEntry
    const scope = yield* Effect.scope
    const ready: Array<WorkerProcess> = []
    let booting = 0
    let closed = false

    const boot = Effect.suspend(() => {
      booting++
      return WorkerProcess.start(entry).pipe(
        Effect.tap((process) =>
          Effect.sync(() => {
            if (closed) process.terminate()
            else ready.push(process)
          })
        ),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => booting--))
      )
    })

    const replenish = Effect.suspend(() => {
      const missing = closed ? 0 : spares - ready.length - booting
      return missing > 0
        ? Effect.forkIn(
            Effect.forEach(Array.from({ length: missing }), () => boot, { concurrency: "unbounded" }),
            scope
          )
        : Effect.void
    })

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const process of ready.splice(0)) process.terminate()
      })
    )
    const take = Effect.suspend(() => {
      let spare = ready.shift()
      while (spare && !spare.alive) spare = ready.shift()
      return Effect.zipLeft(spare ? Effect.succeed(spare) : WorkerProcess.start(entry), replenish)
    })
    return { take }
  })
