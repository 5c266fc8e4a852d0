/**
 * Scheduled prompts: the persona can set a reminder or a recurring task for itself in this conversation. When a job is
 * due, its prompt reaches the persona as if the user had written it, and the answer goes to the same chat.
 *
 * Tools: `schedule_prompt`, `list_scheduled_prompts`, `cancel_scheduled_prompt`, `delete_scheduled_prompt`. Jobs
 * belong to the persona and user of the conversation (the host decides, from the conversation); nobody else can list
 * or cancel them.
 *
 * config.yaml (`plugins: { scheduler: {...} }`):
 *   min_interval: 60s   # shortest `every` (the runtime's scheduler refuses shorter ones too)
 *   max_jobs: 20        # active jobs per user and persona
 *
 * Persona options (`tool_options: { schedule_prompt: { time_zone: Europe/Oslo } }`): the zone of "at 09:00".
 */
import { definePlugin, defineTool, type ScheduledJob, Schema } from "troupe/sdk"
import { checkZone, instantOf, isoIn, parseTime, wallClock } from "../_shared/zone.ts"

const Config = Schema.Struct({
  min_interval: Schema.optionalWith(Schema.String, { default: () => "60s" }),
  max_jobs: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 20 })
})
type Config = typeof Config.Type

const Options = Schema.Struct({ time_zone: Schema.optional(Schema.String) })

const units: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  w: 604_800_000,
  week: 604_800_000
}

/** `10m`, `2h`, `1h30m`, `90 seconds`, `1 day` → milliseconds. */
export const parseDuration = (text: string): number => {
  const parts = [
    ...text
      .trim()
      .toLowerCase()
      .matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)\s*/g)
  ]
  const consumed = parts.map((p) => p[0]).join("")
  let total = 0
  for (const [, amount, unit] of parts) {
    const size = units[unit!] ?? units[unit!.replace(/s$/, "")]
    if (size === undefined) throw new Error(`unknown unit '${unit}' in '${text}' (use s, m, h, d or w)`)
    total += Number(amount) * size
  }
  if (parts.length === 0 || consumed !== text.trim().toLowerCase() || total <= 0) {
    throw new Error(`cannot read the duration '${text}' (write it like 10m, 2h, 1h30m or 1d)`)
  }
  return total
}

/** `1h 30m` */
const showDuration = (ms: number) => {
  const parts: Array<string> = []
  let rest = Math.round(ms / 1000)
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
    ["s", 1]
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  return parts.join(" ") || "0s"
}

/** `09:30` → the next time a clock in `zone` shows 09:30 (today or tomorrow). */
const nextClockTime = (text: string, zone: string, now: number): number | undefined => {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim())
  if (!match) return undefined
  const [hour, minute] = [Number(match[1]), Number(match[2])]
  if (hour > 23 || minute > 59) throw new Error(`'${text}' is not a time of day`)
  const today = wallClock(now, zone)
  for (let days = 0; days < 3; days++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + days))
    const at = instantOf(
      { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour, minute, second: 0 },
      zone
    )
    if (at > now) return at
  }
  return undefined
}

const when = (nextAt: ScheduledJob["nextAt"] | string, zone: string) => {
  const at = new Date(nextAt).getTime()
  return zone === "UTC" ? isoIn(at, "UTC") : `${isoIn(at, zone)} (${zone})`
}

const describe = (job: ScheduledJob & { everyMs?: number; kind?: string }, zone: string) => {
  const every = job.intervalMs ?? job.everyMs
  const status = job.status && job.status !== "active" ? ` [${job.status}]` : ""
  return `- ${job.id}${status}: "${job.prompt}" next ${when(job.nextAt, zone)}${every ? `, every ${showDuration(every)}` : ""}`
}

const zoneOf = (ctx: { options: unknown }, given: string | undefined) =>
  checkZone(given ?? Schema.decodeUnknownSync(Options)(ctx.options ?? {}).time_zone ?? "UTC")

const Id = Schema.Struct({
  id: Schema.String.annotations({ description: "the job id from schedule_prompt or the list" })
})

