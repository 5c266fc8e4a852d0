import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, TestClock } from "effect"
import { Store } from "../../core/store/Store.ts"
import { useTempDir, withStore } from "./helpers.ts"

const dir = useTempDir()
const db = () => join(dir.path, "troupe.db")
const sage = "persona:sage/user:telegram:42"
const other = "persona:sage/user:telegram:7"

describe("Store notes", () => {
  test("save upserts, get and list return the newest first, delete removes", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* TestClock.setTime(1_000)
        yield* store.saveNote(sage, "food", "likes pizza")
        yield* TestClock.setTime(2_000)
        yield* store.saveNote(sage, "pet", "a cat named Miso")
        yield* TestClock.setTime(3_000)
        yield* store.saveNote(sage, "food", "likes pizza, hates olives")
        expect(yield* store.getNote(sage, "food")).toEqual({
          owner: sage,
          key: "food",
          text: "likes pizza, hates olives",
          createdAt: 1_000,
          updatedAt: 3_000
        })
        expect((yield* store.listNotes(sage)).map((n) => n.key)).toEqual(["food", "pet"])
        expect((yield* store.listNotes(sage, 1)).map((n) => n.key)).toEqual(["food"])
        expect(yield* store.deleteNote(sage, "food")).toBe(true)
        expect(yield* store.deleteNote(sage, "food")).toBe(false)
        expect(yield* store.getNote(sage, "food")).toBeUndefined()
        expect((yield* store.listNotes(sage)).map((n) => n.key)).toEqual(["pet"])
      })
    ))

  test("notes of one owner are invisible to another", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.saveNote(sage, "name", "Ada")
        yield* store.saveNote(other, "name", "Bob")
        expect((yield* store.getNote(other, "name"))?.text).toBe("Bob")
        expect((yield* store.listNotes(other)).map((n) => n.text)).toEqual(["Bob"])
        expect((yield* store.searchNotes(other, "ada")).length).toBe(0)
        expect(yield* store.deleteNote(other, "name")).toBe(true)
        expect((yield* store.getNote(sage, "name"))?.text).toBe("Ada")
      })
    ))

  test("search is a case-insensitive substring match over key and text, with % and _ taken literally", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.saveNote(sage, "Birthday", "March 3rd")
        yield* store.saveNote(sage, "discount", "gets 50% off")
        yield* store.saveNote(sage, "discount2", "gets 50 off")
        yield* store.saveNote(sage, "snake", "prefers snake_case")
        yield* store.saveNote(sage, "camel", "prefers snakeXcase")
        yield* store.saveNote(sage, "path", "C:\\temp")
        const keys = (query: string) => Effect.map(store.searchNotes(sage, query), (notes) => notes.map((n) => n.key))
        expect(yield* keys("birth")).toEqual(["Birthday"])
        expect(yield* keys("MARCH")).toEqual(["Birthday"])
        expect(yield* keys("50%")).toEqual(["discount"])
        expect(yield* keys("%")).toEqual(["discount"])
        expect(yield* keys("snake_case")).toEqual(["snake"])
        expect(yield* keys("_")).toEqual(["snake"])
        expect(yield* keys("\\")).toEqual(["path"])
        expect((yield* keys("s")).length).toBeGreaterThan(3)
        expect(yield* store.searchNotes(sage, "s", 2)).toHaveLength(2)
      })
    ))
})

