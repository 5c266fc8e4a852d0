import { afterAll, describe, expect, test } from "bun:test"
import { Effect, Layer } from "effect"
import { EventBus } from "../../core/events/EventBus.ts"
import { HostApi } from "../../core/plugins/HostApi.ts"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { Tools } from "../../core/tools/Tools.ts"
import { calculator, pluginSource } from "../fixtures/plugins.ts"
import { runLive } from "../support/effect.ts"
import { context, expectNoWorkers, projectFolders, recordEvents, waitFor, withHost } from "./support.ts"

const { folders, cleanup } = projectFolders()
afterAll(cleanup)

describe("plugin tools", () => {
  test("a plugin's tools are described to the model as plain JSON Schema and answer calls", async () => {
    const options = folders({ "plugins/calculator/plugin.ts": calculator() })
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          options,
          Effect.gen(function* () {
            const tools = yield* Tools
            expect(tools.names()).toEqual(["add", "divide", "big"])
            const [add] = tools.specs(["add"])
            expect(add).toEqual({
              name: "add",
              description: "Add two numbers",
              parameters: {
                type: "object",
                required: ["a", "b"],
                properties: {
                  a: { type: "number", description: "first addend" },
                  b: { type: "number", description: "second addend" },
                  precision: {
                    type: "integer",
                    description: "a number between 0 and 10",
                    title: "between(0, 10)",
                    minimum: 0,
                    maximum: 10
                  }
                },
                additionalProperties: false
              }
            })
            // A plugin name stands for all of its tools; unknown names are skipped.
            expect(tools.specs(["calculator", "nope"]).map((spec) => spec.name)).toEqual(["add", "divide", "big"])
            expect(yield* tools.call("add", '{"a": 2, "b": 40}', context())).toMatchObject({ ok: true, content: "42" })
            // A JSON-able result reaches the model as JSON.
            expect(yield* tools.call("divide", '{"a": 1, "b": 4}', context())).toMatchObject({
              ok: true,
              content: '{"quotient":0.25}'
            })
            const host = yield* PluginHost
            expect(host.plugins()).toEqual([
              {
                name: "calculator",
                version: "1.0.0",
                description: "",
                tools: ["add", "divide", "big"],
                enabled: true,
                file: "plugins/calculator/plugin.ts"
              }
            ])
          })
        )
        expect(events.of("PluginLoaded")).toMatchObject([
          {
            plugin: "calculator",
            version: "1.0.0",
            tools: ["add", "divide", "big"],
            file: "plugins/calculator/plugin.ts"
          }
        ])
      })
    )
    await expectNoWorkers()
  })

  test("bad arguments, a throwing tool, unknown tools and huge results come back as readable outcomes", async () => {
    const options = folders({ "plugins/calculator/plugin.ts": calculator() })
    await runLive(
      withHost(
        { ...options, resultLimit: 1000 },
        Effect.gen(function* () {
          const tools = yield* Tools
          const call = (name: string, args: string) => tools.call(name, args, context())
          expect(yield* call("add", '{"a": 1}')).toMatchObject({
            ok: false,
            content: "invalid arguments: b: is required"
          })
          expect(yield* call("add", '{"a": "one", "b": 2, "precision": 99}')).toMatchObject({
            ok: false,
            content:
              'invalid arguments: a: expected number, got "one"; precision: expected a number between 0 and 10, got 99'
          })
          expect((yield* call("add", "{not json")).content).toStartWith("invalid arguments: not valid JSON")
          expect(yield* call("add", "[1, 2]")).toMatchObject({
            ok: false,
            content: "invalid arguments: expected a JSON object"
          })
          expect(yield* call("divide", '{"a": 1, "b": 0}')).toMatchObject({ ok: false, content: "division by zero" })
          expect(yield* call("nope", "{}")).toMatchObject({ ok: false, content: "unknown tool nope" })
          const big = yield* call("big", "")
          expect(big.ok).toBe(true)
          expect(big.content).toStartWith("x".repeat(1000))
          expect(big.content).toEndWith("[truncated: 99000 more characters]")
          // The plugin keeps serving after all of that.
          expect(yield* call("add", '{"a": 1, "b": 1}')).toMatchObject({ ok: true, content: "2" })
        })
      )
    )
  })

  test("secret argument fields are redacted for logs and events", async () => {
    const options = folders({
      "plugins/vault/plugin.ts": pluginSource(`
export default definePlugin({
  name: "vault",
  version: "1.0.0",
  tools: [defineTool({
    name: "unlock",
    description: "unlock",
    parameters: Schema.Struct({ door: Schema.String, password: Schema.String }),
    secret: ["password"],
    run: ({ door }) => "opened " + door
  })]
})`)
    })
    await runLive(
      withHost(
        options,
        Effect.gen(function* () {
          const host = yield* PluginHost
          expect(host.redactArguments("unlock", '{"door":"front","password":"hunter2"}')).toBe(
            '{"door":"front","password":"[redacted]"}'
          )
          expect(host.redactArguments("other", '{"password":"x"}')).toBe('{"password":"x"}')
        })
      )
    )
  })

  test("calls beyond the concurrency limit wait for a free slot", async () => {
    const options = folders({
      "plugins/slow/plugin.ts": pluginSource(`
let running = 0
let most = 0
export default definePlugin({
  name: "slow",
  version: "1.0.0",
  tools: [defineTool({
    name: "slow",
    description: "slow",
    parameters: Schema.Struct({}),
    run: async () => {
      running++
      most = Math.max(most, running)
      await Bun.sleep(60)
      running--
      return String(most)
    }
  })]
})`)
    })
    await runLive(
      withHost(
        { ...options, concurrency: 2 },
        Effect.gen(function* () {
          const tools = yield* Tools
          const outcomes = yield* Effect.all(
            Array.from({ length: 6 }, () => tools.call("slow", "{}", context())),
            { concurrency: "unbounded" }
          )
          expect(outcomes.every((outcome) => outcome.ok)).toBe(true)
          expect(Math.max(...outcomes.map((outcome) => Number(outcome.content)))).toBe(2)
        })
      )
    )
  })

  test("a persona only reaches the tools it lists, by tool or plugin name", async () => {
    const options = folders({
      "plugins/calculator/plugin.ts": calculator(),
      "personalities/sage/persona.yaml": "model: { provider: echo }\ntools: [add]\n",
      "personalities/owl/persona.yaml": "model: { provider: echo }\ntools: [calculator]\n"
    })
    await runLive(
      withHost(
        options,
        Effect.gen(function* () {
          const tools = yield* Tools
          const args = '{"a": 4, "b": 2}'
          expect(yield* tools.call("add", args, context({ persona: "sage" }))).toMatchObject({ ok: true, content: "6" })
          expect(yield* tools.call("divide", args, context({ persona: "sage" }))).toMatchObject({
            ok: false,
            content: "tool divide is not enabled for sage"
          })
          expect(yield* tools.call("divide", args, context({ persona: "owl" }))).toMatchObject({ ok: true })
        })
      )
    )
  })

  test("hooks receive the events they name", async () => {
    const options = folders({
      "plugins/listener/plugin.ts": pluginSource(`
export default definePlugin({
  name: "listener",
  version: "1.0.0",
  tools: [],
  hooks: {
    ReplyCompleted: (event, ctx) => ctx.log.info("reply from " + event.persona + ": " + event.text)
  }
})`)
    })
    const lines: Array<string> = []
    const hostApi = Layer.effect(
      HostApi,
      Effect.tap(HostApi, (api) =>
        api.register("log", (_ctx, { message }) => Effect.sync(() => void lines.push(message)))
      )
    ).pipe(Layer.provide(HostApi.layer))
    await runLive(
      withHost(
        options,
        Effect.gen(function* () {
          const bus = yield* EventBus
          const base = { at: 1, correlationId: "c", persona: "sage", conversationId: "x", turnId: "t" }
          yield* bus.publish({ _tag: "Typing", ...base })
          yield* bus.publish({
            _tag: "ReplyCompleted",
            ...base,
            text: "Hello",
            provider: "echo",
            model: "echo",
            usage: { input: 1, output: 1 },
            finishReason: "stop",
            durationMs: 3
          })
          yield* Effect.promise(() => waitFor(() => lines.length > 0, 2000, "the hook"))
          expect(lines).toEqual(["reply from sage: Hello"])
        }),
        hostApi
      )
    )
  })
})
