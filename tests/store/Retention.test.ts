import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, TestClock } from "effect"
import { pruneDeliveriesEvery } from "../../core/store/Retention.ts"
import { Store } from "../../core/store/Store.ts"
import { settle } from "../support/effect.ts"
import { useTempDir, withStore } from "./helpers.ts"

const dir = useTempDir()
const hour = 3_600_000

const record = (messageId: string, at: number) => ({
  messageId,
  persona: "sage",
  conversationId: "sage/telegram/42",
  at,
  payload: "{}"
})

describe("delivery record retention", () => {
  test("records past the retention are pruned a minute after start, then every hour", () =>
    withStore(
      join(dir.path, "troupe.db"),
      Effect.gen(function* () {
        const store = yield* Store
        const seen = (id: string, at: number) => store.recordInbound(record(id, at))
        yield* TestClock.setTime(10 * hour)
        yield* seen("a", 1 * hour)
        yield* seen("b", 9 * hour)
        yield* pruneDeliveriesEvery({ retentionMs: 2 * hour })
        yield* store.commit
        yield* TestClock.adjust("30 seconds")
        yield* settle
        expect(yield* seen("a", 1 * hour)).toBe("seen")
        yield* TestClock.adjust("31 seconds")
        yield* settle
        // `a` (9 hours old) went; `b` (1 hour old) stays until it is older than 2 hours.
        expect(yield* seen("a", 1 * hour)).toBe("new")
        expect(yield* seen("b", 9 * hour)).toBe("seen")
        yield* TestClock.adjust("1 hour")
        yield* settle
        expect(yield* seen("b", 9 * hour)).toBe("new")
      }).pipe(Effect.scoped)
    ))
})
