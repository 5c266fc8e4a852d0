import { Database } from "bun:sqlite"
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { type Migration, migrate, migrations, schemaVersion } from "../../core/store/migrations.ts"
import { Store } from "../../core/store/Store.ts"
import { useTempDir, withStore } from "./helpers.ts"

const dir = useTempDir()
const latest = migrations.at(-1)!.version
const open = (path: string) =>
  withStore(
    path,
    Effect.map(Store, (store) => store.path)
  )
const appliedRows = (path: string) => {
  const db = new Database(path, { readonly: true })
  const rows = db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").all()
  db.close()
  return rows
}

describe("Store migrations", () => {
  test("a fresh database gets every migration, and reopening applies nothing", async () => {
    const path = join(dir.path, "troupe.db")
    await open(path)
    const first = appliedRows(path)
    expect(first.map((row) => (row as { version: number }).version)).toEqual(migrations.map((m) => m.version))
    await open(path)
    expect(appliedRows(path)).toEqual(first)
    const db = new Database(path)
    expect(schemaVersion(db)).toBe(latest)
    expect(Effect.runSync(migrate(db, path))).toEqual({ from: latest, to: latest })
    db.close()
  })

  test("a database with a newer schema than the code knows is refused, naming both versions", async () => {
    const path = join(dir.path, "troupe.db")
    await open(path)
    const db = new Database(path)
    db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [latest + 41, "future", 0])
    db.close()
    const result = await Effect.runPromise(
      Effect.either(Effect.scoped(Effect.provide(Effect.void, Store.layer({ path }))))
    )
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left).toMatchObject({ _tag: "StoreError", operation: "migrate" })
      expect(result.left.message).toContain(`schema version ${latest + 41}`)
      expect(result.left.message).toContain(`up to version ${latest}`)
    }
  })

  test("only missing migrations run, in order; a failing one leaves the schema as it was", () => {
    const db = new Database(":memory:")
    const list: Array<Migration> = [
      { version: 1, name: "one", sql: "CREATE TABLE a (x INTEGER)" },
      { version: 2, name: "two", sql: "ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b (z INTEGER)" }
    ]
    expect(Effect.runSync(migrate(db, ":memory:", list.slice(0, 1)))).toEqual({ from: 0, to: 1 })
    expect(Effect.runSync(migrate(db, ":memory:", list))).toEqual({ from: 1, to: 2 })
    expect(db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b')").all()).toHaveLength(2)

    const broken = [...list, { version: 3, name: "c", sql: "CREATE TABLE c (x); CREATE TABLE a (x)" }]
    const failed = Effect.runSync(Effect.either(migrate(db, ":memory:", broken)))
    expect(Either.isLeft(failed) && failed.left.message).toContain("table a already exists")
    expect(schemaVersion(db)).toBe(2)
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'c'").all()).toEqual([])

    const unordered = [list[1]!, list[0]!]
    expect(Either.isLeft(Effect.runSync(Effect.either(migrate(db, ":memory:", unordered))))).toBe(true)
    db.close()
  })
})
