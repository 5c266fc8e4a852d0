import { afterAll, describe, expect, test } from "bun:test"
import { rmSync, writeFileSync } from "node:fs"
import { Effect, Fiber } from "effect"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { Tools } from "../../core/tools/Tools.ts"
import { answering, pluginSource } from "../fixtures/plugins.ts"
import { runLive } from "../support/effect.ts"
import { tempDir } from "../support/tmp.ts"
import { context, eventually, expectNoWorkers, recordEvents, waitForEffect, withHost } from "./support.ts"

const dirs: Array<{ cleanup: () => void }> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})

const folders = (files: Record<string, string>) => {
  const tmp = tempDir(files)
  dirs.push(tmp)
  return {
    tmp,
    options: { pluginsDir: tmp.path("plugins"), personalitiesDir: tmp.path("personalities"), root: tmp.dir }
  }
}

/** A plugin whose `version` tool answers `answer` after `ms` milliseconds. */
const versioned = (answer: string) =>
  pluginSource(`
export default definePlugin({
  name: "versioned",
  version: ${JSON.stringify(answer)},
  tools: [defineTool({
    name: "version",
    description: "which version answers",
    parameters: Schema.Struct({ ms: Schema.optionalWith(Schema.Number, { default: () => 0 }) }),
    run: async ({ ms }) => {
      if (ms > 0) await Bun.sleep(ms)
      return ${JSON.stringify(answer)}
    }
  })]
})`)

describe("plugin reload", () => {
  test("a reload swaps versions while a slow call on the old version finishes with the old result", async () => {
    const { tmp, options } = folders({ "plugins/versioned/plugin.ts": versioned("v1") })
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          options,
          Effect.gen(function* () {
            const tools = yield* Tools
            const host = yield* PluginHost
            const slow = yield* Effect.fork(tools.call("version", '{"ms": 400}', context()))
            yield* Effect.sleep("50 millis")
            tmp.write("plugins/versioned/plugin.ts", versioned("v2"))
            yield* host.reloadPlugin("versioned")
            expect(yield* tools.call("version", "{}", context())).toMatchObject({ ok: true, content: "v2" })
            expect(yield* Fiber.join(slow)).toMatchObject({ ok: true, content: "v1" })
            // The old version is drained and stopped once its call is done.
            yield* waitForEffect(
              () => events.of("ActorStopped").some((event) => event.path === "troupe/plugins/versioned@1"),
              2000,
              "the old version to stop"
            )

            // A broken change leaves v2 serving and says where the problem is.
            tmp.write("plugins/versioned/plugin.ts", `${versioned("v3")}\nexport const = 1\n`)
            yield* host.reloadPlugin("versioned")
            expect(yield* tools.call("version", "{}", context())).toMatchObject({ ok: true, content: "v2" })
            expect(events.of("PluginFailed")).toMatchObject([
              { plugin: "versioned", file: "plugins/versioned/plugin.ts", line: versioned("v3").split("\n").length + 1 }
            ])
            expect(events.of("PluginLoaded").map((event) => event.version)).toEqual(["v1", "v2"])
          })
        )
      })
    )
    await expectNoWorkers()
  })

  test("every call made while a plugin reloads again and again gets an answer from one version or the other", async () => {
    const { tmp, options } = folders({ "plugins/versioned/plugin.ts": versioned("v0") })
    await runLive(
      withHost(
        options,
        Effect.gen(function* () {
          const tools = yield* Tools
          const host = yield* PluginHost
          let reloading = true
          const load = yield* Effect.fork(
            Effect.gen(function* () {
              const answers: Array<string> = []
              while (reloading) {
                const outcomes = yield* Effect.all(
                  Array.from({ length: 4 }, () => tools.call("version", '{"ms": 5}', context())),
                  { concurrency: "unbounded" }
                )
                for (const outcome of outcomes)
                  answers.push(outcome.ok ? outcome.content : `failed: ${outcome.content}`)
              }
              return answers
            })
          )
          for (let i = 1; i <= 5; i++) {
            tmp.write("plugins/versioned/plugin.ts", versioned(`v${i}`))
            yield* host.reloadPlugin("versioned")
            yield* Effect.sleep("20 millis")
          }
          reloading = false
          const answers = yield* Fiber.join(load)
          expect(answers.length).toBeGreaterThan(20)
          expect(answers.filter((answer) => !/^v\d$/.test(answer))).toEqual([])
          expect(answers.at(-1)).toBe("v5")
        })
      )
    )
  })

  test("in watch mode, a changed import, a new folder and a removed folder are picked up", async () => {
    const { tmp, options } = folders({
      "plugins/quotes/plugin.ts": pluginSource(`
import { quote } from "./quote.ts"
import { mark } from "../_shared/mark.ts"
export default definePlugin({
  name: "quotes",
  version: "1.0.0",
  tools: [defineTool({ name: "quote", description: "a quote", parameters: Schema.Struct({}), run: () => quote + mark })]
})`),
      "plugins/quotes/quote.ts": `export const quote = "first"\n`,
      "plugins/_shared/mark.ts": `export const mark = "."\n`
    })
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          { ...options, watch: true, debounceMs: 50 },
          Effect.gen(function* () {
            const tools = yield* Tools
            const answer = (name: string) => tools.call(name, "{}", context())
            expect(yield* answer("quote")).toMatchObject({ ok: true, content: "first." })

            writeFileSync(tmp.path("plugins/quotes/quote.ts"), `export const quote = "second"\n`)
            yield* eventually(answer("quote"), (outcome) => outcome.content === "second.", 1000, "the changed import")
            // Shared code outside any plugin folder reloads the plugins.
            writeFileSync(tmp.path("plugins/_shared/mark.ts"), `export const mark = "!"\n`)
            yield* eventually(answer("quote"), (outcome) => outcome.content === "second!", 1000, "the shared import")

            tmp.write("plugins/greeter/plugin.ts", answering("greeter", "greet", "hello"))
            yield* waitForEffect(() => tools.names().includes("greet"), 1000, "the new plugin")
            expect(yield* answer("greet")).toMatchObject({ ok: true, content: "hello" })

            rmSync(tmp.path("plugins/greeter"), { recursive: true })
            yield* waitForEffect(() => !tools.names().includes("greet"), 1000, "the removed plugin to go")
            expect(yield* answer("greet")).toMatchObject({ ok: false, content: "unknown tool greet" })
          })
        )
        expect(events.of("PluginUnloaded")).toMatchObject([{ plugin: "greeter" }])
        expect(events.of("PluginLoaded").map((event) => event.plugin)).toEqual([
          "quotes",
          "quotes",
          "quotes",
          "greeter"
        ])
      })
    )
    await expectNoWorkers()
  })
})
