import { describe, expect, test } from "bun:test"
import { parsePrometheus } from "./parsePrometheus.ts"

const histogram = (lines: ReadonlyArray<string>) =>
  ["# HELP h Help.", "# TYPE h histogram", ...lines].join("\n").concat("\n")

describe("parsePrometheus", () => {
  test("accepts a valid exposition with comments, timestamps and special values", () => {
    const parsed = parsePrometheus(
      [
        "# a comment",
        "# HELP up Whether it is up.",
        "# TYPE up gauge",
        'up{job="a",} 1 1700000000000',
        'up{job="b"} NaN',
        "# TYPE temp gauge",
        "temp -Inf",
        ...histogram(['h_bucket{le="1"} 1', 'h_bucket{le="+Inf"} 2', "h_sum 3.5", "h_count 2"]).split("\n")
      ].join("\n")
    )
    expect(parsed.value("up", { job: "a" })).toBe(1)
    expect(parsed.families.get("up")?.samples[0]?.timestamp).toBe(1700000000000)
    expect(parsed.value("temp")).toBe(-Infinity)
    expect(parsed.value("h_count")).toBe(2)
  })

  const invalid: ReadonlyArray<readonly [string, string, string]> = [
    ["a sample without TYPE", "x 1\n", "no family"],
    ["a missing final newline", "# TYPE x gauge\nx 1", "newline"],
    ["an unknown type", "# TYPE x meter\n", "invalid type"],
    ["TYPE after samples", "# TYPE x gauge\nx 1\n# TYPE x gauge\n", "second TYPE"],
    ["a split family", "# TYPE x gauge\n# TYPE y gauge\nx 1\n", "split"],
    ["a duplicate series", '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n', "duplicate"],
    ["a bad label name", '# TYPE x gauge\nx{1a="1"} 1\n', "invalid label name"],
    ["an unquoted label value", "# TYPE x gauge\nx{a=1} 1\n", "not quoted"],
    ["a bad escape", '# TYPE x gauge\nx{a="\\t"} 1\n', "invalid escape"],
    ["a label given twice", '# TYPE x gauge\nx{a="1",a="2"} 1\n', "twice"],
    ["a bad value", "# TYPE x gauge\nx one\n", "invalid value"],
    ["a negative counter", "# TYPE x_total counter\nx_total -1\n", "counter"],
    ["a HELP without TYPE", "# HELP x X.\n", "no TYPE"],
    [
      "buckets that are not cumulative",
      histogram(['h_bucket{le="1"} 2', 'h_bucket{le="+Inf"} 1', "h_sum 1", "h_count 1"]),
      "cumulative"
    ],
    ["no +Inf bucket", histogram(['h_bucket{le="1"} 1', "h_sum 1", "h_count 1"]), "+Inf"],
    [
      "_count different from +Inf",
      histogram(['h_bucket{le="1"} 1', 'h_bucket{le="+Inf"} 2', "h_sum 1", "h_count 3"]),
      "_count"
    ],
    ["no _sum", histogram(['h_bucket{le="+Inf"} 1', "h_count 1"]), "_sum"],
    ["a bare histogram sample", histogram(["h 1"]), "no family"]
  ]
  for (const [what, text, reason] of invalid) {
    test(`rejects ${what}`, () => {
      expect(() => parsePrometheus(text)).toThrow(reason)
    })
  }
})
