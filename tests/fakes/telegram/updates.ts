import { bool, int, str } from "./params.ts"
import { type ApiResult, type BotState, badRequest, fail, ok, type Poller } from "./state.ts"
import type { ApiCall, UpdateType } from "./types.ts"
import { kickWebhook, type WebhookDeps } from "./webhook.ts"

// getUpdates (long polling) and the webhook methods. Updates stay pending until confirmed: by a getUpdates
// whose offset is above their update_id, or by a 2xx answer from the webhook.

type Params = Record<string, unknown>

const CONFLICT_OTHER =
  "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
const CONFLICT_WEBHOOK_ACTIVE =
  "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
const CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"

const allowedUpdates = (value: unknown): readonly UpdateType[] | undefined =>
  Array.isArray(value) ? (value.filter((v) => typeof v === "string") as UpdateType[]) : undefined

export const getUpdates = (
  bot: BotState,
  params: Params,
  signal: AbortSignal | undefined,
  call: ApiCall | undefined
): ApiResult | Promise<ApiResult> => {
  if (bot.webhook !== undefined) return fail(409, CONFLICT_WEBHOOK_ACTIVE)
  const allowed = allowedUpdates(params.allowed_updates)
  if (allowed !== undefined) bot.allowedUpdates = allowed
  const offset = int(params.offset) ?? 0
  if (offset > 0) bot.pending = bot.pending.filter((u) => u.update_id >= offset)
  else if (offset < 0) bot.pending = bot.pending.slice(offset)
  const limit = Math.min(100, Math.max(1, int(params.limit) ?? 100))
  // Telegram wants whole seconds; fractions are accepted here so tests can poll briefly
  const timeout = Math.max(0, Number(params.timeout ?? 0) || 0)
  bot.poller?.respond(fail(409, CONFLICT_OTHER))
  if (bot.pending.length > 0 || timeout === 0) return ok(bot.pending.slice(0, limit))
  return new Promise<ApiResult>((resolve) => {
    const finish = (result: ApiResult) => {
      clearTimeout(timer)
      signal?.removeEventListener("abort", onAbort)
      if (bot.poller === poller) bot.poller = undefined
      resolve(result)
    }
    const onAbort = () => {
      if (call !== undefined) call.aborted = true
      finish(ok([]))
    }
    const poller: Poller = {
      limit,
      respond: finish,
      wake: () => finish(ok(bot.pending.slice(0, limit)))
    }
    const timer = setTimeout(() => poller.wake(), timeout * 1000)
    bot.poller = poller
    signal?.addEventListener("abort", onAbort)
  })
}

const dropWebhook = (bot: BotState) => {
  const hook = bot.webhook
  if (hook === undefined) return false
  hook.abort.abort()
  if (hook.retryTimer !== undefined) clearTimeout(hook.retryTimer)
  bot.webhook = undefined
  return true
}

export const setWebhook = (bot: BotState, params: Params, deps: WebhookDeps): ApiResult => {
  const url = str(params.url) ?? ""
  if (url === "") return deleteWebhook(bot, params)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return badRequest("invalid webhook URL specified")
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return badRequest("invalid webhook URL specified")
  const secretToken = str(params.secret_token)
  // the wording of this error is approximate
  if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
    return badRequest("secret token contains unallowed characters")
  }
  const allowed = allowedUpdates(params.allowed_updates)
  if (allowed !== undefined) bot.allowedUpdates = allowed
  if (bool(params.drop_pending_updates)) bot.pending = []
  bot.poller?.respond(fail(409, CONFLICT_SET_WEBHOOK))
  const same = bot.webhook?.url === url && bot.webhook.secretToken === secretToken
  dropWebhook(bot)
  const ipAddress = str(params.ip_address)
  bot.webhook = {
    url,
    ...(secretToken === undefined ? {} : { secretToken }),
    maxConnections: int(params.max_connections) ?? 40,
    ...(ipAddress === undefined ? {} : { ipAddress }),
    inFlight: false,
    abort: new AbortController()
  }
  kickWebhook(bot, deps)
  return ok(true, same ? "Webhook is already set" : "Webhook was set")
}

export const deleteWebhook = (bot: BotState, params: Params): ApiResult => {
  if (bool(params.drop_pending_updates)) bot.pending = []
  return ok(true, dropWebhook(bot) ? "Webhook was deleted" : "Webhook is already deleted")
}

export const getWebhookInfo = (bot: BotState): ApiResult => {
  const hook = bot.webhook
  return ok({
    url: hook?.url ?? "",
    has_custom_certificate: false,
    pending_update_count: bot.pending.length,
    ...(hook === undefined
      ? {}
      : {
          max_connections: hook.maxConnections,
          ...(hook.ipAddress === undefined ? {} : { ip_address: hook.ipAddress }),
          ...(bot.allowedUpdates.length === 0 ? {} : { allowed_updates: bot.allowedUpdates }),
          ...(hook.lastErrorDate === undefined
            ? {}
            : { last_error_date: hook.lastErrorDate, last_error_message: hook.lastErrorMessage })
        })
  })
}
