/** `troupe start` / `troupe dev`: run until SIGINT/SIGTERM (graceful: finalizers run, the store is flushed). */
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import type { LoadedConfig } from "../../config/Config.ts"
import { defaultRedactor } from "../../log/Redactor.ts"
import { type Runtime, type RuntimeOptions, runForever, runtimeLayer } from "../../runtime/Runtime.ts"

export interface StartFlags {
  readonly dev: boolean
  readonly dryRun: boolean | undefined
  readonly port: number | undefined
}

/** The message of a startup failure, without Effect's internals when the cause is one of ours. */
export const describeFailure = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.squash(cause)
  return defaultRedactor.redact(failure instanceof Error ? `troupe: ${failure.message}` : Cause.pretty(cause))
}

export const runStart = async (loaded: LoadedConfig, flags: StartFlags) => {
  const options: RuntimeOptions = {
    ...(flags.dev ? { watch: true, logFormat: "pretty" as const } : {}),
    ...(flags.dryRun === undefined ? {} : { dryRun: flags.dryRun }),
    ...(flags.port === undefined ? {} : { port: flags.port })
  }
  const ready = Effect.runSync(Deferred.make<Runtime>())
  const fiber = Effect.runFork(Effect.provide(runForever(options, ready), runtimeLayer(loaded, options)))

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`)
      process.exit(130)
    }
    stopping = true
    // Past the shutdown timeout, give up waiting for actors to drain.
    setTimeout(() => {
      process.stderr.write("shutdown took too long, exiting\n")
      process.exit(1)
    }, loaded.config.runtime.shutdownTimeout + 5_000).unref()
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", () => stop("SIGINT"))
  process.on("SIGTERM", () => stop("SIGTERM"))
  process.on("SIGHUP", () => {
    Effect.runFork(Effect.flatMap(Deferred.await(ready), (runtime) => runtime.reload))
  })

  const exit = await Effect.runPromise(Fiber.await(fiber))
  if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
    process.stderr.write(`${describeFailure(exit.cause)}\n`)
    process.exit(1)
  }
  process.exit(0)
}
