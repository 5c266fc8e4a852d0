import { describe, expect, test } from "bun:test"
import { splitMessage } from "../../../core/channels/text/split.ts"

const fences = (chunk: string) => (chunk.match(/^```/gm) ?? []).length
const words = (text: string) =>
  text
    .replace(/```\w*/g, "")
    .split(/\s+/)
    .filter(Boolean)

describe("splitMessage", () => {
  test("a short text is one message; an empty one is none", () => {
    expect(splitMessage("  hello  ", 10)).toEqual(["hello"])
    expect(splitMessage("   ", 10)).toEqual([])
  })

  test("a 10,000-character answer splits at paragraph boundaries within the limit and loses nothing", () => {
    const paragraphs = Array.from(
      { length: 42 },
      (_, i) => `Paragraph ${i}. ${"Lorem ipsum dolor sit amet. ".repeat(8)}`
    )
    const text = paragraphs.join("\n\n")
    expect(text.length).toBeGreaterThan(10_000)
    const chunks = splitMessage(text, 4096)
    expect(chunks.length).toBe(3)
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(4096)
      expect(chunk).toMatch(/^Paragraph \d+\./) // each starts at a paragraph
    }
    expect(words(chunks.join(" "))).toEqual(words(text))
  })

  test("without paragraphs it cuts at sentences, then words", () => {
    const sentences = "This is a sentence that goes on. ".repeat(10)
    const chunks = splitMessage(sentences, 100)
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(100)
      expect(chunk.endsWith(".")).toBe(true)
    }
    const wordsOnly = "word ".repeat(100)
    for (const chunk of splitMessage(wordsOnly, 33)) expect(chunk).toMatch(/^(word ?)+$/)
  })

  test("never cuts a multi-byte character in half", () => {
    const emoji = "😀".repeat(3000)
    const chunks = splitMessage(emoji, 4095)
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(4095)
      expect(chunk).not.toMatch(/[\ud800-\udbff]$/)
      expect(chunk).not.toMatch(/^[\udc00-\udfff]/)
    }
    expect(chunks.join("")).toBe(emoji)
  })

  test("a code block that fits is kept whole in one message", () => {
    const code = "```ts\nconst x = 1\nconst y = 2\n```"
    const text = `${"Intro text here. ".repeat(5)}\n\n${code}\n\nAfter.`
    const chunks = splitMessage(text, 120)
    const withCode = chunks.find((c) => c.includes("const x"))!
    expect(withCode).toContain("const y = 2")
    for (const chunk of chunks) expect(fences(chunk) % 2).toBe(0)
  })

  test("a code block longer than a message is closed and re-opened with its language", () => {
    const lines = Array.from({ length: 120 }, (_, i) => `  console.log(${i}) // line ${i}`).join("\n")
    const text = `Here is the code:\n\n\`\`\`js\n${lines}\n\`\`\`\n\nThat's all.`
    const chunks = splitMessage(text, 2000)
    expect(chunks.length).toBeGreaterThan(1)
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(2000)
      expect(fences(chunk) % 2).toBe(0)
    }
    for (const chunk of chunks.slice(1, -1)) expect(chunk.startsWith("```js\n")).toBe(true)
    const body = chunks.join("\n").match(/console\.log\(\d+\)/g)!
    expect(body.length).toBe(120)
    expect(chunks.at(-1)).toContain("That's all.")
  })

  test("a re-opened code block keeps the indentation of its first line", () => {
    const lines = Array.from({ length: 120 }, (_, i) => `    print("line ${i} of the program")`)
    const chunks = splitMessage(`\`\`\`python\ndef main():\n${lines.join("\n")}\n\`\`\``, 2000)
    expect(chunks.length).toBeGreaterThan(1)
    for (const chunk of chunks.slice(1)) expect(chunk.split("\n")[1]).toMatch(/^ {4}print\(/)
    const kept = chunks.flatMap((chunk) => chunk.split("\n")).filter((line) => line.includes("print("))
    expect(kept).toEqual(lines)
  })
})