export default definePlugin({
  name: "scheduler",
  version: "1.0.0",
  description: "Reminders and recurring prompts in this conversation",
  config: Config,
  tools: [
    defineTool({
      name: "schedule_prompt",
      description:
        "Schedule a prompt that you will receive later in this conversation, as if the user had written it (for " +
        "reminders and recurring tasks). Give 'in' (e.g. 10m, 2h) or 'at' (ISO time, or HH:MM in time_zone), and " +
        "optionally 'every' (e.g. 1d) to repeat.",
      parameters: Schema.Struct({
        prompt: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2000)).annotations({
          description: "what you will be told when the job fires, e.g. 'Remind Ada to call her mother'"
        }),
        in: Schema.optional(Schema.String.annotations({ description: "delay from now: 10m, 2h, 1h30m, 1d" })),
        at: Schema.optional(Schema.String.annotations({ description: "2026-03-01T09:00 or 09:00 (in time_zone)" })),
        every: Schema.optional(Schema.String.annotations({ description: "repeat interval: 1h, 1d, 1w" })),
        time_zone: Schema.optional(Schema.String.annotations({ description: "IANA zone for 'at' (default UTC)" }))
      }),
      run: async (args, ctx) => {
        const config = ctx.config as Config
        const zone = zoneOf(ctx, args.time_zone)
        if (args.in !== undefined && args.at !== undefined) throw new Error("give either 'in' or 'at', not both")
        if (args.in === undefined && args.at === undefined && args.every === undefined) {
          throw new Error("say when: 'in' (e.g. 10m), 'at' (e.g. 09:00) or 'every' (e.g. 1d)")
        }
        const now = Date.now()
        const inMs = args.in === undefined ? undefined : parseDuration(args.in)
        const at =
          args.at === undefined ? undefined : (nextClockTime(args.at, zone, now) ?? parseTime(args.at, zone, now))
        if (at !== undefined && at <= now) throw new Error(`${isoIn(at, zone)} is in the past`)
        const everyMs = args.every === undefined ? undefined : parseDuration(args.every)
        const minimum = parseDuration(config.min_interval)
        if (everyMs !== undefined && everyMs < minimum) {
          throw new Error(`'every' must be at least ${showDuration(minimum)}`)
        }
        const active = (await ctx.scheduler.list()).filter((job) => (job.status ?? "active") === "active")
        if (active.length >= config.max_jobs) {
          throw new Error(
            `there are already ${active.length} scheduled prompts (the limit is ${config.max_jobs}); cancel one first`
          )
        }
        const job = await ctx.scheduler.schedule({
          prompt: args.prompt,
          ...(at === undefined ? {} : { at }),
          ...(inMs === undefined ? {} : { in: inMs }),
          ...(everyMs === undefined ? {} : { every: everyMs })
        })
        const repeat = everyMs ? `, then every ${showDuration(everyMs)}` : ""
        return `Scheduled job ${job.id}: "${args.prompt}" — next at ${when(job.nextAt, zone)}${repeat}.`
      }
    }),
    defineTool({
      name: "list_scheduled_prompts",
      description: "List the prompts scheduled in this conversation for this user (active ones unless all is true).",
      parameters: Schema.Struct({
        all: Schema.optional(Schema.Boolean.annotations({ description: "include cancelled and finished jobs" })),
        time_zone: Schema.optional(Schema.String)
      }),
      run: async ({ all, time_zone }, ctx) => {
        const zone = zoneOf(ctx, time_zone)
        const jobs = (await ctx.scheduler.list()).filter((job) => all || (job.status ?? "active") === "active")
        return jobs.length > 0 ? jobs.map((job) => describe(job, zone)).join("\n") : "no scheduled prompts"
      }
    }),
    defineTool({
      name: "cancel_scheduled_prompt",
      description: "Stop a scheduled prompt (it stays in the list as cancelled).",
      parameters: Id,
      run: async ({ id }, ctx) => ((await ctx.scheduler.cancel(id)) ? `cancelled job ${id}` : `no job ${id} of yours`)
    }),
    defineTool({
      name: "delete_scheduled_prompt",
      description: "Remove a scheduled prompt for good.",
      parameters: Id,
      run: async ({ id }, ctx) => ((await ctx.scheduler.delete(id)) ? `deleted job ${id}` : `no job ${id} of yours`)
    })
  ]
})
