/**
 * Correlation ids tie together every log line of one unit of work (an incoming message, its reply, the tool calls in
 * between), across the fibers it forks.
 */
import { Effect, FiberRef, HashMap, Option } from "effect"

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
const pool = new Uint8Array(4096)
let poolOffset = pool.length

/** Length of the ids `newCorrelationId` makes (60 random bits). */
export const CORRELATION_ID_LENGTH = 10

/**
 * A short, url-safe random id (10 characters of `[0-9A-Za-z_-]`), from a pooled `crypto.getRandomValues` buffer.
 *
 * @example
 * const cid = newCorrelationId() // "f3K_x9aQ0b"
 */
export const newCorrelationId = (): string => {
  if (poolOffset + CORRELATION_ID_LENGTH > pool.length) {
    crypto.getRandomValues(pool)
    poolOffset = 0
  }
  let id = ""
  for (let i = 0; i < CORRELATION_ID_LENGTH; i++) id += alphabet[pool[poolOffset++]! & 63]
  return id
}

/**
 * Annotate every log line inside `self` (and inside the fibers it forks) with `cid`, and `persona` and `conversation`
 * when given; the annotations in force before come back when `self` succeeds or fails.
 *
 * It runs once per turn, so it is `Effect.annotateLogs` made cheaper: that one guards the restore against
 * interruption, at about 25 runtime steps; this one takes about 6. An interrupted `self` leaves its annotations on a
 * fiber that is ending (only finalizers still run on it, and their lines keep the id of the work they end).
 *
 * @example
 * handleMessage(message).pipe(withCorrelation(newCorrelationId(), "sage", "telegram:chat:42"))
 */
export const withCorrelation =
  (cid: string, persona?: string, conversation?: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(
      FiberRef.getAndUpdate(FiberRef.currentLogAnnotations, (annotations) => {
        let next = HashMap.set(annotations, "cid", cid as unknown)
        if (persona !== undefined) next = HashMap.set(next, "persona", persona)
        if (conversation !== undefined) next = HashMap.set(next, "conversation", conversation)
        return next
      }),
      (before) => {
        const restore = FiberRef.set(FiberRef.currentLogAnnotations, before)
        return Effect.matchCauseEffect(self, {
          onFailure: (cause) => Effect.zipRight(restore, Effect.failCause(cause)),
          onSuccess: (value) => Effect.as(restore, value)
        })
      }
    )

/** The correlation id of the current fiber, if some `withCorrelation` encloses it. */
export const currentCorrelationId: Effect.Effect<Option.Option<string>> = Effect.map(
  FiberRef.get(FiberRef.currentLogAnnotations),
  (annotations) => Option.filter(HashMap.get(annotations, "cid"), (cid): cid is string => typeof cid === "string")
)
