/**
 * Reading a character JSON file through a Schema, with every problem located at its line: the text is also parsed as
 * a YAML document (JSON is YAML) only to find where a field sits.
 */
import { Either, ParseResult, Schema } from "effect"
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml"
import type { FileIssue } from "../../config/Yaml.ts"
import { InvalidFile } from "../../config/Yaml.ts"

const issue = (file: string, message: string, line?: number, column?: number, path = ""): FileIssue => ({
  file,
  line,
  column,
  path,
  message
})

/** Line and column of the value at `path` in a JSON or YAML text (or of its deepest existing parent). */
export const locate = (text: string, path: ReadonlyArray<PropertyKey>) => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  let node = doc.contents as Node | null
  for (const key of path) {
    const next: Node | null | undefined = isMap(node)
      ? (node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key))?.value as Node | null)
      : isSeq(node) && typeof key === "number"
        ? (node.items[key] as Node | null)
        : undefined
    if (!next) break
    node = next
  }
  const offset = node?.range?.[0]
  return offset === undefined ? undefined : lines.linePos(offset)
}

export const parseJsonText = (text: string, file: string): Either.Either<unknown, InvalidFile> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    const lines = new LineCounter()
    const doc = parseDocument(text, { lineCounter: lines })
    const at = doc.errors[0] ? lines.linePos(doc.errors[0].pos[0]) : undefined
    const message = `not valid JSON: ${(error as Error).message.replace(/^JSON Parse error: /, "")}`
    return Either.left(new InvalidFile({ file, issues: [issue(file, message, at?.line, at?.col)] }))
  }
}

const describe = (problem: ParseResult.ArrayFormatterIssue) => {
  if (problem._tag === "Missing") return "is required"
  const match = /^Expected (.*), actual (.*)$/s.exec(problem.message)
  return match ? `expected ${match[1]}, got ${match[2]}` : problem.message
}

/** Decode already-parsed JSON with `schema`; problems name their field and line in `text`. */
export const decodeJson = <A, I>(
  schema: Schema.Schema<A, I>,
  value: unknown,
  text: string,
  file: string
): Either.Either<A, InvalidFile> => {
  const decoded = Schema.decodeUnknownEither(schema, { errors: "all" })(value)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((problem) => {
    const at = locate(text, problem.path)
    return issue(file, describe(problem), at?.line, at?.col, problem.path.join("."))
  })
  return Either.left(new InvalidFile({ file, issues }))
}
