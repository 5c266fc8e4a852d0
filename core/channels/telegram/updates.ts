/**
 * One Telegram update in, one `MessageReceived` out for the persona's router, after the checks that belong to the
 * platform: the allowlists (with their optional one-time refusal) and files the model cannot look at (answered with a
 * short bot-side text instead of a turn). Everything else (whether to answer, rate limits, duplicates) is the router's.
 */
import { Cause, Effect, Option } from "effect"
import type { Message, Update, UserFromGetMe } from "grammy/types"
import { mergePolicy } from "../../conversation/ReplyPolicyConfig.ts"
import type { Attachment, Author, Chat } from "../../events/Events.ts"
import { botMessage } from "../../i18n/messages.ts"
import { lookupModel } from "../../llm/ModelTable.ts"
import { type LlmProviders, presets } from "../../llm/Providers.ts"
import { newCorrelationId } from "../../log/Correlation.ts"
import type { PersonaDefinition } from "../../persona/Persona.ts"
import type { Store } from "../../store/Store.ts"
import type { ChannelHost, ReplySink, ReplyTarget } from "../Channel.ts"
import { outboxKey } from "../text/StreamingReply.ts"
import { fileRefsOf, loadAttachments } from "./attachments.ts"
import {
  addressingOf,
  authorOf,
  chatOf,
  messageIdOf,
  messageOf,
  textOf,
  threadOf,
  toMessageReceived
} from "./inbound.ts"
import type { TelegramApi } from "./TelegramApi.ts"
import type { TelegramConfig } from "./TelegramConfig.ts"

/** Images larger than this are not downloaded for the model. */
const MAX_IMAGE_BYTES = 10 * 1024 * 1024

export interface HandlerDeps {
  readonly config: TelegramConfig
  readonly host: ChannelHost
  readonly api: TelegramApi
  readonly store: Store["Type"]
  readonly me: UserFromGetMe
  readonly openReply: (target: ReplyTarget) => ReplySink
  readonly providers: LlmProviders["Type"] | undefined
  readonly timeoutMs: number
}

/** Whether the persona's main model takes images: the persona says so, else its provider, else the model table. */
const visionOf = (persona: PersonaDefinition, providers: LlmProviders["Type"] | undefined) =>
  Effect.gen(function* () {
    if (persona.model.vision !== undefined) return persona.model.vision
    const provider = providers
      ? Option.getOrUndefined(yield* Effect.option(providers.get(persona.model.provider)))
      : undefined
    const model =
      persona.model.model ??
      provider?.defaultModel ??
      (presets as Readonly<Record<string, { readonly defaultModel?: string }>>)[persona.model.provider]?.defaultModel
    if (model === undefined) return false
    return provider ? provider.supportsVision(model) : lookupModel(model).vision
  })

/** Turns one update into a `MessageReceived` for the router (or a short bot-side answer). Never fails. */
export const makeUpdateHandler = (deps: HandlerDeps) => {
  const { config, host, api, store, me } = deps
  const allowChats = new Set(config.allowChats)
  const allowUsers = new Set(config.allowUsers)
  const allowed = (chat: Chat, author: Author) =>
    (allowChats.size === 0 || allowChats.has(chat.id)) && (allowUsers.size === 0 || allowUsers.has(author.id))

  /** A bot-side text sent without the model, at most once per `turnId` (its outbox entry is the record). */
  const notice = (message: Message, chat: Chat, author: Author, turnId: string, text: string) =>
    Effect.gen(function* () {
      if ((yield* store.outboxGet(outboxKey(turnId, 0))) !== undefined) return
      const persona = host.persona()
      const thread = threadOf(message)
      const conversationId = `${persona.id}/${host.id}/${chat.id}${thread === undefined ? "" : `/${thread}`}`
      const correlationId = newCorrelationId()
      if (host.dryRun) return yield* Effect.logInfo(`telegram notice (dry run) to ${conversationId}: ${text}`)
      yield* deps
        .openReply({
          conversationId,
          chat,
          ...(thread === undefined ? {} : { thread }),
          replyTo: messageIdOf(host.id, message, false),
          userId: author.id,
          turnId,
          correlationId
        })
        .emit({
          _tag: "ReplyCompleted",
          at: Date.now(),
          correlationId,
          persona: persona.id,
          conversationId,
          turnId,
          text,
          provider: "troupe",
          model: "none",
          usage: { input: 0, output: 0 },
          finishReason: "stop",
          durationMs: 0
        })
        .pipe(Effect.catchAll((error) => Effect.logWarning(`telegram: notice not delivered: ${error.reason}`)))
    })

  return (update: Update): Effect.Effect<void> =>
    Effect.gen(function* () {
      const got = messageOf(update, config.edited)
      if (got === undefined) return
      const { message, edited } = got
      const chat = chatOf(message)
      const author = authorOf(message, (id) => host.accounts.has("telegram", id))
      if (chat === undefined || author === undefined) return
      const text = textOf(message)
      const refs = fileRefsOf(message)
      // Joins, pins, stickers and other messages without text or files are not for the model.
      if (text.trim() === "" && refs.length === 0) return
      const addressing = addressingOf(message, me)
      const addressed =
        chat.kind === "dm" || addressing.mentioned || addressing.replyToSelf || addressing.command !== undefined
      if (!allowed(chat, author)) {
        yield* Effect.logDebug(`telegram: chat ${chat.id} / user ${author.id} is not in the allowlists`)
        if (config.refusal !== undefined && addressed) {
          yield* notice(message, chat, author, `refusal/${host.id}/${chat.id}`, config.refusal)
        }
        return
      }
      const persona = host.persona()
      let attachments: ReadonlyArray<Attachment> = []
      if (refs.length > 0) {
        const loaded = yield* loadAttachments(api, refs, {
          vision: yield* visionOf(persona, deps.providers),
          maxBytes: MAX_IMAGE_BYTES,
          timeoutMs: deps.timeoutMs
        })
        if (!loaded.visible && text.trim() === "") {
          // Only a file the model cannot look at: say so instead of asking the model about nothing.
          const policy = mergePolicy(persona.reply, config.reply)
          const answers =
            chat.kind === "dm" ? policy.dms : (addressing.replyToSelf && policy.replies) || policy.everything
          if (answers) {
            const key = refs.every((ref) => ref.kind === "image") ? "cant_see_images" : "cant_see_files"
            const turnId = `files/${host.id}/${chat.id}/${message.message_id}`
            yield* notice(message, chat, author, turnId, botMessage(persona, key, author.language))
          }
          return
        }
        attachments = loaded.attachments
      }
      yield* host.receive(
        toMessageReceived({
          channel: host.id,
          persona: persona.id,
          correlationId: newCorrelationId(),
          me,
          message,
          edited,
          chat,
          author,
          attachments
        })
      )
    }).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logError(`telegram: could not handle update ${update.update_id}`, cause)
      )
    )
}
