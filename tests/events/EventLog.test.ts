import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { Effect } from "effect"
import { EventBus } from "../../core/events/EventBus.ts"
import { startEventLog } from "../../core/events/EventLog.ts"
import type { TroupeEvent } from "../../core/events/Events.ts"
import { decodeEvent } from "../../core/events/Events.ts"
import { runLive } from "../support/effect.ts"
import { tempDir } from "../support/tmp.ts"

const dirs: Array<ReturnType<typeof tempDir>> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup()
})

const event = (n: number): TroupeEvent => ({
  _tag: "PolicyDecision",
  at: 1_700_000_000_000 + n,
  correlationId: `c${n}`,
  persona: "sage",
  conversationId: "sage/web/1",
  channel: "web",
  messageId: `m${n}`,
  decision: "answer",
  reason: "dm"
})

const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n").filter(Boolean)

describe("EventLog", () => {
  test("writes every event as one decodable JSON line and rotates by size", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = dir.path("events.jsonl")
    await runLive(
      Effect.gen(function* () {
        yield* startEventLog({ file, maxBytes: 2000, keep: 2, deltas: false })
        const bus = yield* EventBus
        for (let n = 0; n < 40; n++) bus.unsafePublish(event(n))
      })
    )
    const current = lines(file)
    const first = lines(dir.path("events.1.jsonl"))
    const second = lines(dir.path("events.2.jsonl"))
    expect(existsSync(dir.path("events.3.jsonl"))).toBe(false)
    for (const name of ["events.jsonl", "events.1.jsonl", "events.2.jsonl"]) {
      expect(readFileSync(dir.path(name)).length).toBeLessThanOrEqual(2000)
    }
    // The newest events are in the current file, the oldest were rotated away beyond `keep`.
    const all = [...second, ...first, ...current].map((line) => decodeEvent(JSON.parse(line)))
    expect(all.at(-1)).toEqual(event(39))
    const ids = all.map((e) => (e as { messageId: string }).messageId)
    expect(ids).toEqual(ids.slice().sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))))
  })

  test("leaves out ReplyDelta unless asked, and redacts lines", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = dir.path("events.jsonl")
    await runLive(
      Effect.gen(function* () {
        yield* startEventLog({
          file,
          maxBytes: 1_000_000,
          keep: 1,
          deltas: false,
          redact: (line) => line.replaceAll("hunter2", "[redacted]")
        })
        const bus = yield* EventBus
        bus.unsafePublish({
          _tag: "ReplyDelta",
          at: 1,
          correlationId: "c",
          persona: "sage",
          conversationId: "x",
          turnId: "t",
          delta: "a",
          text: "a"
        })
        bus.unsafePublish({ ...event(1), reason: "password hunter2" } as TroupeEvent)
      })
    )
    const written = lines(file)
    expect(written).toHaveLength(1)
    expect(written[0]).toContain("[redacted]")
    expect(written[0]).not.toContain("hunter2")
  })
})
