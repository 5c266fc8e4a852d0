/** Recording LLM calls into the runtime's metrics registry (when the runtime provides one). */
import type { MetricsRegistry } from "../../metrics/Metrics.ts"
import { defineTroupeMetrics, type TroupeMetrics } from "../../metrics/TroupeMetrics.ts"
import type { Usage } from "../Provider.ts"

const handles = new WeakMap<MetricsRegistry, TroupeMetrics>()

const metricsOf = (registry: MetricsRegistry): TroupeMetrics => {
  let metrics = handles.get(registry)
  if (metrics === undefined) {
    metrics = defineTroupeMetrics(registry)
    handles.set(registry, metrics)
  }
  return metrics
}

/** `troupe_llm_latency_seconds` and `troupe_llm_tokens_total` for one successful call. */
export const recordCall = (
  registry: MetricsRegistry,
  persona: string,
  provider: string,
  model: string,
  seconds: number,
  usage: Usage
): void => {
  const metrics = metricsOf(registry)
  const labels = { persona, provider, model }
  metrics.llmLatency.observe(labels, seconds)
  metrics.llmTokens.inc({ ...labels, direction: "in" }, usage.input)
  metrics.llmTokens.inc({ ...labels, direction: "out" }, usage.output)
}