describe("Store cursors and usage", () => {
  test("a cursor is read back after it is set and replaced by the next set", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        expect(yield* store.getCursor("telegram:sage_bot")).toBeUndefined()
        yield* store.setCursor("telegram:sage_bot", "1001")
        expect(yield* store.getCursor("telegram:sage_bot")).toBe("1001")
        yield* store.setCursor("telegram:sage_bot", "1002")
        expect(yield* store.getCursor("telegram:sage_bot")).toBe("1002")
      })
    ))

  test("usage accumulates per persona, provider, model and day", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        const row = { persona: "sage", provider: "openai", model: "gpt-x", day: "2025-01-02" }
        yield* store.addUsage({ ...row, input: 100, output: 10 })
        yield* store.addUsage({ ...row, input: 50, output: 5 })
        yield* store.addUsage({ ...row, model: "gpt-y", input: 1, output: 1 })
        yield* store.addUsage({ ...row, day: "2025-01-03", input: 7, output: 3 })
        yield* store.addUsage({ ...row, persona: "rothrock", input: 9, output: 9 })
        expect(yield* store.usage({ persona: "sage", day: "2025-01-02" })).toEqual([
          { ...row, input: 150, output: 15 },
          { ...row, model: "gpt-y", input: 1, output: 1 }
        ])
        expect((yield* store.usage({ persona: "sage" })).length).toBe(3)
        expect((yield* store.usage({ day: "2025-01-02" })).map((r) => r.persona)).toEqual(["rothrock", "sage", "sage"])
        expect((yield* store.usage()).length).toBe(4)
      })
    ))
})

describe("Store jobs", () => {
  const job = {
    persona: "sage",
    conversationId: "sage/telegram/42",
    owner: sage,
    prompt: "remind me to stretch",
    kind: "once" as const,
    nextAt: 5_000
  }

  test("an added job gets an id and is active; getJob returns what addJob returned", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        yield* TestClock.setTime(1_234)
        const added = yield* store.addJob(job)
        expect(added.id).toMatch(/^[0-9a-z]{8}$/)
        expect(added).toEqual({ ...job, id: added.id, status: "active", createdAt: 1_234 })
        expect(yield* store.getJob(added.id)).toEqual(added)
        const interval = yield* store.addJob({ ...job, kind: "interval", intervalMs: 60_000 })
        expect((yield* store.getJob(interval.id))?.intervalMs).toBe(60_000)
        expect(yield* store.getJob("nope")).toBeUndefined()
      })
    ))

  test("due jobs are the active ones whose time has come, soonest first", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        const late = yield* store.addJob({ ...job, nextAt: 9_000 })
        const soon = yield* store.addJob({ ...job, nextAt: 2_000 })
        const middle = yield* store.addJob({ ...job, nextAt: 4_000 })
        const cancelled = yield* store.addJob({ ...job, nextAt: 1_000 })
        yield* store.updateJob(cancelled.id, { status: "cancelled" })
        expect((yield* store.dueJobs(4_000)).map((j) => j.id)).toEqual([soon.id, middle.id])
        yield* store.updateJob(soon.id, { nextAt: 10_000, lastRunAt: 4_000 })
        const updated = yield* store.getJob(soon.id)
        expect(updated).toMatchObject({ nextAt: 10_000, lastRunAt: 4_000, status: "active", prompt: job.prompt })
        expect((yield* store.dueJobs(9_500)).map((j) => j.id)).toEqual([middle.id, late.id])
        yield* store.updateJob(middle.id, { status: "done" })
        expect((yield* store.dueJobs(100_000)).map((j) => j.id)).toEqual([late.id, soon.id])
      })
    ))

  test("jobs are listed by owner, persona and status; delete removes one", () =>
    withStore(
      db(),
      Effect.gen(function* () {
        const store = yield* Store
        const mine = yield* store.addJob(job)
        const theirs = yield* store.addJob({ ...job, owner: other, nextAt: 1 })
        const rothrock = yield* store.addJob({ ...job, persona: "rothrock", owner: other, nextAt: 2 })
        yield* store.updateJob(rothrock.id, { status: "cancelled" })
        expect((yield* store.listJobs({ owner: sage })).map((j) => j.id)).toEqual([mine.id])
        expect((yield* store.listJobs({ owner: other })).map((j) => j.id)).toEqual([theirs.id, rothrock.id])
        expect((yield* store.listJobs({ persona: "sage" })).map((j) => j.id)).toEqual([theirs.id, mine.id])
        expect((yield* store.listJobs({ owner: other, status: "active" })).map((j) => j.id)).toEqual([theirs.id])
        expect((yield* store.listJobs({})).length).toBe(3)
        expect(yield* store.deleteJob(theirs.id)).toBe(true)
        expect(yield* store.deleteJob(theirs.id)).toBe(false)
        expect((yield* store.listJobs({ owner: other })).map((j) => j.id)).toEqual([rothrock.id])
      })
    ))
})
