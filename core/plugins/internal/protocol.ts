/**
 * The messages between the host and a plugin Worker. Everything is plain structured-clone-safe data. The host checks
 * what comes back (`WorkerMessage` in `check.ts`): a Worker runs plugin code and is not trusted blindly.
 */
import type { TroupeEvent } from "../../events/Events.ts"

/** What a tool looks like once loaded, as the Worker describes it. */
export interface ToolInfo {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments object, without `$schema` and `$defs`. */
  readonly parameters: Readonly<Record<string, unknown>>
  readonly timeoutMs: number | undefined
  readonly secret: ReadonlyArray<string>
}

export interface PluginInfo {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly tools: ReadonlyArray<ToolInfo>
  /** Event tags the plugin has hooks for. */
  readonly hooks: ReadonlyArray<string>
  /** False when the plugin's `enabled(config)` says it is switched off: its tools are not offered. */
  readonly enabled: boolean
}

/** Where a load error points. */
export interface SourcePosition {
  readonly file?: string
  readonly line?: number
  readonly column?: number
}

export interface LoadFailure extends SourcePosition {
  readonly message: string
}

/** The part of a tool call's context a plugin sees (the rest stays on the host). */
export interface CallContext {
  readonly persona: string
  readonly conversationId: string
  readonly userId: string
  readonly userName: string
  readonly options: unknown
}

export type HostToWorker =
  | {
      readonly _tag: "load"
      /** Absolute path of plugin.ts. */
      readonly file: string
      /** The folder name: the plugin's id. */
      readonly plugin: string
      /** `plugins.<name>` from config.yaml, undecoded. */
      readonly config: unknown
      /** Longest result sent back, in characters. */
      readonly resultLimit: number
    }
  | {
      readonly _tag: "call"
      readonly id: number
      readonly tool: string
      readonly args: unknown
      readonly context: CallContext
    }
  | { readonly _tag: "cancel"; readonly id: number }
  | { readonly _tag: "ping"; readonly id: number }
  | {
      readonly _tag: "hostResult"
      readonly id: number
      readonly ok: boolean
      readonly value: unknown
      readonly error: string
    }
  | { readonly _tag: "event"; readonly event: TroupeEvent }
  | { readonly _tag: "shutdown" }

export type WorkerToHost =
  | { readonly _tag: "ready" }
  | { readonly _tag: "loaded"; readonly plugin: PluginInfo }
  | { readonly _tag: "loadFailed"; readonly error: LoadFailure }
  | { readonly _tag: "result"; readonly id: number; readonly ok: boolean; readonly content: string }
  | { readonly _tag: "pong"; readonly id: number }
  | {
      readonly _tag: "host"
      readonly id: number
      /** The tool call on whose behalf the host is asked; absent from setup and hooks. */
      readonly callId: number | undefined
      readonly method: string
      readonly args: unknown
    }
  | { readonly _tag: "closed" }

/** Longest tool result sent back to the model, in characters. */
export const defaultResultLimit = 16 * 1024

/** Cut `text` to `limit` characters, saying how much was left out. */
export const capText = (text: string, limit: number): string =>
  text.length <= limit ? text : `${text.slice(0, limit)}\n… [truncated: ${text.length - limit} more characters]`
