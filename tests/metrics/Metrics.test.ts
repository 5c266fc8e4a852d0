import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import type { ActorInfo } from "../../core/actor/ActorSystem.ts"
import { MetricRegistrationError, Metrics, MetricsRegistry } from "../../core/metrics/Metrics.ts"
import { defineTroupeMetrics } from "../../core/metrics/TroupeMetrics.ts"
import { parsePrometheus } from "./parsePrometheus.ts"

describe("MetricsRegistry", () => {
  test("counters and gauges render with HELP, TYPE and one line per series", () => {
    const registry = new MetricsRegistry()
    const sent = registry.counter("sent_total", "Messages sent.", ["persona", "channel"])
    const queued = registry.gauge("queued", "Messages waiting.", [])
    sent.inc({ persona: "sage", channel: "telegram" })
    sent.inc({ persona: "sage", channel: "telegram" }, 2)
    sent.inc({ persona: "rothrock", channel: "cytube" })
    sent.inc({ persona: "sage", channel: "telegram" }, -5)
    queued.set({}, 7)
    queued.inc({})
    queued.dec({}, 3)
    expect(registry.render()).toBe(
      [
        "# HELP sent_total Messages sent.",
        "# TYPE sent_total counter",
        'sent_total{persona="sage",channel="telegram"} 3',
        'sent_total{persona="rothrock",channel="cytube"} 1',
        "# HELP queued Messages waiting.",
        "# TYPE queued gauge",
        "queued 5",
        ""
      ].join("\n")
    )
    const parsed = parsePrometheus(registry.render())
    expect(parsed.value("sent_total", { persona: "sage", channel: "telegram" })).toBe(3)
    expect(parsed.families.get("queued")?.type).toBe("gauge")
  })

  test("histograms render cumulative buckets ending with +Inf, _sum and _count", () => {
    const registry = new MetricsRegistry()
    const latency = registry.histogram("latency_seconds", "Latency.", ["model"], [0.1, 1, 10])
    for (const value of [0.05, 0.1, 0.5, 2, 30, Number.NaN]) latency.observe({ model: "m" }, value)
    latency.bind({ model: "other" }).observe(1)
    const text = registry.render()
    expect(text).toContain(
      [
        'latency_seconds_bucket{model="m",le="0.1"} 2',
        'latency_seconds_bucket{model="m",le="1"} 3',
        'latency_seconds_bucket{model="m",le="10"} 4',
        'latency_seconds_bucket{model="m",le="+Inf"} 5',
        'latency_seconds_sum{model="m"} 32.65',
        'latency_seconds_count{model="m"} 5'
      ].join("\n")
    )
    const parsed = parsePrometheus(text)
    expect(parsed.value("latency_seconds_bucket", { model: "other", le: "1" })).toBe(1)
    expect(parsed.value("latency_seconds_count", { model: "other" })).toBe(1)
    expect(latency.get({ model: "m" })).toEqual({ count: 5, sum: 32.65 })
  })

  test("label values are escaped and survive a round trip", () => {
    const registry = new MetricsRegistry()
    const odd = 'back\\slash "quoted"\nnew line, comma=equals {brace}'
    registry.counter("odd_total", "Help with a \\ and a\nnewline.", ["value"]).inc({ value: odd })
    const text = registry.render()
    expect(text).toContain(String.raw`odd_total{value="back\\slash \"quoted\"\nnew line, comma=equals {brace}"} 1`)
    expect(text).toContain(String.raw`# HELP odd_total Help with a \\ and a\nnewline.`)
    const parsed = parsePrometheus(text)
    expect(parsed.value("odd_total", { value: odd })).toBe(1)
    expect(parsed.families.get("odd_total")?.help).toBe("Help with a \\ and a\nnewline.")
  })

  test("many series updated in an interleaved order keep their own values", () => {
    const registry = new MetricsRegistry()
    const counter = registry.counter("hits_total", "Hits.", ["a", "b"])
    const bound = counter.bind({ a: "0", b: "0" })
    for (let round = 0; round < 50; round++)
      for (let a = 0; a < 20; a++) for (let b = 0; b < 5; b++) counter.inc({ a: `${a}`, b: `${b}` }, a + b)
    bound.inc(1000)
    const parsed = parsePrometheus(registry.render())
    expect(parsed.samples("hits_total")).toHaveLength(100)
    expect(parsed.value("hits_total", { a: "7", b: "3" })).toBe(500)
    expect(parsed.value("hits_total", { a: "0", b: "0" })).toBe(1000)
    // Label values are keyed per position: ("1","23") and ("12","3") are different series.
    const pairs = registry.counter("pairs_total", "Pairs.", ["x", "y"])
    pairs.inc({ x: "1", y: "23" })
    pairs.inc({ x: "12", y: "3" }, 2)
    expect([pairs.get({ x: "1", y: "23" }), pairs.get({ x: "12", y: "3" })]).toEqual([1, 2])
  })

  test("registering the same metric twice returns it; a different shape or a bad name throws", () => {
    const registry = new MetricsRegistry()
    const first = registry.counter("x_total", "X.", ["a"])
    expect(registry.counter("x_total", "X.", ["a"])).toBe(first)
    expect(() => registry.counter("x_total", "X.", ["b"])).toThrow(MetricRegistrationError)
    expect(() => registry.gauge("x_total", "X.", ["a"])).toThrow("already registered as a counter")
    expect(() => registry.counter("bad-name", "X.", [])).toThrow("invalid metric name")
    expect(() => registry.counter("y_total", "Y.", ["a", "a"])).toThrow("listed twice")
    expect(() => registry.counter("y_total", "Y.", ["__reserved"])).toThrow("invalid label name")
    expect(() => registry.histogram("h", "H.", ["le"], [1])).toThrow("reserved")
    expect(() => registry.histogram("h", "H.", [], [2, 1])).toThrow("ascending")
    registry.histogram("h", "H.", [], [1, 2])
    expect(() => registry.counter("h_count", "C.", [])).toThrow("clashes with the samples of histogram h")
  })
})

