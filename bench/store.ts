/**
 * Store figures, in one run (each on a fresh file in a temp dir, WAL, synchronous=NORMAL):
 * - the floor: plain autocommit inserts with `bun:sqlite` (one transaction, one WAL write per row);
 * - the ideal group commit: plain `bun:sqlite` inserts, `--writers` rows per transaction, one per conversation;
 * - the store, `appendMessage` + awaited `commit` per message, for 1 writer and for 100 concurrent writers, with the
 *   ratio to the floor and the number of transactions the group commit used;
 * - a realistic turn for 100 writers: recordInbound + 2 appendMessage + addUsage + markInbound, then `commit`;
 * - the 100-writer run on `:memory:`: what the store and Effect cost without any file I/O.
 *
 * Run: bun bench/store.ts [--messages N] [--rounds N] [--writers N]
 */
import { Database } from "bun:sqlite"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Logger, LogLevel } from "effect"
import { migrate } from "../core/store/migrations.ts"
import { type NewMessage, Store, type StoreService } from "../core/store/Store.ts"
import { arg, fmt, percentile, report } from "./support.ts"

const messages = arg("messages", 20_000)
const rounds = arg("rounds", 3)
const writers = arg("writers", 100)
const dir = mkdtempSync(join(tmpdir(), "troupe-bench-"))
let files = 0
const nextFile = () => join(dir, `store-${++files}.db`)

const content = "a typical chat message of about a hundred characters, give or take a few words here and there, ok"
const messageOf = (conversation: number, i: number): NewMessage => ({
  conversationId: `bench/telegram/${conversation}`,
  role: "user",
  content,
  at: 1_700_000_000_000 + i,
  authorId: "42",
  authorName: "Ada"
})

/** Plain `bun:sqlite` inserts, same schema and statement as the store's, `batch` rows per transaction, as rows/s. */
const raw = (batch: number) =>
  Effect.gen(function* () {
    const db = new Database(nextFile(), { create: true })
    db.run("PRAGMA journal_mode = WAL")
    db.run("PRAGMA synchronous = NORMAL")
    yield* migrate(db, "bench")
    const insert = db.prepare(
      "INSERT INTO messages (conversation_id, role, content, at, author_id, author_name) VALUES (?, ?, ?, ?, ?, ?)"
    )
    // Autocommit gets fewer rows: each costs a WAL write, and the rate is what matters.
    const n = batch === 1 ? Math.max(1000, Math.floor(messages / 4)) : messages
    const start = performance.now()
    for (let i = 0; i < n; i += batch) {
      if (batch > 1) db.run("BEGIN")
      for (let j = i; j < i + batch && j < n; j++) {
        const m = messageOf(j % writers, j)
        insert.run(m.conversationId, m.role, m.content, m.at, m.authorId!, m.authorName!)
      }
      if (batch > 1) db.run("COMMIT")
    }
    const rate = n / ((performance.now() - start) / 1000)
    insert.finalize()
    db.close()
    return rate
  })

interface Figures {
  readonly rate: number
  readonly transactions: number
  readonly p50: number
  readonly p99: number
}

/** `writers` fibers, each doing `perWriter` times `step` followed by an awaited `commit`. */
const withWriters = (
  count: number,
  total: number,
  step: (store: StoreService, writer: number, i: number) => Effect.Effect<void>,
  path = nextFile()
): Effect.Effect<Figures, unknown> =>
  Effect.gen(function* () {
    const store = yield* Store
    const perWriter = Math.floor(total / count)
    const latencies: Array<number> = []
    const before = yield* store.stats
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: count }, (_, w) => w),
      (w) =>
        Effect.gen(function* () {
          for (let i = 0; i < perWriter; i++) {
            const t = performance.now()
            yield* step(store, w, i)
            yield* store.commit
            latencies.push(performance.now() - t)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    const seconds = (performance.now() - start) / 1000
    const after = yield* store.stats
    latencies.sort((a, b) => a - b)
    return {
      rate: (perWriter * count) / seconds,
      transactions: after.transactions - before.transactions,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99)
    }
  }).pipe(Effect.scoped, Effect.provide(Store.layer({ path })))

