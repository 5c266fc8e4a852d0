import { afterAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { Tools } from "../../core/tools/Tools.ts"
import { pluginSource } from "../fixtures/plugins.ts"
import { runLive } from "../support/effect.ts"
import { tempDir } from "../support/tmp.ts"
import { context, recordEvents, withHost } from "./support.ts"

const dirs: Array<{ cleanup: () => void }> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})

const greeter = pluginSource(`
export default definePlugin({
  name: "greeter",
  version: "1.0.0",
  config: Schema.Struct({
    greeting: Schema.String,
    times: Schema.optionalWith(Schema.Int, { default: () => 1 })
  }),
  tools: [
    defineTool({
      name: "greet",
      description: "greets the user",
      parameters: Schema.Struct({}),
      run: (_args, ctx) => {
        const config = ctx.config as { greeting: string; times: number }
        const style = (ctx.options as { style?: string } | undefined)?.style ?? "plain"
        return Array(config.times).fill(config.greeting + ", " + ctx.user.name).join(" ") + " (" + style + ")"
      }
    })
  ]
})`)

const configYaml = `# config.yaml
runtime:
  watch: false
plugins:
  greeter:
    greeting: 5
    tims: 2
`

describe("plugin config", () => {
  test("plugins.<name> from config.yaml is decoded by the plugin's schema; a bad one names its line", async () => {
    const tmp = tempDir({ "plugins/greeter/plugin.ts": greeter, "config.yaml": configYaml })
    dirs.push(tmp)
    const options = {
      pluginsDir: tmp.path("plugins"),
      personalitiesDir: tmp.path("personalities"),
      root: tmp.dir,
      configFile: tmp.path("config.yaml")
    }
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          { ...options, pluginConfig: { greeter: { greeting: "Ahoy", times: 2 } } },
          Effect.gen(function* () {
            const tools = yield* Tools
            const host = yield* PluginHost
            // The persona's tool_options for this tool arrive as ctx.options.
            expect(yield* tools.call("greet", "{}", context({ options: { style: "pirate" } }))).toMatchObject({
              ok: true,
              content: "Ahoy, Ada Ahoy, Ada (pirate)"
            })
            // A SIGHUP with a broken plugins: section keeps the working version and says where the problem is.
            yield* host.reloadAll({ greeter: { greeting: 5, tims: 2 } })
            expect(yield* tools.call("greet", "{}", context())).toMatchObject({
              content: "Ahoy, Ada Ahoy, Ada (plain)"
            })
            yield* host.reloadAll({ greeter: { greeting: "Hi" } })
            expect(yield* tools.call("greet", "{}", context())).toMatchObject({ content: "Hi, Ada (plain)" })
          })
        )
        expect(events.of("PluginFailed")).toMatchObject([
          {
            plugin: "greeter",
            file: "config.yaml",
            line: 7,
            message:
              "config.yaml plugins.greeter.tims: is not allowed; plugins.greeter.greeting: expected string, got 5"
          }
        ])
      })
    )
  })

  test("a missing plugins.<name> section is decoded as {} so required settings are reported", async () => {
    const tmp = tempDir({ "plugins/greeter/plugin.ts": greeter })
    dirs.push(tmp)
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          { pluginsDir: tmp.path("plugins"), personalitiesDir: tmp.path("personalities"), root: tmp.dir },
          Effect.gen(function* () {
            expect((yield* Tools).names()).toEqual([])
          })
        )
        expect(events.of("PluginFailed")).toMatchObject([
          { plugin: "greeter", file: "config.yaml", message: "config.yaml plugins.greeter.greeting: is required" }
        ])
      })
    )
  })
})
