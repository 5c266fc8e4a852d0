import type { BotCommand, Update, UserFromGetMe } from "grammy/types"
import { ChatView } from "./ChatView.ts"
import { Faults } from "./faults.ts"
import { buildUserMessage, editUserMessage, passesPrivacy } from "./inbound.ts"
import { commandsKey, messageMethods } from "./messages.ts"
import { readParams } from "./params.ts"
import { type ApiResult, BotState, fail, updateType } from "./state.ts"
import type {
  ApiCall,
  BotSpec,
  Fault,
  RateLimit,
  SentMessage,
  StoredFile,
  Transport,
  UserMessage,
  WebhookDelivery
} from "./types.ts"
import { deleteWebhook, getUpdates, getWebhookInfo, setWebhook } from "./updates.ts"
import { kickWebhook, type WebhookDeps } from "./webhook.ts"

export interface FakeTelegramOptions {
  /** Pause before a failed webhook delivery is tried again, in ms. Default 200. */
  readonly webhookRetryMs?: number
  /** How long a webhook may take to answer before the delivery counts as failed, in ms. Default 5000. */
  readonly webhookTimeoutMs?: number
}

type Outcome =
  | { readonly kind: "api"; readonly result: ApiResult }
  | { readonly kind: "html"; readonly status: number }
  | { readonly kind: "held" }

const UPDATE_METHODS = ["getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo"]
const METHOD_NAMES = new Map<string, string>([
  ...Object.entries(messageMethods).map(([lower, { name }]) => [lower, name] as [string, string]),
  ...UPDATE_METHODS.map((name) => [name.toLowerCase(), name] as [string, string])
])

const NOT_FOUND = fail(404, "Not Found")
const UNAUTHORIZED = fail(401, "Unauthorized")

