/**
 * The Telegram channel: one bot token, long polling (default) or a webhook on the runtime's HTTP server. Inbound
 * updates become `MessageReceived` events for the persona's router; replies are streamed by editing the first message
 * (`makeStreamingReply`), rendered as Telegram HTML, split at 4,096 characters.
 *
 * Setup (run by the channel actor, so a failure is retried with backoff): getMe, then `deleteWebhook` and the poll
 * loop, or the webhook route and `setWebhook`; the command menu is registered in the background. A revoked token
 * (401), at setup or later, does not fail the actor (it would only be restarted into the same 401): the channel stays
 * up in the `failed` state with one error line in the log, and the persona's other channels go on.
 *
 * @example
 * # persona.yaml
 * channels:
 *   - type: telegram
 *     token: ${TELEGRAM_BOT_TOKEN:-}
 *     allow_chats: [-1001234567890]
 */
import { Cause, Effect, Option } from "effect"
import type { LanguageCode, Message, Update, UserFromGetMe } from "grammy/types"
import { Config } from "../../config/Config.ts"
import { mergePolicy } from "../../conversation/ReplyPolicyConfig.ts"
import type { Attachment, Author, Chat } from "../../events/Events.ts"
import { Http } from "../../http/HttpServer.ts"
import { botMessage } from "../../i18n/messages.ts"
import { lookupModel } from "../../llm/ModelTable.ts"
import { LlmProviders, presets } from "../../llm/Providers.ts"
import { newCorrelationId } from "../../log/Correlation.ts"
import { Redaction } from "../../log/Redactor.ts"
import type { PersonaDefinition } from "../../persona/Persona.ts"
import { Store } from "../../store/Store.ts"
import {
  type ChannelFactory,
  ChannelFailed,
  type ChannelInstance,
  type ChannelState,
  DeliveryError,
  type ReplySink,
  type ReplyTarget
} from "../Channel.ts"
import { makeStreamingReply, outboxKey } from "../text/StreamingReply.ts"
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
import { commandLanguages, commandMenu } from "./messages.ts"
import { telegramOps } from "./outbound.ts"
import { pollUpdates } from "./polling.ts"
import { makeTelegramApi, type TelegramApi } from "./TelegramApi.ts"
import type { TelegramConfig } from "./TelegramConfig.ts"
import { startWebhook } from "./webhook.ts"

/** Telegram's message length limit (UTF-16 code units of the visible text). */
export const TELEGRAM_LIMIT = 4096
/** Images larger than this are not downloaded for the model. */
const MAX_IMAGE_BYTES = 10 * 1024 * 1024

const unauthorizedReason =
  "Telegram rejected the bot token (401 Unauthorized): it was revoked or is wrong. Fix channels[].token; this channel stays off until then"

