/**
 * Opens the database (pragmas, migrations, prepared statements) and implements `StoreService` over it. Buffered
 * writes go through the `Writer`; reads flush it first; writes whose result the caller needs (deletes) flush it and
 * then run on their own.
 */
import { Database, type SQLQueryBindings } from "bun:sqlite"
import { Effect, Runtime, type Scope } from "effect"
import { migrate } from "../migrations.ts"
import type {
  ConversationSummary,
  Job,
  Note,
  OutboxEntry,
  PruneResult,
  StoreService,
  UnansweredInbound,
  UsageRow
} from "../Store.ts"
import { type StoreError, storeError } from "../StoreError.ts"
import {
  containsPattern,
  type JobRow,
  jobId,
  type MessageRow,
  messageBindings,
  type OutboxRow,
  toJob,
  toMessage,
  toOutbox
} from "./rows.ts"
import { prepareStatements, recordInboundStatus, recordInboundTurnId } from "./statements.ts"
import { type FlushFailure, Writer } from "./Writer.ts"

export interface OpenOptions {
  readonly path: string
  readonly synchronous: "normal" | "full"
  readonly busyTimeoutMs: number
  readonly flushDelayMs: number
  /** Runs before the file is opened (creates its directory). */
  readonly prepare: () => void
}

const openDatabase = (options: OpenOptions): Database => {
  options.prepare()
  const db = new Database(options.path, { create: true, readwrite: true })
  try {
    db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`)
    const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get()?.journal_mode
    if (options.path !== ":memory:" && mode !== "wal") throw new Error(`could not switch to WAL (journal_mode=${mode})`)
    db.run(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
    db.run("PRAGMA foreign_keys = ON")
    return db
  } catch (cause) {
    db.close()
    throw cause
  }
}

const logFailure = (runtime: Runtime.Runtime<never>) => (failure: FlushFailure) =>
  Runtime.runSync(runtime)(
    Effect.logError(
      `store: ${failure.error.operation} failed, ${failure.lost} of ${failure.batch} writes not saved`
    ).pipe(
      Effect.annotateLogs({
        operation: failure.error.operation,
        code: failure.error.code,
        sqlite: failure.error.message
      })
    )
  )

const yieldToEventLoop = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

export const makeStore = (options: OpenOptions): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const db = yield* Effect.acquireRelease(
      Effect.try({ try: () => openDatabase(options), catch: (cause) => storeError("open", cause) }),
      (db) => Effect.sync(() => db.close())
    )
    yield* migrate(db, options.path)
    const { writes, reads, finalize } = yield* Effect.try({
      try: () => prepareStatements(db),
      catch: (cause) => storeError("open", cause)
    })
    const writer = new Writer(db, logFailure(runtime), options.flushDelayMs)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        writer.close()
        finalize()
      })
    )
    // Records made by `recordInbound` since the last flush, by message id with their parameters: the dedupe check sees
    // them without forcing a commit, and a status change that arrives before the record is committed (a turn answered
    // within the same group commit, the usual case under load) is written into the buffered insert instead of costing
    // an UPDATE of its own.
    const pendingInbound = new Map<string, Array<SQLQueryBindings>>()
    // Conversations and cursors with buffered writes: a read of another one needs no flush (it cannot see a
    // difference), which spares a transaction per conversation that starts (its first history read).
    const pendingConversations = new Set<string>()
    const pendingCursors = new Set<string>()
    writer.onFlush(() => {
      pendingInbound.clear()
      pendingConversations.clear()
      pendingCursors.clear()
    })

    /** A read: commit what is buffered first, so the read sees it. */
    const read = <A>(f: () => A): Effect.Effect<A> =>
      Effect.sync(() => {
        writer.flush()
        return f()
      })
    /** A read that only buffered writes to `key` (in `pending`) could change: flush only if there are some. */
    const readOf = <A>(pending: ReadonlySet<string>, key: string, f: () => A): Effect.Effect<A> =>
      Effect.sync(() => {
        if (pending.has(key)) writer.flush()
        return f()
      })
    const now = <A>(f: (now: number) => A): Effect.Effect<A> =>
      Effect.clockWith((clock) => Effect.sync(() => f(clock.unsafeCurrentTimeMillis())))

    const service: StoreService = {
      path: options.path,

      appendMessage: (message) =>
        Effect.sync(() => {
          writer.write(writes.appendMessage, messageBindings(message))
          pendingConversations.add(message.conversationId)
        }),
      history: (conversationId, limit) =>
        readOf(pendingConversations, conversationId, () =>
          (reads.history.all(conversationId, Math.max(0, limit)) as Array<MessageRow>).map(toMessage).reverse()
        ),
      messageCount: (conversationId) =>
        readOf(pendingConversations, conversationId, () => (reads.messageCount.get(conversationId) as { n: number }).n),
      trimHistory: (conversationId, keepLast) =>
        read(() => reads.trimHistory.run(conversationId, Math.max(0, Math.floor(keepLast))).changes),
      capHistory: (conversationId, keepLast) =>
        Effect.sync(() => {
          writer.write(writes.capHistory, [conversationId, Math.max(0, Math.floor(keepLast))])
          pendingConversations.add(conversationId)
        }),
      clearHistory: (conversationId) => read(() => reads.clearHistory.run(conversationId).changes),
      conversations: (options = {}) =>
        read(() => reads.conversations.all(options.prefix ?? "", options.limit ?? -1) as Array<ConversationSummary>),
      exportJsonl: (conversationId) =>
        read(() => {
          let out = ""
          const rows =
            conversationId === undefined ? reads.exportAll.iterate() : reads.exportOne.iterate(conversationId)
          for (const row of rows) out += JSON.stringify(toMessage(row as MessageRow)) + "\n"
          return out
        }),

      saveNote: (owner, key, text) => now((at) => writer.write(writes.saveNote, [owner, key, text, at])),
      getNote: (owner, key) => read(() => (reads.getNote.get(owner, key) as Note | null) ?? undefined),
      listNotes: (owner, limit = 50) => read(() => reads.listNotes.all(owner, limit) as Array<Note>),
      searchNotes: (owner, query, limit = 20) =>
        read(() => reads.searchNotes.all(owner, containsPattern(query), limit) as Array<Note>),
      deleteNote: (owner, key) => read(() => reads.deleteNote.run(owner, key).changes > 0),

      getCursor: (key) =>
        readOf(pendingCursors, key, () => (reads.getCursor.get(key) as { value: string } | null)?.value),
      setCursor: (key, value) =>
        now((at) => {
          writer.write(writes.setCursor, [key, value, at])
          pendingCursors.add(key)
        }),

      addUsage: (row) =>
        Effect.sync(() =>
          writer.write(writes.addUsage, [row.persona, row.provider, row.model, row.day, row.input, row.output])
        ),
      usage: (filter = {}) =>
        read(() => reads.usage.all(filter.persona ?? null, filter.day ?? null) as Array<UsageRow>),

      addJob: (job) =>
        now((createdAt) => {
          const stored: Job = { ...job, id: jobId(), status: "active", createdAt }
          writer.write(writes.addJob, [
            stored.id,
            job.persona,
            job.conversationId,
            job.owner,
            job.prompt,
            job.kind,
            job.nextAt,
            job.intervalMs ?? null,
            createdAt
          ])
          return stored
        }),
      getJob: (id) =>
        read(() => {
          const row = reads.getJob.get(id) as JobRow | null
          return row === null ? undefined : toJob(row)
        }),
      listJobs: (filter) =>
        read(() =>
          (
            reads.listJobs.all(filter.owner ?? null, filter.persona ?? null, filter.status ?? null) as Array<JobRow>
          ).map(toJob)
        ),
      dueJobs: (at) => read(() => (reads.dueJobs.all(at) as Array<JobRow>).map(toJob)),
      updateJob: (id, patch) =>
        Effect.sync(() =>
          writer.write(writes.updateJob, [patch.nextAt ?? null, patch.status ?? null, patch.lastRunAt ?? null, id])
        ),
      deleteJob: (id) => read(() => reads.deleteJob.run(id).changes > 0),

      recordInbound: (entry) =>
        Effect.sync(() => {
          // Committed rows are in the table, buffered ones in `pendingInbound`: no flush needed for the check.
          if (pendingInbound.has(entry.messageId) || reads.inboundExists.get(entry.messageId) !== null) return "seen"
          const params: Array<SQLQueryBindings> = [
            entry.messageId,
            entry.persona,
            entry.conversationId,
            entry.at,
            entry.payload,
            entry.turnId ?? null,
            "received"
          ]
          writer.write(writes.recordInbound, params)
          pendingInbound.set(entry.messageId, params)
          return "new"
        }),
      markInbound: (messageId, status, turnId) =>
        Effect.sync(() => {
          const buffered = pendingInbound.get(messageId)
          if (buffered === undefined) return writer.write(writes.markInbound, [status, turnId ?? null, messageId])
          // The same row as the UPDATE would leave: the new status, and the turn id unless none is given.
          buffered[recordInboundStatus] = status
          if (turnId !== undefined) buffered[recordInboundTurnId] = turnId
        }),
      unansweredInbound: (persona, since) =>
        read(() =>
          (reads.unansweredInbound.all(persona, since) as Array<UnansweredInbound & { turnId: string | null }>).map(
            ({ turnId, ...entry }) => (turnId === null ? entry : { ...entry, turnId })
          )
        ),
      outboxPut: (entry) =>
        now((at) =>
          writer.write(writes.outboxPut, [
            entry.key,
            entry.persona,
            entry.channel,
            entry.conversationId,
            entry.turnId,
            entry.chunk,
            entry.text,
            at
          ])
        ),
      outboxMark: (key, status, platformId) =>
        now((at) => writer.write(writes.outboxMark, [status, platformId ?? null, at, key])),
      outboxGet: (key) =>
        read(() => {
          const row = reads.outboxGet.get(key) as OutboxRow | null
          return row === null ? undefined : toOutbox(row)
        }),
      outboxPending: (channel) =>
        read(() => (reads.outboxPending.all(channel) as Array<OutboxRow>).map(toOutbox) as Array<OutboxEntry>),

      pruneDeliveries: (before, batch = 1000) =>
        Effect.gen(function* () {
          const size = Math.max(1, Math.floor(batch))
          const pruned = { inbound: 0, outbox: 0 }
          for (const [table, statement] of [
            ["inbound", reads.pruneInbound],
            ["outbox", reads.pruneOutbox]
          ] as const) {
            for (;;) {
              const deleted = yield* read(() => statement.run(before, size).changes)
              pruned[table] += deleted
              if (deleted < size) break
              // Let the event loop run (sockets, timers) between batches, not only other fibers.
              yield* yieldToEventLoop
            }
          }
          return pruned satisfies PruneResult
        }),
      commit: writer.commit,
      stats: Effect.sync(() => writer.stats())
    }
    return service
  })
