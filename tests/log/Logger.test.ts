import { describe, expect, test } from "bun:test"
import { Cause, Effect, Fiber, Option } from "effect"
import {
  CORRELATION_ID_LENGTH,
  currentCorrelationId,
  newCorrelationId,
  withCorrelation
} from "../../core/log/Correlation.ts"
import * as Logging from "../../core/log/Logger.ts"
import { Redactor } from "../../core/log/Redactor.ts"

const secret = "s3cr3t-admin-token"
const openAiKey = "sk-proj-0123456789abcdefABCDEF"

/** Run `effect` with Troupe's logger writing into an array; returns the lines. */
const capture = async (
  effect: Effect.Effect<unknown>,
  options: Partial<Logging.LoggingOptions> = {}
): Promise<Array<string>> => {
  const lines: Array<string> = []
  const redactor = options.redactor ?? new Redactor()
  redactor.add(secret)
  await Effect.runPromise(
    Effect.provide(
      effect,
      Logging.layer({ format: "logfmt", level: "info", ...options, redactor, sink: (line) => lines.push(line) })
    )
  )
  return lines
}

/** A minimal logfmt reader: `key=value` and `key="quoted \"value\""` pairs. */
const parseLogfmt = (line: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const pair = /([^\s=]+)=("(?:[^"\\]|\\.)*"|[^\s]*)/g
  for (const [, key, value] of line.matchAll(pair)) {
    out[key!] = value!.startsWith('"') ? (JSON.parse(value!) as string) : value!
  }
  return out
}

describe("logfmt", () => {
  test("a line has ts, level, msg, the annotations with correlation fields first, spans and the fiber", async () => {
    const [line] = await capture(
      Effect.log("conversation started").pipe(
        Effect.annotateLogs({ channel: "telegram:sage_bot", note: 'say "hi" a=b', empty: "" }),
        withCorrelation("abc123", "sage", "telegram:chat:42"),
        Effect.withLogSpan("handle")
      )
    )
    expect(line).toMatch(
      /^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="conversation started" cid=abc123 persona=sage channel=telegram:sage_bot conversation=telegram:chat:42 /
    )
    expect(line).toMatch(/ handle=\d+ms fiber=#\d+$/)
    const fields = parseLogfmt(line!)
    expect(fields.note).toBe('say "hi" a=b')
    expect(fields.empty).toBe("")
    expect(line).toContain(String.raw`note="say \"hi\" a=b"`)
  })

  test("several message parts, objects and numbers are joined on one line", async () => {
    const [line] = await capture(Effect.log("reply", 3, { words: 12, text: "two\nlines" }))
    expect(parseLogfmt(line!).msg).toBe('reply 3 {"words":12,"text":"two\\nlines"}')
    expect(line).not.toContain("\n")
  })

  test("the cause goes in err on one line, and the first stack frames in stack at debug level", async () => {
    const failing = Effect.logError("reply failed", Cause.fail(new Error("upstream\nclosed")))
    const [info] = await capture(failing)
    expect(parseLogfmt(info!).err).toBe("Error: upstream closed")
    expect(info).not.toContain("stack=")
    const [debug] = await capture(failing, { level: "debug" })
    expect(parseLogfmt(debug!).stack).toContain("Logger.test.ts")
  })

  test("an interruption is logged as err=interrupted", async () => {
    const [line] = await capture(Effect.logWarning("stopped", Cause.interrupt(0 as never)))
    expect(parseLogfmt(line!).err).toBe("interrupted")
  })
})

describe("redaction in log lines", () => {
  const leaky = Effect.logError(`login with ${secret} failed`, { apiKey: "k-123456", user: "sam" }).pipe(
    Effect.annotateLogs({ header: `Bearer ${openAiKey}`, url: `https://x/?token=${secret}`, password: "pw" })
  )
  const leakyCause = Effect.logError("boom", Cause.die(new Error(`key ${openAiKey} rejected (${secret})`)))

  for (const format of ["logfmt", "pretty"] as const) {
    test(`a secret in the message, an annotation and a cause never reaches the ${format} output`, async () => {
      const lines = await capture(Effect.zipRight(leaky, leakyCause), { format, color: true, level: "debug" })
      const text = lines.join("\n")
      for (const leaked of [secret, openAiKey, "k-123456", "password=pw"]) expect(text).not.toContain(leaked)
      expect(text).toContain("login with [redacted] failed")
      expect(text).toMatch(/apiKey\\?":\\?"\[redacted\]/)
      expect(text).toContain("password=[redacted]")
      expect(text).toContain("key [redacted] rejected ([redacted])")
    })
  }
})

describe("pretty", () => {
  test("time, padded level, message and fields; no colour codes when colour is off", async () => {
    const [line] = await capture(Effect.log("conversation started").pipe(withCorrelation("abc123", "sage")), {
      format: "pretty",
      color: false
    })
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}conversation started {2}cid=abc123 persona=sage$/)
  })

  test("colours the level, and prints the cause on the following lines", async () => {
    const [line] = await capture(Effect.logError("failed", Cause.fail(new Error("nope"))), {
      format: "pretty",
      color: true
    })
    expect(line).toContain("\x1b[31mERROR\x1b[0m")
    expect(line!.split("\n")[1]).toContain("Error: nope")
  })
})

