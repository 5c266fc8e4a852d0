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
import { Effect, Option } from "effect"
import type { LanguageCode } from "grammy/types"
import { Config } from "../../config/Config.ts"
import { Http } from "../../http/HttpServer.ts"
import { LlmProviders } from "../../llm/Providers.ts"
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
import { makeStreamingReply } from "../text/StreamingReply.ts"
import { commandLanguages, commandMenu } from "./messages.ts"
import { makeEditPacer, telegramOps } from "./outbound.ts"
import { pollUpdates } from "./polling.ts"
import { makeTelegramApi, type TelegramApi } from "./TelegramApi.ts"
import type { TelegramConfig } from "./TelegramConfig.ts"
import { makeUpdateHandler } from "./updates.ts"
import { startWebhook } from "./webhook.ts"

/** Telegram's message length limit (UTF-16 code units of the visible text). */
export const TELEGRAM_LIMIT = 4096

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

    const pace = makeEditPacer()
    const openReply = (target: ReplyTarget): ReplySink => {
      if (state === "failed") return failedSink
      const persona = host.persona()
      const editInterval = target.chat.kind === "dm" ? config.editInterval : config.groupEditInterval
      const ops = telegramOps(api, target, {
        channel: host.id,
        format: formatOf(persona),
        timeoutMs,
        pace,
        editIntervalMs: editInterval
      })
      return makeStreamingReply(
        target,
        ops,
        {
          channel: host.id,
          persona: persona.id,
          limit: TELEGRAM_LIMIT,
          stream: config.stream,
          editInterval,
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
