import { describe, expect, test } from "bun:test"
import { callTool, context, sharedBuiltins } from "./support.ts"

const host = sharedBuiltins()

/** "Now" is fixed through the persona's tool options, half an hour before midnight UTC. */
const at = (now: string, options: Record<string, unknown> = {}) => context({ options: { now, ...options } })
const lateEvening = at("2026-03-01T23:30:00Z")
const clock = (args: Record<string, unknown>, ctx = lateEvening) => host.run(callTool("clock", args, ctx))

describe("clock", () => {
  test("the same instant in two zones is on two different days", async () => {
    expect(await clock({ time_zone: "UTC" })).toMatchObject({
      ok: true,
      content: "Sunday, 1 March 2026, 23:30:00 (UTC, UTC+00:00); ISO 2026-03-01T23:30:00Z"
    })
    expect(await clock({ time_zone: "Europe/Oslo" })).toMatchObject({
      ok: true,
      content: "Monday, 2 March 2026, 00:30:00 (Europe/Oslo, UTC+01:00); ISO 2026-03-02T00:30:00+01:00"
    })
    expect(await clock({ time_zone: "America/New_York", format: "iso" })).toMatchObject({
      content: "2026-03-01T18:30:00-05:00"
    })
  })

  test("daylight saving time and patterns", async () => {
    const summer = at("2026-07-01T12:00:00Z")
    expect(await clock({ time_zone: "Europe/Oslo", format: "iso" }, summer)).toMatchObject({
      content: "2026-07-01T14:00:00+02:00"
    })
    expect(await clock({ time_zone: "Asia/Kolkata", format: "dddd D MMMM YYYY [at] HH:mm (Z)" }, summer)).toMatchObject(
      {
        content: "Wednesday 1 July 2026 at 17:30 (+05:30)"
      }
    )
    expect(await clock({ time_zone: "America/Los_Angeles", format: "h:mm A z" }, summer)).toMatchObject({
      content: "5:00 AM America/Los_Angeles"
    })
  })

  test("the persona's zone is the default", async () => {
    expect(await clock({ format: "human" }, at("2026-03-01T23:30:00Z", { time_zone: "Asia/Tokyo" }))).toMatchObject({
      content: "Monday, 2 March 2026, 08:30:00 (Asia/Tokyo, UTC+09:00)"
    })
  })

  test("date differences", async () => {
    expect(await clock({ action: "diff", from: "2026-01-01", to: "2026-03-01" })).toMatchObject({
      ok: true,
      content:
        "From 2026-01-01T00:00:00Z to 2026-03-01T00:00:00Z: 59 days, 0 hours and 0 minutes (1,416 hours or 84,960 minutes in total)"
    })
    expect(
      await clock({ action: "diff", from: "2026-03-01T09:00", unit: "hours", time_zone: "Europe/Oslo" })
    ).toMatchObject({ content: "From 2026-03-01T09:00:00+01:00 to 2026-03-02T00:30:00+01:00: 15.5 hours" })
    // Across the spring change in Oslo the wall clock jumps: 24 h of wall time is 23 real hours.
    expect(
      await clock({
        action: "diff",
        from: "2026-03-28T12:00",
        to: "2026-03-29T12:00",
        unit: "hours",
        time_zone: "Europe/Oslo"
      })
    ).toMatchObject({ content: "From 2026-03-28T12:00:00+01:00 to 2026-03-29T12:00:00+02:00: 23 hours" })
    expect(await clock({ action: "diff", from: "2026-03-02", to: "2026-03-01", unit: "days" })).toMatchObject({
      content: "From 2026-03-02T00:00:00Z to 2026-03-01T00:00:00Z: 1 day ('to' is before 'from')"
    })
  })

  test("an unknown zone or an unreadable date is a readable error", async () => {
    expect(await clock({ time_zone: "Mars/Olympus_Mons" })).toMatchObject({
      ok: false,
      content: "unknown time zone 'Mars/Olympus_Mons' (use an IANA name such as Europe/Oslo, America/New_York or UTC)"
    })
    expect(await clock({ action: "diff", from: "next tuesday" })).toMatchObject({ ok: false })
    expect(await clock({ action: "diff", from: "2026-02-30" })).toMatchObject({
      ok: false,
      content: "'2026-02-30' is not a valid date and time"
    })
  })
})
