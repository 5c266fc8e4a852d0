/**
 * Around every tool call: a per-conversation rate limit (a model stuck in a loop cannot hammer a tool or a remote
 * API), and one log line per call and per result with the correlation id — arguments with the tool's `secret` fields
 * redacted. (The persona's tool allowlist and the 16 KiB result cap are enforced by the plugin host itself.)
 *
 * @example
 * // Wrap the layer that provides `Tools`; everything else it provides passes through unchanged.
 * const plugins = ToolGuard.wrap(PluginHost.layerConfig(), { maxCalls: 30, windowMs: 60_000 })
 */
import { Clock, Context, Effect, Layer, Option } from "effect"
import { PluginHost } from "../plugins/PluginHost.ts"
import { type ToolCallContext, type ToolOutcome, Tools, type ToolsService } from "./Tools.ts"

export interface ToolGuardOptions {
  /** Tool calls one conversation may make per window (default 30; 0 turns the limit off). */
  readonly maxCalls?: number
  /** Default one minute. */
  readonly windowMs?: number
  /** Arguments as they may be logged (default: the plugin host's `redactArguments` when there is one). */
  readonly redact?: (tool: string, argumentsJson: string) => string
}

const preview = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`

/** `tools` with the rate limit and logging applied. */
export const guardTools = (tools: ToolsService, options: ToolGuardOptions = {}): ToolsService => {
  const maxCalls = options.maxCalls ?? 30
  const windowMs = options.windowMs ?? 60_000
  const redact = options.redact ?? ((_tool: string, json: string) => json)
  /** Call times per conversation, oldest first. */
  const calls = new Map<string, Array<number>>()

  /** `undefined` when the call may go ahead (and is counted), else how long until it could. */
  const admit = (conversationId: string, now: number): number | undefined => {
    if (maxCalls <= 0) return undefined
    if (calls.size > 10_000) {
      for (const [id, times] of calls) if ((times.at(-1) ?? 0) <= now - windowMs) calls.delete(id)
    }
    const times = (calls.get(conversationId) ?? []).filter((at) => at > now - windowMs)
    calls.set(conversationId, times)
    if (times.length >= maxCalls) return times[0]! + windowMs - now
    times.push(now)
    return undefined
  }

  const call = (name: string, argumentsJson: string, context: ToolCallContext): Effect.Effect<ToolOutcome> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.logInfo(`tool ${name} called`).pipe(
        Effect.annotateLogs({ arguments: preview(redact(name, argumentsJson), 1000) })
      )
      const wait = admit(context.conversationId, now)
      if (wait !== undefined) {
        const seconds = Math.max(1, Math.ceil(wait / 1000))
        yield* Effect.logWarning(`tool ${name} refused: ${maxCalls} calls in ${windowMs / 1000} s in this conversation`)
        return {
          ok: false,
          content: `too many tool calls in this conversation (at most ${maxCalls} in ${Math.round(windowMs / 1000)} s); try again in ${seconds} s`,
          durationMs: 0
        }
      }
      const outcome = yield* tools.call(name, argumentsJson, context)
      const log = outcome.ok ? Effect.logInfo : Effect.logWarning
      yield* log(`tool ${name} ${outcome.ok ? "ok" : "failed"} in ${outcome.durationMs} ms`).pipe(
        Effect.annotateLogs({
          chars: outcome.content.length,
          ...(outcome.ok ? {} : { error: preview(outcome.content, 300) })
        })
      )
      yield* Effect.logDebug(`tool ${name} result`).pipe(Effect.annotateLogs({ result: preview(outcome.content, 500) }))
      return outcome
    }).pipe(
      Effect.annotateLogs({
        tool: name,
        cid: context.correlationId,
        persona: context.persona,
        conversation: context.conversationId
      })
    )

  return { ...tools, call }
}

export const ToolGuard = {
  /**
   * `inner` with its `Tools` guarded (rate limit, logging); its other services pass through. Secret arguments are
   * redacted with the `PluginHost` of `inner` when it provides one.
   */
  wrap: <ROut, E, RIn>(
    inner: Layer.Layer<ROut | Tools, E, RIn>,
    options: ToolGuardOptions = {}
  ): Layer.Layer<ROut | Tools, E, RIn> =>
    Layer.effectContext(
      Effect.map(Effect.context<ROut | Tools>(), (context) => {
        const host = Context.getOption(context as Context.Context<unknown>, PluginHost)
        const redact = options.redact ?? (Option.isSome(host) ? host.value.redactArguments : undefined)
        const guarded = guardTools(Context.get(context as Context.Context<Tools>, Tools), {
          ...options,
          ...(redact ? { redact } : {})
        })
        return Context.add(context, Tools, guarded)
      })
    ).pipe(Layer.provide(inner))
}
