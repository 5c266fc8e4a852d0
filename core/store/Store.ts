/**
 * Troupe's embedded store: one SQLite file (`bun:sqlite`, WAL) holding transcripts, notes, channel cursors, token
 * usage, scheduled prompts and the delivery bookkeeping behind exactly-once replies.
 *
 * Writes are buffered and group-committed (see `internal/Writer.ts`): a buffered write returns at once and is durable
 * within about a tick; `commit` waits until everything written before it is durable, and is what a caller awaits
 * before doing something irreversible such as sending a reply. Reads always see earlier writes.
 *
 * @example
 * const store = yield* Store
 * yield* store.appendMessage({ conversationId: "sage/telegram/42", role: "user", content: "hi", at: Date.now() })
 * yield* store.commit
 * const last20 = yield* store.history("sage/telegram/42", 20)
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { Context, type Effect, Layer } from "effect"
import { makeStore, type OpenOptions } from "./internal/service.ts"
import type { WriterStats } from "./internal/Writer.ts"
import type { StoreError } from "./StoreError.ts"

export type { WriterStats as StoreStats } from "./internal/Writer.ts"
export { StoreError } from "./StoreError.ts"

/** Where `Store.layer` puts the database when no path is given. */
export const defaultPath = "data/troupe.db"

export type Role = "user" | "assistant" | "tool" | "system"

export interface ToolCallRecord {
  readonly id: string
  readonly name: string
  /** The arguments as the model sent them (JSON text). */
  readonly arguments: string
}

/** One transcript entry to append. */
export interface NewMessage {
  /** `persona/channel/chat[/thread]` */
  readonly conversationId: string
  readonly role: Role
  readonly content: string
  /** Epoch milliseconds. */
  readonly at: number
  readonly authorId?: string
  readonly authorName?: string
  /** Stable platform message id of a user message. */
  readonly inboundId?: string
  readonly turnId?: string
  /** Set on an assistant message that called tools. */
  readonly toolCalls?: ReadonlyArray<ToolCallRecord>
  /** Set on a tool result: the call it answers. */
  readonly toolCallId?: string
  readonly toolName?: string
  readonly tokensIn?: number
  readonly tokensOut?: number
  /** Anything JSON, e.g. attachments. */
  readonly meta?: Readonly<Record<string, unknown>>
}

/** A transcript entry as stored; `id` grows with insertion order and is never reused. */
export interface StoredMessage extends NewMessage {
  readonly id: number
}

export interface ConversationSummary {
  readonly id: string
  readonly messages: number
  /** `at` of its newest message. */
  readonly lastAt: number
}

/** A short text note, unique per (owner, key). */
export interface Note {
  readonly owner: string
  readonly key: string
  readonly text: string
  readonly createdAt: number
  readonly updatedAt: number
}

/** Token usage of one persona / provider / model on one UTC day (`YYYY-MM-DD`). */
export interface UsageRow {
  readonly persona: string
  readonly provider: string
  readonly model: string
  readonly day: string
  readonly input: number
  readonly output: number
}

export type JobKind = "once" | "interval"
export type JobStatus = "active" | "cancelled" | "done"

/** A scheduled prompt to add. */
export interface NewJob {
  readonly persona: string
  readonly conversationId: string
  /** Who may list and cancel it, e.g. `persona:sage/user:telegram:42`. */
  readonly owner: string
  readonly prompt: string
  readonly kind: JobKind
  /** Epoch milliseconds of the next run. */
  readonly nextAt: number
  /** For `interval` jobs. */
  readonly intervalMs?: number
}

export interface Job extends NewJob {
  /** 8 random base-36 characters. */
  readonly id: string
  readonly status: JobStatus
  readonly createdAt: number
  readonly lastRunAt?: number
}

export interface JobPatch {
  readonly nextAt?: number
  readonly status?: JobStatus
  readonly lastRunAt?: number
}

