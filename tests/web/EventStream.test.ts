import { describe, expect, test } from "bun:test"
import type { ActorInfo } from "../../core/actor/ActorSystem.ts"
import type { TroupeEvent } from "../../core/events/Events.ts"
import { makeTreeDiffer } from "../../core/web/Dashboard.ts"
import { bufferSize, EventBuffer, matches, maxPerFlush } from "../../core/web/EventStream.ts"

const turn = { at: 1, correlationId: "cid-1", persona: "sage", conversationId: "sage/telegram:sage_bot/42" }
const delta: TroupeEvent = { _tag: "ReplyDelta", ...turn, turnId: "t", delta: "a", text: "a" }
const typing: TroupeEvent = { _tag: "Typing", ...turn }
const restarted: TroupeEvent = {
  _tag: "ActorRestarted",
  at: 1,
  path: "troupe/persona:rook/channel:discord:99",
  kind: "channel",
  attempt: 1,
  reason: "boom"
}
const loaded: TroupeEvent = {
  _tag: "PluginLoaded",
  at: 1,
  plugin: "dice",
  version: "1",
  tools: [],
  file: "x",
  durationMs: 1
}

describe("event stream filter", () => {
  test("ReplyDelta only when asked for", () => {
    expect(matches({}, delta)).toBe(false)
    expect(matches({ deltas: true }, delta)).toBe(true)
    expect(matches({}, typing)).toBe(true)
  })

  test("persona and channel come from the event, its conversation id or its actor path", () => {
    expect(matches({ persona: "sage" }, typing)).toBe(true)
    expect(matches({ persona: "rook" }, typing)).toBe(false)
    expect(matches({ persona: "rook" }, restarted)).toBe(true)
    expect(matches({ channel: "telegram" }, typing)).toBe(true)
    expect(matches({ channel: "telegram:sage_bot" }, typing)).toBe(true)
    expect(matches({ channel: "tele" }, typing)).toBe(false)
    expect(matches({ channel: "discord" }, restarted)).toBe(true)
    // Events of no persona or channel do not pass a persona or channel filter.
    expect(matches({ persona: "sage" }, loaded)).toBe(false)
    expect(matches({ channel: "web" }, loaded)).toBe(false)
  })

  test("types and correlation id", () => {
    expect(matches({ types: ["Typing"] }, typing)).toBe(true)
    expect(matches({ types: ["PluginLoaded"] }, typing)).toBe(false)
    expect(matches({ types: [] }, typing)).toBe(true)
    expect(matches({ correlationId: "cid-1" }, typing)).toBe(true)
    expect(matches({ correlationId: "cid-2" }, typing)).toBe(false)
    expect(matches({ correlationId: "cid-1" }, loaded)).toBe(false)
  })
})

describe("event buffer", () => {
  test("sends at most maxPerFlush a flush, keeps at most bufferSize, and counts what it left out", () => {
    const buffer = new EventBuffer({})
    expect(buffer.take()).toBeUndefined()
    const total = bufferSize + 100
    for (let i = 0; i < total; i++) buffer.offer({ ...typing, at: i })
    buffer.offer(delta) // filtered out, not counted
    const batch = buffer.take()!
    expect(batch.events.length).toBe(maxPerFlush)
    expect(batch.dropped).toBe(total - maxPerFlush)
    // The newest are the ones sent.
    expect(batch.events.at(-1)?.at).toBe(total - 1)
    expect(buffer.take()).toBeUndefined()
    buffer.lost(3)
    expect(buffer.take()).toEqual({ events: [], dropped: 3 })
  })
})

describe("tree differ", () => {
  const node = (path: string, processed = 0): ActorInfo => ({
    path,
    parent: path.split("/").slice(0, -1).join("/"),
    kind: "actor",
    labels: {},
    state: "ready",
    startedAt: 1,
    received: processed,
    processed,
    failed: 0,
    restarts: 0,
    mailbox: 0
  })

  test("reports what appeared, changed and went away since the last snapshot", () => {
    const diff = makeTreeDiffer()
    const first = diff([node("troupe/a"), node("troupe/b")])
    expect(first.changed.map((n) => n.path)).toEqual(["troupe/a", "troupe/b"])
    expect(diff([node("troupe/a"), node("troupe/b")]).changed).toEqual([])
    const next = diff([node("troupe/a", 1), node("troupe/c")])
    expect(next.changed.map((n) => [n.path, n.processed])).toEqual([
      ["troupe/a", 1],
      ["troupe/c", 0]
    ])
    expect(next.removed).toEqual(["troupe/b"])
    expect(next.nodes.map((n) => n.path)).toEqual(["troupe/a", "troupe/c"])
  })
})
