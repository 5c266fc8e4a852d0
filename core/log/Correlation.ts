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
 * when given.
 *
 * @example
 * handleMessage(message).pipe(withCorrelation(newCorrelationId(), "sage", "telegram:chat:42"))
 */
export const withCorrelation =
  (cid: string, persona?: string, conversation?: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const annotations: Record<string, string> = { cid }
    if (persona !== undefined) annotations.persona = persona
    if (conversation !== undefined) annotations.conversation = conversation
    return Effect.annotateLogs(self, annotations)
  }

/** The correlation id of the current fiber, if some `withCorrelation` encloses it. */
export const currentCorrelationId: Effect.Effect<Option.Option<string>> = Effect.map(
  FiberRef.get(FiberRef.currentLogAnnotations),
  (annotations) => Option.filter(HashMap.get(annotations, "cid"), (cid): cid is string => typeof cid === "string")
)
