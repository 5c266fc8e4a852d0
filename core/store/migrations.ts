/**
 * Versioned schema migrations. Each migration runs once, in order; `schema_migrations` records which ran. To change
 * the schema, append a migration with the next version number — never edit one that has shipped.
 */
import type { Database } from "bun:sqlite"
import { Effect } from "effect"
import { StoreError, storeError } from "./StoreError.ts"

/** One schema step: `sql` may hold several statements separated by `;`. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/** Every migration this code knows, oldest first. */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "initial",
    sql: `
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool', 'system')),
        content TEXT NOT NULL,
        at INTEGER NOT NULL,
        author_id TEXT,
        author_name TEXT,
        inbound_id TEXT,
        turn_id TEXT,
        tool_calls TEXT,
        tool_call_id TEXT,
        tool_name TEXT,
        tokens_in INTEGER,
        tokens_out INTEGER,
        meta TEXT
      );
      CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

      CREATE TABLE notes (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (owner, key)
      );
      CREATE INDEX notes_by_owner_updated ON notes (owner, updated_at);

      CREATE TABLE cursors (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE usage (
        persona TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        day TEXT NOT NULL,
        input INTEGER NOT NULL DEFAULT 0,
        output INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (persona, provider, model, day)
      ) WITHOUT ROWID;
      CREATE INDEX usage_by_day ON usage (day);

      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        persona TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        prompt TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('once', 'interval')),
        next_at INTEGER NOT NULL,
        interval_ms INTEGER,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'done')),
        created_at INTEGER NOT NULL,
        last_run_at INTEGER
      );
      CREATE INDEX jobs_by_status_next ON jobs (status, next_at);
      CREATE INDEX jobs_by_owner ON jobs (owner);
      CREATE INDEX jobs_by_persona ON jobs (persona);

      CREATE TABLE inbound (
        message_id TEXT PRIMARY KEY,
        persona TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'received'
          CHECK (status IN ('received', 'answered', 'skipped', 'failed')),
        turn_id TEXT
      );
      CREATE INDEX inbound_by_persona_status ON inbound (persona, status, at);

      CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        persona TEXT NOT NULL,
        channel TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        text TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'unknown', 'dropped')),
        platform_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX outbox_by_channel_status ON outbox (channel, status);
    `
  },
  {
    version: 2,
    name: "delivery records by age",
    // For pruning delivery records past `store.delivery_retention` without a table scan.
    sql: `
      CREATE INDEX inbound_by_at ON inbound (at);
      CREATE INDEX outbox_by_updated ON outbox (updated_at);
    `
  }
]

/** What `migrate` did: the schema version found and the version it left. */
export interface MigrationResult {
  readonly from: number
  readonly to: number
}

/** The schema version of an open database (0 when it has none yet). */
export const schemaVersion = (db: Database): number => {
  db.run(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
  )
  const row = db.query<{ version: number | null }, []>("SELECT max(version) AS version FROM schema_migrations").get()
  return row?.version ?? 0
}

/**
 * Bring the database up to the newest known version: the missing migrations run in order inside one transaction, so
 * a failure leaves the schema as it was. A database newer than this code is refused, naming both versions.
 */
export const migrate = (
  db: Database,
  location: string,
  list: ReadonlyArray<Migration> = migrations
): Effect.Effect<MigrationResult, StoreError> =>
  Effect.suspend(() => {
    const known = list.at(-1)?.version ?? 0
    const unordered = list.find((migration, index) => index > 0 && migration.version <= list[index - 1]!.version)
    if (unordered) {
      return Effect.fail(
        new StoreError({ operation: "migrate", message: `migration ${unordered.version} is out of order` })
      )
    }
    let from = 0
    try {
      // IMMEDIATE takes the write lock first, so two processes opening a fresh file cannot both migrate it.
      db.run("BEGIN IMMEDIATE")
      from = schemaVersion(db)
      if (from > known) {
        db.run("ROLLBACK")
        return Effect.fail(
          new StoreError({
            operation: "migrate",
            message:
              `the database ${location} has schema version ${from}, but this version of Troupe knows only up to ` +
              `version ${known}; upgrade Troupe or open another database file`
          })
        )
      }
      const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
      for (const migration of list) {
        if (migration.version <= from) continue
        db.run(migration.sql)
        record.run(migration.version, migration.name, Date.now())
      }
      record.finalize()
      db.run("COMMIT")
      return Effect.succeed({ from, to: Math.max(from, known) })
    } catch (cause) {
      if (db.inTransaction) db.run("ROLLBACK")
      return Effect.fail(storeError("migrate", cause))
    }
  })