describe("scrape-time gauges", () => {
  const actor = (path: string, kind: string, state: ActorInfo["state"], restarts: number, mailbox: number) =>
    ({
      path,
      parent: path.split("/").slice(0, -1).join("/"),
      kind,
      labels: {},
      state,
      startedAt: 0,
      received: 0,
      processed: 0,
      failed: 0,
      restarts,
      mailbox
    }) satisfies ActorInfo

  test("the actor gauges read the live tree at each scrape", () => {
    let tree: Array<ActorInfo> = [
      actor("troupe/sage", "persona", "ready", 0, 0),
      actor("troupe/sage/telegram", "channel", "ready", 2, 0),
      actor("troupe/sage/router/c1", "conversation", "ready", 0, 3),
      actor("troupe/sage/router/c2", "conversation", "restarting", 1, 5)
    ]
    const registry = new MetricsRegistry()
    defineTroupeMetrics(registry, { actors: () => tree })
    const first = parsePrometheus(registry.render())
    expect(first.families.get("troupe_actor_restarts_total")?.type).toBe("counter")
    expect(first.value("troupe_actor_restarts_total", { path: "troupe/sage/telegram", kind: "channel" })).toBe(2)
    expect(first.value("troupe_actor_mailbox_depth", { path: "troupe/sage/router/c2", kind: "conversation" })).toBe(5)
    expect(first.value("troupe_actors", { kind: "conversation", state: "ready" })).toBe(1)
    expect(first.value("troupe_actors", { kind: "conversation", state: "restarting" })).toBe(1)
    expect(first.value("troupe_actors", { kind: "conversation", state: "failed" })).toBe(0)
    tree = [actor("troupe/sage", "persona", "stopping", 0, 0)]
    const second = parsePrometheus(registry.render())
    expect(second.samples("troupe_actor_mailbox_depth")).toHaveLength(1)
    expect(second.value("troupe_actors", { kind: "persona", state: "stopping" })).toBe(1)
    expect(second.value("troupe_actors", { kind: "conversation", state: "ready" })).toBeUndefined()
  })

  test("the process gauges come with the actor gauges: memory, CPU, start time, JS heap", () => {
    const registry = new MetricsRegistry()
    defineTroupeMetrics(registry, { actors: () => [] })
    const scrape = parsePrometheus(registry.render())
    const rss = scrape.value("process_resident_memory_bytes")!
    // Within a factor of two of what /proc says (the scrape and the read are a moment apart).
    const status = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) * 1024
    expect(rss).toBeGreaterThan(status / 2)
    expect(rss).toBeLessThan(status * 2)
    expect(scrape.families.get("process_cpu_seconds_total")?.type).toBe("counter")
    expect(scrape.value("process_cpu_seconds_total")).toBeGreaterThan(0)
    const started = scrape.value("process_start_time_seconds")!
    expect(started).toBeLessThanOrEqual(Date.now() / 1000)
    expect(started).toBeGreaterThan(Date.now() / 1000 - 3600)
    const used = scrape.value("troupe_js_heap_bytes", { kind: "used" })!
    expect(used).toBeGreaterThan(1e6)
    expect(scrape.value("troupe_js_heap_bytes", { kind: "total" })).toBeGreaterThan(1e6)
    expect(scrape.value("troupe_js_heap_bytes", { kind: "external" })).toBeGreaterThanOrEqual(0)
    expect(scrape.value("troupe_js_heap_bytes", { kind: "array_buffers" })).toBeGreaterThanOrEqual(0)
  })

  test("a failing collector leaves a comment and the rest of the scrape intact", () => {
    const registry = new MetricsRegistry()
    registry.gaugeFn("broken", "Broken.", [], () => {
      throw new Error("no tree yet")
    })
    registry.counter("fine_total", "Fine.", []).inc({})
    const text = registry.render()
    expect(text).toContain("# broken collect failed: Error: no tree yet")
    expect(parsePrometheus(text).value("fine_total")).toBe(1)
  })
})

