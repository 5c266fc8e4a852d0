/**
 * A small synchronous metrics registry with Prometheus text output (format 0.0.4). Increments are plain field updates
 * after a few `Map` lookups, cheap enough for hot paths; gauges that mirror live state (the actor tree) are computed
 * when `/metrics` is scraped.
 *
 * @example
 * const registry = new MetricsRegistry()
 * const sent = registry.counter("troupe_messages_out_total", "Messages sent.", ["persona", "channel"])
 * sent.inc({ persona: "sage", channel: "telegram:sage_bot" })
 * registry.render() // "# HELP troupe_messages_out_total Messages sent.\n# TYPE …"
 */
import { Context, Data, Layer } from "effect"
import { defaultRedactor } from "../log/Redactor.ts"
import { braces, escapeHelp, formatValue, type Labels, labelPairs, SeriesTable } from "./internal/series.ts"

export type { Labels } from "./internal/series.ts"

export type MetricType = "counter" | "gauge" | "histogram"

/** A metric registered twice with a different shape, or an invalid name, label or bucket list. */
export class MetricRegistrationError extends Data.TaggedError("MetricRegistrationError")<{
  readonly name: string
  readonly reason: string
}> {
  override get message() {
    return `metric ${this.name}: ${this.reason}`
  }
}

class ValueSeries {
  value = 0
  constructor(readonly pairs: string) {}
  /** Add `by` (default 1). */
  inc(by = 1): void {
    this.value += by
  }
  /** Subtract `by` (default 1); gauges only. */
  dec(by = 1): void {
    this.value -= by
  }
  /** Set the value; gauges only. */
  set(value: number): void {
    this.value = value
  }
}

class CounterSeries extends ValueSeries {
  /** Add `by` (default 1); negative or NaN amounts are ignored, a counter only goes up. */
  override inc(by = 1): void {
    if (by >= 0) this.value += by
  }
}

