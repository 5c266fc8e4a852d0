/**
 * An in-process provider (`api: memory`) that answers at once with a fixed or computed short text and plausible usage.
 * Benchmarks and tests use it as a real `LlmProvider` (it goes through the whole agent loop), not as a bypass.
 *
 * @example
 * const instant = makeInstantProvider({ reply: (request) => `you said ${request.messages.length} things` })
 * LlmProviders.layerTest([instant])
 */
import { CONTINUE_PROMPT } from "./continuation.ts"
import { completionStream, eventsCompletion } from "./internal/completion.ts"
import { answerEvents, lastUserText, words } from "./internal/local.ts"
import type { ChatRequest, Completion, LlmProvider, Usage } from "./Provider.ts"

export interface InstantProviderOptions {
  /** Default `instant`. */
  readonly name?: string
  /** The answer: a text, or computed from the request. Default: `ok: <the user's last message>`. */
  readonly reply?: string | ((request: ChatRequest) => string)
  /** Split the answer into this many deltas (default: one per word). */
  readonly chunks?: number
  /** Reported usage (default: about four characters a token). */
  readonly usage?: Usage
  /** Model facts (defaults: 128k tokens, no vision). */
  readonly contextWindow?: number
  readonly vision?: boolean
  readonly timeoutMs?: number
  readonly maxRetries?: number
}

const split = (text: string, chunks: number | undefined): string[] => {
  if (chunks === undefined) return words(text)
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, chunks)))
  const pieces: string[] = []
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size))
  return pieces
}

/**
 * When asked to continue a cut answer (the partial answer, then the loop's continue prompt), where to pick up. An
 * ordinary history whose last answer happens to equal this one is not a continuation.
 */
const continuedFrom = (request: ChatRequest, text: string): number => {
  const partial = request.messages.at(-2)
  const ask = request.messages.at(-1)
  const continuing = ask?.role === "user" && ask.content === CONTINUE_PROMPT
  return continuing && partial?.role === "assistant" && partial.content !== "" && text.startsWith(partial.content)
    ? partial.content.length
    : 0
}

export const makeInstantProvider = (options: InstantProviderOptions = {}): LlmProvider => {
  const reply = options.reply ?? ((request: ChatRequest) => `ok: ${lastUserText(request.messages)}`)
  const start = (request: ChatRequest): Completion => {
    const text = typeof reply === "string" ? reply : reply(request)
    return eventsCompletion(
      answerEvents(split(text.slice(continuedFrom(request, text)), options.chunks), request, options.usage)
    )
  }
  return {
    name: options.name ?? "instant",
    api: "memory",
    defaultModel: "instant",
    timeoutMs: options.timeoutMs ?? 60_000,
    maxRetries: options.maxRetries ?? 0,
    supportsVision: () => options.vision ?? false,
    contextWindow: () => options.contextWindow ?? 128_000,
    start,
    stream: (request) => completionStream(() => start(request))
  }
}
