/**
 * Between rows and values: the bindings of a message and the objects read back. Optional fields that are NULL in a
 * row are left out of the object, so what comes back equals what went in.
 */
import type { SQLQueryBindings } from "bun:sqlite"
import type { Job, NewMessage, OutboxEntry, StoredMessage } from "../Store.ts"

/** A `messages` row as selected (column aliases are already camelCase). */
export interface MessageRow {
  id: number
  conversationId: string
  role: string
  content: string
  at: number
  authorId: string | null
  authorName: string | null
  inboundId: string | null
  turnId: string | null
  toolCalls: string | null
  toolCallId: string | null
  toolName: string | null
  tokensIn: number | null
  tokensOut: number | null
  meta: string | null
}

export const messageBindings = (m: NewMessage): Array<SQLQueryBindings> => [
  m.conversationId,
  m.role,
  m.content,
  m.at,
  m.authorId ?? null,
  m.authorName ?? null,
  m.inboundId ?? null,
  m.turnId ?? null,
  m.toolCalls === undefined ? null : JSON.stringify(m.toolCalls),
  m.toolCallId ?? null,
  m.toolName ?? null,
  m.tokensIn ?? null,
  m.tokensOut ?? null,
  m.meta === undefined ? null : JSON.stringify(m.meta)
]

export const toMessage = (row: MessageRow): StoredMessage => {
  const message: Record<string, unknown> = {
    id: row.id,
    conversationId: row.conversationId,
    role: row.role,
    content: row.content,
    at: row.at
  }
  if (row.authorId !== null) message.authorId = row.authorId
  if (row.authorName !== null) message.authorName = row.authorName
  if (row.inboundId !== null) message.inboundId = row.inboundId
  if (row.turnId !== null) message.turnId = row.turnId
  if (row.toolCalls !== null) message.toolCalls = JSON.parse(row.toolCalls)
  if (row.toolCallId !== null) message.toolCallId = row.toolCallId
  if (row.toolName !== null) message.toolName = row.toolName
  if (row.tokensIn !== null) message.tokensIn = row.tokensIn
  if (row.tokensOut !== null) message.tokensOut = row.tokensOut
  if (row.meta !== null) message.meta = JSON.parse(row.meta)
  return message as unknown as StoredMessage
}

/** A `jobs` row as selected. */
export interface JobRow {
  id: string
  persona: string
  conversationId: string
  owner: string
  prompt: string
  kind: string
  nextAt: number
  intervalMs: number | null
  status: string
  createdAt: number
  lastRunAt: number | null
}

export const toJob = (row: JobRow): Job => {
  const { intervalMs, lastRunAt, ...rest } = row
  const job: Record<string, unknown> = rest
  if (intervalMs !== null) job.intervalMs = intervalMs
  if (lastRunAt !== null) job.lastRunAt = lastRunAt
  return job as unknown as Job
}

/** An `outbox` row as selected. */
export interface OutboxRow extends Omit<OutboxEntry, "platformId"> {
  platformId: string | null
}

export const toOutbox = (row: OutboxRow): OutboxEntry => {
  const { platformId, ...rest } = row
  return (platformId === null ? rest : { ...rest, platformId }) as OutboxEntry
}

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

/** 8 random base-36 characters (about 41 bits). */
export const jobId = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  let id = ""
  for (const byte of bytes) id += alphabet[byte % 36]
  return id
}

/** `query` as a LIKE pattern matching it anywhere, with `\`, `%` and `_` taken literally (use `ESCAPE '\'`). */
export const containsPattern = (query: string): string => `%${query.replace(/[\\%_]/g, "\\$&")}%`
