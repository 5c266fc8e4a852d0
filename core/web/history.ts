/** A tab's stored conversation with a persona, as the `History` answer to `Select` carries it. */
import { Effect } from "effect"
import type { PluginHostService } from "../plugins/PluginHost.ts"
import type { StoreService } from "../store/Store.ts"
import type { HistoryMessage, ServerMessageOf } from "./Protocol.ts"
import { conversationIdOf } from "./WebChannel.ts"

/** Messages of a conversation sent back on `Select`. */
export const historyLimit = 200

/** `ok` and `durationMs` of a stored tool result (kept in its `meta`). */
const toolOutcome = (meta: Readonly<Record<string, unknown>> | undefined) => ({
  ...(typeof meta?.ok === "boolean" ? { ok: meta.ok } : {}),
  ...(typeof meta?.durationMs === "number" ? { durationMs: meta.durationMs } : {})
})

/** The last `historyLimit` messages, oldest first; tool arguments with their secret fields redacted. */
export const historyOf = (store: StoreService, host: PluginHostService, persona: string, tab: string) =>
  Effect.gen(function* () {
    const conversationId = conversationIdOf(persona, tab)
    const stored = yield* store.history(conversationId, historyLimit)
    const messages: Array<HistoryMessage> = []
    for (const message of stored) {
      if (message.role === "system") continue
      messages.push({
        role: message.role,
        text: message.content,
        at: message.at,
        ...(message.toolCalls && message.toolCalls.length > 0
          ? {
              toolCalls: message.toolCalls.map((call) => ({
                id: call.id,
                name: call.name,
                arguments: host.redactArguments(call.name, call.arguments)
              }))
            }
          : {}),
        ...(message.toolCallId === undefined ? {} : { toolCallId: message.toolCallId }),
        ...(message.toolName === undefined ? {} : { toolName: message.toolName }),
        ...toolOutcome(message.meta)
      })
    }
    const answer: ServerMessageOf<"History"> = { _tag: "History", persona, conversationId, messages }
    return answer
  })
