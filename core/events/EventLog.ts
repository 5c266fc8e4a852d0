/**
 * The optional JSONL event log: every event on the bus as one JSON line in `events.jsonl`, rotated by size
 * (`events.jsonl` -> `events.1.jsonl` -> … up to `keep` files). Lines are buffered and written in batches, so logging
 * every event costs the hot path one string and one array push.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs"
import { dirname } from "node:path"
import { Effect, type Scope } from "effect"
import { EventBus } from "./EventBus.ts"
import type { TroupeEvent } from "./Events.ts"

export interface EventLogOptions {
  readonly file: string
  readonly maxBytes: number
  /** Rotated files kept besides the current one. */
  readonly keep: number
  /** Include `ReplyDelta` events (many per reply). */
  readonly deltas: boolean
  /** Applied to every line before it is written (secret redaction). */
  readonly redact?: (line: string) => string
}

const rotatedName = (file: string, n: number) => file.replace(/(\.jsonl)?$/, `.${n}.jsonl`)

/** A size-rotated, batched JSONL writer. */
export class JsonlWriter {
  private fd: number
  private size: number
  private buffer: Array<string> = []
  private scheduled = false

  constructor(private readonly options: Omit<EventLogOptions, "deltas">) {
    mkdirSync(dirname(options.file), { recursive: true })
    this.fd = openSync(options.file, "a")
    this.size = existsSync(options.file) ? statSync(options.file).size : 0
  }

  write(value: unknown): void {
    const line = JSON.stringify(value)
    this.buffer.push(this.options.redact ? this.options.redact(line) : line)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.scheduled = false
    if (this.buffer.length === 0) return
    const lines = this.buffer
    this.buffer = []
    let chunk = ""
    let chunkBytes = 0
    for (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1
      // Rotate before the line that would overflow the file (a file always takes at least one line).
      if (this.size + chunkBytes + bytes > this.options.maxBytes && this.size + chunkBytes > 0) {
        this.append(chunk)
        chunk = ""
        chunkBytes = 0
        this.rotate()
      }
      chunk += `${line}\n`
      chunkBytes += bytes
    }
    this.append(chunk)
  }

  close(): void {
    this.flush()
    closeSync(this.fd)
  }

  private append(chunk: string) {
    if (chunk.length === 0) return
    const data = Buffer.from(chunk)
    writeSync(this.fd, data)
    this.size += data.length
  }

  private rotate() {
    closeSync(this.fd)
    const { file, keep } = this.options
    rmSync(rotatedName(file, keep), { force: true })
    for (let n = keep - 1; n >= 1; n--) {
      if (existsSync(rotatedName(file, n))) renameSync(rotatedName(file, n), rotatedName(file, n + 1))
    }
    renameSync(file, rotatedName(file, 1))
    this.fd = openSync(file, "a")
    this.size = 0
  }
}

/** Write every event on the bus to the JSONL log for the lifetime of the scope. */
export const startEventLog = (options: EventLogOptions): Effect.Effect<void, never, EventBus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const writer = new JsonlWriter(options)
    const stop = bus.listen("all", (event: TroupeEvent) => {
      if (!options.deltas && event._tag === "ReplyDelta") return
      writer.write(event)
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stop()
        writer.close()
      })
    )
  })
