/** The one error the store reports: which operation failed and what SQLite said. */
import { Data } from "effect"

/**
 * A store operation failed: opening or migrating the database, or a group commit (a write in it, or the commit itself).
 * `operation` names the store method or step (`appendMessage`, `commit`, `open`, `migrate`, …); `message` is SQLite's.
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly operation: string
  readonly message: string
  /** SQLite's extended error code name, e.g. `SQLITE_CONSTRAINT_UNIQUE`, when SQLite reported one. */
  readonly code?: string | undefined
}> {}

/** Wrap whatever a `bun:sqlite` call threw. */
export const storeError = (operation: string, cause: unknown): StoreError =>
  cause instanceof StoreError
    ? cause
    : new StoreError({
        operation,
        message: cause instanceof Error ? cause.message : String(cause),
        code: (cause as { code?: string } | undefined)?.code
      })