export const telegramChannel: ChannelFactory<TelegramConfig> = (config, host) =>
  Effect.gen(function* () {
    const fail = (reason: string) => Effect.fail(new ChannelFailed({ channel: host.id, reason }))
    const store = Option.getOrUndefined(yield* Effect.serviceOption(Store))
    if (store === undefined) return yield* fail("the store is not available to the channel")
    const http = Option.getOrUndefined(yield* Effect.serviceOption(Http))
    const redaction = Option.getOrUndefined(yield* Effect.serviceOption(Redaction))
    const loaded = Option.getOrUndefined(yield* Effect.serviceOption(Config))
    const providers = Option.getOrUndefined(yield* Effect.serviceOption(LlmProviders))
    const scope = yield* Effect.scope
    redaction?.add(config.token)

    let state: ChannelState = "connecting"
    const setState = (next: ChannelState, reason?: string) => {
      state = next
      host.setState(next, reason)
    }
    const onUnauthorized = (method: string) =>
      Effect.suspend(() => {
        if (state === "failed") return Effect.void
        setState("failed", unauthorizedReason)
        return Effect.logError(`telegram ${host.id}: ${unauthorizedReason} (seen on ${method})`)
      })

    const api = makeTelegramApi({ token: config.token, apiRoot: config.apiRoot, onUnauthorized })
    const timeoutMs = config.requestTimeout

    // Chunks a previous run left pending or unknown may or may not be on Telegram: without an idempotency key the
    // only safe choice is not to send them again.
    for (const entry of yield* store.outboxPending(host.id)) {
      yield* store.outboxMark(entry.key, "dropped")
      yield* Effect.logWarning(
        `telegram ${host.id}: dropping reply chunk ${entry.key} (${entry.status}) of ${entry.conversationId}: it may already be on Telegram, which has no idempotency key to resend it safely`
      )
    }

    const failedSink: ReplySink = {
      emit: () => Effect.fail(new DeliveryError({ channel: host.id, reason: `channel is ${state}`, ambiguous: false }))
    }

    const formatOf = (persona: PersonaDefinition) =>
      config.format === "plain" || persona.style.stripMarkdown ? ("plain" as const) : ("html" as const)

    const openReply = (target: ReplyTarget): ReplySink => {
      if (state === "failed") return failedSink
      const persona = host.persona()
      const ops = telegramOps(api, target, { channel: host.id, format: formatOf(persona), timeoutMs })
      return makeStreamingReply(
        target,
        ops,
        {
          channel: host.id,
          persona: persona.id,
          limit: TELEGRAM_LIMIT,
          stream: config.stream,
          editInterval: target.chat.kind === "dm" ? config.editInterval : config.groupEditInterval,
          typingInterval: config.typingInterval
        },
        store,
        scope
      )
    }

    const instance: ChannelInstance = {
      id: host.id,
      platform: "telegram",
      state: () => state,
      openReply,
      context: () => undefined,
      maxMessageLength: TELEGRAM_LIMIT,
      attachments: true
    }

    const identity = yield* Effect.either(
      api.call("getMe", (raw, signal) => raw.getMe(signal), { idempotent: true, timeoutMs })
    )
    if (identity._tag === "Left") {
      if (identity.left.kind === "unauthorized") return instance
      return yield* fail(`getMe failed: ${identity.left.reason}`)
    }
    const me = identity.right
    host.accounts.add("telegram", String(me.id))
    yield* Effect.addFinalizer(() => Effect.sync(() => host.accounts.remove("telegram", String(me.id))))

    const handle = makeUpdateHandler({ config, host, api, store, me, openReply, providers, timeoutMs })
    const allowedUpdates =
      config.edited === "answer" ? (["message", "edited_message"] as const) : (["message"] as const)

    if (config.mode === "webhook") {
      if (http === undefined) return yield* fail("webhook mode needs the runtime's HTTP server")
      const started = yield* Effect.either(
        startWebhook({
          config,
          api,
          http,
          me,
          publicUrl: loaded?.config.http.publicUrl,
          allowedUpdates,
          timeoutMs,
          handle,
          redact: (secret) => redaction?.add(secret)
        })
      )
      if (started._tag === "Left") {
        const error = started.left
        if (error.unauthorized) return instance
        if (error.retry) return yield* fail(error.reason)
        setState("failed", error.reason)
        yield* Effect.logError(`telegram ${host.id}: ${error.reason}`)
        return instance
      }
      yield* Effect.logInfo(`telegram ${host.id}: @${me.username} receives updates at its webhook`)
    } else {
      const cleared = yield* Effect.either(
        api.call("deleteWebhook", (raw, signal) => raw.deleteWebhook({}, signal), { idempotent: true, timeoutMs })
      )
      if (cleared._tag === "Left") {
        if (cleared.left.kind === "unauthorized") return instance
        return yield* fail(`deleteWebhook failed: ${cleared.left.reason}`)
      }
      yield* Effect.forkScoped(
        pollUpdates({
          api,
          store,
          botId: me.id,
          pollSeconds: Math.max(1, Math.round(config.pollTimeout / 1000)),
          slackMs: Math.max(10_000, timeoutMs),
          allowedUpdates,
          handle,
          onDown: (reason) => {
            if (state !== "failed" && state !== "down") setState("down", reason)
          },
          onUp: () => {
            if (state === "down") setState("ready")
          }
        })
      )
      yield* Effect.logInfo(`telegram ${host.id}: @${me.username} is polling for updates`)
    }
    if (config.commands) yield* Effect.forkScoped(registerCommands(api, host.persona(), timeoutMs))
    if (state === "connecting") setState("ready")
    return instance
  }).pipe(Effect.annotateLogs({ channel: host.id }))

/** The command menu: a default one in the persona's language, and one per catalogue language. */
const registerCommands = (api: TelegramApi, persona: PersonaDefinition, timeoutMs: number) =>
  Effect.gen(function* () {
    const set = (language: string | undefined) =>
      api.call(
        "setMyCommands",
        (raw, signal) =>
          raw.setMyCommands(
            commandMenu(persona, language ?? persona.language),
            language === undefined ? undefined : { language_code: language as LanguageCode },
            signal
          ),
        { idempotent: true, timeoutMs }
      )
    yield* set(undefined)
    for (const language of commandLanguages) yield* set(language)
  }).pipe(
    Effect.catchAll((error) =>
      error.kind === "unauthorized" ? Effect.void : Effect.logWarning(`telegram: setMyCommands failed: ${error.reason}`)
    )
  )

interface HandlerDeps {
  readonly config: TelegramConfig
  readonly host: Parameters<ChannelFactory<TelegramConfig>>[1]
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
const makeUpdateHandler = (deps: HandlerDeps) => {
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
          yield* notice(message, chat, author, `refusal-${chat.id}`, config.refusal)
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
            const turnId = `files-${chat.id}-${message.message_id}`
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
