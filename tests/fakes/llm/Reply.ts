import type { CutStep, TextStep, ToolCallStep, Usage } from "./Step.ts"

/** An API-neutral reply: what to say, already split into the deltas each wire format streams. */
export interface Reply {
  readonly text: string
  readonly textChunks: readonly string[]
  readonly toolCalls: readonly PlannedToolCall[]
  readonly finish: "stop" | "length" | "tool_calls"
  readonly usage: Usage
}

export interface PlannedToolCall {
  readonly id: string
  readonly name: string
  /** The complete JSON text of the arguments. */
  readonly arguments: string
  readonly argumentChunks: readonly string[]
}

/** What the server needs to know about an incoming request to plan a reply. */
export interface RequestFacts {
  readonly model: string
  readonly stream: boolean
  /** Text of the last user message that has text ("" when none). */
  readonly lastUserText: string
  /** Characters of prompt text (system + messages), for the default usage estimate. */
  readonly inputChars: number
}

const tokens = (chars: number) => Math.max(1, Math.ceil(chars / 4))

/** Split into words, each keeping its trailing whitespace: "a b" → ["a ", "b"]. */
export const splitWords = (text: string): string[] => text.match(/\S+\s*|\s+/g) ?? []

/** Split into `n` pieces of near-equal length (by code point), fewer when the text is shorter than `n`. */
export const splitEvenly = (text: string, n: number): string[] => {
  const points = Array.from(text)
  const count = Math.max(1, Math.min(Math.floor(n), points.length))
  const pieces: string[] = []
  for (let i = 0; i < count; i++) {
    const piece = points.slice(Math.round((i * points.length) / count), Math.round(((i + 1) * points.length) / count))
    if (piece.length > 0) pieces.push(piece.join(""))
  }
  return pieces
}

export const splitText = (text: string, chunks: number | readonly string[] | undefined): string[] => {
  if (chunks === undefined) return splitWords(text)
  if (typeof chunks === "number") return splitEvenly(text, chunks)
  return [...chunks]
}

/** The default reply when nothing is scripted: `echo: <last user text>`. */
export const echoStep = (facts: RequestFacts): TextStep => ({ text: `echo: ${facts.lastUserText}` })

export const planText = (step: TextStep | CutStep, facts: RequestFacts): Reply => {
  const textChunks = splitText(step.text, step.chunks)
  return {
    text: step.text,
    textChunks,
    toolCalls: [],
    finish: "finish" in step && step.finish === "length" ? "length" : "stop",
    usage: ("usage" in step ? step.usage : undefined) ?? {
      input: tokens(facts.inputChars),
      output: tokens(step.text.length)
    }
  }
}

export const planToolCalls = (step: ToolCallStep, facts: RequestFacts, nextToolId: () => string): Reply => {
  const text = step.text ?? ""
  const toolCalls = step.toolCalls.map((call): PlannedToolCall => {
    const args = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)
    return { id: call.id ?? nextToolId(), name: call.name, arguments: args, argumentChunks: splitEvenly(args, 3) }
  })
  const outputChars = text.length + toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0)
  return {
    text,
    textChunks: text === "" ? [] : splitWords(text),
    toolCalls,
    finish: "tool_calls",
    usage: step.usage ?? { input: tokens(facts.inputChars), output: tokens(outputChars) }
  }
}
