/**
 * When the agent loop retries a failed call, falls back to the next model of the chain, or gives up.
 *
 * Transient errors (rate limits, overload, timeouts, cut connections) are retried on the same model with exponential
 * backoff and jitter, honouring the server's `retry-after`, up to the provider's `max_retries`; then the next model of
 * the persona's fallback chain is tried. Auth and bad-request errors are not retried: they go straight to the next
 * model.
 */
import type { LlmError } from "./Provider.ts"

export interface RetryPolicy {
  /** First backoff (default 500 ms). */
  readonly baseMs: number
  readonly factor: number
  /** Longest backoff; a `retry-after` longer than this is not waited for: the next model is tried instead. */
  readonly capMs: number
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 500, factor: 2, capMs: 20_000 }

export type NextStep =
  | { readonly next: "retry"; readonly delayMs: number }
  | { readonly next: "fallback" }
  | { readonly next: "give_up" }

/**
 * Backoff before retry number `attempt` (1 = the first retry): the server's `retry-after` when it gave one, else
 * `base * factor^(attempt-1)` capped, with "equal jitter" (half fixed, half random) so many conversations hitting one
 * rate limit do not retry in lockstep. `random` is in [0, 1).
 */
export const retryDelay = (
  attempt: number,
  retryAfterMs: number | undefined,
  random: number,
  policy: RetryPolicy = defaultRetryPolicy
): number => {
  if (retryAfterMs !== undefined) return Math.max(0, Math.round(retryAfterMs))
  const backoff = Math.min(policy.capMs, policy.baseMs * policy.factor ** (attempt - 1))
  return Math.round(backoff / 2 + (random * backoff) / 2)
}

/**
 * What to do after `error` on attempt `attempt` (1-based) of one model.
 *
 * @example
 * decide(rateLimited, 1, 2, true, 0.5) // { next: "retry", delayMs: 3000 } when the server said retry-after: 3
 */
export const decide = (
  error: LlmError,
  attempt: number,
  maxRetries: number,
  hasFallback: boolean,
  random: number,
  policy: RetryPolicy = defaultRetryPolicy
): NextStep => {
  const waitTooLong = error.retryAfterMs !== undefined && error.retryAfterMs > policy.capMs
  if (error.transient && attempt <= maxRetries && !waitTooLong) {
    return { next: "retry", delayMs: retryDelay(attempt, error.retryAfterMs, random, policy) }
  }
  return hasFallback ? { next: "fallback" } : { next: "give_up" }
}
