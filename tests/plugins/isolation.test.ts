import { afterAll, describe, expect, test } from "bun:test"
import { Effect, Fiber } from "effect"
import { Tools } from "../../core/tools/Tools.ts"
import { answering, calculator, hanging, pluginSource } from "../fixtures/plugins.ts"
import { runLive } from "../support/effect.ts"
import { context, expectNoWorkers, projectFolders, recordEvents, withHost } from "./support.ts"

const { folders, cleanup } = projectFolders()
afterAll(cleanup)

/** 1-based line of the first line of `source` containing `marker`. */
const lineOf = (source: string, marker: string) => source.split("\n").findIndex((line) => line.includes(marker)) + 1

describe("plugin isolation", () => {
  test("broken plugins are reported with file and line, and the others keep working", async () => {
    const syntax = pluginSource(`
export default definePlugin({
  name: "syntax",
  version: "1.0.0",
  tools: [
    defineTool({ name: "oops", description: "x", parameters: Schema.Struct({}), run: () => "ok" })
  ]
  const broken = ;
})`)
    const setup = pluginSource(`
export default definePlugin({
  name: "setup",
  version: "1.0.0",
  setup: () => {
    throw new Error("no API key")
  },
  tools: []
})`)
    const topLevel = pluginSource(`
const table: Record<string, number> = {}
table.missing.toFixed()
export default definePlugin({ name: "toplevel", version: "1.0.0", tools: [] })`)
    const options = folders({
      "plugins/calculator/plugin.ts": calculator(),
      "plugins/syntax/plugin.ts": syntax,
      "plugins/setup/plugin.ts": setup,
      "plugins/toplevel/plugin.ts": topLevel,
      "plugins/notaplugin/plugin.ts": "export default { name: 'x' }\n",
      "plugins/missing/plugin.ts": `import { helper } from "./nowhere.ts"\nexport default helper\n`
    })
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          options,
          Effect.gen(function* () {
            const tools = yield* Tools
            expect(tools.names()).toEqual(["add", "divide", "big"])
            expect(yield* tools.call("add", '{"a":1,"b":2}', context())).toMatchObject({ ok: true, content: "3" })
          })
        )
        const failed = Object.fromEntries(events.of("PluginFailed").map((event) => [event.plugin, event]))
        expect(Object.keys(failed).sort()).toEqual(["missing", "notaplugin", "setup", "syntax", "toplevel"])
        expect(failed.syntax).toMatchObject({
          file: "plugins/syntax/plugin.ts",
          line: lineOf(syntax, "const broken = ;"),
          message: expect.stringContaining(`Expected "}" but found "const"`)
        })
        expect(failed.setup).toMatchObject({
          file: "plugins/setup/plugin.ts",
          line: lineOf(setup, "no API key"),
          message: "setup failed: no API key"
        })
        expect(failed.toplevel).toMatchObject({
          file: "plugins/toplevel/plugin.ts",
          line: lineOf(topLevel, "table.missing"),
          message: expect.stringContaining("TypeError")
        })
        expect(failed.notaplugin?.message).toContain("must default-export definePlugin({...})")
        expect(failed.notaplugin?.file).toBe("plugins/notaplugin/plugin.ts")
        expect(failed.missing).toMatchObject({ file: "plugins/missing/plugin.ts", line: 1 })
        expect(failed.missing?.message).toContain("nowhere.ts")
      })
    )
    await expectNoWorkers()
  })

  test("a tool stuck in a synchronous loop is terminated at its timeout; everything else keeps being served", async () => {
    const options = folders({
      "plugins/hang/plugin.ts": hanging("300 millis"),
      "plugins/other/plugin.ts": answering("other", "hello", "hi")
    })
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          options,
          Effect.gen(function* () {
            const tools = yield* Tools
            // A call already running on the Worker that is about to hang.
            const waiting = yield* Effect.fork(tools.call("wait", '{"ms": 2000}', context()))
            const started = Date.now()
            const spinning = yield* Effect.fork(tools.call("spin", "{}", context()))
            // Another plugin answers while the first one is stuck.
            yield* Effect.sleep("50 millis")
            expect(yield* tools.call("hello", "{}", context())).toMatchObject({ ok: true, content: "hi" })
            const spun = yield* Fiber.join(spinning)
            expect(spun).toMatchObject({ ok: false, content: "tool spin timed out after 300 ms" })
            expect(Date.now() - started).toBeLessThan(1500)
            expect(yield* Fiber.join(waiting)).toMatchObject({ ok: false, content: "tool worker restarted" })
            // The plugin works again, on a new Worker.
            expect(yield* tools.call("ping", "{}", context())).toMatchObject({ ok: true, content: "pong" })
            expect(yield* tools.call("wait", '{"ms": 10}', context())).toMatchObject({ ok: true, content: "waited 10" })
          })
        )
        expect(events.of("ActorRestarted")).toMatchObject([
          { kind: "tool", reason: "tool spin timed out after 300 ms" }
        ])
      })
    )
    await expectNoWorkers()
  })

  test("an async tool that times out leaves its Worker and the calls beside it alone", async () => {
    const options = folders({
      "plugins/slow/plugin.ts": pluginSource(`
export default definePlugin({
  name: "slow",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "late",
      description: "too slow",
      parameters: Schema.Struct({}),
      timeout: "100 millis",
      run: async (_args, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
        return "aborted"
      }
    }),
    defineTool({
      name: "steady",
      description: "finishes",
      parameters: Schema.Struct({}),
      run: async () => {
        await Bun.sleep(400)
        return "done"
      }
    })
  ]
})`)
    })
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          options,
          Effect.gen(function* () {
            const tools = yield* Tools
            const steady = yield* Effect.fork(tools.call("steady", "{}", context()))
            expect(yield* tools.call("late", "{}", context())).toMatchObject({
              ok: false,
              content: "tool late timed out after 100 ms"
            })
            expect(yield* Fiber.join(steady)).toMatchObject({ ok: true, content: "done" })
          })
        )
        expect(events.of("ActorRestarted")).toEqual([])
      })
    )
  })

  test("a Worker that exits in the middle of a call is replaced", async () => {
    const options = folders({
      "plugins/quitter/plugin.ts": pluginSource(`
export default definePlugin({
  name: "quitter",
  version: "1.0.0",
  tools: [
    defineTool({ name: "quit", description: "exits", parameters: Schema.Struct({}), run: () => process.exit(3) }),
    defineTool({ name: "still", description: "answers", parameters: Schema.Struct({}), run: () => "here" })
  ]
})`)
    })
    await runLive(
      withHost(
        options,
        Effect.gen(function* () {
          const tools = yield* Tools
          expect(yield* tools.call("quit", "{}", context())).toMatchObject({
            ok: false,
            content: "tool worker crashed"
          })
          expect(yield* tools.call("still", "{}", context())).toMatchObject({ ok: true, content: "here" })
        })
      )
    )
    await expectNoWorkers()
  })
})
