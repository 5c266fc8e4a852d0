/**
 * The runtime's own metrics, defined once on a registry, with typed handles for the code that updates them:
 * messages in and out, replies, policy decisions, errors, LLM latency and tokens, tool calls, and gauges computed from
 * the live actor tree at scrape time.
 *
 * @example
 * const metrics = defineTroupeMetrics(registry, { actors: () => system.snapshot() })
 * metrics.messagesIn.inc({ persona: "sage", channel: "telegram:sage_bot" })
 * metrics.llmLatency.observe({ persona: "sage", provider: "openai", model: "gpt-4o-mini" }, 1.7)
 */
import type { ActorInfo, ActorState } from "../actor/ActorSystem.ts"
import type { Counter, Histogram, MetricsRegistry } from "./Metrics.ts"

export type ReplyOutcome = "ok" | "failed"
export type TokenDirection = "in" | "out"
export type ToolOutcome = "ok" | "failed" | "timeout"

/** Seconds; LLM calls range from a cached tiny reply to a long tool-using completion. */
export const llmLatencyBuckets: ReadonlyArray<number> = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60]

/** Seconds; tools run in a Worker with a timeout of a few seconds to a minute. */
export const toolLatencyBuckets: ReadonlyArray<number> = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

type PersonaChannel = { readonly persona: string; readonly channel: string }
type PersonaModel = { readonly persona: string; readonly provider: string; readonly model: string }

export interface TroupeMetrics {
  /** `troupe_messages_in_total{persona,channel}`: messages received from a platform. */
  readonly messagesIn: Counter<PersonaChannel>
  /** `troupe_messages_out_total{persona,channel}`: messages sent to a platform (a long reply may take several). */
  readonly messagesOut: Counter<PersonaChannel>
  /** `troupe_replies_total{persona,channel,outcome}`: replies completed or failed. */
  readonly replies: Counter<PersonaChannel & { readonly outcome: ReplyOutcome }>
  /** `troupe_policy_decisions_total{persona,channel,decision}`: reply / ignore / rate-limited … per incoming message. */
  readonly policyDecisions: Counter<PersonaChannel & { readonly decision: string }>
  /** `troupe_errors_total{persona,kind}`: errors by kind (`llm`, `channel`, `tool`, `store`, …). */
  readonly errors: Counter<{ readonly persona: string; readonly kind: string }>
  /** `troupe_llm_latency_seconds{persona,provider,model}`: time to a complete LLM answer. */
  readonly llmLatency: Histogram<PersonaModel>
  /** `troupe_llm_tokens_total{persona,provider,model,direction}`: prompt (`in`) and completion (`out`) tokens. */
  readonly llmTokens: Counter<PersonaModel & { readonly direction: TokenDirection }>
  /** `troupe_tool_calls_total{persona,tool,outcome}`. */
  readonly toolCalls: Counter<{ readonly persona: string; readonly tool: string; readonly outcome: ToolOutcome }>
  /** `troupe_tool_latency_seconds{tool}`. */
  readonly toolLatency: Histogram<{ readonly tool: string }>
}

export interface TroupeMetricsOptions {
  /** The live actor tree (`ActorSystem.snapshot`); when given, the actor gauges are defined too. */
  readonly actors?: () => ReadonlyArray<ActorInfo>
}

/**
 * Define the runtime's metrics on `registry`. Calling it again on the same registry returns the same handles (pass
 * `actors` only once: a second collect function for the same gauge is refused).
 */
const defined = new WeakMap<MetricsRegistry, TroupeMetrics>()

