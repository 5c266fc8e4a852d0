/** The pieces both log formats share: logfmt quoting, rendering values, messages, fields and causes as text. */
import { Cause, type HashMap, Inspectable, type List, type LogLevel, type LogSpan } from "effect"
import { isSecretKey, REDACTED, type Redactor } from "../Redactor.ts"

/** Anything but printable ASCII (and non-ASCII printable characters), or a quote, `=` or backslash. */
const needsQuoting = /[^\x21-\x7e\u00a1-\uffff]|["=\\]/

/** A logfmt value: bare when it can be, else double-quoted with JSON escapes (`\"`, `\\`, `\n`, `\u001b`). */
export const quote = (value: string): string =>
  value.length > 0 && !needsQuoting.test(value) ? value : JSON.stringify(value)

const plainKey = /^[A-Za-z0-9_.:/-]+$/

/** A logfmt key: characters that would break the `key=value` syntax become `_`. */
export const key = (name: string): string =>
  plainKey.test(name) ? name : name.length === 0 ? "_" : name.replace(/[^A-Za-z0-9_.:/-]/g, "_")

const levelLabels: Record<LogLevel.LogLevel["_tag"], string> = {
  All: "all",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warning: "warn",
  Error: "error",
  Fatal: "fatal",
  None: "none"
}

export const levelLabel = (level: LogLevel.LogLevel): string => levelLabels[level._tag]

/** One value as text. Objects are redacted by key (`apiKey: …`) before they are serialized. */
export const show = (value: unknown, redactor: Redactor): string => {
  switch (typeof value) {
    case "string":
      return value
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
    case "symbol":
      return String(value)
    case "function":
      return `[function ${value.name || "anonymous"}]`
  }
  if (value === null) return "null"
  if (value instanceof Error) return `${value.name}: ${value.message}`
  try {
    return Inspectable.stringifyCircular(redactor.redactValue(value))
  } catch (cause) {
    return `[unserializable: ${String(cause)}]`
  }
}

/** `Effect.log("a", 1)` passes an array; runtime messages pass a string. */
export const message = (value: unknown, redactor: Redactor): string => {
  if (!Array.isArray(value)) return show(value, redactor)
  if (value.length === 1) return show(value[0], redactor)
  let out = ""
  for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : " ") + show(value[i], redactor)
  return out
}

/** Annotations and log spans as ` key=value` pairs; annotations whose key looks secret are `[redacted]`. */
export const fields = (
  annotations: HashMap.HashMap<string, unknown>,
  spans: List.List<LogSpan.LogSpan>,
  now: number,
  redactor: Redactor
): string => {
  // The correlation fields lead, in a fixed order, so lines of one conversation line up; the rest follow.
  let first0 = ""
  let first1 = ""
  let first2 = ""
  let first3 = ""
  let rest = ""
  for (const [name, value] of annotations) {
    const pair = ` ${key(name)}=${isSecretKey(name) ? REDACTED : quote(show(value, redactor))}`
    switch (name) {
      case "cid":
        first0 = pair
        break
      case "persona":
        first1 = pair
        break
      case "channel":
        first2 = pair
        break
      case "conversation":
        first3 = pair
        break
      default:
        rest += pair
    }
  }
  for (const span of spans) rest += ` ${key(span.label)}=${now - span.startTime}ms`
  return first0 + first1 + first2 + first3 + rest
}

const squash = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()

const errorLine = (error: Cause.PrettyError): string => {
  let line = squash(`${error.name}: ${error.message}`)
  let inner = error.cause as Cause.PrettyError | undefined
  for (let depth = 0; inner !== undefined && depth < 5; depth++) {
    line += ` [cause: ${squash(`${inner.name}: ${inner.message}`)}]`
    inner = inner.cause as Cause.PrettyError | undefined
  }
  return line
}

/** The cause on one line: `Name: message` for each failure or defect, `; `-separated. */
export const causeLine = (cause: Cause.Cause<unknown>): string => {
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  return Cause.prettyErrors(cause).map(errorLine).join("; ")
}

/** The first `lines` stack frames of the first error of the cause, one per line (empty when there is none). */
export const causeStack = (cause: Cause.Cause<unknown>, lines = 6): string => {
  const first = Cause.prettyErrors(cause)[0]
  if (first?.stack === undefined) return ""
  return first.stack
    .split("\n")
    .slice(1, lines + 1)
    .map((frame) => frame.trim())
    .join("\n")
}
