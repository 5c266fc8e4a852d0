/**
 * Group commit. Writes are buffered in order and committed together in one transaction: `flushDelayMs` after the
 * first buffered write (`setImmediate` when 0), on the next microtask when someone waits in `commit`, or at once when a
 * read needs them. A transaction costs one WAL write (tens of µs) while a row inside it costs a few µs, so many writes
 * sharing one transaction is what lets the store keep up with the runtime: a few milliseconds of delay let even one
 * busy conversation's consecutive messages share a commit. Whoever needs durability (before sending a reply) awaits
 * `commit`, which does not wait for the delay.
 *
 * Failures are precise: a write that fails (a constraint) is skipped and the rest of the batch still commits; a
 * waiter fails only if a write issued before its `commit` call is not in the database. When SQLite gives up the whole
 * transaction (disk full, I/O error) every write of the batch is lost and every waiter of it fails. Either way the
 * failure is also reported to `onError`, so a write nobody waited for is never dropped silently.
 */
import type { Database, SQLQueryBindings, Statement } from "bun:sqlite"
import { Effect } from "effect"
import { StoreError, storeError } from "../StoreError.ts"

/** A kind of buffered write: the store method's name (for errors) and its prepared statement. */
export interface WriteKind {
  readonly name: string
  readonly statement: Statement
}

/** What one flush lost, for the log. */
export interface FlushFailure {
  readonly error: StoreError
  /** Writes not in the database after this flush. */
  readonly lost: number
  /** Writes in the batch. */
  readonly batch: number
}

/** Counters for metrics and tests. */
export interface WriterStats {
  /** Committed transactions (group commits). */
  readonly transactions: number
  /** Writes committed. */
  readonly writes: number
  /** Writes that failed and are not in the database. */
  readonly failedWrites: number
  /** Writes buffered, not yet committed. */
  readonly pending: number
}

/** Buffered writes that trigger a flush on the next microtask without waiting for `setImmediate`. */
const maxBatch = 4096

interface Waiter {
  /** How many buffered writes preceded the `commit` call: those must all be committed for it to succeed. */
  readonly mark: number
  readonly resume: (effect: Effect.Effect<void, StoreError>) => void
}

export class Writer {
  private kinds: Array<WriteKind> = []
  private params: Array<Array<SQLQueryBindings>> = []
  private waiters: Array<Waiter> = []
  private immediate: ReturnType<typeof setImmediate> | ReturnType<typeof setTimeout> | undefined
  private microtask = false
  private flushing = false
  private closed = false
  private readonly begin: Statement
  private readonly end: Statement
  private readonly rollback: Statement
  private readonly listeners: Array<() => void> = []
  private transactions = 0
  private committed = 0
  private failed = 0

  constructor(
    private readonly db: Database,
    private readonly onError: (failure: FlushFailure) => void,
    /** How long an unawaited write may wait for company before it is committed (0: the next `setImmediate`). */
    private readonly flushDelayMs = 0
  ) {
    this.begin = db.prepare("BEGIN")
    this.end = db.prepare("COMMIT")
    this.rollback = db.prepare("ROLLBACK")
  }

  /** Buffer one write; it is committed within about a tick, or earlier by `commit` or a read. */
  write(kind: WriteKind, params: Array<SQLQueryBindings>): void {
    if (this.closed) throw new StoreError({ operation: kind.name, message: "the store is closed" })
    this.kinds.push(kind)
    this.params.push(params)
    if (this.immediate === undefined) {
      this.immediate =
        this.flushDelayMs > 0 ? setTimeout(this.onImmediate, this.flushDelayMs) : setImmediate(this.onImmediate)
    }
    // A fiber loop that never yields to the event loop would starve `setImmediate`: bound the buffer anyway.
    else if (this.kinds.length === maxBatch) this.scheduleMicrotask()
  }

  /** Writes buffered and not yet committed. */
  get pending(): number {
    return this.kinds.length
  }

  /** Called after every flush (successful or not), e.g. to forget state that mirrors the buffer. */
  onFlush(listener: () => void): void {
    this.listeners.push(listener)
  }

  /** Succeeds once every write issued before it is committed; concurrent callers share one transaction. */
  readonly commit: Effect.Effect<void, StoreError> = Effect.suspend(() => {
    if (this.kinds.length === 0) return Effect.void
    return Effect.async<void, StoreError>((resume) => {
      const waiter: Waiter = { mark: this.kinds.length, resume }
      this.waiters.push(waiter)
      this.scheduleMicrotask()
      return Effect.sync(() => {
        const index = this.waiters.indexOf(waiter)
        if (index >= 0) this.waiters.splice(index, 1)
      })
    })
  })

  /** Commit what is buffered now, synchronously (reads call this for read-your-writes). */
  flush(): void {
    if (this.kinds.length === 0 || this.flushing) return
    this.flushing = true
    this.cancelTimer()
    const kinds = this.kinds
    const params = this.params
    const waiters = this.waiters
    this.kinds = []
    this.params = []
    this.waiters = []
    const count = kinds.length
    // Index of the first write that is not in the database once this flush is over (`count`: none).
    let firstLost = count
    let lost = 0
    let error: StoreError | undefined
    try {
      this.begin.run()
      for (let i = 0; i < count; i++) {
        try {
          kinds[i]!.statement.run(...params[i]!)
        } catch (cause) {
          if (error === undefined) error = storeError(kinds[i]!.name, cause)
          if (firstLost === count) firstLost = i
          lost++
          // For some errors (disk full, I/O) SQLite rolls the whole transaction back: everything so far is gone.
          if (!this.db.inTransaction) throw error
        }
      }
      this.end.run()
      this.transactions++
      this.committed += count - lost
    } catch (cause) {
      const failure = cause instanceof StoreError ? cause : storeError("commit", cause)
      error = failure
      firstLost = 0
      lost = count
      if (this.db.inTransaction) {
        try {
          this.rollback.run()
        } catch (rollbackCause) {
          const reason = rollbackCause instanceof Error ? rollbackCause.message : String(rollbackCause)
          error = new StoreError({
            operation: failure.operation,
            code: failure.code,
            message: `${failure.message} (and the rollback failed: ${reason})`
          })
        }
      }
    } finally {
      this.flushing = false
    }
    this.failed += lost
    for (const listener of this.listeners) listener()
    if (error !== undefined) {
      const failure = error
      for (const waiter of waiters) waiter.resume(waiter.mark > firstLost ? Effect.fail(failure) : Effect.void)
      this.onError({ error: failure, lost, batch: count })
    } else {
      for (const waiter of waiters) waiter.resume(Effect.void)
    }
  }

  /** Final flush; later writes are refused. */
  close(): void {
    this.flush()
    this.closed = true
    this.cancelTimer()
  }

  private cancelTimer(): void {
    if (this.immediate === undefined) return
    if (this.flushDelayMs > 0) clearTimeout(this.immediate as ReturnType<typeof setTimeout>)
    else clearImmediate(this.immediate as ReturnType<typeof setImmediate>)
    this.immediate = undefined
  }

  stats(): WriterStats {
    return {
      transactions: this.transactions,
      writes: this.committed,
      failedWrites: this.failed,
      pending: this.kinds.length
    }
  }

  private scheduleMicrotask(): void {
    if (this.microtask) return
    this.microtask = true
    queueMicrotask(this.onMicrotask)
  }

  private readonly onImmediate = () => {
    this.immediate = undefined
    this.flush()
  }

  private readonly onMicrotask = () => {
    this.microtask = false
    this.flush()
  }
}
