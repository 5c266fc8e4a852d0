import { describe, expect, test } from "bun:test"
import { Effect, Layer, Logger, LogLevel, TestClock } from "effect"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { guardTools, ToolGuard } from "../../core/tools/ToolGuard.ts"
import { Tools, type ToolsService } from "../../core/tools/Tools.ts"
import { pluginSource } from "../fixtures/plugins.ts"
import { context, withHost } from "../plugins/support.ts"
import { runLive, runTest } from "../support/effect.ts"
import { tempDir } from "../support/tmp.ts"

const loginPlugin = pluginSource(`
export default definePlugin({
  name: "login",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "login",
      description: "log in",
      parameters: Schema.Struct({ user: Schema.String, password: Schema.String }),
      secret: ["password"],
      run: ({ user }) => "welcome " + user
    })
  ]
})`)

/** Log lines with their annotations, as a test sees them. */
const capture = () => {
  const lines: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push({ level: logLevel.label, message: text, annotations: Object.fromEntries(annotations) })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("tool guard", () => {
  test("every call and result is logged with the correlation id, secret arguments redacted", async () => {
    const dir = tempDir({ "plugins/login/plugin.ts": loginPlugin })
    const log = capture()
    try {
      await runLive(
        withHost(
          { pluginsDir: dir.path("plugins"), personalitiesDir: dir.path("personalities"), root: dir.dir },
          Effect.gen(function* () {
            const host = yield* PluginHost
            const tools = guardTools(yield* Tools, { redact: host.redactArguments })
            const ctx = context({ correlationId: "cid-42" })
            expect(yield* tools.call("login", '{"user":"ada","password":"hunter2"}', ctx)).toMatchObject({
              ok: true,
              content: "welcome ada"
            })
            expect(yield* tools.call("login", '{"user":"ada"}', ctx)).toMatchObject({ ok: false })
          }).pipe(Logger.withMinimumLogLevel(LogLevel.Info), Effect.provide(log.layer))
        )
      )
    } finally {
      dir.cleanup()
    }
    const mine = log.lines.filter((line) => line.annotations.tool === "login")
    expect(mine.map((line) => `${line.level} ${line.message.replace(/\d+ ms/, "N ms")}`)).toEqual([
      "INFO tool login called",
      "INFO tool login ok in N ms",
      "INFO tool login called",
      "WARN tool login failed in N ms"
    ])
    expect(mine[0]!.annotations).toMatchObject({
      cid: "cid-42",
      persona: "sage",
      conversation: "telegram:sage/42",
      arguments: '{"user":"ada","password":"[redacted]"}'
    })
    expect(mine[3]!.annotations.error).toBe("invalid arguments: password: is required")
    expect(JSON.stringify(log.lines)).not.toContain("hunter2")
  })

  test("each conversation may make a limited number of calls per window", () =>
    runTest(
      Effect.gen(function* () {
        let ran = 0
        const inner: ToolsService = {
          specs: () => [],
          names: () => ["echo"],
          call: (_name, args) => Effect.sync(() => ({ ok: true, content: `ran ${++ran}: ${args}`, durationMs: 0 }))
        }
        const tools = guardTools(inner, { maxCalls: 3, windowMs: 60_000 })
        const here = context({ conversationId: "telegram:sage/1" })
        const there = context({ conversationId: "telegram:sage/2" })
        for (let i = 0; i < 3; i++) expect((yield* tools.call("echo", "{}", here)).ok).toBe(true)
        yield* TestClock.adjust("20 seconds")
        expect(yield* tools.call("echo", "{}", here)).toEqual({
          ok: false,
          content: "too many tool calls in this conversation (at most 3 in 60 s); try again in 40 s",
          durationMs: 0
        })
        expect((yield* tools.call("echo", "{}", there)).ok).toBe(true)
        expect(ran).toBe(4)
        yield* TestClock.adjust("40 seconds")
        expect(yield* tools.call("echo", "{}", here)).toMatchObject({ ok: true, content: "ran 5: {}" })
      })
    ))

  test("the runtime's Tools are guarded: ToolGuard.wrap replaces Tools and passes the rest through", async () => {
    const inner = Layer.succeed(Tools, {
      specs: () => [],
      names: () => ["echo"],
      call: () => Effect.succeed({ ok: true, content: "inner", durationMs: 0 })
    })
    const outcomes = await runLive(
      Effect.gen(function* () {
        const tools = yield* Tools
        const ctx = context()
        return [yield* tools.call("echo", "{}", ctx), yield* tools.call("echo", "{}", ctx)]
      }).pipe(Effect.provide(ToolGuard.wrap(inner, { maxCalls: 1 })))
    )
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false])
  })
})