/** An inbound platform message, recorded before it is processed. */
export interface InboundEntry {
  /** Stable across redeliveries (platform + chat + platform message id). */
  readonly messageId: string
  readonly persona: string
  readonly conversationId: string
  readonly at: number
  /** The serialized event, so an unanswered message can be replayed after a restart. */
  readonly payload: string
  /** The turn that will answer it, when already known. */
  readonly turnId?: string
}

export type InboundStatus = "received" | "answered" | "skipped" | "failed"

export interface UnansweredInbound {
  readonly messageId: string
  readonly conversationId: string
  readonly at: number
  readonly payload: string
  /** The turn that started answering it before the runtime stopped, if one did. */
  readonly turnId?: string
}

/** One chunk of a reply, recorded before it is sent. */
export interface NewOutboxEntry {
  /** Deterministic per turn and chunk, so a replayed turn finds what was already sent. */
  readonly key: string
  readonly persona: string
  readonly channel: string
  readonly conversationId: string
  readonly turnId: string
  readonly chunk: number
  readonly text: string
}

export type OutboxStatus = "pending" | "sent" | "unknown" | "dropped"

export interface OutboxEntry extends NewOutboxEntry {
  readonly status: OutboxStatus
  /** The platform's id of the sent message. */
  readonly platformId?: string
  readonly createdAt: number
  readonly updatedAt: number
}

/** What `pruneDeliveries` deleted. */
export interface PruneResult {
  readonly inbound: number
  readonly outbox: number
}

/**
 * The store. Every method is a cheap synchronous `Effect` (but `pruneDeliveries`, which works in batches). Methods
 * marked *buffered* return before their write is durable; `commit` is the durability point. Every read first commits
 * what is buffered, so it sees earlier writes.
 */
export interface StoreService {
  /** The database file (`:memory:` for `layerMemory`). */
  readonly path: string

  /** Append to a transcript. Buffered. */
  appendMessage(message: NewMessage): Effect.Effect<void>
  /** The last `limit` messages of a conversation, oldest first. */
  history(conversationId: string, limit: number): Effect.Effect<ReadonlyArray<StoredMessage>>
  messageCount(conversationId: string): Effect.Effect<number>
  /** Delete all but the newest `keepLast` messages; returns how many were deleted. */
  trimHistory(conversationId: string, keepLast: number): Effect.Effect<number>
  /**
   * The same without the count, buffered: it runs in the next group commit instead of a transaction of its own (a
   * conversation keeping its transcript to `memory.max_messages` now and then).
   */
  capHistory(conversationId: string, keepLast: number): Effect.Effect<void>
  /** Delete a whole transcript; returns how many messages were deleted. */
  clearHistory(conversationId: string): Effect.Effect<number>
  /** Conversations with messages, most recently active first (all unless `limit`). */
  conversations(options?: {
    readonly prefix?: string
    readonly limit?: number
  }): Effect.Effect<ReadonlyArray<ConversationSummary>>
  /** One JSON `StoredMessage` per line (each line ends with `\n`), in insertion order; all conversations by default. */
  exportJsonl(conversationId?: string): Effect.Effect<string>

  /** Create or replace a note (keeps `createdAt`, sets `updatedAt`). Buffered. */
  saveNote(owner: string, key: string, text: string): Effect.Effect<void>
  getNote(owner: string, key: string): Effect.Effect<Note | undefined>
  /** Newest first (default limit 50). */
  listNotes(owner: string, limit?: number): Effect.Effect<ReadonlyArray<Note>>
  /**
   * Notes whose key or text contains `query`, newest first (default limit 20). The match ignores ASCII case; `%` and
   * `_` are matched literally.
   */
  searchNotes(owner: string, query: string, limit?: number): Effect.Effect<ReadonlyArray<Note>>
  /** `true` if there was such a note. */
  deleteNote(owner: string, key: string): Effect.Effect<boolean>

  getCursor(key: string): Effect.Effect<string | undefined>
  /** Buffered. */
  setCursor(key: string, value: string): Effect.Effect<void>

  /** Add to the running totals of that persona / provider / model / day. Buffered. */
  addUsage(row: UsageRow): Effect.Effect<void>
  /** Totals, ordered by day, persona, provider, model. */
  usage(filter?: { readonly persona?: string; readonly day?: string }): Effect.Effect<ReadonlyArray<UsageRow>>

