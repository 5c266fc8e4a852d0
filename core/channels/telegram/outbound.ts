/**
 * The three platform calls a streamed reply needs (send, edit, typing) for one reply target. Markdown chunks are
 * rendered to Telegram HTML here (or stripped to plain text); a chunk Telegram cannot parse is sent again as plain
 * text. In groups the first message replies to the user's message; in forum topics every message stays in the topic.
 */
import { Clock, Duration, Effect } from "effect"
import { DeliveryError, type ReplyTarget } from "../Channel.ts"
import { stripMarkdown } from "../text/markdown.ts"
import type { PlatformOps } from "../text/StreamingReply.ts"
import { markdownToTelegramHtml } from "./html.ts"
import { platformMessageId } from "./inbound.ts"
import type { TelegramApi, TelegramCallError } from "./TelegramApi.ts"

/**
 * Edits paced per chat across replies: Telegram's limits are per chat, and several replies can stream into one chat at
 * once (forum topics, per-user history). An edit waits while another reply edited in the same chat less than the
 * interval ago; a reply's own edits are spaced by its streaming, so a lone reply never waits here.
 */
export type EditPacer = (chatId: number, reply: string, intervalMs: number) => Effect.Effect<void>

export const makeEditPacer = (): EditPacer => {
  const last = new Map<number, { readonly reply: string; readonly at: number }>()
  return (chatId, reply, intervalMs) =>
    Effect.gen(function* () {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const previous = last.get(chatId)
        const wait = previous !== undefined && previous.reply !== reply ? previous.at + intervalMs - now : 0
        if (wait <= 0) {
          last.set(chatId, { reply, at: now })
          if (last.size > 1000) {
            for (const [id, entry] of last) if (entry.at <= now - 60_000) last.delete(id)
          }
          return
        }
        yield* Effect.sleep(Duration.millis(wait))
      }
    })
}

export interface OutboundOptions {
  readonly channel: string
  /** `html`: render markdown as Telegram HTML; `plain`: strip it. */
  readonly format: "html" | "plain"
  readonly timeoutMs: number
  readonly pace: EditPacer
  /** Minimum time between edits of different replies in one chat. */
  readonly editIntervalMs: number
}

interface Body {
  readonly text: string
  readonly html: boolean
}

/** What to send for a markdown chunk. */
const bodyOf = (markdown: string, format: "html" | "plain"): Body => {
  if (format === "plain") return { text: plainOf(markdown), html: false }
  const html = markdownToTelegramHtml(markdown)
  // Markup around nothing (an empty code block, say) would be an empty message, which Telegram refuses.
  if (html.replace(/<[^>]*>/g, "").trim() === "") return { text: markdown, html: false }
  return { text: html, html: true }
}

const plainOf = (markdown: string) => {
  const plain = stripMarkdown(markdown)
  return plain.trim() === "" ? markdown : plain
}

const deliveryError = (channel: string, error: TelegramCallError) =>
  new DeliveryError({ channel, reason: error.message, ambiguous: error.kind === "unknown" })

export const telegramOps = (api: TelegramApi, target: ReplyTarget, options: OutboundOptions): PlatformOps => {
  const chatId = Number(target.chat.id)
  const thread = target.thread === undefined ? undefined : Number(target.thread)
  const replyTo = target.chat.kind === "dm" ? undefined : platformMessageId(target.replyTo)
  const where = thread === undefined ? {} : { message_thread_id: thread }
  const send = { idempotent: false, timeoutMs: options.timeoutMs } as const
  const edit = { idempotent: true, timeoutMs: options.timeoutMs } as const

  const sendBody = (body: Body, chunk: number) =>
    api.call(
      "sendMessage",
      (raw, signal) =>
        raw.sendMessage(
          chatId,
          body.text,
          {
            ...where,
            ...(body.html ? { parse_mode: "HTML" as const } : {}),
            ...(chunk === 0 && replyTo !== undefined
              ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }
              : {})
          },
          signal
        ),
      send
    )

  const editBody = (messageId: number, body: Body) =>
    Effect.zipRight(
      options.pace(chatId, target.turnId, options.editIntervalMs),
      api.call(
        "editMessageText",
        (raw, signal) =>
          raw.editMessageText(chatId, messageId, body.text, body.html ? { parse_mode: "HTML" } : {}, signal),
        edit
      )
    )

  return {
    send: (markdown, chunk) => {
      const body = bodyOf(markdown, options.format)
      return sendBody(body, chunk).pipe(
        // A parse error means nothing was sent: the same chunk goes again as plain text.
        Effect.catchIf(
          (error) => error.kind === "parse",
          (error) =>
            Effect.zipRight(
              Effect.logWarning(`telegram: HTML refused (${error.reason}), sending as plain text`),
              sendBody({ text: plainOf(markdown), html: false }, chunk)
            )
        ),
        Effect.map((message) => String(message.message_id)),
        Effect.tapError((error) =>
          error.kind === "unknown"
            ? Effect.logWarning(
                `telegram: sendMessage to chat ${chatId} has an unknown outcome (${error.reason}); it may or may not have arrived, and it is not sent again (Telegram has no idempotency key)`
              )
            : Effect.void
        ),
        Effect.mapError((error) => deliveryError(options.channel, error))
      )
    },
    edit: (messageId, markdown) => {
      const id = Number(messageId)
      const body = bodyOf(markdown, options.format)
      return editBody(id, body).pipe(
        Effect.catchIf(
          (error) => error.kind === "parse",
          (error) =>
            Effect.zipRight(
              Effect.logWarning(`telegram: HTML refused (${error.reason}), editing as plain text`),
              editBody(id, { text: plainOf(markdown), html: false })
            )
        ),
        Effect.asVoid,
        Effect.catchIf(
          (error) => error.kind === "not_modified",
          () => Effect.void
        ),
        Effect.mapError((error) => deliveryError(options.channel, error))
      )
    },
    typing: () =>
      api
        .call("sendChatAction", (raw, signal) => raw.sendChatAction(chatId, "typing", where, signal), {
          idempotent: true,
          timeoutMs: options.timeoutMs,
          attempts: 1
        })
        .pipe(
          Effect.asVoid,
          Effect.catchAll((error) => Effect.logDebug(`telegram: typing: ${error.reason}`))
        )
  }
}
