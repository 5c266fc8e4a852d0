/**
 * Reading YAML files through a `Schema`: `${VAR}` / `${VAR:-default}` interpolation, and errors that name the file,
 * the line, the field path and what was expected — every error at once, unknown keys with a "did you mean".
 * Used for `config.yaml` and every `persona.yaml`.
 */
import { Data, Either, ParseResult, Schema } from "effect"
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  parse as parseYaml,
  type Scalar,
  visit
} from "yaml"

/** One problem in a file, with where it is. */
export interface FileIssue {
  readonly file: string
  readonly line: number | undefined
  readonly column: number | undefined
  /** Dotted field path, e.g. `providers.groq.api_key` (empty for the whole document). */
  readonly path: string
  readonly message: string
}

export const formatIssue = (issue: FileIssue): string => {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`
}

/** A file that could not be read into its schema; `issues` lists every problem found. */
export class InvalidFile extends Data.TaggedError("InvalidFile")<{
  readonly file: string
  readonly issues: ReadonlyArray<FileIssue>
}> {
  override get message() {
    const count = this.issues.length
    return `${this.file}: ${count} problem${count === 1 ? "" : "s"}\n${this.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`
  }
}

export type Env = Readonly<Record<string, string | undefined>>

const interpolation = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/** Replace `${VAR}` and `${VAR:-default}` in one string; `$${` stays a literal `${`. Returns the missing names. */
export const interpolate = (text: string, env: Env): { readonly value: string; readonly missing: Array<string> } => {
  const missing: Array<string> = []
  const value = text.replace(interpolation, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === "$${") return "${"
    const found = env[name!]
    if (found !== undefined && found !== "") return found
    if (fallback !== undefined) return fallback
    missing.push(name!)
    return ""
  })
  return { value, missing }
}

/** Edit distance, for "did you mean". */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]!
}

export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

type PathKey = string | number

const located = (file: string, lines: LineCounter, offset: number | undefined, path: ReadonlyArray<PathKey>) => {
  const pos = offset === undefined ? undefined : lines.linePos(offset)
  return { file, line: pos?.line, column: pos?.col, path: path.join(".") }
}

/** The node at `path`, or the deepest existing ancestor (for a missing field, its parent map). */
const nodeAt = (root: Node | null, path: ReadonlyArray<PathKey>): { node: Node | null; keyNode?: Node } => {
  let node: Node | null = root
  let keyNode: Node | undefined
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key))
      if (!pair) return { node }
      keyNode = pair.key as Node
      node = (pair.value as Node | null) ?? keyNode
    } else if (isSeq(node) && typeof key === "number" && node.items[key]) {
      keyNode = undefined
      node = node.items[key] as Node
    } else {
      return { node }
    }
  }
  return keyNode ? { node, keyNode } : { node }
}

const plainWords: Record<string, string> = {
  number: "a number",
  string: "text",
  boolean: "true or false",
  Int: "a whole number",
  ReadonlyArray: "a list",
  "ReadonlyArray<unknown>": "a list"
}

const describeExpected = (expected: string) => plainWords[expected] ?? expected

/**
 * Turn Effect's issues into one readable message per field: the alternatives of a union are merged into one
 * "expected one of …", the `undefined` alternative of an optional field is dropped, and a parent that only failed
 * because of its children is not reported again.
 */
const summarize = (raw: ReadonlyArray<ParseResult.ArrayFormatterIssue>) => {
  const byPath = new Map<string, { path: ReadonlyArray<PathKey>; issues: Array<ParseResult.ArrayFormatterIssue> }>()
  for (const issue of raw) {
    const key = JSON.stringify(issue.path)
    const entry = byPath.get(key) ?? { path: issue.path as ReadonlyArray<PathKey>, issues: [] }
    entry.issues.push(issue)
    byPath.set(key, entry)
  }
  const paths = [...byPath.values()]
  const hasChildren = (path: ReadonlyArray<PathKey>) =>
    paths.some((other) => other.path.length > path.length && path.every((key, i) => other.path[i] === key))
  const out: Array<{ path: ReadonlyArray<PathKey>; tag: string; message: string }> = []
  for (const { path, issues } of paths) {
    const fieldName = path.length > 0 ? String(path[path.length - 1]) : undefined
    const special = issues.find((issue) => issue._tag === "Unexpected" || issue._tag === "Missing")
    if (special) {
      out.push({ path, tag: special._tag, message: describeIssue(special, fieldName) })
      continue
    }
    const expected: Array<string> = []
    let actual: string | undefined
    const custom: Array<string> = []
    for (const issue of issues) {
      const match = /^Expected (.*), actual (.*)$/s.exec(issue.message)
      if (!match) {
        custom.push(issue.message)
        continue
      }
      actual = match[2]
      if (match[1] !== "undefined") expected.push(describeExpected(match[1]!))
    }
    if (custom.length > 0) out.push({ path, tag: "Type", message: custom.join("; ") })
    else if (expected.length === 0 && hasChildren(path)) continue
    else if (expected.length > 0) {
      const what = expected.length === 1 ? expected[0] : `one of ${expected.join(", ")}`
      out.push({ path, tag: "Type", message: `expected ${what}, got ${actual}` })
    }
  }
  return out
}

const describeIssue = (issue: ParseResult.ArrayFormatterIssue, fieldName: string | undefined): string => {
  if (issue._tag === "Missing") return "is required"
  const expected = /expected: (.*)$/.exec(issue.message)?.[1]
  const known = expected ? Array.from(expected.matchAll(/"([^"]+)"/g), (m) => m[1]!) : []
  const suggestion = fieldName ? closest(fieldName, known) : undefined
  if (suggestion) return `unknown key (did you mean "${suggestion}"?)`
  return known.length > 0 ? `unknown key (expected one of: ${known.join(", ")})` : "unknown key"
}

export interface ReadOptions {
  readonly env?: Env
  /** Shown in messages instead of the raw path (e.g. relative to the project). */
  readonly displayName?: string
}

/**
 * Parse YAML text and decode it with `schema`. Fails with every problem found: YAML syntax errors, missing
 * environment variables, schema mismatches and unknown keys, each with its line.
 */
export const decodeYaml = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
  file: string,
  options: ReadOptions = {}
): Either.Either<A, InvalidFile> => {
  const env = options.env ?? process.env
  const name = options.displayName ?? file
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const issues: Array<FileIssue> = []
  for (const error of [...doc.errors]) {
    issues.push({ ...located(name, lines, error.pos[0], []), message: error.message.split("\n")[0]! })
  }
  if (issues.length > 0) return Either.left(new InvalidFile({ file: name, issues }))

  // Interpolate environment variables in string scalars, keeping each value's position for messages.
  visit(doc, {
    Scalar(_key, node, ancestors) {
      if (typeof node.value !== "string" || !node.value.includes("${")) return
      const { value, missing } = interpolate(node.value, env)
      const path = ancestors.filter(isPair).map((pair) => String((pair.key as Scalar | null)?.value ?? ""))
      for (const variable of missing) {
        issues.push({
          ...located(name, lines, node.range?.[0], path),
          message: `environment variable ${variable} is not set (write \${${variable}:-} to make it optional)`
        })
      }
      // An unquoted `${PORT:-7070}` becomes the number 7070 (or a boolean), as if it had been written in the file.
      const scalar = node.type === "PLAIN" && value !== "" ? parseYaml(value) : value
      node.value = typeof scalar === "number" || typeof scalar === "boolean" ? scalar : value
    }
  })
  const data = doc.toJS() ?? {}
  const decoded = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(data)
  if (Either.isLeft(decoded)) {
    for (const issue of summarize(ParseResult.ArrayFormatter.formatErrorSync(decoded.left))) {
      const { node, keyNode } = nodeAt(doc.contents, issue.path)
      const anchor = issue.tag === "Unexpected" ? (keyNode ?? node) : node
      issues.push({ ...located(name, lines, anchor?.range?.[0], issue.path), message: issue.message })
    }
  }
  if (issues.length > 0) {
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
    return Either.left(new InvalidFile({ file: name, issues }))
  }
  return Either.right((decoded as Either.Right<ParseResult.ParseError, A>).right)
}
