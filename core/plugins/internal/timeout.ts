/** Timeouts as plugin authors write them: milliseconds, `"250ms"`, `"10s"`, `"2m"`, `"5 seconds"`, `"500 millis"`. */
const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  milli: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

/** Milliseconds, or `undefined` when the text is not a duration. */
export const parseTimeout = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined
  if (typeof value !== "string") return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value)
  const unit = match ? units[match[2]!.toLowerCase()] : undefined
  if (!match || unit === undefined) return undefined
  const ms = Number(match[1]) * unit
  return ms > 0 ? ms : undefined
}
