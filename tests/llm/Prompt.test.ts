import { describe, expect, test } from "bun:test"
import { toWireMessages } from "../../core/llm/AnthropicProvider.ts"
import { estimateTokens, nextOutputBudget, trimHistory, unit } from "../../core/llm/Budget.ts"
import { currentMessages, describeRoom, historyUnits, withoutImages } from "../../core/llm/Prompt.ts"
import type { StoredMessage } from "../../core/store/Store.ts"
import { inbound } from "./support.ts"

let id = 0
const stored = (message: Omit<StoredMessage, "id" | "conversationId" | "at">): StoredMessage => ({
  id: ++id,
  conversationId: "c",
  at: 0,
  ...message
})

describe("history units", () => {
  test("an assistant's tool calls and their results form one unit; orphans and unanswered calls are dropped", () => {
    const units = historyUnits(
      [
        stored({ role: "tool", content: "orphan result", toolCallId: "gone", toolName: "x" }),
        stored({ role: "user", content: "weather and time?", authorName: "Ann" }),
        stored({
          role: "assistant",
          content: "",
          toolCalls: [
            { id: "a", name: "weather", arguments: "{}" },
            { id: "b", name: "time", arguments: "{}" },
            { id: "c", name: "never_answered", arguments: "{}" }
          ]
        }),
        stored({ role: "tool", content: "sunny", toolCallId: "a", toolName: "weather" }),
        stored({ role: "tool", content: "noon", toolCallId: "b", toolName: "time" }),
        stored({ role: "tool", content: "stray", toolCallId: "zzz", toolName: "x" }),
        stored({ role: "assistant", content: "Sunny, and it is noon." }),
        stored({ role: "assistant", content: "", toolCalls: [{ id: "d", name: "lost", arguments: "{}" }] }),
        stored({ role: "system", content: "Scheduled instruction: say hi" })
      ],
      { names: true }
    )
    expect(units.map((u) => u.messages)).toEqual([
      [{ role: "user", content: "Ann: weather and time?" }],
      [
        {
          role: "assistant",
          content: "",
          toolCalls: [
            { id: "a", name: "weather", arguments: "{}" },
            { id: "b", name: "time", arguments: "{}" }
          ]
        },
        { role: "tool", toolCallId: "a", name: "weather", content: "sunny" },
        { role: "tool", toolCallId: "b", name: "time", content: "noon" }
      ],
      [{ role: "assistant", content: "Sunny, and it is noon." }],
      [{ role: "user", content: "[Scheduled instruction: say hi]" }]
    ])
  })

  test("trimming keeps the newest units that fit and never splits a unit", () => {
    const units = [
      unit([{ role: "user", content: "a".repeat(400) }]),
      unit([
        { role: "assistant", content: "", toolCalls: [{ id: "k", name: "t", arguments: "{}" }] },
        { role: "tool", toolCallId: "k", name: "t", content: "b".repeat(400) }
      ]),
      unit([{ role: "user", content: "newest" }])
    ]
    const [old, pair, newest] = units.map((u) => u.tokens) as [number, number, number]
    expect(trimHistory(units, newest + pair + old)).toHaveLength(4)
    // One token short of the pair: the pair goes whole, and nothing older is kept in its place.
    expect(trimHistory(units, newest + pair - 1)).toEqual([{ role: "user", content: "newest" }])
    expect(trimHistory(units, newest + pair).map((m) => m.role)).toEqual(["assistant", "tool", "user"])
    expect(trimHistory(units, 0)).toEqual([])
  })

  test("token estimates err high for non-Latin text", () => {
    expect(estimateTokens("hello world!")).toBe(3)
    expect(estimateTokens("привет мир!")).toBeGreaterThanOrEqual(5)
  })

  test("the output budget doubles and stops at max_tokens", () => {
    expect(nextOutputBudget(256, 256, 1024)).toBe(512)
    expect(nextOutputBudget(512, 768, 1024)).toBe(256)
    expect(nextOutputBudget(256, 1020, 1024)).toBeUndefined()
  })
})

describe("new messages", () => {
  test("images become parts, other files a note, names a prefix in groups", () => {
    const messages = currentMessages(
      [
        inbound("look", {
          attachments: [
            { kind: "image", mime: "image/jpeg", url: "https://cdn.example/cat.jpg" },
            { kind: "file", mime: "application/pdf", name: "cv.pdf" }
          ]
        })
      ],
      { names: true }
    )
    expect(messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: 'Ann: look [attached file "cv.pdf" (application/pdf)]' },
          { type: "image", mime: "image/jpeg", url: "https://cdn.example/cat.jpg" }
        ]
      }
    ])
    expect(withoutImages(messages)).toEqual([
      {
        role: "user",
        content:
          'Ann: look [attached file "cv.pdf" (application/pdf)] [an image was attached, but you cannot see images]'
      }
    ])
  })

  test("the room is a few compact lines", () => {
    const text = describeRoom({
      users: [{ name: "a" }, { name: "b", afk: true }],
      media: { title: "Song", type: "yt", id: "1", durationSec: 3725, positionSec: 61 },
      recent: Array.from({ length: 30 }, (_, i) => ({ user: "a", text: `line ${i}`, at: i }))
    })
    expect(text.split("\n").slice(0, 3)).toEqual([
      "People here (2): a, b (away)",
      'Now playing: "Song" (yt), 1:01 of 1:02:05',
      "Recent chat:"
    ])
    expect(text).not.toContain("line 9\n")
    expect(text.endsWith("a: line 29")).toBe(true)
  })
})

describe("anthropic messages", () => {
  test("turns alternate, start with the user, and tool results lead the user turn", () => {
    const wire = toWireMessages([
      { role: "assistant", content: "earlier answer " },
      { role: "user", content: "q" },
      { role: "assistant", content: "", toolCalls: [{ id: "t1", name: "x", arguments: "not json" }] },
      { role: "tool", toolCallId: "t1", name: "x", content: "" },
      { role: "user", content: "and?" }
    ])
    expect(wire).toEqual([
      { role: "user", content: [{ type: "text", text: "(conversation continues)" }] },
      { role: "assistant", content: [{ type: "text", text: "earlier answer" }] },
      { role: "user", content: [{ type: "text", text: "q" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "x", input: {} }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "t1", content: "(empty)" },
          { type: "text", text: "and?" }
        ]
      }
    ])
  })
})
