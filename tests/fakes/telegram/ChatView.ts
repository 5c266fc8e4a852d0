import type { Message } from "grammy/types"
import type { ChatState } from "./state.ts"
import type { ChatActionRecord, SentMessage } from "./types.ts"

/**
 * One chat as its users see it, read live from the fake's state (hold on to it and read again later).
 *
 * @example
 * const chat = fake.chat(token, 42)
 * await fake.waitFor(() => chat.last?.text === "done")
 * expect(chat.messages[0]!.editCount).toBe(2)
 */
export class ChatView {
  constructor(private readonly state: () => ChatState | undefined) {}

  /** The bot's messages still visible, oldest first, each with its current text. */
  get messages(): SentMessage[] {
    return this.all.filter((m) => m.deletedAt === undefined)
  }

  /** The bot's messages that were deleted. */
  get deleted(): SentMessage[] {
    return this.all.filter((m) => m.deletedAt !== undefined)
  }

  /** Every message the bot sent here, deleted ones included. */
  get all(): SentMessage[] {
    return [...(this.state()?.sent ?? [])]
  }

  /** The visible text of each visible bot message. */
  get texts(): string[] {
    return this.messages.map((m) => m.text)
  }

  /** The bot's newest visible message. */
  get last(): SentMessage | undefined {
    return this.messages.at(-1)
  }

  /** What fake users sent here (latest version after edits). */
  get inbound(): Message[] {
    return [...(this.state()?.inbound ?? [])]
  }

  /** sendChatAction calls for this chat, oldest first. */
  get actions(): ChatActionRecord[] {
    return [...(this.state()?.actions ?? [])]
  }

  /** A bot message by id, deleted or not. */
  message(messageId: number): SentMessage | undefined {
    return this.state()?.sent.find((m) => m.message_id === messageId)
  }
}
