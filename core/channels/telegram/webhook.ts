/**
 * Webhook mode: Telegram POSTs updates to a route on the runtime's own HTTP server (`Http.addRoute`, removed when the
 * channel stops). grammY's Bun adapter checks `X-Telegram-Bot-Api-Secret-Token` in constant time: a wrong or missing
 * secret is answered 401 and nothing is processed. An update is answered 200 only once it is handed to the router,
 * so Telegram redelivers what a crash interrupted (and the router recognises what it already has).
 */
import { randomBytes } from "node:crypto"
import { Effect, Runtime, type Scope } from "effect"
import { Bot, webhookCallback } from "grammy"
import type { Update, UserFromGetMe } from "grammy/types"
import type { HttpService } from "../../http/HttpServer.ts"
import type { TelegramApi } from "./TelegramApi.ts"
import type { TelegramConfig } from "./TelegramConfig.ts"

export interface WebhookOptions {
  readonly config: TelegramConfig
  readonly api: TelegramApi
  readonly http: HttpService
  readonly me: UserFromGetMe
  /** `http.public_url` from config.yaml, when set. */
  readonly publicUrl: string | undefined
  readonly allowedUpdates: ReadonlyArray<"message" | "edited_message">
  readonly timeoutMs: number
  readonly handle: (update: Update) => Effect.Effect<void>
  /** Register a generated secret with the log redactor. */
  readonly redact: (secret: string) => void
}

export const webhookPath = (config: TelegramConfig, botId: number) => config.webhook?.path ?? `/telegram/${botId}`

/** Where Telegram should POST: `webhook.url`, else `http.public_url` + the path. */
export const webhookUrl = (config: TelegramConfig, botId: number, publicUrl: string | undefined) =>
  config.webhook?.url ?? (publicUrl ? `${publicUrl.replace(/\/+$/, "")}${webhookPath(config, botId)}` : undefined)

/** Why the webhook could not be set up; `retry` when trying again later may help (not for a missing URL). */
export interface WebhookError {
  readonly reason: string
  readonly retry: boolean
  readonly unauthorized: boolean
}

/** Serve the route, then tell Telegram about it. Returns the URL Telegram posts to. */
export const startWebhook = (options: WebhookOptions): Effect.Effect<string, WebhookError, Scope.Scope> =>
  Effect.gen(function* () {
    const { config, me } = options
    const url = webhookUrl(config, me.id, options.publicUrl)
    if (url === undefined) {
      return yield* Effect.fail<WebhookError>({
        reason: "webhook mode needs a public URL: set channels[].webhook.url, or http.public_url in config.yaml",
        retry: false,
        unauthorized: false
      })
    }
    // Without a configured secret, a random one per start still keeps strangers from posting updates.
    const secret = config.webhook?.secret ?? randomBytes(24).toString("base64url")
    options.redact(secret)
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromise(runtime)
    const bot = new Bot(config.token, { botInfo: me, client: { apiRoot: config.apiRoot } })
    bot.use((ctx) => run(options.handle(ctx.update)))
    const callback = webhookCallback(bot, "bun", {
      secretToken: secret,
      onTimeout: "throw",
      timeoutMilliseconds: 60_000
    })
    yield* options.http.addRoute({
      path: webhookPath(config, me.id),
      methods: ["POST"],
      handler: (request) => callback(request)
    })
    yield* options.api
      .call(
        "setWebhook",
        (raw, signal) =>
          raw.setWebhook(url, { secret_token: secret, allowed_updates: [...options.allowedUpdates] }, signal),
        { idempotent: true, timeoutMs: options.timeoutMs }
      )
      .pipe(
        Effect.mapError(
          (error): WebhookError => ({
            reason: `setWebhook failed: ${error.reason}`,
            retry: error.kind !== "rejected",
            unauthorized: error.kind === "unauthorized"
          })
        )
      )
    return url
  })
