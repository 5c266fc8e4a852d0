/**
 * A schema decode failure as one readable line for a model or a person:
 * `expression: is required; n: expected a number between 0 and 10, got 99`. The alternatives of a union are merged
 * into "one of", and the `undefined` alternative of an optional field is left out.
 */
import * as ParseResult from "effect/ParseResult"

export const formatDecodeError = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey> = []): string => {
  const byPath = new Map<string, { expected: Array<string>; actual: string | undefined; other: Array<string> }>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = [...prefix, ...issue.path].map(String).join(".")
    const entry = byPath.get(path) ?? { expected: [], actual: undefined, other: [] }
    byPath.set(path, entry)
    const match = /^Expected (.*), actual (.*)$/s.exec(issue.message)
    if (issue._tag === "Missing") entry.other.push("is required")
    else if (issue._tag === "Unexpected") entry.other.push("is not allowed")
    else if (!match) entry.other.push(issue.message)
    else {
      entry.actual = match[2]
      if (match[1] !== "undefined" && !entry.expected.includes(match[1]!)) entry.expected.push(match[1]!)
    }
  }
  const lines: Array<string> = []
  for (const [path, { expected, actual, other }] of byPath) {
    const what =
      expected.length === 0
        ? ""
        : `expected ${expected.length === 1 ? expected[0] : `one of ${expected.join(", ")}`}, got ${actual}`
    const message = [...new Set(other), ...(what ? [what] : [])].join(", ")
    if (message) lines.push(path ? `${path}: ${message}` : message)
  }
  return lines.join("; ")
}
