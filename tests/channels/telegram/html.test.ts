import { describe, expect, test } from "bun:test"
import { markdownToTelegramHtml } from "../../../core/channels/telegram/html.ts"
import { splitMessage } from "../../../core/channels/text/split.ts"
import { parseHtml } from "../../fakes/telegram/html.ts"
import { seeded } from "../../support/random.ts"

/** What a Telegram user sees of our HTML, per the fake's parser (which follows Telegram's). */
const seen = (markdown: string) => {
  const parsed = parseHtml(markdownToTelegramHtml(markdown))
  if (!parsed.ok) throw new Error(`Telegram would refuse: ${parsed.error}`)
  return {
    text: parsed.text,
    entities: parsed.entities.map((e) => `${e.type}:${parsed.text.slice(e.offset, e.offset + e.length)}`)
  }
}

describe("markdown to Telegram HTML", () => {
  test("bold, italic, strikethrough, inline code and links become entities", () => {
    expect(
      seen("**Bold** and *italic* and _also italic_ and ~~gone~~ and `x < 1` and [docs](https://example.com/a?b=1&c=2)")
    ).toEqual({
      text: "Bold and italic and also italic and gone and x < 1 and docs",
      entities: [
        "bold:Bold",
        "italic:italic",
        "italic:also italic",
        "strikethrough:gone",
        "code:x < 1",
        "text_link:docs"
      ]
    })
    expect(markdownToTelegramHtml("[docs](https://example.com/a?b=1&c=2)")).toBe(
      '<a href="https://example.com/a?b=1&amp;c=2">docs</a>'
    )
  })

  test("&, < and > are escaped everywhere, including inside code", () => {
    expect(markdownToTelegramHtml("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d")
    expect(seen("Use `<b>` & **<i>**").text).toBe("Use <b> & <i>")
    expect(seen("```html\n<p>&amp;</p>\n```").text).toBe("<p>&amp;</p>")
  })

  test("a fenced block keeps its language; an unclosed fence runs to the end", () => {
    expect(markdownToTelegramHtml("```python\nprint(1 < 2)\n```")).toBe(
      '<pre><code class="language-python">print(1 &lt; 2)</code></pre>'
    )
    const cut = seen("Here:\n```ts\nconst a = 1\nconst b")
    expect(cut.text).toBe("Here:\nconst a = 1\nconst b")
    expect(cut.entities).toEqual(["pre:const a = 1\nconst b"])
  })

  test("markers without a partner stay literal, so a cut preview never breaks the markup", () => {
    expect(seen("This is **half bold").text).toBe("This is **half bold")
    expect(seen("an *open italic").text).toBe("an *open italic")
    expect(seen("snake_case_name and 2 * 3 * 4").text).toBe("snake_case_name and 2 * 3 * 4")
    expect(seen("`unclosed code").text).toBe("`unclosed code")
    expect(seen("[label](no-close").text).toBe("[label](no-close")
  })

  test("headings turn bold, bullets become dots, quotes become block quotes", () => {
    expect(seen("# Title\n- one\n* two\n> quoted **bold**")).toEqual({
      text: "Title\n• one\n• two\nquoted bold",
      entities: ["bold:Title", "blockquote:quoted bold", "bold:bold"]
    })
  })

  test("unsafe link schemes are shown as text, not linked", () => {
    expect(seen("[click](javascript:alert(1))").entities).toEqual([])
  })

  test("whatever the model writes, Telegram can parse the result and it is no longer than the markdown", () => {
    const random = seeded(7)
    const pieces = [
      "**",
      "*",
      "_",
      "__",
      "`",
      "```",
      "~~",
      "[a](https://x.io)",
      "<",
      ">",
      "&",
      " ",
      "\n",
      "word",
      "é",
      "😀",
      "# ",
      "> ",
      "- ",
      "[",
      "](",
      ")"
    ]
    for (let round = 0; round < 500; round++) {
      let markdown = ""
      const length = 1 + Math.floor(random() * 40)
      for (let i = 0; i < length; i++) markdown += pieces[Math.floor(random() * pieces.length)]
      const parsed = parseHtml(markdownToTelegramHtml(markdown))
      if (!parsed.ok) throw new Error(`refused ${JSON.stringify(markdown)}: ${parsed.error}`)
      if (parsed.text.length > markdown.length) throw new Error(`longer: ${JSON.stringify(markdown)} -> ${parsed.text}`)
    }
  })

  test("a long answer split first and rendered per chunk gives valid chunks within the limit", () => {
    const code = Array.from({ length: 60 }, (_, i) => `line_${i} = compute(${i}) * 2  # a <comment> & more`).join("\n")
    const prose = Array.from({ length: 40 }, (_, i) => `Sentence **${i}** explains _something_ in detail.`).join(" ")
    const markdown = `${prose}\n\n\`\`\`python\n${code}\n\`\`\`\n\n${prose}`
    for (const chunk of splitMessage(markdown, 1000)) {
      const parsed = parseHtml(markdownToTelegramHtml(chunk))
      expect(parsed.ok).toBe(true)
      if (parsed.ok) expect(parsed.text.length).toBeLessThanOrEqual(1000)
    }
  })
})
