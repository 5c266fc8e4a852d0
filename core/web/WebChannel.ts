/**
 * The `web` channel: the playground's browser tabs, attached to every persona. Each tab is its own conversation
 * (chat `{ id: "tab-…", kind: "dm" }`, conversation `<persona>/web/tab-…`) and goes through the same router and reply
 * policy as the platform channels. Replies are not split or throttled: every event of the turn goes to the tab's
 * sockets as it happens, and the page renders the growing text.
 */
import { Effect } from "effect"
import type { ChannelInstance, OutboundEvent } from "../channels/Channel.ts"
import type { MessageReceived } from "../events/Events.ts"
import { newCorrelationId } from "../log/Correlation.ts"

export const webChannelId = "web"

/** The conversation of a tab with a persona. */
export const conversationIdOf = (persona: string, tab: string) => `${persona}/${webChannelId}/${tab}`

/** The tab a web conversation belongs to (undefined for other channels' conversations). */
export const tabOf = (conversationId: string): string | undefined => {
  const [, channel, tab] = conversationId.split("/")
  return channel === webChannelId ? tab : undefined
}

/**
 * The channel instance of one persona; `deliver` hands each outbound event to the sockets of the tab it answers.
 *
 * @example
 * const web = makeWebChannel((tab, event) => sessions.sendToTab(tab, event))
 * yield* persona.attach(web)
 */
export const makeWebChannel = (deliver: (tab: string, event: OutboundEvent) => void): ChannelInstance => ({
  id: webChannelId,
  platform: "web",
  state: () => "ready",
  maxMessageLength: 1_000_000,
  attachments: false,
  context: () => undefined,
  openReply: (target) => ({
    emit: (event) => Effect.sync(() => deliver(target.chat.id, event))
  })
})

const commandPattern = /^\/(\w+)(?:\s+([\s\S]*))?$/

let sequence = 0

/** A line typed in a tab, as the router takes it (`/reset` and other `/commands` split from their arguments). */
export const inboundOf = (persona: string, tab: string, text: string, now = Date.now()): MessageReceived => {
  const line = text.trim()
  const command = commandPattern.exec(line)
  return {
    _tag: "MessageReceived",
    at: now,
    correlationId: newCorrelationId(),
    persona,
    channel: webChannelId,
    platform: "web",
    messageId: `web/${tab}/${now}-${++sequence}`,
    chat: { id: tab, kind: "dm" },
    author: { id: tab, name: "web user", isBot: false },
    text: line,
    attachments: [],
    mentioned: false,
    replyToSelf: false,
    fromSelf: false,
    ...(command ? { command: { name: command[1]!.toLowerCase(), args: (command[2] ?? "").trim() } } : {})
  }
}
