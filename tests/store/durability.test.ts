import { Database } from "bun:sqlite"
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect } from "effect"
import { Store } from "../../core/store/Store.ts"
import { message, useTempDir, waitFor, withStore } from "./helpers.ts"

const dir = useTempDir()

describe("Store durability", () => {
  test("writes nobody awaited are committed when the store closes, and are there after reopening", async () => {
    const path = join(dir.path, "nested", "data", "troupe.db")
    await withStore(
      path,
      Effect.gen(function* () {
        const store = yield* Store
        for (let i = 0; i < 50; i++) yield* store.appendMessage(message("c/1/1", `m${i}`))
        yield* store.setCursor("telegram:bot", "77")
      })
    )
    const [count, cursor] = await withStore(
      path,
      Effect.gen(function* () {
        const store = yield* Store
        return [yield* store.messageCount("c/1/1"), yield* store.getCursor("telegram:bot")] as const
      }),
      { synchronous: "full" }
    )
    expect(count).toBe(50)
    expect(cursor).toBe("77")
  })

  test("the database is in WAL mode with the configured pragmas", () =>
    withStore(
      join(dir.path, "troupe.db"),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.appendMessage(message("c/1/1", "hello"))
        yield* store.commit
        const raw = new Database(store.path, { readonly: true })
        expect(raw.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" })
        raw.close()
      })
    ))

  test("kill -9 in the middle of writing loses no committed message and leaves no corruption", async () => {
    const path = join(dir.path, "crash.db")
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "writer-process.ts"), path], {
      stdout: "pipe",
      stderr: "pipe"
    })
    let reported = 0
    const reader = (async () => {
      const decoder = new TextDecoder()
      let buffered = ""
      for await (const bytes of child.stdout) {
        buffered += decoder.decode(bytes, { stream: true })
        const lines = buffered.split("\n")
        buffered = lines.pop() ?? ""
        for (const line of lines) if (line) reported = Number(line)
      }
    })()
    await waitFor(() => reported >= 300, 4000)
    child.kill("SIGKILL")
    await child.exited
    await reader
    expect(child.signalCode).toBe("SIGKILL")

    const raw = new Database(path)
    expect(raw.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" })
    const { n } = raw.query("SELECT count(*) AS n FROM messages").get() as { n: number }
    raw.close()
    expect(n).toBeGreaterThanOrEqual(reported)

    // The store itself reopens the file and sees the same rows.
    const total = await withStore(
      path,
      Effect.gen(function* () {
        const store = yield* Store
        const conversations = yield* store.conversations()
        return conversations.reduce((sum, c) => sum + c.messages, 0)
      })
    )
    expect(total).toBe(n)
  })
})