const append = (store: StoreService, w: number, i: number) => store.appendMessage(messageOf(w, i))

const turn = (store: StoreService, w: number, i: number) =>
  Effect.gen(function* () {
    const id = `tg:${w}:${i}`
    const m = messageOf(w, i)
    yield* store.recordInbound({
      messageId: id,
      persona: "bench",
      conversationId: m.conversationId,
      at: m.at,
      payload: "{}"
    })
    yield* store.appendMessage({ ...m, inboundId: id })
    yield* store.appendMessage({
      ...m,
      role: "assistant",
      content: "a reply",
      turnId: id,
      tokensIn: 100,
      tokensOut: 20
    })
    yield* store.addUsage({ persona: "bench", provider: "fake", model: "m", day: "2025-01-01", input: 100, output: 20 })
    yield* store.markInbound(id, "answered", id)
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const program = Effect.gen(function* () {
  const floors: Array<number> = []
  const batched: Array<number> = []
  const memory: Array<Figures> = []
  const single: Array<Figures> = []
  const many: Array<Figures> = []
  const turns: Array<Figures> = []
  // Alternate the measurements over several rounds and compare medians, so a noisy neighbour hits all alike.
  for (let round = 0; round < rounds; round++) {
    floors.push(yield* raw(1))
    batched.push(yield* raw(writers))
    single.push(yield* withWriters(1, Math.max(1000, Math.floor(messages / 4)), append))
    many.push(yield* withWriters(writers, messages, append))
    turns.push(yield* withWriters(writers, messages, turn))
    memory.push(yield* withWriters(writers, messages, append, ":memory:"))
  }
  const floor = median(floors)
  const pick = (xs: ReadonlyArray<Figures>) => xs.find((x) => x.rate === median(xs.map((y) => y.rate)))!
  const one = pick(single)
  const hundred = pick(many)
  const turned = pick(turns)
  const ideal = median(batched)
  const inMemory = pick(memory)
  const perTxn = (f: Figures, n: number) => fmt(n / Math.max(1, f.transactions), 1)
  report(`store: group commit vs autocommit (${rounds} rounds, medians)`, [
    ["autocommit inserts/s (floor)", fmt(floor)],
    [`plain inserts/s, ${writers} rows per transaction`, `${fmt(ideal)}  (${fmt(ideal / floor, 2)}x floor)`],
    ["1 writer, append+commit/s", `${fmt(one.rate)}  (${fmt(one.rate / floor, 2)}x floor)`],
    ["  commit latency p50 / p99", `${fmt(one.p50 * 1000)} / ${fmt(one.p99 * 1000)} µs`],
    [`${writers} writers, append+commit/s`, `${fmt(hundred.rate)}  (${fmt(hundred.rate / floor, 2)}x floor)`],
    ["  vs plain batched inserts", `${fmt(hundred.rate / ideal, 2)}x`],
    ["  messages per transaction", perTxn(hundred, Math.floor(messages / writers) * writers)],
    ["  commit latency p50 / p99", `${fmt(hundred.p50 * 1000)} / ${fmt(hundred.p99 * 1000)} µs`],
    [`${writers} writers, turns/s (5 writes + commit)`, `${fmt(turned.rate)}  (${fmt(turned.rate / floor, 2)}x floor)`],
    ["  turns per transaction", perTxn(turned, Math.floor(messages / writers) * writers)],
    ["  commit latency p50 / p99", `${fmt(turned.p50 * 1000)} / ${fmt(turned.p99 * 1000)} µs`],
    [`${writers} writers on :memory:, append+commit/s`, `${fmt(inMemory.rate)}  (no file I/O: store + Effect cost)`]
  ])
})

await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).finally(() =>
  rmSync(dir, { recursive: true, force: true })
)
