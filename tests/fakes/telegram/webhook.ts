import type { BotState } from "./state.ts"
import type { WebhookDelivery } from "./types.ts"

// Webhook delivery: while a webhook is set, pending updates are POSTed one at a time, oldest first, as JSON with
// the secret header when one was given. A 2xx answer confirms the update; anything else (or no answer) keeps it
// pending and retries after a short pause, or at once when a new update arrives.

export interface WebhookDeps {
  readonly retryMs: number
  readonly timeoutMs: number
  readonly record: (delivery: WebhookDelivery) => void
  /** Runs a method the webhook answered with (`{ "method": "sendMessage", ... }`), like Telegram does. */
  readonly applyReply: (bot: BotState, body: Record<string, unknown>) => Promise<void>
}

const SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

const replyBody = (text: string): Record<string, unknown> | undefined => {
  if (text.trim() === "") return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null && typeof (parsed as { method?: unknown }).method === "string") {
      return parsed as Record<string, unknown>
    }
  } catch {
    // a non-JSON body is fine: Telegram ignores it
  }
  return undefined
}

/** Starts delivering the bot's pending updates unless a delivery is already running. */
export const kickWebhook = (bot: BotState, deps: WebhookDeps): void => {
  const hook = bot.webhook
  if (hook === undefined || hook.inFlight || bot.revoked) return
  if (hook.retryTimer !== undefined) {
    clearTimeout(hook.retryTimer)
    hook.retryTimer = undefined
  }
  if (bot.pending.length === 0) return
  hook.inFlight = true
  const run = async () => {
    while (bot.webhook === hook && !hook.abort.signal.aborted && bot.pending.length > 0) {
      const update = bot.pending[0]!
      let status: number | null = null
      let statusText = ""
      let error: string | undefined
      let body = ""
      try {
        const response = await fetch(hook.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(hook.secretToken === undefined ? {} : { [SECRET_HEADER]: hook.secretToken })
          },
          body: JSON.stringify(update),
          signal: AbortSignal.any([hook.abort.signal, AbortSignal.timeout(deps.timeoutMs)])
        })
        status = response.status
        statusText = response.statusText
        body = await response.text()
      } catch (cause) {
        error = describe(cause)
      }
      if (hook.abort.signal.aborted) return
      deps.record({
        token: bot.token,
        url: hook.url,
        update_id: update.update_id,
        status,
        ...(error === undefined ? {} : { error }),
        ...(hook.secretToken === undefined ? {} : { secretToken: hook.secretToken }),
        at: Date.now()
      })
      if (status !== null && status >= 200 && status < 300) {
        bot.pending = bot.pending.filter((u) => u.update_id !== update.update_id)
        const reply = replyBody(body)
        if (reply !== undefined) await deps.applyReply(bot, reply)
        continue
      }
      hook.lastErrorDate = Math.floor(Date.now() / 1000)
      hook.lastErrorMessage =
        status === null ? (error ?? "Connection failed") : `Wrong response from the webhook: ${status} ${statusText}`
      hook.retryTimer = setTimeout(() => {
        hook.retryTimer = undefined
        kickWebhook(bot, deps)
      }, deps.retryMs)
      return
    }
  }
  void run().finally(() => {
    hook.inFlight = false
    // an update may have arrived between the loop's last check and now
    const idle = hook.retryTimer === undefined && !hook.abort.signal.aborted
    if (idle && bot.webhook === hook && bot.pending.length > 0) kickWebhook(bot, deps)
  })
}
