/**
 * Building the prompt of a turn: the system prompt (persona, example dialogue, room, date and time), the history
 * window as trimmable units, and this turn's new messages with their images.
 *
 * Example dialogue goes into the system prompt, marked as examples, for every provider alike: it then never mixes with
 * the real history, is never trimmed, and cannot break a provider's rules about the order of turns.
 */
import type { RoomContext } from "../channels/Channel.ts"
import type { MessageReceived } from "../events/Events.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import type { StoredMessage } from "../store/Store.ts"
import { type HistoryUnit, unit } from "./Budget.ts"
import type { ChatMessage, ContentPart, ToolCall } from "./Provider.ts"

type PromptPersona = Pick<PersonaDefinition, "systemPrompt" | "examples">
type TurnMessage = Pick<MessageReceived, "author" | "text" | "attachments">

const MAX_RECENT_LINES = 20
const MAX_LINE = 300
const MAX_USERS = 50

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

const weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
const pad = (n: number) => String(n).padStart(2, "0")

/** `Monday, 2025-01-06 14:05 UTC` */
export const formatNow = (now: number): string => {
  const date = new Date(now)
  return `${weekdays[date.getUTCDay()]}, ${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`
}

/** `83` → `1:23`, `3725` → `1:02:05` */
export const formatDuration = (seconds: number): string => {
  const total = Math.max(0, Math.floor(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`
}

/** The room as a few compact lines, or "" when the channel told us nothing. */
export const describeRoom = (room: RoomContext | undefined): string => {
  if (room === undefined) return ""
  const lines: string[] = []
  if (room.users !== undefined && room.users.length > 0) {
    const names = room.users.slice(0, MAX_USERS).map((user) => (user.afk ? `${user.name} (away)` : user.name))
    const more = room.users.length > MAX_USERS ? `, and ${room.users.length - MAX_USERS} more` : ""
    lines.push(`People here (${room.users.length}): ${names.join(", ")}${more}`)
  }
  if (room.media !== undefined) {
    const { title, type, positionSec, durationSec } = room.media
    const at = durationSec > 0 ? `, ${formatDuration(positionSec)} of ${formatDuration(durationSec)}` : ""
    lines.push(`Now playing: "${clip(title, 200)}" (${type})${at}`)
  }
  if (room.recent !== undefined && room.recent.length > 0) {
    lines.push("Recent chat:")
    for (const line of room.recent.slice(-MAX_RECENT_LINES)) lines.push(`${line.user}: ${clip(line.text, MAX_LINE)}`)
  }
  return lines.join("\n")
}

/**
 * The system prompt of a turn.
 *
 * @example
 * systemPrompt(persona, { now: Date.now(), room, names: true })
 */
export const systemPrompt = (
  persona: PromptPersona,
  options: { readonly now: number; readonly room?: RoomContext | undefined; readonly names: boolean }
): string => {
  const sections: string[] = []
  if (persona.systemPrompt.trim() !== "") sections.push(persona.systemPrompt.trim())
  if (persona.examples.length > 0) {
    const examples = persona.examples.map((example) => `User: ${example.user}\nYou: ${example.assistant}`).join("\n\n")
    sections.push(`## Example dialogue\nHow you talk (examples only, not part of this conversation):\n\n${examples}`)
  }
  const room = describeRoom(options.room)
  if (room !== "") sections.push(`## Where you are\n${room}`)
  if (options.names) sections.push('Messages from people start with their name ("Name: text").')
  sections.push(`Current date and time: ${formatNow(options.now)}`)
  return sections.join("\n\n")
}

const attachmentNote = (count: number) => (count === 1 ? "[an attachment]" : `[${count} attachments]`)

const storedToolCalls = (message: StoredMessage): ReadonlyArray<ToolCall> => message.toolCalls ?? []

/** Units of single messages (not tool-call groups, which depend on their neighbours), by message object. */
const plainUnits = new WeakMap<StoredMessage, HistoryUnit>()
const namedUnits = new WeakMap<StoredMessage, HistoryUnit>()

const remember = (memo: WeakMap<StoredMessage, HistoryUnit>, message: StoredMessage, value: HistoryUnit) => {
  memo.set(message, value)
  return value
}

/**
 * The history window as units, oldest first: each message alone, except an assistant message that called tools,
 * which forms one unit with its results. Tool results whose call is not in the unit before them (orphans left by a
 * trimmed store) are dropped, and so are calls whose result is missing (an interrupted turn): every provider rejects
 * a call without its result.
 */
export const historyUnits = (
  history: ReadonlyArray<StoredMessage>,
  options: { readonly names: boolean }
): HistoryUnit[] => {
  const units: HistoryUnit[] = []
  // A conversation passes the same message objects turn after turn: the unit of a plain message (and its token
  // estimate) is computed once per object.
  const memo = options.names ? namedUnits : plainUnits
  let i = 0
  while (i < history.length) {
    const message = history[i]!
    i++
    const known = memo.get(message)
    if (known) {
      units.push(known)
      continue
    }
    switch (message.role) {
      case "user": {
        const attachments = Array.isArray(message.meta?.attachments) ? message.meta.attachments.length : 0
        const text =
          attachments > 0
            ? `${message.content}${message.content ? " " : ""}${attachmentNote(attachments)}`
            : message.content
        const named = options.names && message.authorName ? `${message.authorName}: ${text}` : text
        units.push(remember(memo, message, unit([{ role: "user", content: named }])))
        break
      }
      case "system":
        // Notes the runtime stored (a scheduled instruction, say): the model reads them as bracketed user turns.
        units.push(remember(memo, message, unit([{ role: "user", content: `[${message.content}]` }])))
        break
      case "assistant": {
        const calls = storedToolCalls(message)
        if (calls.length === 0) {
          if (message.content !== "") {
            units.push(remember(memo, message, unit([{ role: "assistant", content: message.content }])))
          }
          break
        }
        const ids = new Set(calls.map((call) => call.id))
        const results: ChatMessage[] = []
        const answered = new Set<string>()
        while (i < history.length && history[i]!.role === "tool") {
          const result = history[i]!
          i++
          if (result.toolCallId !== undefined && ids.has(result.toolCallId) && !answered.has(result.toolCallId)) {
            answered.add(result.toolCallId)
            results.push({
              role: "tool",
              toolCallId: result.toolCallId,
              name: result.toolName ?? calls.find((call) => call.id === result.toolCallId)?.name ?? "tool",
              content: result.content
            })
          }
        }
        const kept = calls.filter((call) => answered.has(call.id))
        if (kept.length > 0) {
          units.push(
            unit([
              {
                role: "assistant",
                content: message.content,
                toolCalls: kept.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }))
              },
              ...results
            ])
          )
        } else if (message.content !== "") {
          units.push(unit([{ role: "assistant", content: message.content }]))
        }
        break
      }
      case "tool":
        // An orphan: its call is not right before it.
        break
    }
  }
  return units
}

