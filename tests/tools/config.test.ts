import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { Effect, Either } from "effect"
import { parse } from "yaml"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { guardOptionsFromConfig } from "../../core/tools/GuardedFetch.ts"
import { recordEvents } from "../plugins/support.ts"
import { runLive } from "../support/effect.ts"
import { withBuiltins } from "./support.ts"

/** The first ```yaml block of core/tools/README.md: the documented config.yaml example. */
const documented = () => {
  const readme = readFileSync(new URL("../../core/tools/README.md", import.meta.url), "utf8")
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error("no yaml example in core/tools/README.md")
  return parse(block) as { plugins: Record<string, unknown> }
}

test("the documented config.yaml example is accepted by every built-in plugin and by the HTTP guard", async () => {
  const { plugins } = documented()
  const loaded = await runLive(
    Effect.gen(function* () {
      const events = yield* recordEvents
      return yield* withBuiltins(
        Effect.map(PluginHost, (host) => ({
          plugins: host
            .plugins()
            .map((p) => p.name)
            .sort(),
          failed: events.of("PluginFailed").map((e) => e.message)
        })),
        { config: plugins }
      )
    })
  )
  expect(loaded).toEqual({
    plugins: ["calculator", "chat_memory", "clock", "exec", "http_fetch", "notes", "scheduler", "workspace"],
    failed: []
  })
  expect(Either.isRight(guardOptionsFromConfig(plugins.http_fetch))).toBe(true)
})

test("a typo in a plugin's settings is reported with the key", async () => {
  const failed = await runLive(
    Effect.gen(function* () {
      const events = yield* recordEvents
      return yield* withBuiltins(
        Effect.sync(() => events.of("PluginFailed").map((e) => `${e.plugin}: ${e.message}`)),
        { config: { http_fetch: { allow_host: ["127.0.0.1"] } } }
      )
    })
  )
  expect(failed).toEqual(["http_fetch: config.yaml plugins.http_fetch.allow_host: is not allowed"])
})
