/**
 * Scripted replies for the fake LLM server. A test queues steps with `llm.script(...)` or
 * `llm.scriptFor(model, ...)`; each request to either API consumes one step and the server renders it in that
 * API's wire format (OpenAI Chat Completions or Anthropic Messages, streaming or not).
 *
 * @example
 * llm.script(
 *   { text: "Hello there, friend" },
 *   { toolCalls: [{ name: "roll_dice", arguments: { sides: 20 } }] },
 *   { error: 429, retryAfter: 2 }
 * )
 */
export type Step = TextStep | ToolCallStep | ErrorStep | CutStep | HangStep

/** Token counts reported for a reply (OpenAI `prompt_tokens`/`completion_tokens`, Anthropic `input_tokens`/`output_tokens`). */
export interface Usage {
  readonly input: number
  readonly output: number
}

/** Timing knobs shared by the steps that produce a reply. All default to 0 (no timers at all). */
export interface StepTiming {
  /** Wait this long before sending anything (no status line, no headers), like a slow time to first byte. */
  readonly delayMs?: number
  /** Wait this long between two streamed SSE events. Ignored for non-streaming requests. */
  readonly chunkDelayMs?: number
}

/**
 * A text reply, streamed as several deltas.
 *
 * @example
 * { text: "The answer is 42", chunks: ["The ans", "wer is", " 42"] }
 */
export interface TextStep extends StepTiming {
  readonly text: string
  /**
   * How to split `text` into deltas: a count of roughly equal pieces, or the exact pieces (they must join to `text`).
   * Default: one delta per word (each word keeps its trailing whitespace).
   */
  readonly chunks?: number | readonly string[]
  /** `"stop"` (Anthropic `end_turn`, the default) or `"length"` (Anthropic `max_tokens`). */
  readonly finish?: "stop" | "length"
  /** Reported token counts. Default: input = request text chars / 4, output = reply chars / 4 (rounded up). */
  readonly usage?: Usage
}

/** One tool call the model asks for. */
export interface ToolCallSpec {
  /** Default: `call_<n>` for OpenAI, `toolu_<n>` for Anthropic (`n` counts calls since start or `reset()`). */
  readonly id?: string
  readonly name: string
  /**
   * The arguments: an object is JSON-encoded; a string is sent verbatim (so a test can send malformed JSON).
   * Streamed as several `arguments` / `partial_json` fragments.
   */
  readonly arguments: Record<string, unknown> | string
}

/**
 * One or several (parallel) tool calls, optionally preceded by text. Finishes with `tool_calls` (OpenAI) or
 * `tool_use` (Anthropic).
 *
 * @example
 * { toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }, { name: "get_time", arguments: {} }] }
 */
export interface ToolCallStep extends StepTiming {
  readonly toolCalls: readonly ToolCallSpec[]
  readonly text?: string
  readonly usage?: Usage
}

/**
 * An HTTP error in the API's own JSON error shape, sent before any stream starts. Both SDKs map the status to their
 * error classes (429 → `RateLimitError`, 5xx → `InternalServerError`, 401 → `AuthenticationError`, …).
 *
 * @example
 * { error: 429, retryAfter: 3 }
 */
export interface ErrorStep {
  /** HTTP status, e.g. 400, 401, 403, 404, 429, 500, 502, 503, 529. */
  readonly error: number
  readonly message?: string
  /** Seconds, sent as the `retry-after` header (plus rate-limit headers on a 429). */
  readonly retryAfter?: number
  /** Extra response headers, e.g. `{ "x-should-retry": "false" }`. */
  readonly headers?: Readonly<Record<string, string>>
  readonly delayMs?: number
}

/**
 * Start streaming `text`, send `cutAfterChunks` content deltas, then reset the TCP connection: no finish chunk,
 * no `[DONE]` / `message_stop`. The SDK's stream iteration throws (a Bun `TypeError` with `code: "ECONNRESET"`).
 * For a non-streaming request the connection is reset halfway through the JSON body.
 *
 * Bun's fetch discards body bytes that arrived but were not read yet when the connection dies, so a client that
 * is slow to read (many concurrent streams) may see fewer deltas than sent; raise `cutDelayMs` if a test counts them.
 */
export interface CutStep extends StepTiming {
  readonly cutAfterChunks: number
  readonly text: string
  readonly chunks?: number | readonly string[]
  /** Pause between the last delta and the reset. Default 20 ms. */
  readonly cutDelayMs?: number
}

/**
 * Accept the request and send nothing for `hangMs`, then answer with the default echo reply. The wait ends early,
 * without leaving timers behind, when the client disconnects or the server stops.
 */
export interface HangStep {
  readonly hangMs: number
}
