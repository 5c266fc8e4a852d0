import { describe, expect, test } from "bun:test"
import { oneLine, stripMarkdown } from "../../../core/channels/text/markdown.ts"

describe("stripMarkdown", () => {
  test("removes emphasis, headings, quotes and code markers, keeps the words", () => {
    expect(stripMarkdown("# Title\n\n**Bold** and *italic* and __under__ and `code` and ~~gone~~")).toBe(
      "Title\n\nBold and italic and under and code and gone"
    )
    expect(stripMarkdown("> quoted line\n\n* one\n+ two\n1. three")).toBe("quoted line\n\n- one\n- two\n1. three")
  })

  test("keeps link addresses and code, and leaves snake_case and arithmetic alone", () => {
    expect(stripMarkdown("See [the docs](https://example.com/docs) or https://x.io")).toBe(
      "See the docs (https://example.com/docs) or https://x.io"
    )
    expect(stripMarkdown("```js\nconst a_b = 2 * 3 * 4\n```")).toBe("const a_b = 2 * 3 * 4")
    expect(stripMarkdown("snake_case_name stays, 2*3*4 too")).toBe("snake_case_name stays, 2*3*4 too")
  })

  test("oneLine joins lines", () => {
    expect(oneLine("a\n\n  b\nc   d")).toBe("a b c d")
  })
})