const gatewayPage = (status: number) => {
  const title = status === 504 ? "504 Gateway Time-out" : "502 Bad Gateway"
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n`
}

/**
 * A fake Telegram Bot API server for tests: the real grammY client talks to it over HTTP on 127.0.0.1.
 *
 * @example
 * const fake = FakeTelegram.start()
 * fake.addBot({ token: "1:abc", id: 1, username: "sage_bot" })
 * const bot = new Bot("1:abc", { client: { apiRoot: fake.apiRoot } })
 * fake.userSends("1:abc", { from: { id: 7, first_name: "Ann" }, text: "hi" })
 * await fake.waitFor((f) => f.chat("1:abc", 7).messages.length > 0)
 * await fake.stop()
 */
export class FakeTelegram {
  /** Every Bot API request, in arrival order. */
  readonly calls: ApiCall[] = []
  /** Every webhook POST the fake made, in order. */
  readonly webhookDeliveries: WebhookDelivery[] = []

  private readonly bots = new Map<string, BotState>()
  private readonly server: ReturnType<typeof Bun.serve>
  private readonly faults = new Faults()
  private readonly listeners = new Set<() => void>()
  private readonly stopping = new AbortController()
  private readonly webhookDeps: WebhookDeps

  private constructor(options: FakeTelegramOptions) {
    this.webhookDeps = {
      retryMs: options.webhookRetryMs ?? 200,
      timeoutMs: options.webhookTimeoutMs ?? 5000,
      record: (delivery) => {
        this.webhookDeliveries.push(delivery)
        this.changed()
      },
      applyReply: async (bot, body) => {
        const { method, ...params } = body
        await this.execute(bot.token, String(method), params, "webhook-reply", undefined)
      }
    }
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) => {
        // long polls and held requests must outlive Bun's default 10 s idle timeout
        server.timeout(req, 0)
        return this.handle(req)
      }
    })
  }

  /** Starts a fake server on 127.0.0.1 with an OS-chosen port. */
  static start(options: FakeTelegramOptions = {}): FakeTelegram {
    return new FakeTelegram(options)
  }

  /** Pass as `new Bot(token, { client: { apiRoot } })`. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get port(): number {
    return this.server.port ?? 0
  }

  // ---------------------------------------------------------------- bots

  /** Registers a bot; requests with any other token get 401 Unauthorized. Returns what getMe answers. */
  addBot(spec: BotSpec): UserFromGetMe {
    if (this.bots.has(spec.token)) throw new Error(`FakeTelegram: bot ${spec.token} already exists`)
    const bot = new BotState(spec)
    this.bots.set(spec.token, bot)
    return bot.user
  }

  /** From now on every call with this token answers 401, as after a token revoke in @BotFather. */
  revokeBot(token: string): void {
    const bot = this.bot(token)
    bot.revoked = true
    bot.poller?.respond(UNAUTHORIZED)
    bot.webhook?.abort.abort()
    this.changed()
  }

  // ---------------------------------------------------------------- inbound traffic

  /** A user sends a message (text, photo or document) to the bot; returns the Update the bot will receive. */
  userSends(token: string, input: UserMessage): Update {
    const bot = this.bot(token)
    const { message } = buildUserMessage(bot, input)
    const update = { update_id: bot.nextUpdateId++, message } as Update
    if (passesPrivacy(bot, message)) this.enqueue(bot, update)
    else this.changed()
    return update
  }

  /** A user edits one of their messages; returns the `edited_message` Update. */
  userEdits(token: string, chatId: number, messageId: number, newText: string): Update {
    const bot = this.bot(token)
    const message = editUserMessage(bot, chatId, messageId, newText)
    const update = { update_id: bot.nextUpdateId++, edited_message: message } as Update
    if (passesPrivacy(bot, message)) this.enqueue(bot, update)
    else this.changed()
    return update
  }

  /** Queues any update (callback_query, my_chat_member, …); `update_id` is assigned when missing. */
  pushUpdate(token: string, update: Omit<Update, "update_id"> & { update_id?: number }): Update {
    const bot = this.bot(token)
    const update_id = update.update_id ?? bot.nextUpdateId
    bot.nextUpdateId = Math.max(bot.nextUpdateId, update_id + 1)
    const full = { ...update, update_id } as Update
    this.enqueue(bot, full)
    return full
  }

  /** Updates the bot has not confirmed yet. */
  pendingUpdates(token: string): readonly Update[] {
    return [...this.bot(token).pending]
  }

  private enqueue(bot: BotState, update: Update) {
    const type = updateType(update)
    if (type !== undefined && bot.allows(type)) {
      bot.pending.push(update)
      bot.poller?.wake()
      kickWebhook(bot, this.webhookDeps)
    }
    this.changed()
  }

  // ---------------------------------------------------------------- views

  /** What users of one chat see of this bot: its messages (edited, minus deleted), chat actions, inbound messages. */
  chat(token: string, chatId: number): ChatView {
    const bot = this.bot(token)
    return new ChatView(() => bot.chats.get(chatId))
  }

  /** Every message the bot sent that is still visible, over all chats, in send order. */
  sentMessages(token: string): SentMessage[] {
    return [...this.bot(token).chats.values()]
      .flatMap((chat) => chat.sent.filter((m) => m.deletedAt === undefined))
      .sort((a, b) => a.sentAt - b.sentAt || a.message_id - b.message_id)
  }

  /** The commands set for this scope and language (exact match, as getMyCommands answers). */
  commands(token: string, scope?: object, languageCode?: string): BotCommand[] {
    return this.bot(token).commands.get(commandsKey(scope, languageCode)) ?? []
  }

  /** Makes a file known to the bot (for getFile and downloads) without a message carrying it. */
  registerFile(token: string, bytes: Uint8Array, options: { mime?: string; fileName?: string } = {}): StoredFile {
    return this.bot(token).registerFile(bytes, { kind: "document", ...options })
  }

  /** The webhook URL currently set, if any. */
  webhookUrl(token: string): string | undefined {
    return this.bot(token).webhook?.url
  }

  /** Recorded calls of one method (case-insensitive), optionally for one token. */
  callsTo(method: string, token?: string): ApiCall[] {
    const lower = method.toLowerCase()
    return this.calls.filter((c) => c.method.toLowerCase() === lower && (token === undefined || c.token === token))
  }

  // ---------------------------------------------------------------- faults

  /** The next `times` calls of `method` ("*" = any method) answer with this fault instead of running. */
  failNext(method: string, fault: Fault, times = 1, options: { token?: string } = {}): void {
    this.faults.failNext(method, fault, times, options.token)
  }

  /** The next `times` calls of `method` wait `ms` before running (the call still runs if the client gave up). */
  delayNext(method: string, ms: number, times = 1, options: { token?: string } = {}): void {
    this.faults.delayNext(method, ms, times, options.token)
  }

  /**
   * The next `times` calls of `method` are applied (a message is stored) but never answered: the connection stays
   * open until the client gives up or the fake stops. Emulates a send whose outcome the client cannot know.
   */
  acceptThenTimeout(method: string, times = 1, options: { token?: string } = {}): void {
    this.faults.holdNext(method, times, options.token)
  }

  /** Turns on flood control (429 with retry_after) for sends and edits; `undefined` or `{}` turns it off. */
  setRateLimit(limit: RateLimit | undefined): void {
    this.faults.rateLimit = limit ?? {}
  }

  // ---------------------------------------------------------------- waiting and stopping

  /**
   * Resolves with the predicate's value once it is truthy; checked on every state change. A predicate that throws
   * counts as "not yet". Rejects after `timeoutMs`.
   */
  waitFor<T>(predicate: (fake: FakeTelegram) => T, timeoutMs = 2000): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      let lastError: unknown
      const check = () => {
        try {
          const value = predicate(this)
          if (value) {
            cleanup()
            resolve(value as NonNullable<T>)
          }
        } catch (error) {
          lastError = error
        }
      }
      const onStop = () => {
        cleanup()
        reject(new Error("FakeTelegram.waitFor: the fake was stopped"))
      }
      const cleanup = () => {
        clearTimeout(timer)
        clearInterval(poll)
        this.listeners.delete(check)
        this.stopping.signal.removeEventListener("abort", onStop)
      }
      const timer = setTimeout(() => {
        cleanup()
        const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : ""
        reject(new Error(`FakeTelegram.waitFor: condition not met within ${timeoutMs} ms${detail}`))
      }, timeoutMs)
      // state changes notify; the slow poll only covers predicates over outside state
      const poll = setInterval(check, 25)
      this.listeners.add(check)
      this.stopping.signal.addEventListener("abort", onStop)
      check()
    })
  }

  private changed() {
    for (const listener of [...this.listeners]) listener()
  }

  /** Answers pending long polls with no updates, drops held requests and webhook work, and closes the server. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return
    this.stopping.abort()
    for (const bot of this.bots.values()) {
      bot.poller?.wake()
      if (bot.webhook !== undefined) {
        bot.webhook.abort.abort()
        if (bot.webhook.retryTimer !== undefined) clearTimeout(bot.webhook.retryTimer)
      }
    }
    // let answered long polls flush, then cut whatever is still open (held requests, idle keep-alives)
    await Promise.race([this.server.stop(false), Bun.sleep(100)])
    await this.server.stop(true)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  // ---------------------------------------------------------------- HTTP

  private bot(token: string): BotState {
    const bot = this.bots.get(token)
    if (bot === undefined) throw new Error(`FakeTelegram: no bot with token ${token}; call addBot first`)
    return bot
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url)
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname)
    if (file !== null) return this.download(decodeURIComponent(file[1]!), decodeURIComponent(file[2]!))
    const api = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z0-9_]+)\/?$/.exec(url.pathname)
    if (api === null) return Response.json(NOT_FOUND, { status: 404 })
    const token = decodeURIComponent(api[1]!)
    const read = await readParams(req, url)
    const params = read.ok ? read.params : {}
    const transport = read.ok ? read.transport : "query"
    if (!read.ok) {
      const call = this.record(token, api[2]!, params, transport)
      return this.answer(call, { kind: "api", result: fail(400, read.description) })
    }
    const outcome = await this.execute(token, api[2]!, params, transport, req.signal)
    if (outcome.outcome.kind === "held") return new Response(null, { status: 204 })
    return this.answer(outcome.call, outcome.outcome)
  }

  private record(token: string, method: string, params: Record<string, unknown>, transport: Transport): ApiCall {
    const call: ApiCall = {
      token,
      method: METHOD_NAMES.get(method.toLowerCase()) ?? method,
      params,
      transport,
      at: Date.now(),
      status: null
    }
    this.calls.push(call)
    this.changed()
    return call
  }

  private answer(call: ApiCall, outcome: Outcome): Response {
    if (outcome.kind === "held") return new Response(null, { status: 204 })
    const response =
      outcome.kind === "html"
        ? new Response(gatewayPage(outcome.status), {
            status: outcome.status,
            headers: { "content-type": "text/html" }
          })
        : Response.json(outcome.result, { status: outcome.result.ok ? 200 : outcome.result.error_code })
    if (!call.aborted) {
      call.status = response.status
      call.answeredAt = Date.now()
    }
    call.response = outcome.kind === "html" ? gatewayPage(outcome.status) : outcome.result
    this.changed()
    return response
  }

  /** Runs one call through auth, faults, delays, flood control and the method itself. */
  private async execute(
    token: string,
    methodName: string,
    params: Record<string, unknown>,
    transport: Transport,
    signal: AbortSignal | undefined
  ): Promise<{ call: ApiCall; outcome: Outcome }> {
    const call = this.record(token, methodName, params, transport)
    const done = (result: ApiResult) => {
      if (transport === "webhook-reply") this.answer(call, { kind: "api", result })
      return { call, outcome: { kind: "api" as const, result } }
    }
    const bot = this.bots.get(token)
    if (bot === undefined || bot.revoked) return done(UNAUTHORIZED)
    const method = methodName.toLowerCase()
    if (!METHOD_NAMES.has(method)) return done(NOT_FOUND)
    const fault = this.faults.takeFault(method, token)
    if (fault !== undefined) {
      if (fault.code === 502 || fault.code === 504) return { call, outcome: { kind: "html", status: fault.code } }
      if (fault.code === 429) {
        return done(
          fail(429, fault.description ?? `Too Many Requests: retry after ${fault.retryAfter}`, fault.retryAfter)
        )
      }
      return done(fail(fault.code, fault.description ?? "Internal Server Error"))
    }
    const delay = this.faults.takeDelay(method, token)
    if (delay !== undefined) await this.sleep(delay)
    if (bot.revoked) return done(UNAUTHORIZED)
    const flooded = this.faults.flood(bot, method, params)
    if (flooded !== undefined) return done(flooded)
    const hold = this.faults.takeHold(method, token)
    const result = await this.run(bot, method, params, signal, call)
    if (!hold || transport === "webhook-reply") return done(result)
    call.response = result
    this.changed()
    await this.heldUntilGone(signal)
    call.aborted = true
    this.changed()
    return { call, outcome: { kind: "held" } }
  }

  private run(
    bot: BotState,
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
    call: ApiCall
  ): ApiResult | Promise<ApiResult> {
    switch (method) {
      case "getupdates":
        return getUpdates(bot, params, signal, call)
      case "setwebhook":
        return setWebhook(bot, params, this.webhookDeps)
      case "deletewebhook":
        return deleteWebhook(bot, params)
      case "getwebhookinfo":
        return getWebhookInfo(bot)
      default:
        return messageMethods[method]?.handler(bot, params) ?? NOT_FOUND
    }
  }

  /** Resolves after `ms`, or at once when the fake stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.stopping.signal
      const done = () => {
        clearTimeout(timer)
        stop.removeEventListener("abort", done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      stop.addEventListener("abort", done)
    })
  }

  /** Resolves when the client goes away or the fake stops. */
  private heldUntilGone(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.stopping.signal
      if (signal?.aborted || stop.aborted) return resolve()
      const done = () => {
        signal?.removeEventListener("abort", done)
        stop.removeEventListener("abort", done)
        resolve()
      }
      signal?.addEventListener("abort", done)
      stop.addEventListener("abort", done)
    })
  }

  private download(token: string, path: string): Response {
    const bot = this.bots.get(token)
    if (bot === undefined || bot.revoked) return Response.json(UNAUTHORIZED, { status: 401 })
    const file = [...bot.files.values()].find((f) => f.file_path === path)
    if (file === undefined) return Response.json(NOT_FOUND, { status: 404 })
    return new Response(file.bytes.slice(), {
      headers: {
        "content-type": file.mime_type ?? "application/octet-stream",
        "content-length": String(file.bytes.length)
      }
    })
  }
}
