/**
 * `examples.md`: sample dialogue that shows the model how the persona talks.
 *
 * The format, line by line:
 *
 * ```
 * user: How far can the light be seen?
 * assistant: Twenty-two nautical miles on a clear night.
 * On a foggy one, not past the harbour wall.
 *
 * user: Do you ever get lonely?
 * assistant: The gulls keep me honest.
 * ```
 *
 * - A turn starts with a speaker label at the start of a line: `user:` or `assistant:` (any case); `{{user}}:` and
 *   `{{char}}:` (Character Card style), `<USER>:` and `<BOT>:`, and `<persona name>:` are accepted too.
 * - Lines without a label continue the turn above (blank lines inside a turn are kept; trailing ones are dropped).
 * - Each `user` turn and the `assistant` turn after it make one example. An `assistant` turn with no `user` turn before
 *   it is an opening line (an example whose user text is empty).
 * - `<START>`, `---` and markdown headings (`# …`) separate conversations; they are optional.
 * - To start a line of text with something that looks like a label, write a backslash first: `\user: …`.
 */
import type { Example } from "./Persona.ts"

export interface ExampleIssue {
  /** 1-based line in the text. */
  readonly line: number
  readonly message: string
}

export interface ParsedExamples {
  readonly examples: ReadonlyArray<Example>
  readonly issues: ReadonlyArray<ExampleIssue>
}

type Speaker = "user" | "assistant"

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const labelPattern = (charName?: string) => {
  const names = ["user", "assistant", "\\{\\{user\\}\\}", "\\{\\{char\\}\\}", "<user>", "<bot>"]
  if (charName) names.push(escapeRegExp(charName))
  return new RegExp(`^(${names.join("|")})\\s*:[ \\t]?(.*)$`, "i")
}

const separator = /^\s*(<start>|---+|#{1,6}\s.*|#{1,6})\s*$/i

const speakerOf = (label: string): Speaker => {
  const lower = label.toLowerCase()
  return lower === "user" || lower === "{{user}}" || lower === "<user>" ? "user" : "assistant"
}

/**
 * Parse sample dialogue. `charName` is also accepted as the assistant's label. Text outside any turn is reported in
 * `issues` (with its line) and otherwise ignored.
 */
export const parseExamples = (text: string, options: { readonly charName?: string } = {}): ParsedExamples => {
  const label = labelPattern(options.charName)
  const examples: Array<Example> = []
  const issues: Array<ExampleIssue> = []
  let turn: { speaker: Speaker; lines: Array<string> } | undefined
  let pendingUser: string | undefined

  const closeTurn = () => {
    if (!turn) return
    const content = turn.lines.join("\n").replace(/\s+$/, "")
    if (turn.speaker === "user") {
      pendingUser = pendingUser === undefined ? content : `${pendingUser}\n${content}`
    } else {
      examples.push({ user: pendingUser ?? "", assistant: content })
      pendingUser = undefined
    }
    turn = undefined
  }
  const closeConversation = () => {
    closeTurn()
    pendingUser = undefined
  }

  const lines = text.replace(/\r\n?/g, "\n").split("\n")
  for (const [index, raw] of lines.entries()) {
    if (separator.test(raw)) {
      closeConversation()
      continue
    }
    const match = label.exec(raw)
    if (match) {
      const speaker = speakerOf(match[1]!)
      if (turn?.speaker !== speaker) closeTurn()
      if (turn) turn.lines.push(match[2]!)
      else turn = { speaker, lines: [match[2]!] }
      continue
    }
    const line = raw.startsWith("\\") ? raw.slice(1) : raw
    if (turn) turn.lines.push(line)
    else if (line.trim() !== "") {
      issues.push({ line: index + 1, message: "expected a line starting with user: or assistant:" })
    }
  }
  closeConversation()
  return { examples, issues }
}

const escapeLine = (line: string, label: RegExp) =>
  label.test(line) || separator.test(line) || line.startsWith("\\") ? `\\${line}` : line

const turnText = (speaker: Speaker, text: string, label: RegExp) => {
  const [first = "", ...rest] = text.split("\n")
  return [`${speaker}: ${first}`, ...rest.map((line) => escapeLine(line, label))].join("\n")
}

/** Write examples in the `examples.md` format; `parseExamples` reads them back unchanged. */
export const formatExamples = (examples: ReadonlyArray<Example>): string => {
  const label = labelPattern()
  const blocks = examples.map((example, index) =>
    example.user === ""
      ? // An opening line after another example would continue that example's answer: start a new conversation.
        `${index > 0 ? "<START>\n" : ""}${turnText("assistant", example.assistant, label)}`
      : `${turnText("user", example.user, label)}\n${turnText("assistant", example.assistant, label)}`
  )
  return `${blocks.join("\n\n")}\n`
}
