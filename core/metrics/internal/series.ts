/**
 * Series storage and the Prometheus text format (0.0.4) details: a nested `Map` per label value in label-name order,
 * so an increment does a few map lookups and never builds a key string; the rendered `{a="x",b="y"}` of a series is
 * computed once, when the series is created.
 */

/** Label values of one series, keyed by label name. */
export type Labels<N extends string> = { readonly [K in N]: string }

const needsEscape = /[\\"\n]/

/** Escape a label value: `\` → `\\`, `"` → `\"`, newline → `\n`. */
export const escapeLabelValue = (value: string): string =>
  needsEscape.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value

/** Escape a `# HELP` text: `\` → `\\`, newline → `\n`. */
export const escapeHelp = (help: string): string => help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`). */
export const formatValue = (value: number): string =>
  Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf"

const text = (value: unknown): string => (typeof value === "string" ? value : value === undefined ? "" : String(value))

/** `a="x",b="y"` (no braces) for the label values of `labels`, in `labelNames` order. */
export const labelPairs = (labelNames: ReadonlyArray<string>, labels: object): string => {
  let out = ""
  for (let i = 0; i < labelNames.length; i++) {
    const name = labelNames[i]!
    out += `${i === 0 ? "" : ","}${name}="${escapeLabelValue(text((labels as Record<string, unknown>)[name]))}"`
  }
  return out
}

/** `{a="x"}`, or nothing for a series without labels. */
export const braces = (pairs: string): string => (pairs === "" ? "" : `{${pairs}}`)

/**
 * The series of one metric, found by walking one `Map` level per label name. A missing label value counts as `""`;
 * labels not in `labelNames` are ignored.
 */
export class SeriesTable<S> {
  /** Every series, in creation order (the render order). */
  readonly all: Array<S> = []
  private readonly tree = new Map<string, unknown>()
  private single: S | undefined

  constructor(
    readonly labelNames: ReadonlyArray<string>,
    private readonly create: (pairs: string) => S
  ) {}

  get(labels: object): S {
    const names = this.labelNames
    const last = names.length - 1
    if (last < 0) return this.single ?? this.add(this.create(""), undefined, "")
    const values = labels as Record<string, unknown>
    let level = this.tree
    for (let i = 0; i < last; i++) {
      const value = text(values[names[i]!])
      let next = level.get(value) as Map<string, unknown> | undefined
      if (next === undefined) {
        next = new Map()
        level.set(value, next)
      }
      level = next
    }
    const value = text(values[names[last]!])
    const found = level.get(value) as S | undefined
    return found ?? this.add(this.create(labelPairs(names, labels)), level, value)
  }

  private add(series: S, level: Map<string, unknown> | undefined, value: string): S {
    if (level === undefined) this.single = series
    else level.set(value, series)
    this.all.push(series)
    return series
  }
}
