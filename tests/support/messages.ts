import type { MessageReceived } from "../../core/events/Events.ts"

let counter = 0

/** A `MessageReceived` with sensible defaults: a human's DM on the `memory:test` channel. */
export const inbound = (overrides: Partial<MessageReceived> & { readonly text: string }): MessageReceived => {
  counter++
  return {
    _tag: "MessageReceived",
    at: Date.now(),
    correlationId: `cid${counter}`,
    persona: "sage",
    channel: "memory:test",
    platform: "memory",
    messageId: `memory:test/${overrides.chat?.id ?? "dm1"}/${counter}`,
    chat: { id: "dm1", kind: "dm" },
    author: { id: "u1", name: "Ann", isBot: false },
    attachments: [],
    mentioned: false,
    replyToSelf: false,
    fromSelf: false,
    ...overrides
  }
}

export const inRoom = (text: string, author = "u1", overrides: Partial<MessageReceived> = {}) =>
  inbound({
    text,
    chat: { id: "room1", kind: "room", title: "Room" },
    author: { id: author, name: author, isBot: false },
    ...overrides
  })
