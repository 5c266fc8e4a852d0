/**
 * What the host accepts from a Worker. Plugin code runs there, so every message is decoded before it is used: a
 * malformed one is dropped (and logged) instead of crashing the host or resolving the wrong call.
 */
import { Either, Schema } from "effect"
import type { WorkerToHost } from "./protocol.ts"

const Id = Schema.Int.pipe(Schema.positive())
const Text = Schema.String

const ToolInfo = Schema.Struct({
  name: Text,
  description: Text,
  parameters: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  timeoutMs: Schema.UndefinedOr(Schema.Number.pipe(Schema.positive())),
  secret: Schema.Array(Text)
})

const WorkerMessage = Schema.Union(
  Schema.TaggedStruct("ready", {}),
  Schema.TaggedStruct("loaded", {
    plugin: Schema.Struct({
      name: Text,
      version: Text,
      description: Text,
      tools: Schema.Array(ToolInfo),
      hooks: Schema.Array(Text),
      enabled: Schema.Boolean
    })
  }),
  Schema.TaggedStruct("loadFailed", {
    error: Schema.Struct({
      message: Text,
      file: Schema.optional(Schema.UndefinedOr(Text)),
      line: Schema.optional(Schema.UndefinedOr(Schema.Number)),
      column: Schema.optional(Schema.UndefinedOr(Schema.Number))
    })
  }),
  Schema.TaggedStruct("result", { id: Id, ok: Schema.Boolean, content: Text }),
  Schema.TaggedStruct("pong", { id: Id }),
  Schema.TaggedStruct("host", { id: Id, callId: Schema.UndefinedOr(Id), method: Text, args: Schema.Unknown }),
  Schema.TaggedStruct("closed", {})
)

const decode = Schema.decodeUnknownEither(WorkerMessage)

/** The message, or `undefined` when it is not one the host knows. */
export const checkWorkerMessage = (data: unknown): WorkerToHost | undefined => {
  const decoded = decode(data)
  return Either.isRight(decoded) ? (decoded.right as WorkerToHost) : undefined
}
