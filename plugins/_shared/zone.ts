/**
 * Time zones with nothing but `Intl`: check a zone name, read the wall-clock fields of an instant in a zone, and turn
 * a wall-clock time in a zone back into an instant (daylight-saving changes included).
 */

/** The zone's canonical name, or a readable error for a name `Intl` does not know. */
export const checkZone = (zone: string): string => {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone
  } catch {
    throw new Error(`unknown time zone '${zone}' (use an IANA name such as Europe/Oslo, America/New_York or UTC)`)
  }
}

export interface WallClock {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** The date and time an instant shows on a clock in `zone`. */
export const wallClock = (instant: number, zone: string): WallClock => {
  let format = formatters.get(zone)
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
    formatters.set(zone, format)
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]))
  const year = Number(parts.year)
  return {
    year: parts.era === "BC" ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second)
  }
}

const utcOf = (w: WallClock) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)

/** Minutes `zone` is ahead of UTC at `instant` (e.g. 60 for Europe/Oslo in winter). */
export const offsetMinutes = (instant: number, zone: string): number =>
  Math.round((utcOf(wallClock(instant, zone)) - Math.floor(instant / 1000) * 1000) / 60_000)

/**
 * The instant a clock in `zone` shows `w`. A time skipped by a daylight-saving change comes out an hour later; a time
 * that happens twice comes out as one of the two.
 */
export const instantOf = (w: WallClock, zone: string): number => {
  const guess = utcOf(w)
  const offset = offsetMinutes(guess, zone)
  const first = guess - offset * 60_000
  const corrected = offsetMinutes(first, zone)
  return corrected === offset ? first : guess - corrected * 60_000
}

/** `+01:00` */
export const formatOffset = (minutes: number): string => {
  const sign = minutes < 0 ? "-" : "+"
  const abs = Math.abs(minutes)
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`
}

/** `2026-03-01T23:30:00+01:00` */
export const isoIn = (instant: number, zone: string): string => {
  const w = wallClock(instant, zone)
  const pad = (n: number, width = 2) => String(n).padStart(width, "0")
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
  const offset = offsetMinutes(instant, zone)
  return `${date}${offset === 0 && zone === "UTC" ? "Z" : formatOffset(offset)}`
}

/**
 * A time as people and models write it: an ISO date-time with `Z` or an offset (absolute), one without (a wall-clock
 * time in `zone`), a date alone (midnight in `zone`), or `now`.
 */
export const parseTime = (text: string, zone: string, now: number): number => {
  const value = text.trim()
  if (value.toLowerCase() === "now") return now
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(value)
  if (!match) {
    throw new Error(
      `cannot read the time '${text}' (write it like 2026-03-01, 2026-03-01T09:30 or 2026-03-01T09:30:00Z)`
    )
  }
  const [, y, mo, d, h = "0", mi = "0", s = "0", offset] = match
  const w: WallClock = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s)
  }
  const check = new Date(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second))
  if (
    check.getUTCMonth() !== w.month - 1 ||
    check.getUTCDate() !== w.day ||
    w.hour > 23 ||
    w.minute > 59 ||
    w.second > 59
  ) {
    throw new Error(`'${text}' is not a valid date and time`)
  }
  if (offset === undefined) return instantOf(w, zone)
  if (offset.toUpperCase() === "Z") return utcOf(w)
  const sign = offset.startsWith("-") ? -1 : 1
  const digits = offset.slice(1).replace(":", "")
  return utcOf(w) - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
}