class HistogramSeries {
  sum = 0
  count = 0
  /** Per-bucket (not cumulative) counts; the last slot is the `+Inf` overflow. */
  readonly counts: Float64Array
  constructor(
    readonly pairs: string,
    private readonly bounds: ReadonlyArray<number>
  ) {
    this.counts = new Float64Array(bounds.length + 1)
  }
  /** Record one observation; NaN is ignored. */
  observe(value: number): void {
    if (Number.isNaN(value)) return
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

/** One labelled series of a counter, for code that increments the same labels over and over. */
export type BoundCounter = Readonly<Pick<CounterSeries, "inc" | "value">>
/** One labelled series of a gauge. */
export type BoundGauge = Readonly<Pick<ValueSeries, "inc" | "dec" | "set" | "value">>
/** One labelled series of a histogram. */
export type BoundHistogram = Readonly<Pick<HistogramSeries, "observe" | "sum" | "count">>

interface Family {
  readonly name: string
  readonly type: MetricType
  /** Everything that must match for a second registration to return this one. */
  readonly signature: string
  readonly metric: unknown
  render(lines: Array<string>): void
}

const header = (lines: Array<string>, name: string, help: string, type: MetricType) => {
  lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
}

/** A value that only goes up. */
export class Counter<L extends object> {
  /** @internal */
  constructor(readonly table: SeriesTable<CounterSeries>) {}
  /** Add `by` (default 1) to the series of `labels`. */
  inc(labels: L, by = 1): void {
    this.table.get(labels).inc(by)
  }
  /** The series of `labels`, to increment without looking it up each time. */
  bind(labels: L): BoundCounter {
    return this.table.get(labels)
  }
  /** The current value of the series of `labels` (0 if never incremented). */
  get(labels: L): number {
    return this.table.get(labels).value
  }
}

/** A value that goes up and down. */
export class Gauge<L extends object> {
  /** @internal */
  constructor(readonly table: SeriesTable<ValueSeries>) {}
  set(labels: L, value: number): void {
    this.table.get(labels).set(value)
  }
  inc(labels: L, by = 1): void {
    this.table.get(labels).inc(by)
  }
  dec(labels: L, by = 1): void {
    this.table.get(labels).dec(by)
  }
  bind(labels: L): BoundGauge {
    return this.table.get(labels)
  }
  get(labels: L): number {
    return this.table.get(labels).value
  }
}

/** Observations counted into buckets (`le` = less than or equal), with their sum and count. */
export class Histogram<L extends object> {
  /** @internal */
  constructor(
    readonly table: SeriesTable<HistogramSeries>,
    readonly buckets: ReadonlyArray<number>
  ) {}
  observe(labels: L, value: number): void {
    this.table.get(labels).observe(value)
  }
  bind(labels: L): BoundHistogram {
    return this.table.get(labels)
  }
  /** Count and sum of the series of `labels`. */
  get(labels: L): { readonly count: number; readonly sum: number } {
    const series = this.table.get(labels)
    return { count: series.count, sum: series.sum }
  }
}

/** Samples computed at scrape time: label values and a value each. */
export type Collect<L extends object> = () => Iterable<readonly [L, number]>

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const histogramSuffixes = ["_bucket", "_sum", "_count"] as const

/** The registry: define metrics once at startup, update them anywhere, `render()` them for `/metrics`. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>()
  /** Sample names taken by histograms (`x_bucket`, `x_sum`, `x_count`) → the histogram. */
  private readonly reserved = new Map<string, string>()

  /** A counter with these label names. */
  counter<const N extends string>(name: string, help: string, labelNames: ReadonlyArray<N>): Counter<Labels<N>> {
    return this.define(name, "counter", `${help}\0${labelNames.join(",")}`, labelNames, () => {
      const table = new SeriesTable(labelNames, (pairs) => new CounterSeries(pairs))
      return [new Counter<Labels<N>>(table), this.valueRenderer(name, help, "counter", table)]
    })
  }

  /** A gauge with these label names. */
  gauge<const N extends string>(name: string, help: string, labelNames: ReadonlyArray<N>): Gauge<Labels<N>> {
    return this.define(name, "gauge", `${help}\0${labelNames.join(",")}`, labelNames, () => {
      const table = new SeriesTable(labelNames, (pairs) => new ValueSeries(pairs))
      return [new Gauge<Labels<N>>(table), this.valueRenderer(name, help, "gauge", table)]
    })
  }

  /** A gauge whose samples `collect` computes at each scrape (for a label set listed twice, the last value wins). */
  gaugeFn<const N extends string>(
    name: string,
    help: string,
    labelNames: ReadonlyArray<N>,
    collect: Collect<Labels<N>>
  ) {
    this.collected(name, help, "gauge", labelNames, collect)
  }

  /** Like `gaugeFn`, for a value that only goes up (exposed with the `counter` type). */
  counterFn<const N extends string>(
    name: string,
    help: string,
    labelNames: ReadonlyArray<N>,
    collect: Collect<Labels<N>>
  ) {
    this.collected(name, help, "counter", labelNames, collect)
  }

  /** A histogram with these label names and bucket upper bounds (ascending; `+Inf` is implied). */
  histogram<const N extends string>(
    name: string,
    help: string,
    labelNames: ReadonlyArray<N>,
    buckets: ReadonlyArray<number>
  ): Histogram<Labels<N>> {
    const bounds = buckets.at(-1) === Number.POSITIVE_INFINITY ? buckets.slice(0, -1) : [...buckets]
    if (bounds.length === 0) throw new MetricRegistrationError({ name, reason: "a histogram needs buckets" })
    bounds.forEach((bound, i) => {
      if (!Number.isFinite(bound) || (i > 0 && bound <= bounds[i - 1]!))
        throw new MetricRegistrationError({ name, reason: `buckets must be finite and ascending, got ${buckets}` })
    })
    if (labelNames.includes("le" as N))
      throw new MetricRegistrationError({ name, reason: `"le" is reserved for histogram buckets` })
    const signature = `${help}\0${labelNames.join(",")}\0${bounds.join(",")}`
    return this.define(name, "histogram", signature, labelNames, () => {
      const table = new SeriesTable(labelNames, (pairs) => new HistogramSeries(pairs, bounds))
      const les = bounds.map(formatValue).concat("+Inf")
      const render = (lines: Array<string>) => {
        header(lines, name, help, "histogram")
        for (const series of table.all) {
          const prefix = series.pairs === "" ? "" : `${series.pairs},`
          let cumulative = 0
          for (let i = 0; i < les.length; i++) {
            cumulative += series.counts[i]!
            lines.push(`${name}_bucket{${prefix}le="${les[i]}"} ${cumulative}`)
          }
          lines.push(`${name}_sum${braces(series.pairs)} ${formatValue(series.sum)}`)
          lines.push(`${name}_count${braces(series.pairs)} ${series.count}`)
        }
      }
      return [new Histogram<Labels<N>>(table, bounds), render]
    })
  }

  /** Every metric in the Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`). */
  render(): string {
    const lines: Array<string> = []
    for (const family of this.families.values()) family.render(lines)
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`
  }

  private valueRenderer(name: string, help: string, type: MetricType, table: SeriesTable<ValueSeries>) {
    return (lines: Array<string>) => {
      header(lines, name, help, type)
      for (const series of table.all) lines.push(`${name}${braces(series.pairs)} ${formatValue(series.value)}`)
    }
  }

  private collected<N extends string>(
    name: string,
    help: string,
    type: MetricType,
    labelNames: ReadonlyArray<N>,
    collect: Collect<Labels<N>>
  ) {
    const metric = this.define(name, type, `${help}\0${labelNames.join(",")}`, labelNames, () => {
      const render = (lines: Array<string>) => {
        header(lines, name, help, type)
        const samples = new Map<string, number>()
        try {
          for (const [labels, value] of collect()) samples.set(labelPairs(labelNames, labels), value)
        } catch (error) {
          // A broken collector must not break the whole scrape; say so in a comment instead of dropping it silently.
          lines.push(`# ${name} collect failed: ${defaultRedactor.redact(String(error)).replace(/\n/g, " ")}`)
          return
        }
        for (const [pairs, value] of samples) lines.push(`${name}${braces(pairs)} ${formatValue(value)}`)
      }
      return [collect, render]
    })
    if (metric !== collect)
      throw new MetricRegistrationError({ name, reason: "already registered with another collect function" })
  }

  private define<M>(
    name: string,
    type: MetricType,
    signature: string,
    labelNames: ReadonlyArray<string>,
    build: () => readonly [M, (lines: Array<string>) => void]
  ): M {
    const existing = this.families.get(name)
    if (existing !== undefined) {
      if (existing.type === type && existing.signature === signature) return existing.metric as M
      throw new MetricRegistrationError({
        name,
        reason: `already registered as a ${existing.type} with other help, labels or buckets`
      })
    }
    if (!metricName.test(name)) throw new MetricRegistrationError({ name, reason: "invalid metric name" })
    const owner = this.reserved.get(name)
    if (owner !== undefined)
      throw new MetricRegistrationError({ name, reason: `clashes with the samples of histogram ${owner}` })
    if (type === "histogram") {
      for (const suffix of histogramSuffixes) {
        if (this.families.has(name + suffix))
          throw new MetricRegistrationError({ name, reason: `clashes with metric ${name + suffix}` })
      }
    }
    const seen = new Set<string>()
    for (const label of labelNames) {
      if (!labelName.test(label) || label.startsWith("__"))
        throw new MetricRegistrationError({ name, reason: `invalid label name "${label}"` })
      if (seen.has(label)) throw new MetricRegistrationError({ name, reason: `label "${label}" is listed twice` })
      seen.add(label)
    }
    const [metric, render] = build()
    this.families.set(name, { name, type, signature, metric, render })
    if (type === "histogram") for (const suffix of histogramSuffixes) this.reserved.set(name + suffix, name)
    return metric
  }
}

/** The metrics registry of a runtime. */
export class Metrics extends Context.Tag("troupe/Metrics")<Metrics, MetricsRegistry>() {
  /** A fresh, empty registry. */
  static readonly layer = Layer.sync(Metrics, () => new MetricsRegistry())
}
