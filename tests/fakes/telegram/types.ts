import type { Chat, LinkPreviewOptions, Message, MessageEntity, Update, User } from "grammy/types"

/** What `addBot` needs to know about a bot; the token is how every request names it. */
export interface BotSpec {
  readonly token: string
  readonly id: number
  readonly username: string
  readonly first_name?: string
  /**
   * Privacy mode on: in groups the bot only receives commands addressed to it and replies to its own messages
   * (`getMe.can_read_all_group_messages` is then false). Default off: the bot receives everything.
   */
  readonly privacyMode?: boolean
}

export type ParseModeName = "HTML" | "MarkdownV2" | "Markdown"

/** An error answer the fake gives instead of running a method (see `failNext`). */
export type Fault =
  | { readonly code: 429; readonly retryAfter: number; readonly description?: string }
  /** 500 answers JSON; 502/504 answer an HTML page like Telegram's nginx, so clients see a network-level failure. */
  | { readonly code: 500 | 502 | 504; readonly description?: string }
  | { readonly code: 400 | 403 | 404 | 409; readonly description: string }

export interface RateLimit {
  /** Sends + edits per chat per second before a 429 (Telegram: about 1). */
  readonly perChatPerSecond?: number
  /** Sends + edits per group/supergroup chat per minute (Telegram: about 20). */
  readonly perGroupPerMinute?: number
  /** Sends + edits per bot per second over all chats (Telegram: about 30). */
  readonly globalPerSecond?: number
}

/** How a request's parameters reached the fake. */
export type Transport = "json" | "multipart" | "urlencoded" | "query" | "webhook-reply"

/** One recorded Bot API call. `status` is null while the call is unanswered (long poll, held by `acceptThenTimeout`). */
export interface ApiCall {
  readonly token: string
  readonly method: string
  readonly params: Record<string, unknown>
  readonly transport: Transport
  /** Epoch milliseconds when the request arrived. */
  readonly at: number
  status: number | null
  /** The JSON envelope that was (or would have been) sent back. */
  response?: unknown
  answeredAt?: number
  /** True when the call was never answered: the client went away first, or it was held until the fake stopped. */
  aborted?: boolean
}

/** A file parameter that arrived as a multipart upload. */
export interface UploadedFile {
  readonly kind: "upload"
  readonly name: string
  readonly type: string
  readonly bytes: Uint8Array
}

/** A file the fake knows: uploaded by the bot, sent by a fake user, or registered by a test. */
export interface StoredFile {
  readonly file_id: string
  readonly file_unique_id: string
  readonly file_path: string
  readonly bytes: Uint8Array
  readonly mime_type?: string
  readonly file_name?: string
  /** Set when the bot passed an HTTP URL (the fake never fetches it). */
  readonly url?: string
}

/** One version of a message the bot sent; `history[0]` is the original, the last entry is what users see now. */
export interface MessageVersion {
  /** The text (or caption) a user sees: markup stripped, entities decoded. */
  readonly text: string
  /** Exactly what the bot sent. */
  readonly raw: string
  readonly parse_mode?: string
  readonly entities: readonly MessageEntity[]
  /** Epoch milliseconds. */
  readonly at: number
}

/** A message the bot sent, as users of the chat see it now. */
export interface SentMessage {
  readonly message_id: number
  readonly chat_id: number
  readonly kind: "text" | "photo" | "document"
  readonly message_thread_id?: number
  readonly reply_to_message_id?: number
  /** Current visible text (caption for media). */
  text: string
  raw: string
  parse_mode?: string
  entities: readonly MessageEntity[]
  link_preview_options?: LinkPreviewOptions
  reply_markup?: unknown
  readonly date: number
  /** Epoch milliseconds. */
  readonly sentAt: number
  editCount: number
  readonly history: MessageVersion[]
  deletedAt?: number
  readonly file?: StoredFile
  /** The Message object last returned to the bot for this message. */
  message: Message
}

export interface ChatActionRecord {
  readonly action: string
  readonly message_thread_id?: number
  readonly at: number
}

export interface WebhookDelivery {
  readonly token: string
  readonly url: string
  readonly update_id: number
  /** HTTP status the webhook answered, or null when the request failed (refused, timed out). */
  readonly status: number | null
  readonly error?: string
  readonly secretToken?: string
  readonly at: number
}

/** Who the fake user is and where they write. */
export interface FakeUser {
  readonly id: number
  readonly first_name: string
  readonly last_name?: string
  readonly username?: string
  readonly language_code?: string
  readonly is_bot?: boolean
}

export interface FakeChat {
  readonly id: number
  readonly type: "private" | "group" | "supergroup"
  readonly title?: string
  readonly username?: string
  readonly is_forum?: boolean
}

export interface FakeUpload {
  readonly fileContent: Uint8Array
  readonly mime?: string
  readonly fileName?: string
  readonly width?: number
  readonly height?: number
}

/** What a fake user sends; `chat` defaults to the private chat with `from`. */
export interface UserMessage {
  readonly from: FakeUser
  readonly chat?: FakeChat
  readonly text?: string
  readonly caption?: string
  readonly message_thread_id?: number
  /** May point at a message the bot sent or one a user sent in the same chat. */
  readonly reply_to_message_id?: number
  readonly photo?: FakeUpload
  readonly document?: FakeUpload
  /** Overrides the auto-detected entities (bot_command, mention, url). */
  readonly entities?: MessageEntity[]
  /** Unix seconds; defaults to now. */
  readonly date?: number
}

export type UpdateType = Exclude<keyof Update, "update_id">

export type { Chat, Message, MessageEntity, Update, User }
