/**
 * `clock`: the current date and time in any IANA time zone, and the time between two dates. Models have no clock;
 * personas that talk about "today" or "in three weeks" need this.
 *
 * Persona options (`tool_options: { clock: {...} }` in persona.yaml):
 *   time_zone: Europe/Oslo   # the zone used when the model names none (default UTC)
 *   now: 2026-03-01T23:30:00Z  # a fixed "now" (for tests and demos)
 *
 * A copyable example of a plugin that reads per-persona options from `ctx.options`.
 */
import { definePlugin, defineTool, Schema } from "troupe/sdk"
import { checkZone, formatOffset, isoIn, offsetMinutes, parseTime, type WallClock, wallClock } from "../_shared/zone.ts"

const Options = Schema.Struct({
  time_zone: Schema.optional(Schema.String),
  now: Schema.optional(Schema.String)
})

const weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
const months = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
]

const pad = (n: number, width = 2) => String(n).padStart(width, "0")
const weekdayOf = (w: WallClock) => weekdays[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()]!

/** `Sunday, 1 March 2026, 23:30:00 (Europe/Oslo, UTC+01:00)` */
const human = (instant: number, zone: string) => {
  const w = wallClock(instant, zone)
  const time = `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
  return `${weekdayOf(w)}, ${w.day} ${months[w.month - 1]} ${w.year}, ${time} (${zone}, UTC${formatOffset(offsetMinutes(instant, zone))})`
}

/**
 * A small pattern language: YYYY YY MMMM MMM MM M DD D dddd ddd HH H hh h mm ss A Z (offset) z (zone name);
 * text in [brackets] is copied as it is.
 */
const pattern = (instant: number, zone: string, text: string) => {
  const w = wallClock(instant, zone)
  const hour12 = w.hour % 12 === 0 ? 12 : w.hour % 12
  const tokens: Record<string, string> = {
    YYYY: pad(w.year, 4),
    YY: pad(w.year % 100),
    MMMM: months[w.month - 1]!,
    MMM: months[w.month - 1]!.slice(0, 3),
    MM: pad(w.month),
    M: String(w.month),
    DD: pad(w.day),
    D: String(w.day),
    dddd: weekdayOf(w),
    ddd: weekdayOf(w).slice(0, 3),
    HH: pad(w.hour),
    H: String(w.hour),
    hh: pad(hour12),
    h: String(hour12),
    mm: pad(w.minute),
    ss: pad(w.second),
    A: w.hour < 12 ? "AM" : "PM",
    Z: formatOffset(offsetMinutes(instant, zone)),
    z: zone
  }
  return text.replace(/\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|ss|A|Z|z/g, (token, literal) =>
    literal !== undefined ? literal : tokens[token]!
  )
}

const plural = (n: number, unit: string) => `${n.toLocaleString("en-US")} ${unit}${n === 1 ? "" : "s"}`
const dateOnly = (text: string) => /^\s*\d{4}-\d{2}-\d{2}\s*$/.test(text)

const difference = (from: number, to: number, unit: "days" | "hours" | "minutes" | undefined) => {
  const ms = to - from
  const abs = Math.abs(ms)
  const direction = ms < 0 ? " ('to' is before 'from')" : ""
  if (unit) {
    const size = { days: 86_400_000, hours: 3_600_000, minutes: 60_000 }[unit]
    const value = Math.round((abs / size) * 100) / 100
    return `${value.toLocaleString("en-US")} ${value === 1 ? unit.slice(0, -1) : unit}${direction}`
  }
  const days = Math.floor(abs / 86_400_000)
  const hours = Math.floor((abs % 86_400_000) / 3_600_000)
  const minutes = Math.floor((abs % 3_600_000) / 60_000)
  const totals = `${plural(Math.floor(abs / 3_600_000), "hour")} or ${plural(Math.floor(abs / 60_000), "minute")} in total`
  return `${plural(days, "day")}, ${plural(hours, "hour")} and ${plural(minutes, "minute")} (${totals})${direction}`
}

export default definePlugin({
  name: "clock",
  version: "1.0.0",
  description: "Current date and time in any time zone; time between dates",
  tools: [
    defineTool({
      name: "clock",
      description:
        "Get the current date and time (action 'now', optionally in an IANA time zone such as Europe/Oslo), or the " +
        "time between two dates (action 'diff', e.g. from 2026-01-01 to now). Use it whenever the date or time matters.",
      parameters: Schema.Struct({
        action: Schema.optionalWith(Schema.Literal("now", "diff"), { default: () => "now" as const }),
        time_zone: Schema.optional(
          Schema.String.annotations({ description: "IANA time zone, e.g. Europe/Oslo, America/New_York, UTC" })
        ),
        format: Schema.optional(
          Schema.String.pipe(Schema.maxLength(100)).annotations({
            description:
              "iso, human, or a pattern such as 'dddd D MMMM YYYY, HH:mm' (YYYY MM DD HH mm ss dddd MMMM Z z)"
          })
        ),
        from: Schema.optional(
          Schema.String.annotations({ description: "diff: start, e.g. 2026-01-01 or 2026-01-01T09:00" })
        ),
        to: Schema.optional(Schema.String.annotations({ description: "diff: end (default now)" })),
        unit: Schema.optional(Schema.Literal("days", "hours", "minutes"))
      }),
      run: (args, ctx) => {
        const options = Schema.decodeUnknownSync(Options)(ctx.options ?? {})
        const zone = checkZone(args.time_zone ?? options.time_zone ?? "UTC")
        const now = options.now === undefined ? Date.now() : parseTime(options.now, "UTC", Date.now())
        if (args.action === "diff") {
          if (args.from === undefined) throw new Error("diff needs 'from' (and optionally 'to', default now)")
          const to = args.to ?? "now"
          // Two plain dates count calendar days, whatever daylight-saving changes lie between them.
          const parseZone = dateOnly(args.from) && dateOnly(to) ? "UTC" : zone
          const start = parseTime(args.from, parseZone, now)
          const end = parseTime(to, parseZone, now)
          return `From ${isoIn(start, parseZone)} to ${isoIn(end, parseZone)}: ${difference(start, end, args.unit)}`
        }
        const format = args.format ?? "default"
        if (format === "iso") return isoIn(now, zone)
        if (format === "human") return human(now, zone)
        if (format === "default") return `${human(now, zone)}; ISO ${isoIn(now, zone)}`
        return pattern(now, zone, format)
      }
    })
  ]
})
