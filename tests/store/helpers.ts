/** Shared by the store tests: a temp directory per test and a runner that provides a store on a file in it. */

import { afterEach, beforeEach } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Logger, LogLevel, type Scope, TestContext } from "effect"
import { Store, type StoreOptions } from "../../core/store/Store.ts"

/** A fresh temp directory for each test of the calling file, removed after it. */
export const useTempDir = (): { readonly path: string } => {
  const dir = { path: "" }
  beforeEach(() => {
    dir.path = mkdtempSync(join(tmpdir(), "troupe-"))
  })
  afterEach(() => {
    rmSync(dir.path, { recursive: true, force: true })
  })
  return dir
}

const quiet = process.env.TROUPE_TEST_LOGS ? LogLevel.Debug : LogLevel.None

/** Run `effect` with a store on `path` (closed after it), the TestClock and quiet logs. */
export const withStore = <A, E>(
  path: string,
  effect: Effect.Effect<A, E, Store | Scope.Scope>,
  options: Omit<StoreOptions, "path"> = {}
): Promise<A> =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(Store.layer({ ...options, path })),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(quiet),
    Effect.runPromise
  )

/** Resolves once `predicate` holds, polling every few ms; rejects after `timeoutMs`. */
export const waitFor = async (predicate: () => boolean, timeoutMs = 3000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await Bun.sleep(5)
  }
}

/** A user message of `conversationId` with sensible defaults. */
export const message = (conversationId: string, content: string, at = 1_000) => ({
  conversationId,
  role: "user" as const,
  content,
  at
})
