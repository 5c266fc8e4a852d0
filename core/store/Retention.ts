/**
 * Delivery records (inbound messages and outbox chunks) are what make replies effectively once: a redelivered message
 * is recognised, a restart finishes a turn instead of repeating it. They matter for hours, not forever, so past
 * `store.delivery_retention` they are pruned — a minute after start, then every hour — and the database does not grow
 * with every message ever handled. (Transcripts are kept to each persona's `memory.max_messages` by its conversations.)
 */
import { Clock, Duration, Effect } from "effect"
import { Store } from "./Store.ts"

export interface RetentionOptions {
  /** Records older than this are deleted. */
  readonly retentionMs: number
  /** Default 1 hour. */
  readonly intervalMs?: number
  /** Before the first prune (default 1 minute: start-up comes first). */
  readonly firstAfterMs?: number
}

/** Prune now: delete delivery records older than the retention, and log what went. */
export const pruneDeliveries = (retentionMs: number) =>
  Effect.gen(function* () {
    const store = yield* Store
    const now = yield* Clock.currentTimeMillis
    const pruned = yield* store.pruneDeliveries(now - retentionMs)
    if (pruned.inbound + pruned.outbox > 0) {
      yield* Effect.logInfo(
        `store: pruned ${pruned.inbound} inbound records and ${pruned.outbox} outbox entries older than ${Duration.format(retentionMs)}`
      )
    }
    return pruned
  })

/** The housekeeping fiber, for the lifetime of the surrounding scope. */
export const pruneDeliveriesEvery = (options: RetentionOptions) =>
  Effect.forkScoped(
    Effect.zipRight(
      Effect.sleep(options.firstAfterMs ?? 60_000),
      Effect.forever(
        Effect.zipRight(
          pruneDeliveries(options.retentionMs).pipe(
            Effect.catchAllCause((cause) => Effect.logWarning("store: pruning delivery records failed", cause))
          ),
          Effect.sleep(options.intervalMs ?? 3_600_000)
        )
      )
    )
  )
