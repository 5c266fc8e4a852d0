/**
 * Logging and metrics figures, in one run:
 * - log lines/s through the logfmt logger (an `Effect.log` with correlation annotations inside one fiber), with the
 *   built-in patterns + 20 registered secrets, with the built-in patterns only, and with redaction off; the ratio of
 *   the first to the last is the cost of redaction. Effect's own `logfmtLogger` is measured alongside as a reference;
 * - `Redactor.redact` alone on typical lines (the part of a logfmt line that is redacted);
 * - counter increments/s (2 labels, 12 series, looked up per call and bound), histogram observations/s.
 *
 * Run: bun bench/log.ts [--lines N] [--incs N] [--rounds N]
 */
import { Effect, type Layer, Logger } from "effect"
import { withCorrelation } from "../core/log/Correlation.ts"
import * as Logging from "../core/log/Logger.ts"
import { Redactor } from "../core/log/Redactor.ts"
import { MetricsRegistry } from "../core/metrics/Metrics.ts"
import { arg, fmt, report } from "./support.ts"

const lines = arg("lines", 100_000)
const incs = arg("incs", 5_000_000)
const rounds = arg("rounds", 5)

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const withSecrets = new Redactor()
for (let i = 0; i < 20; i++) withSecrets.add(`secret-${i}-${crypto.randomUUID()}`)
const builtinsOnly = new Redactor()
const off = new Redactor({ builtins: false })

let written = 0
const sink = (line: string) => {
  written += line.length
}

const logLoop = Effect.gen(function* () {
  const start = performance.now()
  for (let i = 0; i < lines; i++) {
    yield* Effect.log("reply sent", i)
  }
  return lines / ((performance.now() - start) / 1000)
}).pipe(
  Effect.annotateLogs({ channel: "telegram:sage_bot" }),
  withCorrelation("f3K_x9aQ0b", "sage", "telegram:chat:42")
)

const throughLogger = (layer: Layer.Layer<never>) => Effect.runSync(Effect.provide(logLoop, layer))

const troupeLogfmt = (redactor: Redactor) => Logging.layer({ format: "logfmt", level: "info", redactor, sink })
const effectLogfmt = Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, sink))

// Distinct lines (JSC caches the result of replacing in the very same string), shaped like the logfmt body we redact.
const typicalLines = Array.from(
  { length: 1024 },
  (_, i) =>
    `msg="reply sent to user after ${i % 7} tool calls" cid=f3K_x9a${i} persona=sage channel=telegram:sage_bot ` +
    `conversation=telegram:chat:${i * 7} reply=${i % 900}ms`
)
const redactRate = (redactor: Redactor) => {
  const n = lines * 5
  const start = performance.now()
  for (let i = 0; i < n; i++) written += redactor.redact(typicalLines[i & 1023]!).length
  return n / ((performance.now() - start) / 1000)
}

const registry = new MetricsRegistry()
const counter = registry.counter("bench_total", "Bench.", ["persona", "channel"])
const histogram = registry.histogram("bench_seconds", "Bench.", ["persona"], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60])
const personas = ["sage", "rothrock", "ada"]
const channels = ["telegram:a", "discord:b", "cytube:c", "telegram:d"]
const labelSets = personas.flatMap((persona) => channels.map((channel) => ({ persona, channel })))
const bound = counter.bind({ persona: "sage", channel: "telegram:a" })
const rate = (run: () => void) => {
  const start = performance.now()
  run()
  return incs / ((performance.now() - start) / 1000)
}
const counterRate = () =>
  rate(() => {
    for (let i = 0; i < incs; i++) counter.inc(labelSets[i % 12]!)
  })
const boundRate = () =>
  rate(() => {
    for (let i = 0; i < incs; i++) bound.inc()
  })
const histogramRate = () =>
  rate(() => {
    for (let i = 0; i < incs; i++) histogram.observe({ persona: personas[i % 3]! }, (i % 1000) / 100)
  })

const figures = {
  secrets: [] as Array<number>,
  builtins: [] as Array<number>,
  off: [] as Array<number>,
  effect: [] as Array<number>,
  redactSecrets: [] as Array<number>,
  redactOff: [] as Array<number>,
  counter: [] as Array<number>,
  bound: [] as Array<number>,
  histogram: [] as Array<number>
}
// Alternate the variants over several rounds (round 0 is warm-up) and compare medians, so noise hits all alike.
for (let round = 0; round <= rounds; round++) {
  const sample = {
    secrets: throughLogger(troupeLogfmt(withSecrets)),
    builtins: throughLogger(troupeLogfmt(builtinsOnly)),
    off: throughLogger(troupeLogfmt(off)),
    effect: throughLogger(effectLogfmt),
    redactSecrets: redactRate(withSecrets),
    redactOff: redactRate(builtinsOnly),
    counter: counterRate(),
    bound: boundRate(),
    histogram: histogramRate()
  }
  if (round > 0) for (const key of Object.keys(figures) as Array<keyof typeof figures>) figures[key].push(sample[key])
}
const m = Object.fromEntries(Object.entries(figures).map(([key, xs]) => [key, median(xs)])) as Record<
  keyof typeof figures,
  number
>

report("logging and metrics", [
  ["logfmt, 20 secrets + patterns", `${fmt(m.secrets)} lines/s (median of ${rounds} rounds of ${fmt(lines)})`],
  ["logfmt, patterns only", `${fmt(m.builtins)} lines/s`],
  ["logfmt, redaction off", `${fmt(m.off)} lines/s`],
  ["redacted / off", `${((m.secrets / m.off) * 100).toFixed(1)}%`],
  ["Effect's logfmtLogger", `${fmt(m.effect)} lines/s (ours with redaction: ${(m.secrets / m.effect).toFixed(2)}x)`],
  ["redact() alone, 20 secrets", `${fmt(m.redactSecrets)} lines/s (${fmt(1e9 / m.redactSecrets)} ns/line)`],
  ["redact() alone, patterns only", `${fmt(m.redactOff)} lines/s (${fmt(1e9 / m.redactOff)} ns/line)`],
  ["counter.inc (2 labels, 12 series)", `${fmt(m.counter)} incs/s`],
  ["bound counter inc", `${fmt(m.bound)} incs/s`],
  ["histogram.observe (9 buckets)", `${fmt(m.histogram)} obs/s`]
])
if (written < 0) console.log(written) // keep the sink's work observable
