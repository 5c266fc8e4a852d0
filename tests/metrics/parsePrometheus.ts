/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on anything a Prometheus
 * server would reject or that hints at a bug in the exporter (a sample without `# TYPE`, a family split in two,
 * a duplicate series, bad label syntax or escapes, histogram buckets that are not cumulative or lack `+Inf`,
 * `_count` different from the `+Inf` bucket, a negative counter).
 *
 * @example
 * const exposition = parsePrometheus(await (await fetch(`${base}/metrics`)).text())
 * expect(exposition.value("troupe_messages_in_total", { persona: "sage", channel: "telegram:sage_bot" })).toBe(1)
 */

export type FamilyType = "counter" | "gauge" | "histogram" | "summary" | "untyped"

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  readonly timestamp?: number
}

export interface Family {
  readonly name: string
  readonly type: FamilyType
  readonly help: string | undefined
  readonly samples: ReadonlyArray<Sample>
}

export interface Exposition {
  readonly families: ReadonlyMap<string, Family>
  /** The value of the sample with exactly this name and these labels, or `undefined`. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined
  /** Every sample with this name (e.g. `x_bucket`). */
  samples(name: string): ReadonlyArray<Sample>
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    reason: string
  ) {
    super(line > 0 ? `line ${line}: ${reason}` : reason)
  }
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const floatText = /^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)$/
const types = new Set<FamilyType>(["counter", "gauge", "histogram", "summary", "untyped"])

interface MutableFamily {
  name: string
  type: FamilyType | undefined
  help: string | undefined
  samples: Array<Sample>
}

const parseFloatStrict = (text: string, line: number): number => {
  if (!floatText.test(text)) throw new ExpositionError(line, `invalid value "${text}"`)
  return text.endsWith("Inf") ? (text.startsWith("-") ? -Infinity : Infinity) : Number(text)
}

const unescapeHelp = (text: string, line: number): string =>
  text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\"
    if (c === "n") return "\n"
    throw new ExpositionError(line, `invalid escape "\\${c}" in HELP`)
  })

/** `{a="x",b="y"}` starting at `text[start] === "{"`; returns the labels and the index after `}`. */
const parseLabels = (text: string, start: number, line: number): [Record<string, string>, number] => {
  const labels: Record<string, string> = {}
  let i = start + 1
  for (;;) {
    if (text[i] === "}") return [labels, i + 1]
    const eq = text.indexOf("=", i)
    if (eq < 0) throw new ExpositionError(line, "label without =")
    const name = text.slice(i, eq)
    if (!labelName.test(name)) throw new ExpositionError(line, `invalid label name "${name}"`)
    if (Object.hasOwn(labels, name)) throw new ExpositionError(line, `label "${name}" given twice`)
    if (text[eq + 1] !== '"') throw new ExpositionError(line, `label "${name}" value is not quoted`)
    let value = ""
    i = eq + 2
    for (;;) {
      const c = text[i]
      if (c === undefined) throw new ExpositionError(line, `unterminated value of label "${name}"`)
      if (c === '"') break
      if (c === "\\") {
        const next = text[i + 1]
        if (next === "\\" || next === '"') value += next
        else if (next === "n") value += "\n"
        else throw new ExpositionError(line, `invalid escape "\\${next ?? ""}" in label "${name}"`)
        i += 2
      } else {
        value += c
        i++
      }
    }
    labels[name] = value
    i++
    if (text[i] === ",") i++
    else if (text[i] !== "}") throw new ExpositionError(line, `expected , or } after label "${name}"`)
  }
}

const seriesKey = (name: string, labels: Readonly<Record<string, string>>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",")}}`

/** The family a sample name belongs to: itself, or a histogram/summary base for `_bucket`, `_sum`, `_count`. */
const familyOf = (families: Map<string, MutableFamily>, name: string): MutableFamily | undefined => {
  const own = families.get(name)
  if (own?.type !== undefined && own.type !== "histogram") return own
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue
    const base = families.get(name.slice(0, -suffix.length))
    if (base?.type === "histogram" || (base?.type === "summary" && suffix !== "_bucket")) return base
  }
  return undefined
}

const checkHistogram = (family: MutableFamily) => {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>()
  const groupOf = (labels: Readonly<Record<string, string>>) => {
    const { le: _, ...rest } = labels
    const key = seriesKey("", rest)
    let group = groups.get(key)
    if (group === undefined) {
      group = { buckets: [] }
      groups.set(key, group)
    }
    return group
  }
  for (const sample of family.samples) {
    const group = groupOf(sample.labels)
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels.le
      if (le === undefined) throw new ExpositionError(0, `${sample.name} without le`)
      group.buckets.push([parseFloatStrict(le, 0), sample.value])
    } else if (sample.labels.le !== undefined) {
      throw new ExpositionError(0, `${sample.name} must not have an le label`)
    } else if (sample.name.endsWith("_sum")) group.sum = sample.value
    else group.count = sample.value
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`
    if (group.buckets.length === 0) throw new ExpositionError(0, `${where} has no buckets`)
    for (let i = 1; i < group.buckets.length; i++) {
      const [le, n] = group.buckets[i]!
      const [prevLe, prevN] = group.buckets[i - 1]!
      if (!(le > prevLe)) throw new ExpositionError(0, `${where} buckets are not in ascending le order`)
      if (n < prevN) throw new ExpositionError(0, `${where} buckets are not cumulative (le=${le})`)
    }
    const [lastLe, lastN] = group.buckets.at(-1)!
    if (lastLe !== Infinity) throw new ExpositionError(0, `${where} has no le="+Inf" bucket`)
    if (group.sum === undefined) throw new ExpositionError(0, `${where} has no _sum`)
    if (group.count === undefined) throw new ExpositionError(0, `${where} has no _count`)
    if (group.count !== lastN) throw new ExpositionError(0, `${where}_count ${group.count} != +Inf bucket ${lastN}`)
  }
}