describe("TroupeMetrics", () => {
  test("every runtime metric renders and parses, with typed handles", async () => {
    const registry = await Effect.runPromise(Effect.provide(Metrics, Metrics.layer))
    const m = defineTroupeMetrics(registry)
    expect(defineTroupeMetrics(registry).replies).toBe(m.replies)
    const where = { persona: "sage", channel: "telegram:sage_bot" }
    const model = { persona: "sage", provider: "openai", model: "gpt-4o-mini" }
    m.messagesIn.inc(where)
    m.messagesOut.inc(where, 2)
    m.replies.inc({ ...where, outcome: "ok" })
    m.policyDecisions.inc({ ...where, decision: "reply" })
    m.errors.inc({ persona: "sage", kind: "llm" })
    m.llmLatency.observe(model, 1.7)
    m.llmTokens.inc({ ...model, direction: "in" }, 812)
    m.toolCalls.inc({ persona: "sage", tool: "dice", outcome: "ok" })
    m.toolLatency.observe({ tool: "dice" }, 0.003)
    const parsed = parsePrometheus(registry.render())
    expect([...parsed.families.keys()]).toEqual([
      "troupe_messages_in_total",
      "troupe_messages_out_total",
      "troupe_replies_total",
      "troupe_policy_decisions_total",
      "troupe_errors_total",
      "troupe_llm_latency_seconds",
      "troupe_llm_tokens_total",
      "troupe_tool_calls_total",
      "troupe_tool_latency_seconds"
    ])
    expect(parsed.value("troupe_llm_tokens_total", { ...model, direction: "in" })).toBe(812)
    expect(parsed.value("troupe_llm_latency_seconds_bucket", { ...model, le: "2.5" })).toBe(1)
    expect(parsed.value("troupe_llm_latency_seconds_bucket", { ...model, le: "1" })).toBe(0)
    expect(parsed.value("troupe_tool_latency_seconds_bucket", { tool: "dice", le: "0.005" })).toBe(1)
  })
})
