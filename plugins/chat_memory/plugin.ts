/**
 * `chat_memory`: how many messages this conversation has stored, and trimming it to the newest N ("forget what we
 * talked about"). Only the calling conversation is reachable: the host picks it from the call, not the arguments.
 *
 * A copyable example of the smallest useful plugin around a host service (`ctx.memory`).
 */
import { definePlugin, defineTool, Schema } from "troupe/sdk"

export default definePlugin({
  name: "chat_memory",
  version: "1.0.0",
  description: "Message count of this conversation; trim it to the newest messages",
  tools: [
    defineTool({
      name: "chat_memory",
      description:
        "See how many messages of this conversation are stored (action 'count'), or forget all but the newest " +
        "'keep' messages (action 'trim'; only when the user asks you to forget).",
      parameters: Schema.Struct({
        action: Schema.Literal("count", "trim"),
        keep: Schema.optional(
          Schema.Int.pipe(Schema.between(0, 100_000)).annotations({
            description: "trim: how many newest messages stay"
          })
        )
      }),
      run: async ({ action, keep }, ctx) => {
        if (action === "count") {
          const count = await ctx.memory.count()
          return `${count} message${count === 1 ? "" : "s"} stored in this conversation`
        }
        if (keep === undefined) throw new Error("trim needs 'keep' (how many of the newest messages to keep)")
        // The host answers with the number removed (the runtime also says how many are left).
        const answer = (await ctx.memory.trim(keep)) as number | { deleted: number; kept: number }
        const deleted = typeof answer === "number" ? answer : answer.deleted
        const kept = typeof answer === "number" ? await ctx.memory.count() : answer.kept
        return `removed ${deleted} message${deleted === 1 ? "" : "s"}; ${kept} kept`
      }
    })
  ]
})