/** Parse and validate an exposition; throws `ExpositionError` naming the line and the problem. */
export const parsePrometheus = (text: string): Exposition => {
  if (text !== "" && !text.endsWith("\n")) throw new ExpositionError(0, "the exposition must end with a newline")
  const families = new Map<string, MutableFamily>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: string | undefined
  const enter = (name: string, line: number) => {
    if (current === name) return
    if (closed.has(name)) throw new ExpositionError(line, `family ${name} is split by another family`)
    if (current !== undefined) closed.add(current)
    current = name
  }
  const declared = (name: string) => {
    let family = families.get(name)
    if (family === undefined) {
      family = { name, type: undefined, help: undefined, samples: [] }
      families.set(name, family)
    }
    return family
  }
  const lines = text === "" ? [] : text.slice(0, -1).split("\n")
  lines.forEach((raw, index) => {
    const line = index + 1
    if (raw.trim() === "") return
    if (raw.startsWith("#")) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw)
      if (match === null) return // an ordinary comment
      const [, keyword, name, rest = ""] = match as unknown as [string, string, string, string | undefined]
      if (!metricName.test(name)) throw new ExpositionError(line, `invalid metric name "${name}"`)
      enter(name, line)
      const family = declared(name)
      if (keyword === "HELP") {
        if (family.help !== undefined) throw new ExpositionError(line, `second HELP for ${name}`)
        family.help = unescapeHelp(rest, line)
      } else {
        if (family.type !== undefined) throw new ExpositionError(line, `second TYPE for ${name}`)
        if (family.samples.length > 0) throw new ExpositionError(line, `TYPE for ${name} after its samples`)
        if (!types.has(rest.trim() as FamilyType)) throw new ExpositionError(line, `invalid type "${rest}"`)
        family.type = rest.trim() as FamilyType
      }
      return
    }
    const nameEnd = raw.search(/[{ ]/)
    if (nameEnd <= 0) throw new ExpositionError(line, "a sample needs a name and a value")
    const name = raw.slice(0, nameEnd)
    if (!metricName.test(name)) throw new ExpositionError(line, `invalid metric name "${name}"`)
    let labels: Record<string, string> = {}
    let i = nameEnd
    if (raw[i] === "{") [labels, i] = parseLabels(raw, i, line)
    if (raw[i] !== " ") throw new ExpositionError(line, "expected a space before the value")
    const fields = raw.slice(i + 1).split(" ")
    if (fields.length > 2 || fields[0] === "") throw new ExpositionError(line, "expected `value [timestamp]`")
    const value = parseFloatStrict(fields[0]!, line)
    const timestamp = fields[1] === undefined ? undefined : Number(fields[1])
    if (timestamp !== undefined && !/^-?[0-9]+$/.test(fields[1]!))
      throw new ExpositionError(line, `invalid timestamp "${fields[1]}"`)
    const family = familyOf(families, name)
    if (family === undefined) throw new ExpositionError(line, `sample ${name} belongs to no family declared by # TYPE`)
    enter(family.name, line)
    if (family.type === "counter" && !(value >= 0)) throw new ExpositionError(line, `counter ${name} is ${value}`)
    const key = seriesKey(name, labels)
    if (series.has(key)) throw new ExpositionError(line, `duplicate series ${key}`)
    series.add(key)
    family.samples.push(timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp })
  })
  for (const family of families.values()) {
    if (family.type === undefined) throw new ExpositionError(0, `${family.name} has HELP but no TYPE`)
    if (family.type === "histogram") checkHistogram(family)
  }
  const byName = new Map<string, Array<Sample>>()
  for (const family of families.values())
    for (const sample of family.samples) {
      const list = byName.get(sample.name) ?? []
      list.push(sample)
      byName.set(sample.name, list)
    }
  return {
    families: families as ReadonlyMap<string, Family>,
    samples: (name) => byName.get(name) ?? [],
    value: (name, labels = {}) => {
      const key = seriesKey(name, labels)
      return byName.get(name)?.find((sample) => seriesKey(name, sample.labels) === key)?.value
    }
  }
}
