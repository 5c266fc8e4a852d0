/**
 * Every SQL statement the store runs, prepared once when the store opens. Buffered writes are `WriteKind`s (named
 * after the store method, for errors); reads and immediate writes are plain statements.
 */
import type { Database, Statement } from "bun:sqlite"
import type { WriteKind } from "./Writer.ts"

const messageColumns = `id, conversation_id AS conversationId, role, content, at, author_id AS authorId,
  author_name AS authorName, inbound_id AS inboundId, turn_id AS turnId, tool_calls AS toolCalls,
  tool_call_id AS toolCallId, tool_name AS toolName, tokens_in AS tokensIn, tokens_out AS tokensOut, meta`

const noteColumns = "owner, key, text, created_at AS createdAt, updated_at AS updatedAt"

const jobColumns = `id, persona, conversation_id AS conversationId, owner, prompt, kind, next_at AS nextAt,
  interval_ms AS intervalMs, status, created_at AS createdAt, last_run_at AS lastRunAt`

const outboxColumns = `key, persona, channel, conversation_id AS conversationId, turn_id AS turnId, chunk, text, status,
  platform_id AS platformId, created_at AS createdAt, updated_at AS updatedAt`

/** Everything at or below the (keepLast + 1)-th newest id; nothing when there are not that many. */
const trimHistory = `DELETE FROM messages WHERE conversation_id = ?1 AND id <= (SELECT id FROM messages
    WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`

const writes = {
  capHistory: trimHistory,
  appendMessage: `INSERT INTO messages (conversation_id, role, content, at, author_id, author_name, inbound_id, turn_id,
    tool_calls, tool_call_id, tool_name, tokens_in, tokens_out, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  saveNote: `INSERT INTO notes (owner, key, text, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
    ON CONFLICT (owner, key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
  setCursor: `INSERT INTO cursors (key, value, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  addUsage: `INSERT INTO usage (persona, provider, model, day, input, output) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (persona, provider, model, day) DO UPDATE SET input = input + excluded.input,
    output = output + excluded.output`,
  addJob: `INSERT INTO jobs (id, persona, conversation_id, owner, prompt, kind, next_at, interval_ms, status, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`,
  updateJob: `UPDATE jobs SET next_at = coalesce(?1, next_at), status = coalesce(?2, status),
    last_run_at = coalesce(?3, last_run_at) WHERE id = ?4`,
  recordInbound: `INSERT OR IGNORE INTO inbound (message_id, persona, conversation_id, at, payload, turn_id, status)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  markInbound: "UPDATE inbound SET status = ?1, turn_id = coalesce(?2, turn_id) WHERE message_id = ?3",
  // A key already there keeps its status: a replayed turn must never turn a sent chunk back into a pending one.
  outboxPut: `INSERT INTO outbox (key, persona, channel, conversation_id, turn_id, chunk, text, status, created_at,
    updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8) ON CONFLICT (key) DO NOTHING`,
  outboxMark: `UPDATE outbox SET status = ?1, platform_id = coalesce(?2, platform_id), updated_at = ?3
    WHERE key = ?4`
} as const

const reads = {
  history: `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?`,
  messageCount: "SELECT count(*) AS n FROM messages WHERE conversation_id = ?",
  trimHistory,
  clearHistory: "DELETE FROM messages WHERE conversation_id = ?",
  conversations: `SELECT conversation_id AS id, count(*) AS messages, max(at) AS lastAt FROM messages
    WHERE ?1 = '' OR substr(conversation_id, 1, length(?1)) = ?1
    GROUP BY conversation_id ORDER BY lastAt DESC, id LIMIT ?2`,
  exportAll: `SELECT ${messageColumns} FROM messages ORDER BY id`,
  exportOne: `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? ORDER BY id`,
  getNote: `SELECT ${noteColumns} FROM notes WHERE owner = ? AND key = ?`,
  listNotes: `SELECT ${noteColumns} FROM notes WHERE owner = ? ORDER BY updated_at DESC, rowid DESC LIMIT ?`,
  searchNotes: `SELECT ${noteColumns} FROM notes WHERE owner = ?1
    AND (key LIKE ?2 ESCAPE '\\' OR text LIKE ?2 ESCAPE '\\') ORDER BY updated_at DESC, rowid DESC LIMIT ?3`,
  deleteNote: "DELETE FROM notes WHERE owner = ? AND key = ?",
  getCursor: "SELECT value FROM cursors WHERE key = ?",
  usage: `SELECT persona, provider, model, day, input, output FROM usage
    WHERE (?1 IS NULL OR persona = ?1) AND (?2 IS NULL OR day = ?2) ORDER BY day, persona, provider, model`,
  getJob: `SELECT ${jobColumns} FROM jobs WHERE id = ?`,
  listJobs: `SELECT ${jobColumns} FROM jobs WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR persona = ?2)
    AND (?3 IS NULL OR status = ?3) ORDER BY next_at, id`,
  dueJobs: `SELECT ${jobColumns} FROM jobs WHERE status = 'active' AND next_at <= ? ORDER BY next_at, id`,
  deleteJob: "DELETE FROM jobs WHERE id = ?",
  inboundExists: "SELECT 1 FROM inbound WHERE message_id = ?",
  unansweredInbound: `SELECT message_id AS messageId, conversation_id AS conversationId, at, payload, turn_id AS turnId
    FROM inbound
    WHERE persona = ? AND status = 'received' AND at >= ? ORDER BY at, message_id`,
  outboxGet: `SELECT ${outboxColumns} FROM outbox WHERE key = ?`,
  // A batch at a time: a big first prune must not hold the event loop (and the write lock) for long.
  pruneInbound: "DELETE FROM inbound WHERE rowid IN (SELECT rowid FROM inbound WHERE at < ? LIMIT ?)",
  pruneOutbox: "DELETE FROM outbox WHERE rowid IN (SELECT rowid FROM outbox WHERE updated_at < ? LIMIT ?)",
  outboxPending: `SELECT ${outboxColumns} FROM outbox WHERE channel = ? AND status IN ('pending', 'unknown')
    ORDER BY key, chunk`
} as const

/** Positions of `turn_id` and `status` among the parameters of `recordInbound`. */
export const recordInboundTurnId = 5
export const recordInboundStatus = 6

export type Writes = { readonly [K in keyof typeof writes]: WriteKind }
export type Reads = { readonly [K in keyof typeof reads]: Statement }

export interface Statements {
  readonly writes: Writes
  readonly reads: Reads
  /** Finalize them all (before the database closes). */
  readonly finalize: () => void
}

export const prepareStatements = (db: Database): Statements => {
  const all: Array<Statement> = []
  const prepare = (sql: string) => {
    const statement = db.prepare(sql)
    all.push(statement)
    return statement
  }
  const w = {} as Record<string, WriteKind>
  for (const [name, sql] of Object.entries(writes)) w[name] = { name, statement: prepare(sql) }
  const r = {} as Record<string, Statement>
  for (const [name, sql] of Object.entries(reads)) r[name] = prepare(sql)
  return {
    writes: w as unknown as Writes,
    reads: r as unknown as Reads,
    finalize: () => {
      for (const statement of all) statement.finalize()
    }
  }
}
