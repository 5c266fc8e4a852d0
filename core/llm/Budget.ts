/**
 * Token arithmetic of the agent loop: a conservative token estimate, trimming history to fit a context window, and
 * the progressive output budget (start small, double when an answer is cut for length, never past `max_tokens`).
 */
import type { ChatMessage, ToolSpec } from "./Provider.ts"

/** What one image is assumed to cost (OpenAI high detail ~765–1105, Anthropic ~1600 at full size). */
export const IMAGE_TOKENS = 1_200
/** Role markers and separators around each message. */
export const MESSAGE_OVERHEAD = 4
/** Part of the context window left unused, for the estimate's error. */
export const SAFETY_MARGIN = 0.05
/** A continuation with a smaller budget than this is not worth a call. */
export const MIN_CONTINUATION_TOKENS = 16

/**
 * Tokens of `text`, erring high: about four ASCII characters a token, two for anything else (Cyrillic, Greek and CJK
 * tokenize much denser than English).
 */
export const estimateTokens = (text: string): number => {
  let ascii = 0
  let other = 0
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) < 128) ascii++
    else other++
  }
  return Math.ceil(ascii / 4 + other / 2)
}

export const messageTokens = (message: ChatMessage): number => {
  let tokens = MESSAGE_OVERHEAD
  if (typeof message.content === "string") tokens += estimateTokens(message.content)
  else for (const part of message.content) tokens += part.type === "text" ? estimateTokens(part.text) : IMAGE_TOKENS
  if (message.role === "assistant" && message.toolCalls !== undefined) {
    for (const call of message.toolCalls)
      tokens += MESSAGE_OVERHEAD + estimateTokens(call.name) + estimateTokens(call.arguments)
  }
  return tokens
}

export const messagesTokens = (messages: ReadonlyArray<ChatMessage>): number => {
  let tokens = 0
  for (const message of messages) tokens += messageTokens(message)
  return tokens
}

export const toolsTokens = (tools: ReadonlyArray<ToolSpec> | undefined): number =>
  tools === undefined || tools.length === 0
    ? 0
    : estimateTokens(JSON.stringify(tools)) + tools.length * MESSAGE_OVERHEAD

/** A piece of history that is kept or dropped whole: one message, or an assistant's tool calls with their results. */
export interface HistoryUnit {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tokens: number
}

export const unit = (messages: ReadonlyArray<ChatMessage>): HistoryUnit => ({
  messages,
  tokens: messagesTokens(messages)
})

/**
 * Tokens left for history in a context window once the fixed parts (system prompt, tools, this turn's messages) and
 * the output budget are taken out.
 */
export const historyBudget = (options: {
  readonly contextWindow: number
  readonly outputTokens: number
  readonly fixedTokens: number
}): number => Math.floor(options.contextWindow * (1 - SAFETY_MARGIN)) - options.outputTokens - options.fixedTokens

/**
 * The newest units that fit in `budget` tokens, oldest first. Stops at the first unit that does not fit (an older,
 * smaller one is not kept in its place: the history stays contiguous), so a tool call is never split from its results.
 */
export const trimHistory = (units: ReadonlyArray<HistoryUnit>, budget: number): ChatMessage[] => {
  let left = budget
  let first = units.length
  while (first > 0) {
    const tokens = units[first - 1]!.tokens
    if (tokens > left) break
    left -= tokens
    first--
  }
  const out: ChatMessage[] = []
  for (let i = first; i < units.length; i++) out.push(...units[i]!.messages)
  return out
}

/** Output budget of the first call of an answer. */
export const initialOutputBudget = (initialTokens: number, maxTokens: number): number =>
  Math.max(1, Math.min(initialTokens, maxTokens))

/**
 * Budget of the next continuation after a call cut for length: double the last one, but the answer as a whole never
 * uses more than `maxTokens`. `undefined` when the answer has used its budget.
 */
export const nextOutputBudget = (previous: number, usedSoFar: number, maxTokens: number): number | undefined => {
  const next = Math.min(previous * 2, maxTokens - usedSoFar)
  return next >= MIN_CONTINUATION_TOKENS ? next : undefined
}