  /** Schedule a prompt (status `active`). Buffered; the returned job is what will be stored. */
  addJob(job: NewJob): Effect.Effect<Job>
  getJob(id: string): Effect.Effect<Job | undefined>
  /** Ordered by `nextAt`. */
  listJobs(filter: {
    readonly owner?: string
    readonly persona?: string
    readonly status?: JobStatus
  }): Effect.Effect<ReadonlyArray<Job>>
  /** Active jobs with `nextAt <= now`, soonest first. */
  dueJobs(now: number): Effect.Effect<ReadonlyArray<Job>>
  /** Buffered; fields left out are kept. */
  updateJob(id: string, patch: JobPatch): Effect.Effect<void>
  /** `true` if there was such a job. */
  deleteJob(id: string): Effect.Effect<boolean>

  /** `"seen"` if that message id was recorded before (buffered writes included), else records it (buffered). */
  recordInbound(entry: InboundEntry): Effect.Effect<"new" | "seen">
  /** Buffered. `received` with a turn id records the turn that is answering it (so a restart can finish that turn). */
  markInbound(messageId: string, status: InboundStatus, turnId?: string): Effect.Effect<void>
  /** Messages of a persona still `received` (never answered, skipped or failed) with `at >= since`, oldest first. */
  unansweredInbound(persona: string, since: number): Effect.Effect<ReadonlyArray<UnansweredInbound>>
  /** Record a chunk as `pending`; a key already present is left as it is. Buffered. */
  outboxPut(entry: NewOutboxEntry): Effect.Effect<void>
  /** Buffered. */
  outboxMark(key: string, status: Exclude<OutboxStatus, "pending">, platformId?: string): Effect.Effect<void>
  outboxGet(key: string): Effect.Effect<OutboxEntry | undefined>
  /** Chunks of a channel still `pending` or `unknown`, in key and chunk order. */
  outboxPending(channel: string): Effect.Effect<ReadonlyArray<OutboxEntry>>

  /**
   * Delete delivery records (inbound messages, outbox chunks) older than `before`, in batches of `batch` (default
   * 1000) with a yield between them; returns how many of each were deleted.
   */
  pruneDeliveries(before: number, batch?: number): Effect.Effect<PruneResult>

  /** Succeeds once every write issued before it is committed; fails if one of them could not be. */
  readonly commit: Effect.Effect<void, StoreError>
  /** Group-commit counters (transactions, committed and failed writes, writes pending). */
  readonly stats: Effect.Effect<WriterStats>
}

export interface StoreOptions {
  /** The database file (default `data/troupe.db`); its directory is created if missing. */
  readonly path?: string
  /**
   * `normal` (default): a commit survives a crash of the process, the last commits may be lost on power loss.
   * `full`: every commit is fsynced (slower).
   */
  readonly synchronous?: "normal" | "full"
  /** How long to wait for a lock held by another connection (default 5000 ms). */
  readonly busyTimeoutMs?: number
  /**
   * How long an unawaited write waits for others to share its commit (default 0: the next `setImmediate`). The runtime
   * uses a few milliseconds (`store.flush_delay`); a `commit` never waits for it.
   */
  readonly flushDelayMs?: number
}

export class Store extends Context.Tag("troupe/Store")<Store, StoreService>() {
  /**
   * The store on a file, migrated to the current schema. When the layer's scope closes, what is buffered is
   * committed and the database closed.
   */
  static layer(options: StoreOptions = {}): Layer.Layer<Store, StoreError> {
    const path = options.path ?? defaultPath
    const open: OpenOptions = {
      path,
      synchronous: options.synchronous ?? "normal",
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      flushDelayMs: options.flushDelayMs ?? 0,
      prepare: () => {
        if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true })
      }
    }
    return Layer.scoped(Store, makeStore(open))
  }

  /** A fresh in-memory database, for tests. */
  static readonly layerMemory: Layer.Layer<Store, StoreError> = Layer.suspend(() => Store.layer({ path: ":memory:" }))
}
