import type { BotCommand, Chat, Message, Update, UserFromGetMe } from "grammy/types"
import type { BotSpec, ChatActionRecord, SentMessage, StoredFile, UpdateType } from "./types.ts"

/** A Bot API answer before it is serialised. */
export type ApiResult =
  | { readonly ok: true; readonly result: unknown; readonly description?: string }
  | {
      readonly ok: false
      readonly error_code: number
      readonly description: string
      readonly parameters?: { readonly retry_after?: number }
    }

export const ok = (result: unknown, description?: string): ApiResult =>
  description === undefined ? { ok: true, result } : { ok: true, result, description }

export const fail = (error_code: number, description: string, retryAfter?: number): ApiResult =>
  retryAfter === undefined
    ? { ok: false, error_code, description }
    : { ok: false, error_code, description, parameters: { retry_after: retryAfter } }

export const badRequest = (description: string): ApiResult => fail(400, `Bad Request: ${description}`)

/** Updates a bot gets when `allowed_updates` is empty or was never set. */
export const isDefaultAllowed = (type: UpdateType) =>
  type !== "chat_member" && type !== "message_reaction" && type !== "message_reaction_count"

export const updateType = (update: Update): UpdateType | undefined =>
  Object.keys(update).find((key) => key !== "update_id") as UpdateType | undefined

/** A message the fake knows in a chat, sent either by the bot or by a fake user. */
export interface StoredMessage {
  readonly origin: "bot" | "user"
  message: Message
  readonly sent?: SentMessage
  deleted: boolean
}

export class ChatState {
  nextMessageId = 1
  readonly sent: SentMessage[] = []
  readonly inbound: Message[] = []
  readonly actions: ChatActionRecord[] = []
  readonly byId = new Map<number, StoredMessage>()
  constructor(public chat: Chat) {}

  take(): number {
    return this.nextMessageId++
  }
}

/** The one getUpdates request a bot may have waiting. */
export interface Poller {
  readonly limit: number
  /** Answers the waiting request with this result. */
  readonly respond: (result: ApiResult) => void
  /** Answers the waiting request with the pending updates. */
  readonly wake: () => void
}

export interface WebhookState {
  readonly url: string
  readonly secretToken?: string
  readonly maxConnections: number
  readonly ipAddress?: string
  lastErrorDate?: number
  lastErrorMessage?: string
  inFlight: boolean
  retryTimer?: ReturnType<typeof setTimeout>
  abort: AbortController
}

/** Everything the fake server knows about one bot token. */
export class BotState {
  revoked = false
  nextUpdateId = 1
  pending: Update[] = []
  allowedUpdates: readonly UpdateType[] = []
  poller?: Poller
  webhook?: WebhookState
  readonly chats = new Map<number, ChatState>()
  readonly files = new Map<string, StoredFile>()
  readonly commands = new Map<string, BotCommand[]>()
  readonly sendTimes: number[] = []
  readonly chatSendTimes = new Map<number, number[]>()
  private fileCounter = 0
  readonly user: UserFromGetMe

  constructor(readonly spec: BotSpec) {
    this.user = {
      id: spec.id,
      is_bot: true,
      first_name: spec.first_name ?? spec.username,
      username: spec.username,
      can_join_groups: true,
      can_read_all_group_messages: spec.privacyMode !== true,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false
    }
  }

  get token() {
    return this.spec.token
  }

  /** The bot's user as it appears in `from` of its messages. */
  get from() {
    return { id: this.user.id, is_bot: true as const, first_name: this.user.first_name, username: this.user.username }
  }

  allows(type: UpdateType): boolean {
    return this.allowedUpdates.length === 0 ? isDefaultAllowed(type) : this.allowedUpdates.includes(type)
  }

  /** The chat with this id, created on first use (a bot may write to chats no fake user has written in). */
  chat(id: number, known?: Chat): ChatState {
    let state = this.chats.get(id)
    if (state === undefined) {
      state = new ChatState(known ?? synthesizeChat(id))
      this.chats.set(id, state)
    } else if (known !== undefined) {
      state.chat = known
    }
    return state
  }

  registerFile(bytes: Uint8Array, options: { kind: string; mime?: string; fileName?: string; url?: string }) {
    const n = this.fileCounter++
    const ext = extension(options.mime, options.fileName, options.kind)
    const folder = options.kind === "photo" ? "photos" : options.kind === "document" ? "documents" : options.kind
    const file: StoredFile = {
      file_id: `${options.kind.slice(0, 2).toUpperCase()}${this.user.id}_${n}_${crypto.randomUUID().slice(0, 8)}`,
      file_unique_id: `U${this.user.id}${n}`,
      file_path: `${folder}/file_${n}${ext}`,
      bytes,
      ...(options.mime === undefined ? {} : { mime_type: options.mime }),
      ...(options.fileName === undefined ? {} : { file_name: options.fileName }),
      ...(options.url === undefined ? {} : { url: options.url })
    }
    this.files.set(file.file_id, file)
    return file
  }
}

const synthesizeChat = (id: number): Chat =>
  id > 0
    ? { id, type: "private", first_name: `User ${id}` }
    : String(id).startsWith("-100")
      ? { id, type: "supergroup", title: `Supergroup ${id}` }
      : { id, type: "group", title: `Group ${id}` }

const MIME_EXT: Record<string, string> = {
  "image/jpeg": ".jpg",
  "image/png": ".png",
  "image/webp": ".webp",
  "image/gif": ".gif",
  "application/pdf": ".pdf",
  "text/plain": ".txt",
  "application/json": ".json"
}

const extension = (mime: string | undefined, fileName: string | undefined, kind: string) => {
  const fromName = fileName === undefined ? undefined : /\.[A-Za-z0-9]{1,8}$/.exec(fileName)?.[0]
  if (fromName !== undefined) return fromName.toLowerCase()
  if (mime !== undefined && MIME_EXT[mime] !== undefined) return MIME_EXT[mime]
  return kind === "photo" ? ".jpg" : ""
}
