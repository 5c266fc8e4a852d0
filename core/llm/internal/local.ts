/** Helpers for the in-process providers (echo, instant): no network, so no timeouts or cancellation to wire. */
import type { ChatMessage, ChatRequest, StreamEvent, Usage } from "../Provider.ts"

/** Text of the last user message (its text parts), or "" when there is none. */
export const lastUserText = (messages: ReadonlyArray<ChatMessage>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role !== "user") continue
    if (typeof message.content === "string") return message.content
    return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n")
  }
  return ""
}

/** About four characters a token, at least one. */
export const roughTokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4))

/** Characters of prompt text, for a plausible input token count. */
export const promptChars = (request: ChatRequest): number => {
  let chars = request.system.length
  for (const message of request.messages) {
    if (typeof message.content === "string") chars += message.content.length
    else for (const part of message.content) chars += part.type === "text" ? part.text.length : 1000
  }
  return chars
}

/** Split into words, each keeping its trailing whitespace: "a b" → ["a ", "b"]. */
export const words = (text: string): string[] => text.match(/\S+\s*|\s+/g) ?? []

/**
 * A finished answer as events: the pieces as deltas, then `Finished`. Honours `maxTokens` roughly (four characters
 * a token) by cutting the text and finishing with `length`, so the agent loop's continuation works against it too.
 */
export const answerEvents = (
  pieces: ReadonlyArray<string>,
  request: ChatRequest,
  usage?: Usage
): ReadonlyArray<StreamEvent> => {
  const budget = request.maxTokens * 4
  const events: StreamEvent[] = []
  let chars = 0
  let cut = false
  for (const piece of pieces) {
    if (chars + piece.length > budget) {
      const rest = piece.slice(0, budget - chars)
      if (rest !== "") events.push({ _tag: "TextDelta", text: rest })
      chars = budget
      cut = true
      break
    }
    if (piece !== "") events.push({ _tag: "TextDelta", text: piece })
    chars += piece.length
  }
  events.push({
    _tag: "Finished",
    finishReason: cut ? "length" : "stop",
    usage: usage ?? { input: roughTokens(promptChars(request)), output: roughTokens(chars) },
    toolCalls: []
  })
  return events
}
