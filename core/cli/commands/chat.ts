/**
 * `troupe chat PERSONA`: the runtime with one persona and no platform connections, talking on the console through the
 * same router and reply policy as every other channel.
 */
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import { makeConsoleChannel } from "../../channels/console/ConsoleChannel.ts"
import type { LoadedConfig } from "../../config/Config.ts"
import { EventBus } from "../../events/EventBus.ts"
import { type Runtime, type RuntimeOptions, runForever, runtimeLayer } from "../../runtime/Runtime.ts"
import { describeFailure } from "./start.ts"

export const runChat = async (loaded: LoadedConfig, personaId: string) => {
  const finished = Effect.runSync(Deferred.make<void>())
  const ready = Effect.runSync(Deferred.make<Runtime>())
  const options: RuntimeOptions = {
    only: [personaId],
    platformChannels: false,
    port: 0,
    web: false,
    logLevel: "warn",
    attach: (persona) =>
      Effect.gen(function* () {
        const { instance, run } = yield* makeConsoleChannel(
          { id: persona.id, title: () => persona.current().title },
          persona.router.receive,
          yield* EventBus
        )
        yield* Effect.forkScoped(Effect.ensuring(run, Deferred.succeed(finished, undefined)))
        return [instance]
      })
  }
  const program = Effect.gen(function* () {
    const main = yield* Effect.fork(runForever(options, ready))
    const runtime = yield* Deferred.await(ready)
    if (!runtime.personas().has(personaId)) {
      yield* Fiber.interrupt(main)
      return yield* Effect.fail(new Error(`no persona "${personaId}" is loaded (run: bun run troupe check)`))
    }
    yield* Deferred.await(finished)
    yield* Fiber.interrupt(main)
  }).pipe(Effect.provide(runtimeLayer(loaded, options)))
  // Ctrl-C or SIGTERM ends the chat like /quit: the runtime shuts down in order and the store is flushed.
  const fiber = Effect.runFork(program)
  const stop = () => Effect.runFork(Fiber.interrupt(fiber))
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
    process.stderr.write(`${describeFailure(exit.cause)}\n`)
    process.exit(1)
  }
  process.exit(0)
}