describe("levels", () => {
  const all = Effect.all([
    Effect.logDebug("d"),
    Effect.logInfo("i"),
    Effect.logWarning("w"),
    Effect.logError("e"),
    Effect.logFatal("f")
  ])
  const levels = (lines: ReadonlyArray<string>) => lines.map((line) => parseLogfmt(line).level)

  test("lines below the configured level are dropped", async () => {
    expect(levels(await capture(all, { level: "debug" }))).toEqual(["debug", "info", "warn", "error", "fatal"])
    expect(levels(await capture(all, { level: "info" }))).toEqual(["info", "warn", "error", "fatal"])
    expect(levels(await capture(all, { level: "warn" }))).toEqual(["warn", "error", "fatal"])
    expect(levels(await capture(all, { level: "error" }))).toEqual(["error", "fatal"])
  })
})

describe("correlation", () => {
  test("withCorrelation reaches the log lines of a forked fiber", async () => {
    const lines = await capture(
      Effect.gen(function* () {
        const child = yield* Effect.fork(Effect.log("in child").pipe(Effect.annotateLogs("tool", "dice")))
        yield* Fiber.join(child)
        yield* Effect.log("in parent")
      }).pipe(withCorrelation("cid-42", "sage"))
    )
    const [child, parent] = lines.map(parseLogfmt)
    expect(child).toMatchObject({ msg: "in child", cid: "cid-42", persona: "sage", tool: "dice" })
    expect(parent).toMatchObject({ msg: "in parent", cid: "cid-42", persona: "sage" })
    expect(parent!.tool).toBeUndefined()
    expect(child!.fiber).not.toBe(parent!.fiber)
  })

  test("currentCorrelationId reads the enclosing id", async () => {
    const inside = await Effect.runPromise(currentCorrelationId.pipe(withCorrelation("xyz")))
    expect(inside).toEqual(Option.some("xyz"))
    expect(await Effect.runPromise(currentCorrelationId)).toEqual(Option.none())
  })

  test("the annotations in force before come back after the work succeeds or fails", async () => {
    const lines = await capture(
      Effect.gen(function* () {
        yield* Effect.log("first").pipe(withCorrelation("cid-1", "sage", "c1"))
        yield* Effect.log("between")
        yield* Effect.flip(Effect.zipRight(Effect.log("second"), Effect.fail("boom")).pipe(withCorrelation("cid-2")))
        yield* Effect.log("after")
      }).pipe(Effect.annotateLogs("outer", "yes"))
    )
    const [first, between, second, after] = lines.map(parseLogfmt)
    expect(first).toMatchObject({ msg: "first", cid: "cid-1", persona: "sage", conversation: "c1", outer: "yes" })
    expect(second).toMatchObject({ msg: "second", cid: "cid-2", outer: "yes" })
    expect(second!.persona).toBeUndefined()
    for (const line of [between, after]) {
      expect(line).toMatchObject({ outer: "yes" })
      expect(line!.cid).toBeUndefined()
      expect(line!.conversation).toBeUndefined()
    }
  })

  test("newCorrelationId makes short url-safe ids that do not repeat", () => {
    const ids = new Set(Array.from({ length: 5000 }, newCorrelationId))
    expect(ids.size).toBe(5000)
    for (const id of ids) expect(id).toMatch(new RegExp(`^[A-Za-z0-9_-]{${CORRELATION_ID_LENGTH}}$`))
  })
})
