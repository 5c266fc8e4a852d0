/**
 * Plugin hot-reload figures, in one run:
 * - reload latency: `plugin.ts` written -> the new version answering a call, through the file watcher (debounce
 *   included), p50/p99 over `--reloads` reloads (target p99 < 250 ms);
 * - RSS before and after `--rss-reloads` plugin reloads (target growth < 20 MB);
 * - calls lost while a plugin reloads `--load-reloads` times under a steady call load (target 0: every call gets an
 *   answer from one version or the other);
 * - a tool call through the Worker vs the same tool called in-process (decode + run), as a ratio.
 *
 * Run: bun bench/reload.ts [--reloads 200] [--rss-reloads 500] [--load-reloads 50] [--calls 3000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Fiber, Layer, Logger, LogLevel, Schema } from "effect"
import { ActorSystem } from "../core/actor/ActorSystem.ts"
import { EventBus } from "../core/events/EventBus.ts"
import { HostApi } from "../core/plugins/HostApi.ts"
import { liveWorkers } from "../core/plugins/internal/WorkerProcess.ts"
import { PluginHost } from "../core/plugins/PluginHost.ts"
import type { PluginDefinition } from "../core/plugins/sdk.ts"
import { type ToolCallContext, Tools } from "../core/tools/Tools.ts"
import { arg, fmt, percentile, report, rssMb } from "./support.ts"

const reloads = arg("reloads", 200)
const rssReloads = arg("rss-reloads", 500)
const loadReloads = arg("load-reloads", 50)
const calls = arg("calls", 3000)

const sdk = fileURLToPath(new URL("../core/plugins/sdk.ts", import.meta.url))
const source = (
  version: number,
  padding = 0
) => `import { definePlugin, defineTool, Schema } from ${JSON.stringify(sdk)}
// ${"x".repeat(padding)}
export default definePlugin({
  name: "bench",
  version: "${version}",
  tools: [
    defineTool({
      name: "version",
      description: "which version answers",
      parameters: Schema.Struct({ text: Schema.optional(Schema.String) }),
      run: ({ text }) => text ?? "v${version}"
    })
  ]
})
`

const dir = mkdtempSync(join(tmpdir(), "troupe-bench-"))
const file = join(dir, "plugins/bench/plugin.ts")
mkdirSync(join(dir, "plugins/bench"), { recursive: true })
mkdirSync(join(dir, "personalities"))
writeFileSync(file, source(0))

const context: ToolCallContext = {
  persona: "bench",
  conversationId: "bench/1",
  correlationId: "c",
  turnId: "t",
  channel: "bench",
  chatId: "1",
  userId: "u",
  userName: "U",
  options: undefined
}

const latency = Effect.gen(function* () {
  const tools = yield* Tools
  const times: Array<number> = []
  for (let i = 1; i <= reloads; i++) {
    const started = performance.now()
    writeFileSync(file, source(i))
    for (;;) {
      const outcome = yield* tools.call("version", "{}", context)
      if (outcome.content === `v${i}`) break
      yield* Effect.sleep("2 millis")
    }
    times.push(performance.now() - started)
    // An edit rate a person can keep up: the spare Worker is warm again before the next save.
    yield* Effect.sleep("60 millis")
  }
  return times.sort((a, b) => a - b)
})

const memory = Effect.gen(function* () {
  const host = yield* PluginHost
  const tools = yield* Tools
  const cycle = (i: number) =>
    Effect.gen(function* () {
      writeFileSync(file, source(10_000 + i, 2000))
      yield* host.reloadPlugin("bench")
      yield* tools.call("version", "{}", context)
    })
  // Old Workers end asynchronously; measure once only the serving one and the spare are left.
  const settle = Effect.gen(function* () {
    while (liveWorkers() > 2) yield* Effect.sleep("10 millis")
    for (let i = 0; i < 3; i++) {
      Bun.gc(true)
      yield* Effect.sleep("100 millis")
    }
    return rssMb()
  })
  for (let i = 0; i < 50; i++) yield* cycle(i)
  const before = yield* settle
  for (let i = 0; i < rssReloads; i++) yield* cycle(100 + i)
  return { before, after: yield* settle }
})

const lost = Effect.gen(function* () {
  const host = yield* PluginHost
  const tools = yield* Tools
  let running = true
  const caller = Effect.gen(function* () {
    let made = 0
    let answered = 0
    const failures: Array<string> = []
    while (running) {
      made++
      const outcome = yield* tools.call("version", "{}", context)
      if (outcome.ok && /^v\d+$/.test(outcome.content)) answered++
      else failures.push(outcome.content)
    }
    return { made, answered, failures }
  })
  const callers = yield* Effect.forEach(Array.from({ length: 8 }), () => Effect.fork(caller))
  for (let i = 0; i < loadReloads; i++) {
    writeFileSync(file, source(20_000 + i))
    yield* host.reloadPlugin("bench")
    yield* Effect.sleep("10 millis")
  }
  running = false
  const results = yield* Effect.forEach(callers, Fiber.join)
  return {
    made: results.reduce((n, r) => n + r.made, 0),
    answered: results.reduce((n, r) => n + r.answered, 0),
    failures: results.flatMap((r) => r.failures)
  }
})

const roundTrip = Effect.gen(function* () {
  const tools = yield* Tools
  const plugin = ((yield* Effect.promise(() => import(file))) as { default: PluginDefinition }).default
  const tool = plugin.tools[0]!
  const decode = Schema.decodeUnknownSync(tool.parameters)
  const inProcess = (args: string) =>
    Effect.promise(async () => {
      const value = await tool.run(decode(JSON.parse(args)), {} as never)
      return { ok: true, content: typeof value === "string" ? value : JSON.stringify(value) }
    })
  const time = (run: (args: string) => Effect.Effect<unknown>) =>
    Effect.gen(function* () {
      for (let i = 0; i < 200; i++) yield* run('{"text":"warm"}')
      const started = performance.now()
      for (let i = 0; i < calls; i++) yield* run('{"text":"hello"}')
      return ((performance.now() - started) * 1000) / calls
    })
  const worker = yield* time((args) => tools.call("version", args, context))
  const local = yield* time(inProcess)
  return { worker, local }
})

const hostLayer = (watch: boolean) =>
  PluginHost.layer({ pluginsDir: join(dir, "plugins"), personalitiesDir: join(dir, "personalities"), watch }).pipe(
    Layer.provideMerge(HostApi.layer)
  )

const program = Effect.gen(function* () {
  // Latency goes through the file watcher; the other figures reload directly (a watching host would reload again on
  // each of their writes).
  const times = yield* Effect.provide(latency, hostLayer(true))
  const { rss, load, trip } = yield* Effect.provide(
    Effect.all({ rss: memory, load: lost, trip: roundTrip }),
    hostLayer(false)
  )
  report("plugin reload", [
    ["reloads (file written -> new version answering)", `${fmt(times.length)}`],
    ["reload latency p50", `${fmt(percentile(times, 50), 1)} ms`],
    ["reload latency p99", `${fmt(percentile(times, 99), 1)} ms (target < 250 ms)`],
    ["reload latency max", `${fmt(times.at(-1) ?? 0, 1)} ms`],
    [`RSS before ${fmt(rssReloads)} reloads`, `${fmt(rss.before, 1)} MB`],
    [
      `RSS after ${fmt(rssReloads)} reloads`,
      `${fmt(rss.after, 1)} MB (growth ${fmt(rss.after - rss.before, 1)} MB, target < 20 MB)`
    ],
    [`calls during ${fmt(loadReloads)} reloads`, `${fmt(load.made)} made, ${fmt(load.answered)} answered`],
    [
      "calls lost",
      `${fmt(load.made - load.answered)} (target 0)${load.failures.length ? `: ${load.failures.slice(0, 3).join(" | ")}` : ""}`
    ],
    ["tool call through the Worker", `${fmt(trip.worker, 1)} µs`],
    ["same tool in-process (decode + run)", `${fmt(trip.local, 1)} µs`],
    ["ratio", `${fmt(trip.worker / trip.local, 1)}x`]
  ])
})

const layer = Layer.provideMerge(ActorSystem.layer, EventBus.layer)

try {
  await Effect.runPromise(program.pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning)))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
