/**
 * Completions (the pull-based reader every provider offers) and the `Stream` view of one.
 *
 * `sdkCompletion` bridges an SDK's async-iterable stream with the three things every network provider needs:
 * cancelling aborts the HTTP request; a stalled response fails with kind `timeout`; anything thrown is classified
 * into an `LlmError` without secrets.
 */
import { Effect, Option, Stream } from "effect"
import { type Completion, LlmError, type StreamEvent } from "../Provider.ts"
import { classifyError } from "./errors.ts"

/** Turns an SDK's chunks into events; `finish` is called when the SDK stream ended without an error. */
export interface ChunkReader<Chunk> {
  /** Read one chunk, pushing any text deltas through `emit`. */
  readonly read: (chunk: Chunk, emit: (event: StreamEvent) => void) => void
  /** The `Finished` event, or `undefined` when the stream ended before the answer did (a cut connection). */
  readonly finish: () => StreamEvent | undefined
}

export interface SdkCompletionOptions<Chunk> {
  readonly provider: string
  readonly model: string
  readonly timeoutMs: number
  /** Values to strip from error details (the API key). */
  readonly secrets: ReadonlyArray<string | undefined>
  /** Start the request; must pass `signal` on to the SDK so aborting it cancels the HTTP request. */
  readonly open: (signal: AbortSignal) => Promise<AsyncIterable<Chunk>>
  readonly reader: () => ChunkReader<Chunk>
}

export const sdkCompletion = <Chunk>(options: SdkCompletionOptions<Chunk>): Completion => {
  const controller = new AbortController()
  const buffer: StreamEvent[] = []
  let head = 0
  let started = false
  let failed: LlmError | undefined
  let waiter: ((effect: Effect.Effect<StreamEvent, LlmError>) => void) | undefined
  let timer: Timer | undefined
  let timedOut = false
  let last = 0

  const stop = () => {
    clearTimeout(timer)
    timer = undefined
  }
  // One timer per call, re-armed lazily: a chunk only records the time, so reading costs no timer calls.
  const watch = (delay: number) => {
    timer = setTimeout(() => {
      const idle = performance.now() - last
      if (idle < options.timeoutMs) return watch(options.timeoutMs - idle)
      timedOut = true
      controller.abort()
    }, delay)
  }
  const failure = (kind: "timeout" | "connection", detail: string) =>
    new LlmError({ provider: options.provider, model: options.model, kind, detail })
  const timeoutError = () => failure("timeout", `no data for ${options.timeoutMs} ms`)

  const take = (): StreamEvent => {
    const event = buffer[head++]!
    if (head === buffer.length) {
      head = 0
      buffer.length = 0
    }
    return event
  }
  /** Hand the waiting reader what it waits for, if it is there. */
  const wake = () => {
    if (waiter === undefined) return
    if (head < buffer.length) {
      const resume = waiter
      waiter = undefined
      resume(Effect.succeed(take()))
    } else if (failed !== undefined) {
      const resume = waiter
      waiter = undefined
      resume(Effect.fail(failed))
    }
  }
  const push = (event: StreamEvent) => {
    buffer.push(event)
  }

  // The SDK is read in a plain async loop that runs ahead of the reader, so an answer that arrives in one burst costs
  // one fiber wake-up instead of one per chunk.
  const run = async () => {
    const reader = options.reader()
    last = performance.now()
    watch(options.timeoutMs)
    try {
      const iterable = await options.open(controller.signal)
      for await (const chunk of iterable) {
        last = performance.now()
        reader.read(chunk, push)
        wake()
      }
      // Both SDKs end an aborted stream quietly, so a timeout shows up here as an early end.
      if (timedOut) throw timeoutError()
      const finished = reader.finish()
      if (finished === undefined) throw failure("connection", "the stream ended before the answer was complete")
      push(finished)
    } catch (error) {
      failed =
        timedOut && !(error instanceof LlmError)
          ? timeoutError()
          : classifyError(options.provider, options.model, error, options.secrets)
    } finally {
      stop()
    }
    wake()
  }

  const cancel = () => {
    stop()
    controller.abort()
  }
  return {
    next: Effect.suspend(() => {
      if (!started) {
        started = true
        void run()
      }
      if (head < buffer.length) return Effect.succeed(take())
      if (failed !== undefined) return Effect.fail(failed)
      return Effect.async<StreamEvent, LlmError>((resume) => {
        waiter = resume
        return Effect.sync(() => {
          waiter = undefined
          cancel()
        })
      })
    }),
    // Nothing is here before the first `next` starts the request.
    poll: () => (head < buffer.length ? take() : undefined),
    cancel
  }
}

/** A completion over events known in advance (the in-process providers). */
export const eventsCompletion = (events: ReadonlyArray<StreamEvent>): Completion => {
  let index = 0
  return {
    next: Effect.sync(() => events[index++]!),
    poll: () => (index < events.length ? events[index++] : undefined),
    cancel: () => {}
  }
}

/** The `Stream` view of a completion; closing the stream early cancels it. */
export const completionStream = (start: () => Completion): Stream.Stream<StreamEvent, LlmError> =>
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(Effect.sync(start), (completion) => Effect.sync(completion.cancel)),
      (completion) => {
        let finished = false
        return Stream.repeatEffectOption(
          Effect.suspend(() =>
            finished
              ? Effect.fail(Option.none())
              : Effect.map(Effect.mapError(completion.next, Option.some), (event) => {
                  if (event._tag === "Finished") finished = true
                  return event
                })
          )
        )
      }
    )
  )
