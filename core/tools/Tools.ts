/**
 * How the agent loop reaches tools: the specs the model may call, and one `call` that never fails (a failed call is
 * an outcome the model reads). The plugin host implements it with one Worker per plugin.
 */
import { Context, Effect, Layer } from "effect"
import type { ToolSpec } from "../llm/Provider.ts"

/** Who is calling: injected by the host from the conversation, never taken from the model's arguments. */
export interface ToolCallContext {
  readonly persona: string
  readonly conversationId: string
  readonly correlationId: string
  readonly turnId: string
  readonly channel: string
  readonly chatId: string
  readonly userId: string
  readonly userName: string
  /** The persona's `tool_options` for this tool. */
  readonly options: unknown
}

export interface ToolOutcome {
  readonly ok: boolean
  /** What the model reads: the result, or a readable error. Already capped in size. */
  readonly content: string
  readonly durationMs: number
}

export interface ToolsService {
  /** Specs of the named tools that are currently loaded (unknown names are skipped). */
  readonly specs: (names: ReadonlyArray<string>) => ReadonlyArray<ToolSpec>
  /** Run one call. Decode errors, timeouts, crashes and unknown tools come back as `ok: false` outcomes. */
  readonly call: (name: string, argumentsJson: string, context: ToolCallContext) => Effect.Effect<ToolOutcome>
  /** Names of every loaded tool. */
  readonly names: () => ReadonlyArray<string>
  /** The plugin that serves a tool. */
  readonly pluginOf?: (tool: string) => string | undefined
  /** The arguments JSON with the fields the tool marks `secret` replaced, for events and logs. */
  readonly redactArguments?: (tool: string, argumentsJson: string) => string
}

export class Tools extends Context.Tag("troupe/Tools")<Tools, ToolsService>() {
  /** No tools at all (benchmarks, tests, embedders that want none): every call is an "unknown tool" outcome. */
  static readonly layerNone = Layer.succeed(Tools, {
    specs: () => [],
    names: () => [],
    call: (name) => Effect.succeed({ ok: false, content: `unknown tool ${name}`, durationMs: 0 })
  })
}
