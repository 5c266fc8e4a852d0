/**
 * Watch a folder (recursively) and report which of its top-level entries changed, debounced: editors write files in
 * bursts (temp file, rename, metadata), so changes are collected until the folder has been quiet for `debounceMs`
 * (but never held longer than `maxDelayMs`), then handed over as one batch. A change anywhere inside
 * `plugins/<name>/` (a file the plugin imports, too) reports `<name>`. Hidden entries (`.git`, editor files) are
 * left out.
 */
import { type FSWatcher, watch } from "node:fs"
import { Chunk, Effect, Queue, type Scope } from "effect"

export interface WatchOptions {
  /** Quiet time before a batch is reported (default 100 ms). */
  readonly debounceMs?: number
  /** Longest a change waits while writes keep coming (default 1 s). */
  readonly maxDelayMs?: number
}

/** Editor droppings that do not change what is loaded. */
const ignored = (name: string) =>
  name.startsWith(".") || name.endsWith("~") || /\.(swp|swx|tmp)$/.test(name) || name === "4913"

/** The top-level entry a changed path belongs to, or undefined when it does not matter. */
export const entryOf = (filename: string): string | undefined => {
  const parts = filename.split(/[\\/]/).filter((part) => part !== "")
  const top = parts[0]
  const last = parts.at(-1)
  if (!top || !last || top.startsWith(".") || ignored(last)) return undefined
  return top
}

/**
 * Watch `dir` for the lifetime of the scope and run `onBatch` with the changed entries. `"*"` in a batch means "could
 * not tell which": rescan everything. Batches run one after another.
 */
export const watchFolder = (
  dir: string,
  onBatch: (entries: ReadonlySet<string>) => Effect.Effect<void>,
  options: WatchOptions = {}
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const debounce = options.debounceMs ?? 100
    const maxDelay = options.maxDelayMs ?? 1000
    const queue = yield* Queue.unbounded<string>()
    yield* Effect.acquireRelease(
      Effect.sync(
        (): FSWatcher =>
          watch(dir, { recursive: true }, (_event, filename) => {
            const entry = filename === null ? "*" : entryOf(String(filename))
            if (entry) queue.unsafeOffer(entry)
          }).on("error", () => queue.unsafeOffer("*"))
      ),
      (watcher) => Effect.sync(() => watcher.close())
    )
    const collect = Effect.gen(function* () {
      const batch = new Set<string>([yield* Queue.take(queue)])
      const started = Date.now()
      while (Date.now() - started < maxDelay) {
        yield* Effect.sleep(debounce)
        const more = yield* Queue.takeAll(queue)
        if (Chunk.isEmpty(more)) break
        for (const entry of more) batch.add(entry)
      }
      yield* onBatch(batch)
    })
    yield* Effect.forkScoped(Effect.forever(collect))
  })