/** This turn's new user messages (several when folded), with images as parts and other files as a note. */
export const currentMessages = (
  messages: ReadonlyArray<TurnMessage>,
  options: { readonly names: boolean; readonly instruction?: string | undefined }
): ChatMessage[] => {
  const out: ChatMessage[] = []
  for (const message of messages) {
    const prefix = options.names ? `${message.author.name}: ` : ""
    const notes: string[] = []
    const images: ContentPart[] = []
    for (const attachment of message.attachments) {
      if (attachment.kind === "image" && (attachment.data !== undefined || attachment.url !== undefined)) {
        images.push({
          type: "image",
          mime: attachment.mime,
          ...(attachment.data === undefined ? {} : { data: attachment.data }),
          ...(attachment.data === undefined && attachment.url !== undefined ? { url: attachment.url } : {})
        })
      } else {
        notes.push(
          `[attached ${attachment.kind}${attachment.name ? ` "${attachment.name}"` : ""} (${attachment.mime})]`
        )
      }
    }
    const text = [message.text, ...notes].filter((part) => part !== "").join(" ")
    if (images.length === 0) out.push({ role: "user", content: `${prefix}${text}` })
    else {
      const head = `${prefix}${text}`.trim()
      out.push({ role: "user", content: [...(head === "" ? [] : [{ type: "text" as const, text: head }]), ...images] })
    }
  }
  if (options.instruction !== undefined && options.instruction.trim() !== "") {
    out.push({ role: "user", content: `[Scheduled instruction, not from a user: ${options.instruction.trim()}]` })
  }
  return out
}

/** The note that replaces images for a model that cannot see them. */
export const IMAGE_NOTE = "[an image was attached, but you cannot see images]"

/** The same messages with every image replaced by a short note (for a model without vision). */
export const withoutImages = (messages: ReadonlyArray<ChatMessage>): ReadonlyArray<ChatMessage> => {
  if (!messages.some((message) => message.role === "user" && typeof message.content !== "string")) return messages
  return messages.map((message) => {
    if (message.role !== "user" || typeof message.content === "string") return message
    const images = message.content.filter((part) => part.type === "image").length
    if (images === 0) return message
    const text = message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n")
    const note = images === 1 ? IMAGE_NOTE : IMAGE_NOTE.replace("an image was", `${images} images were`)
    return { ...message, content: text === "" ? note : `${text} ${note}` }
  })
}

/** Whether any message carries an image. */
export const hasImages = (messages: ReadonlyArray<ChatMessage>): boolean =>
  messages.some(
    (message) =>
      message.role === "user" &&
      typeof message.content !== "string" &&
      message.content.some((part) => part.type === "image")
  )
