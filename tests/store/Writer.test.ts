import { Database } from "bun:sqlite"
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { type FlushFailure, type WriteKind, Writer } from "../../core/store/internal/Writer.ts"
import { useTempDir } from "./helpers.ts"

const dir = useTempDir()

const setup = () => {
  const db = new Database(join(dir.path, "writer.db"), { create: true })
  db.run("PRAGMA journal_mode = WAL")
  db.run("CREATE TABLE t (x TEXT NOT NULL CHECK (length(x) < 50000))")
  const failures: Array<FlushFailure> = []
  const writer = new Writer(db, (failure) => failures.push(failure))
  const insert: WriteKind = { name: "insert", statement: db.prepare("INSERT INTO t (x) VALUES (?)") }
  const rows = () => (db.query("SELECT x FROM t ORDER BY rowid").all() as Array<{ x: string }>).map((r) => r.x)
  return { db, writer, insert, failures, rows }
}

describe("Writer (group commit)", () => {
  test("writes wait in memory until a commit, a read's flush or the next tick", async () => {
    const { db, writer, insert, rows } = setup()
    writer.write(insert, ["a"])
    writer.write(insert, ["b"])
    expect(rows()).toEqual([])
    expect(writer.pending).toBe(2)
    await Effect.runPromise(writer.commit)
    expect(rows()).toEqual(["a", "b"])
    writer.write(insert, ["c"])
    writer.flush()
    expect(rows()).toEqual(["a", "b", "c"])
    writer.write(insert, ["d"])
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(rows()).toEqual(["a", "b", "c", "d"])
    expect(writer.stats()).toEqual({ transactions: 3, writes: 4, failedWrites: 0, pending: 0 })
    writer.close()
    db.close()
  })

  test("concurrent commits share one transaction", async () => {
    const { db, writer, insert, rows } = setup()
    const commits = Array.from({ length: 100 }, (_, i) => {
      writer.write(insert, [`row ${i}`])
      return Effect.runPromise(writer.commit)
    })
    await Promise.all(commits)
    expect(rows()).toHaveLength(100)
    expect(writer.stats().transactions).toBe(1)
    // A commit with nothing buffered returns at once.
    await Effect.runPromise(writer.commit)
    expect(writer.stats().transactions).toBe(1)
    writer.close()
    db.close()
  })

  test("a failed write only fails the commits issued after it; the rest of the batch commits", async () => {
    const { db, writer, insert, failures, rows } = setup()
    writer.write(insert, ["ok 1"])
    const early = Effect.runPromise(Effect.either(writer.commit))
    writer.write(insert, ["x".repeat(60_000)])
    writer.write(insert, ["ok 2"])
    const late = Effect.runPromise(Effect.either(writer.commit))
    const [first, second] = await Promise.all([early, late])
    expect(Either.isRight(first)).toBe(true)
    expect(Either.isLeft(second) && second.left.operation).toBe("insert")
    expect(rows()).toEqual(["ok 1", "ok 2"])
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ lost: 1, batch: 3 })
    expect(failures[0]!.error.message).toContain("CHECK constraint failed")
    writer.close()
    db.close()
  })

  test("when SQLite gives the transaction up (disk full) the whole batch fails, and nothing runs outside it", async () => {
    const { db, writer, insert, failures, rows } = setup()
    db.run("PRAGMA max_page_count = 8")
    writer.write(insert, ["first"])
    const early = Effect.runPromise(Effect.either(writer.commit))
    writer.write(insert, ["y".repeat(40_000)])
    writer.write(insert, ["after"])
    const late = Effect.runPromise(Effect.either(writer.commit))
    const [first, second] = await Promise.all([early, late])
    // SQLITE_FULL rolled back "first" too, so even the commit issued before the big write fails.
    expect(Either.isLeft(first) && first.left.code).toBe("SQLITE_FULL")
    expect(Either.isLeft(second)).toBe(true)
    expect(rows()).toEqual([])
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ lost: 3, batch: 3 })
    expect(db.inTransaction).toBe(false)
    // The writer keeps working once there is room again.
    db.run("PRAGMA max_page_count = 100000")
    writer.write(insert, ["recovered"])
    await Effect.runPromise(writer.commit)
    expect(rows()).toEqual(["recovered"])
    expect(writer.stats()).toMatchObject({ transactions: 1, writes: 1, failedWrites: 3 })
    writer.close()
    db.close()
  })

  test("a buffer that reaches 4096 writes is committed on the next microtask, before the event loop turns", async () => {
    const { db, writer, insert } = setup()
    for (let i = 0; i < 4096; i++) writer.write(insert, [`row ${i}`])
    await Promise.resolve()
    expect(writer.stats()).toMatchObject({ transactions: 1, writes: 4096, pending: 0 })
    writer.close()
    db.close()
  })

  test("close flushes what is buffered and refuses later writes", () => {
    const { db, writer, insert, rows } = setup()
    writer.write(insert, ["last words"])
    writer.close()
    expect(rows()).toEqual(["last words"])
    expect(() => writer.write(insert, ["too late"])).toThrow("the store is closed")
    db.close()
  })
})
