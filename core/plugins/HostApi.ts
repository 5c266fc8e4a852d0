/**
 * The host services a plugin reaches over its Worker boundary: notes, scheduler, conversation memory, outbound HTTP
 * and logging. A plugin's `ctx.notes.save(…)` becomes `{ host: "notes.save", args, callId }`; the host finds the tool
 * call `callId` names and hands its `ToolCallContext` to the handler registered here, so the owner of a note (persona
 * + user) always comes from the conversation, never from the plugin or the model.
 *
 * The runtime registers the real handlers (store, scheduler, HTTP guard); tests register in-memory ones.
 *
 * @example
 * const api = yield* HostApi
 * yield* api.register("notes.get", (ctx, { key }) => store.getNote(`${ctx.persona}/${ctx.userId}`, key))
 */
import { Context, Effect, Either, Layer, Schema } from "effect"
import type { ToolCallContext } from "../tools/Tools.ts"
import { formatDecodeError } from "./internal/decodeError.ts"

/** A host call that could not be served; its message goes back to the plugin as a rejected promise. */
export class HostError extends Schema.TaggedError<HostError>()("HostError", {
  method: Schema.String,
  message: Schema.String
}) {}

const Key = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const Limit = Schema.optional(Schema.Int.pipe(Schema.between(1, 1000)))

/** The arguments of every host method, checked before a handler sees them. */
export const HostArgs = {
  "notes.save": Schema.Struct({ key: Key, text: Schema.String.pipe(Schema.maxLength(64 * 1024)) }),
  "notes.get": Schema.Struct({ key: Key }),
  "notes.search": Schema.Struct({ query: Schema.String, limit: Limit }),
  "notes.list": Schema.Struct({ limit: Limit }),
  "notes.delete": Schema.Struct({ key: Key }),
  "scheduler.schedule": Schema.Struct({
    prompt: Schema.String.pipe(Schema.minLength(1)),
    /** Epoch milliseconds. */
    at: Schema.optional(Schema.Number),
    inMs: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
    everyMs: Schema.optional(Schema.Number.pipe(Schema.positive()))
  }),
  "scheduler.list": Schema.Struct({}),
  "scheduler.cancel": Schema.Struct({ id: Schema.String }),
  "scheduler.delete": Schema.Struct({ id: Schema.String }),
  "memory.count": Schema.Struct({}),
  "memory.trim": Schema.Struct({ keep: Schema.Int.pipe(Schema.nonNegative()) }),
  "http.fetch": Schema.Struct({
    url: Schema.String,
    method: Schema.String,
    headers: Schema.Array(Schema.Tuple(Schema.String, Schema.String)),
    body: Schema.NullOr(Schema.Union(Schema.String, Schema.instanceOf(ArrayBuffer), Schema.instanceOf(Uint8Array)))
  }),
  log: Schema.Struct({
    level: Schema.Literal("info", "warn", "error"),
    message: Schema.String,
    fields: Schema.Record({ key: Schema.String, value: Schema.Unknown })
  })
} as const

export type HostMethod = keyof typeof HostArgs
export type HostArgsOf<M extends HostMethod> = Schema.Schema.Type<(typeof HostArgs)[M]>

/** What `http.fetch` answers (the Worker rebuilds a `Response` from it). */
export interface WireResponse {
  readonly url: string
  readonly status: number
  readonly statusText: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: ArrayBuffer | string | null
}

/** Which plugin (and tool, inside a call) is asking. */
export interface HostCaller {
  readonly plugin: string
  /** Undefined when the call comes from `setup` or a hook rather than a tool call. */
  readonly tool: string | undefined
}

/**
 * Serves one host method. `ctx` is the context of the tool call the plugin is running (for calls from `setup` and
 * hooks, which only may use `log` and `http.fetch`, a context with empty persona and user).
 */
export type HostHandler<M extends HostMethod = HostMethod> = (
  ctx: ToolCallContext,
  args: HostArgsOf<M>,
  caller: HostCaller
) => Effect.Effect<unknown, HostError>

/** Methods a plugin may use outside a tool call. */
export const contextFreeMethods: ReadonlySet<string> = new Set<HostMethod>(["log", "http.fetch"])

export interface HostApiService {
  /** Set (or replace) the handler of a method. */
  readonly register: <M extends HostMethod>(method: M, handler: HostHandler<M>) => Effect.Effect<void>
  /** Check the arguments and run the method's handler. */
  readonly call: (
    method: string,
    ctx: ToolCallContext,
    args: unknown,
    caller: HostCaller
  ) => Effect.Effect<unknown, HostError>
  readonly methods: () => ReadonlyArray<string>
}

/** The plugin's `ctx.log` lines, in the host log with the plugin, tool and persona attached. */
const logHandler: HostHandler<"log"> = (ctx, { level, message, fields }, caller) => {
  const log = level === "error" ? Effect.logError : level === "warn" ? Effect.logWarning : Effect.logInfo
  return log(message).pipe(
    Effect.annotateLogs({
      ...fields,
      plugin: caller.plugin,
      ...(caller.tool ? { tool: caller.tool } : {}),
      ...(ctx.persona ? { persona: ctx.persona, cid: ctx.correlationId } : {})
    })
  )
}

export const makeHostApi = (): HostApiService => {
  const handlers = new Map<string, HostHandler<any>>([["log", logHandler]])
  return {
    register: (method, handler) => Effect.sync(() => void handlers.set(method, handler)),
    call: (method, ctx, args, caller) =>
      Effect.suspend(() => {
        const handler = handlers.get(method)
        const schema = (HostArgs as Record<string, Schema.Schema<any, any, never>>)[method]
        if (!handler || !schema) return Effect.fail(new HostError({ method, message: `${method} is not available` }))
        const decoded = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(args)
        if (Either.isLeft(decoded)) {
          return Effect.fail(new HostError({ method, message: `${method}: ${formatDecodeError(decoded.left)}` }))
        }
        return handler(ctx, decoded.right, caller)
      }),
    methods: () => [...handlers.keys()]
  }
}

export class HostApi extends Context.Tag("troupe/HostApi")<HostApi, HostApiService>() {
  /** A registry with only `log`; the runtime registers the rest. */
  static readonly layer = Layer.sync(HostApi, makeHostApi)
}