export const defineTroupeMetrics = (registry: MetricsRegistry, options: TroupeMetricsOptions = {}): TroupeMetrics => {
  // Every conversation actor asks for the handles when it starts: after the first time they come from here.
  const known = defined.get(registry)
  if (known && !options.actors) return known
  const personaChannel = ["persona", "channel"] as const
  const personaModel = ["persona", "provider", "model"] as const
  const metrics: TroupeMetrics = {
    messagesIn: registry.counter("troupe_messages_in_total", "Messages received from a platform.", personaChannel),
    messagesOut: registry.counter("troupe_messages_out_total", "Messages sent to a platform.", personaChannel),
    replies: registry.counter("troupe_replies_total", "Replies by outcome (ok or failed).", [
      ...personaChannel,
      "outcome"
    ]),
    policyDecisions: registry.counter("troupe_policy_decisions_total", "Reply policy decisions on incoming messages.", [
      ...personaChannel,
      "decision"
    ]),
    errors: registry.counter("troupe_errors_total", "Errors by kind.", ["persona", "kind"]),
    llmLatency: registry.histogram(
      "troupe_llm_latency_seconds",
      "Time to a complete LLM answer, in seconds.",
      personaModel,
      llmLatencyBuckets
    ),
    llmTokens: registry.counter("troupe_llm_tokens_total", "LLM tokens by direction (in = prompt, out = completion).", [
      ...personaModel,
      "direction"
    ]),
    toolCalls: registry.counter("troupe_tool_calls_total", "Tool calls by outcome.", ["persona", "tool", "outcome"]),
    toolLatency: registry.histogram(
      "troupe_tool_latency_seconds",
      "Tool call duration, in seconds.",
      ["tool"],
      toolLatencyBuckets
    )
  }
  if (options.actors !== undefined) {
    defineActorMetrics(registry, options.actors)
    defineProcessMetrics(registry)
  }
  defined.set(registry, metrics)
  return metrics
}

/**
 * The process, read at each scrape, under the names Prometheus' client libraries use: `process_resident_memory_bytes`,
 * `process_cpu_seconds_total`, `process_start_time_seconds`; plus `troupe_js_heap_bytes{kind}` as Bun's
 * `process.memoryUsage()` reports it: `used` (the heap's objects, uncollected garbage included), `total` (its
 * capacity), `external` and `array_buffers` (memory outside the heap held by JS objects, such as buffers). Memory that
 * keeps climbing shows here first.
 */
export const defineProcessMetrics = (registry: MetricsRegistry): void => {
  const startedAt = (Date.now() - performance.now()) / 1000
  registry.gaugeFn("process_resident_memory_bytes", "Resident memory of the process, in bytes.", [], () => [
    [{}, process.memoryUsage.rss()]
  ])
  registry.counterFn("process_cpu_seconds_total", "CPU time of the process (user + system), in seconds.", [], () => {
    const usage = process.cpuUsage()
    return [[{}, (usage.user + usage.system) / 1e6]]
  })
  registry.gaugeFn("process_start_time_seconds", "When the process started, in seconds since the epoch.", [], () => [
    [{}, startedAt]
  ])
  registry.gaugeFn(
    "troupe_js_heap_bytes",
    "The JavaScript heap in bytes: used (uncollected garbage included), total (capacity), external, array_buffers.",
    ["kind"],
    () => {
      const memory = process.memoryUsage()
      return [
        [{ kind: "used" }, memory.heapUsed],
        [{ kind: "total" }, memory.heapTotal],
        [{ kind: "external" }, memory.external],
        [{ kind: "array_buffers" }, memory.arrayBuffers]
      ]
    }
  )
}

const actorStates: ReadonlyArray<ActorState> = ["starting", "ready", "restarting", "failed", "stopping", "stopped"]

/**
 * Gauges read from the actor tree at each scrape: `troupe_actor_restarts_total{path,kind}` (a counter),
 * `troupe_actor_mailbox_depth{path,kind}` and `troupe_actors{kind,state}` (every state of every kind present, zeros
 * included, so the series stay put as actors come and go).
 */
export const defineActorMetrics = (registry: MetricsRegistry, actors: () => ReadonlyArray<ActorInfo>): void => {
  registry.counterFn("troupe_actor_restarts_total", "Restarts of each actor.", ["path", "kind"], () =>
    actors().map((actor) => [{ path: actor.path, kind: actor.kind }, actor.restarts] as const)
  )
  registry.gaugeFn("troupe_actor_mailbox_depth", "Messages waiting in each actor's mailbox.", ["path", "kind"], () =>
    actors().map((actor) => [{ path: actor.path, kind: actor.kind }, actor.mailbox] as const)
  )
  registry.gaugeFn("troupe_actors", "Actors by kind and state.", ["kind", "state"], () => {
    const byKind = new Map<string, Map<string, number>>()
    for (const actor of actors()) {
      let states = byKind.get(actor.kind)
      if (states === undefined) {
        states = new Map(actorStates.map((state) => [state, 0]))
        byKind.set(actor.kind, states)
      }
      states.set(actor.state, (states.get(actor.state) ?? 0) + 1)
    }
    const samples: Array<readonly [{ kind: string; state: string }, number]> = []
    for (const [kind, states] of byKind) for (const [state, n] of states) samples.push([{ kind, state }, n])
    return samples
  })
}
