/**
 * Troupe's logger, replacing Effect's default one: logfmt lines in production, a coloured one-line format on a
 * terminal. Annotations (`Effect.annotateLogs`, `withCorrelation`) and log spans become `key=value` pairs, and every
 * line goes through the runtime's `Redactor` before it is written, so no registered secret or secret-shaped string
 * ever reaches the output.
 *
 * @example
 * import * as Logging from "./core/log/Logger.ts"
 * program.pipe(Effect.provide(Logging.layer({ format: "auto", level: "info", redactor })))
 */
import { Cause, FiberId, Layer, Logger, LogLevel } from "effect"
import { causeLine, causeStack, fields, levelLabel, message, quote } from "./internal/format.ts"
import type { Redactor } from "./Redactor.ts"

export type LogFormat = "logfmt" | "pretty" | "auto"

export type LevelName = "debug" | "info" | "warn" | "error"

export interface LoggingOptions {
  /** `"auto"` (default): `pretty` when the output is a terminal, else `logfmt`. */
  readonly format?: LogFormat
  /** Minimum level written (default `"info"`). At `"debug"`, error lines also carry the first stack frames. */
  readonly level?: LevelName
  /** Every line passes through it before it is written. */
  readonly redactor: Redactor
  /** Receives each line, without a trailing newline (default: written to stderr; stdout is left to CLI output). */
  readonly sink?: (line: string) => void
  /** Colours in the pretty format (default: when writing to a terminal and `NO_COLOR` is unset or empty). */
  readonly color?: boolean
}

const logLevels: Record<LevelName, LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error
}

/** The Effect `LogLevel` for a level name. */
export const logLevelOf = (name: LevelName): LogLevel.LogLevel => logLevels[name]

const writeStderr = (line: string) => {
  process.stderr.write(`${line}\n`)
}

/**
 * `ts=2026-11-23T14:00:00.123Z level=info msg="conversation started" cid=abc123 persona=sage fiber=#12`, then
 * `err="…"` when the entry has a cause (and `stack="…"` when `withStack`).
 */
export const logfmt = (redactor: Redactor, withStack = false): Logger.Logger<unknown, string> =>
  Logger.make(({ annotations, cause, date, fiberId, logLevel, message: msg, spans }) => {
    // Everything but the timestamp, level and fiber (which we write ourselves) goes through the redactor at once.
    let body = `msg=${quote(message(msg, redactor))}${fields(annotations, spans, date.getTime(), redactor)}`
    let tail = ` fiber=${FiberId.threadName(fiberId)}`
    if (!Cause.isEmpty(cause)) {
      tail += ` err=${quote(causeLine(cause))}`
      if (withStack) {
        const stack = causeStack(cause)
        if (stack !== "") tail += ` stack=${quote(stack)}`
      }
      body += tail
      tail = ""
    }
    return `ts=${date.toISOString()} level=${levelLabel(logLevel)} ${redactor.redact(body)}${tail}`
  })

const paint = (code: string) => (text: string) => `\x1b[${code}m${text}\x1b[0m`
const plain = (text: string) => text
const levelPaint: Record<string, (text: string) => string> = {
  trace: paint("90"),
  debug: paint("34"),
  info: paint("32"),
  warn: paint("33"),
  error: paint("31"),
  fatal: paint("1;41")
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`)
const clock = (date: Date) => {
  const ms = date.getMilliseconds()
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}`
}

/**
 * `14:00:00.123 INFO  conversation started  cid=abc123 persona=sage`, with the pretty-printed cause on the following
 * lines. Only the time, level and cause are coloured, so redaction always sees the plain text of the rest.
 */
export const pretty = (redactor: Redactor, color: boolean): Logger.Logger<unknown, string> =>
  Logger.make(({ annotations, cause, date, logLevel, message: msg, spans }) => {
    const label = levelLabel(logLevel)
    const colorLevel = color ? (levelPaint[label] ?? plain) : plain
    const dim = color ? paint("2") : plain
    const pairs = fields(annotations, spans, date.getTime(), redactor)
    let line = `${dim(clock(date))} ${colorLevel(label.toUpperCase().padEnd(5))} `
    line += redactor.redact(pairs === "" ? message(msg, redactor) : `${message(msg, redactor)} ${pairs}`)
    if (!Cause.isEmpty(cause)) {
      const text = Cause.isInterruptedOnly(cause) ? "interrupted" : Cause.pretty(cause, { renderErrorCause: true })
      line += `\n${(color ? paint("31") : plain)(redactor.redact(text).replace(/^/gm, "  "))}`
    }
    return line
  })

const isTerminal = (options: LoggingOptions): boolean =>
  (options.sink === undefined ? process.stderr.isTTY : process.stdout.isTTY) === true

/** The logger alone (formatting + redaction + sink), without the minimum-level setting. */
export const make = (options: LoggingOptions): Logger.Logger<unknown, void> => {
  const format = options.format ?? "auto"
  const usePretty = format === "pretty" || (format === "auto" && isTerminal(options))
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ""
  const color = options.color ?? (!noColor && isTerminal(options))
  const formatter = usePretty ? pretty(options.redactor, color) : logfmt(options.redactor, options.level === "debug")
  const sink = options.sink ?? writeStderr
  return Logger.make((entry) => {
    let line: string
    try {
      line = formatter.log(entry)
    } catch (error) {
      // A value that cannot be rendered must not take the fiber down, nor leak through an unredacted message.
      const err = quote(options.redactor.redact(String(error)))
      line = `ts=${entry.date.toISOString()} level=error msg="log line could not be formatted" err=${err}`
    }
    sink(line)
  })
}

/**
 * Replace Effect's default logger with Troupe's and set the minimum log level.
 *
 * @example
 * Logging.layer({ format: "logfmt", level: "debug", redactor, sink: (line) => lines.push(line) })
 */
export const layer = (options: LoggingOptions): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, make(options)),
    Logger.minimumLogLevel(logLevelOf(options.level ?? "info"))
  )
