/**
 * Bridges an SDK's async-iterable stream to an Effect `Stream` of `StreamEvent`s, with the three things every provider
 * needs: closing the stream's scope (an interrupted turn) aborts the HTTP request; a stalled response fails with kind
 * `timeout`; anything thrown is classified into an `LlmError` without secrets.
 */
import { Effect, Stream } from "effect"
import { LlmError, type StreamEvent } from "../Provider.ts"
import { classifyError } from "./errors.ts"

/** Turns an SDK's chunks into events; `finish` is called when the SDK stream ended without an error. */
export interface ChunkReader<Chunk> {
  /** Read one chunk, pushing any text deltas through `emit`. */
  readonly read: (chunk: Chunk, emit: (event: StreamEvent) => void) => void
  /** The `Finished` event, or `undefined` when the stream ended before the answer did (a cut connection). */
  readonly finish: () => StreamEvent | undefined
}

export interface SdkStreamOptions<Chunk> {
  readonly provider: string
  readonly model: string
  readonly timeoutMs: number
  /** Values to strip from error details (the API key). */
  readonly secrets: ReadonlyArray<string | undefined>
  /** Start the request; must pass `signal` on to the SDK so aborting it cancels the HTTP request. */
  readonly open: (signal: AbortSignal) => Promise<AsyncIterable<Chunk>>
  readonly reader: () => ChunkReader<Chunk>
}

export const sdkStream = <Chunk>(options: SdkStreamOptions<Chunk>): Stream.Stream<StreamEvent, LlmError> =>
  Stream.asyncPush<StreamEvent, LlmError>((emit) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const controller = new AbortController()
        const state = { closed: false, timedOut: false, last: performance.now(), timer: undefined as Timer | undefined }
        // One timer per call, re-armed lazily: a chunk only records the time, so the hot path costs no timer calls.
        const watch = (delay: number) => {
          state.timer = setTimeout(() => {
            const idle = performance.now() - state.last
            if (idle < options.timeoutMs) return watch(options.timeoutMs - idle)
            state.timedOut = true
            controller.abort()
          }, delay)
        }
        watch(options.timeoutMs)
        const timeoutError = () =>
          new LlmError({
            provider: options.provider,
            model: options.model,
            kind: "timeout",
            detail: `no data for ${options.timeoutMs} ms`
          })
        const push = (event: StreamEvent) => {
          emit.single(event)
        }
        const run = async () => {
          const reader = options.reader()
          try {
            const iterable = await options.open(controller.signal)
            for await (const chunk of iterable) {
              state.last = performance.now()
              reader.read(chunk, push)
            }
            if (state.closed) return
            // Both SDKs end an aborted stream quietly, so a timeout shows up here as an early end.
            if (state.timedOut) return emit.fail(timeoutError())
            const finished = reader.finish()
            if (finished === undefined) {
              return emit.fail(
                new LlmError({
                  provider: options.provider,
                  model: options.model,
                  kind: "connection",
                  detail: "the stream ended before the answer was complete"
                })
              )
            }
            emit.single(finished)
            emit.end()
          } catch (error) {
            if (state.closed) return
            emit.fail(
              state.timedOut ? timeoutError() : classifyError(options.provider, options.model, error, options.secrets)
            )
          } finally {
            clearTimeout(state.timer)
          }
        }
        void run()
        return { controller, state }
      }),
      ({ controller, state }) =>
        Effect.sync(() => {
          state.closed = true
          clearTimeout(state.timer)
          controller.abort()
        })
    )
  )
