/**
 * One conversation actor per conversation id. It answers its messages in order, one turn at a time: the new user
 * message(s) are stored, the agent loop streams the answer into the channel, and the transcript grows. Messages that
 * arrive during a turn wait in the mailbox and are answered next, one by one, or together in one turn (`pending: fold`).
 *
 * The actor's state is a cache of the store: stopping it (passivation) loses nothing, and the next message revives it
 * with its history intact.
 */
import { Cause, Deferred, Effect } from "effect"
import type { Behavior, Inbox } from "../actor/Actor.ts"
import type { ChannelInstance, OutboundEvent, ReplySink, ReplyTarget } from "../channels/Channel.ts"
import { EventBus } from "../events/EventBus.ts"
import type { EventOf, MessageReceived } from "../events/Events.ts"
import { type BotMessageKey, botMessage } from "../i18n/messages.ts"
import { runTurn, type TurnInput } from "../llm/AgentLoop.ts"
import type { LlmProviders } from "../llm/Providers.ts"
import { withCorrelation } from "../log/Correlation.ts"
import { Metrics } from "../metrics/Metrics.ts"
import { defineTroupeMetrics } from "../metrics/TroupeMetrics.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import { type NewMessage, Store, type StoredMessage } from "../store/Store.ts"
import type { Tools } from "../tools/Tools.ts"
import { targetOf } from "./ConversationId.ts"
import { newTurnId } from "./ids.ts"
import { addressKey, type ConversationAddress } from "./Scheduler.ts"

export type ConversationMessage =
  /**
   * A message to answer on turn `turnId` (named by the router, or the turn a crash interrupted: its chunks already out
   * are edited, not resent). `recorded`: the inbound record already carries the turn id.
   */
  | {
      readonly _tag: "Inbound"
      readonly message: MessageReceived
      readonly turnId?: string
      readonly recorded?: boolean
    }
  /** A bot-side text without the model (e.g. "slow down"). */
  | { readonly _tag: "Notice"; readonly message: MessageReceived; readonly key: BotMessageKey }
  /** A scheduled prompt fired: a turn without a user message, answered where the conversation lives. */
  | {
      readonly _tag: "Scheduled"
      readonly jobId: string
      readonly prompt: string
      readonly target: ReplyTarget & { readonly channel: string }
      readonly done?: Deferred.Deferred<boolean>
    }
  /** Forget the history (`/reset`, the dashboard). */
  | { readonly _tag: "Reset"; readonly done: Deferred.Deferred<number> }
  /** The stored history changed underneath (the `chat_memory` tool trimmed it): read it again before the next turn. */
  | { readonly _tag: "Reload" }

export interface ConversationEnv {
  readonly conversationId: string
  /** The persona as it is now (hot-reloaded). */
  readonly persona: () => PersonaDefinition
  readonly channel: (id: string) => ChannelInstance | undefined
  /** Wait (a bounded time) for a configured channel that is still connecting. */
  readonly awaitChannel?: (id: string) => Effect.Effect<ChannelInstance | undefined>
  /** Replies are logged instead of sent. */
  readonly dryRun: boolean
}

type TurnEvent = Parameters<TurnInput["emit"]>[0]

/** Channels that are not a platform: nothing leaves the machine through them. */
const localChannels = /^(web|console|memory(:.*)?)$/

/** A sink that logs instead of sending (dry-run), or when the channel is gone. */
const loggingSink = (target: ReplyTarget, why: string): ReplySink => ({
  emit: (event) =>
    event._tag === "ReplyCompleted" || event._tag === "ReplyFailed"
      ? Effect.logInfo(`reply (${why}) to ${target.conversationId}`).pipe(
          Effect.annotateLogs({ text: event._tag === "ReplyCompleted" ? event.text : event.userText })
        )
      : Effect.void
})

export const conversationBehavior = (
  env: ConversationEnv
): Behavior<ConversationMessage, Store | EventBus | Metrics | LlmProviders | Tools> =>
  Effect.gen(function* () {
    const store = yield* Store
    const bus = yield* EventBus
    const metrics = defineTroupeMetrics(yield* Metrics)
    const id = env.conversationId
    // The newest messages of the transcript, oldest first; refreshed from the store when the window grows.
    let history: Array<StoredMessage> = [...(yield* store.history(id, env.persona().memory.window))]
    let cachedWindow = env.persona().memory.window
    let appended = 0

    // Runs twice a turn: the writes are chained without a generator.
    const remember = (messages: ReadonlyArray<NewMessage>): Effect.Effect<void> => {
      const writes: Array<Effect.Effect<void>> = []
      for (const message of messages) {
        writes.push(store.appendMessage(message))
        history.push({ ...message, id: 0 })
      }
      appended += messages.length
      const persona = env.persona()
      if (history.length > persona.memory.window) history = history.slice(-persona.memory.window)
      // Trim the stored transcript now and then (at most a tenth over the cap), not on every message: each trim
      // walks the conversation's index down to the cap.
      if (appended >= Math.max(50, Math.floor(persona.memory.maxMessages / 10))) {
        appended = 0
        writes.push(store.capHistory(id, persona.memory.maxMessages))
      }
      return writes.length === 1 ? writes[0]! : Effect.all(writes, { discard: true })
    }

    const windowOf = (persona: PersonaDefinition): Effect.Effect<ReadonlyArray<StoredMessage>> => {
      const size = persona.memory.window
      if (size <= cachedWindow) {
        cachedWindow = size
        return Effect.succeed(history.slice(-size))
      }
      return Effect.map(store.history(id, size), (fresh) => {
        history = [...fresh]
        cachedWindow = size
        return history.slice(-size)
      })
    }

    // Remember where this conversation is answered, for scheduled prompts after a restart.
    let address = yield* store.getCursor(addressKey(id))
    const rememberAddress = (target: ReplyTarget & { readonly channel: string }) => {
      const next = JSON.stringify({
        channel: target.channel,
        chat: target.chat,
        ...(target.thread === undefined ? {} : { thread: target.thread }),
        ...(target.userId === undefined ? {} : { userId: target.userId })
      } satisfies ConversationAddress)
      if (next === address) return Effect.void
      address = next
      return store.setCursor(addressKey(id), next)
    }

    const sinkFor = (target: ReplyTarget & { readonly channel: string }): Effect.Effect<ReplySink> => {
      // Dry run keeps replies off the platforms; the local channels (web playground, console) still get them.
      if (env.dryRun && !localChannels.test(target.channel)) return Effect.succeed(loggingSink(target, "dry run"))
      const notRunning = () => loggingSink(target, `channel ${target.channel} is not running`)
      const channel = env.channel(target.channel)
      if (channel !== undefined || env.awaitChannel === undefined) {
        return Effect.succeed(channel ? channel.openReply(target) : notRunning())
      }
      // Right after a restart a recovered turn may be ready before its channel has reconnected: wait for it.
      return Effect.map(env.awaitChannel(target.channel), (late) => (late ? late.openReply(target) : notRunning()))
    }

    /** Publish an event of the turn and hand it to the channel (once per streamed delta: kept to a few steps). */
    const deliver = (sink: ReplySink, event: OutboundEvent) =>
      Effect.suspend(() => {
        bus.unsafePublish(event)
        return Effect.catchAll(sink.emit(event), (error) =>
          Effect.logWarning(`could not deliver ${event._tag}: ${error.reason}`).pipe(
            Effect.annotateLogs({ channel: error.channel, ambiguous: String(error.ambiguous) })
          )
        )
      })

    /** The synchronous path of `deliver` for a sink that has one: published only once the channel took it. */
    const offerTo = (offer: NonNullable<ReplySink["offer"]>) => (event: EventOf<"Typing"> | EventOf<"ReplyDelta">) => {
      if (!offer(event)) return false
      bus.unsafePublish(event)
      return true
    }

    const userMessageOf = (message: MessageReceived): NewMessage => ({
      conversationId: id,
      role: "user",
      content: message.text,
      at: message.at,
      authorId: message.author.id,
      authorName: message.author.name,
      inboundId: message.messageId,
      ...(message.attachments.length > 0 ? { meta: { attachments: message.attachments } } : {})
    })

    const turn = (
      persona: PersonaDefinition,
      target: ReplyTarget & { readonly channel: string },
      messages: ReadonlyArray<MessageReceived>,
      instruction?: string,
      /** Messages whose inbound record already names this turn. */
      recorded?: MessageReceived
    ) =>
      Effect.gen(function* () {
        const started = Date.now()
        const sink = yield* sinkFor(target)
        const base = { at: started, correlationId: target.correlationId, persona: persona.id, conversationId: id }
        const labels = { persona: persona.id, channel: target.channel }
        const room = env.channel(target.channel)?.context(target)
        // A message answered again after a crash is in the transcript already (the interrupted turn stored it): the
        // model sees it once, as the message being answered, and it is not stored a second time.
        const ids = new Set(messages.map((message) => message.messageId))
        const isAgain = (entry: StoredMessage) =>
          entry.role === "user" && entry.inboundId !== undefined && ids.has(entry.inboundId)
        const window = yield* windowOf(persona)
        const stored = new Set(history.filter(isAgain).map((entry) => entry.inboundId))
        const input: TurnInput = {
          persona,
          conversationId: id,
          correlationId: target.correlationId,
          turnId: target.turnId,
          history: stored.size > 0 ? window.filter((entry) => !isAgain(entry)) : window,
          messages,
          ...(instruction === undefined ? {} : { instruction }),
          ...(room === undefined ? {} : { room }),
          toolContext: {
            persona: persona.id,
            conversationId: id,
            correlationId: target.correlationId,
            turnId: target.turnId,
            channel: target.channel,
            chatId: target.chat.id,
            userId: messages.at(-1)?.author.id ?? target.userId ?? "",
            userName: messages.at(-1)?.author.name ?? ""
          },
          emit: (event: TurnEvent) =>
            event._tag === "ReplyDelta" || event._tag === "Typing" ? deliver(sink, event) : bus.publish(event),
          ...(sink.offer === undefined ? {} : { offer: offerTo(sink.offer) })
        }
        yield* remember(messages.filter((message) => !stored.has(message.messageId)).map(userMessageOf))
        // Record which turn answers these messages before anything is sent, so a restart can finish this very turn.
        for (const message of messages) {
          if (message !== recorded) yield* store.markInbound(message.messageId, "received", target.turnId)
        }
        if (messages.length > 0) yield* rememberAddress(target)
        const outcome = yield* Effect.either(runTurn(input))
        if (outcome._tag === "Right") {
          const result = outcome.right
          yield* remember(result.transcript)
          const completed: EventOf<"ReplyCompleted"> = {
            _tag: "ReplyCompleted",
            ...base,
            at: Date.now(),
            turnId: target.turnId,
            text: result.text,
            provider: result.provider,
            model: result.model,
            usage: result.usage,
            finishReason: result.finishReason,
            durationMs: Date.now() - started
          }
          yield* deliver(sink, completed)
          metrics.replies.inc({ ...labels, outcome: "ok" })
          for (const message of messages) yield* store.markInbound(message.messageId, "answered", target.turnId)
        } else {
          const failure = outcome.left
          yield* Effect.logWarning(`turn failed: ${failure.reason}`).pipe(Effect.annotateLogs({ kind: failure.kind }))
          yield* deliver(sink, {
            _tag: "ReplyFailed",
            ...base,
            at: Date.now(),
            turnId: target.turnId,
            error: failure.reason,
            userText: failure.userText
          })
          metrics.replies.inc({ ...labels, outcome: "failed" })
          metrics.errors.inc({ persona: persona.id, kind: failure.kind === "budget" ? "budget" : "llm" })
          for (const message of messages) yield* store.markInbound(message.messageId, "failed", target.turnId)
        }
      }).pipe(
        withCorrelation(target.correlationId, persona.id, id),
        // Whatever went wrong, the user hears something and the actor lives on.
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.logError("turn crashed", cause).pipe(
                Effect.zipRight(
                  Effect.flatMap(sinkFor(target), (sink) =>
                    sink.emit({
                      _tag: "ReplyFailed",
                      at: Date.now(),
                      correlationId: target.correlationId,
                      persona: persona.id,
                      conversationId: id,
                      turnId: target.turnId,
                      error: "internal error",
                      userText: botMessage(persona, "error", messages.at(-1)?.author.language)
                    })
                  ).pipe(Effect.ignore)
                )
              )
        )
      )

    /** Answer a bot command without the model. */
    const command = (persona: PersonaDefinition, message: MessageReceived, name: string) =>
      Effect.gen(function* () {
        const language = message.author.language
        const target = targetOf(id, message, newTurnId())
        let text: string
        if (name === "reset") {
          yield* store.clearHistory(id)
          history = []
          text = botMessage(persona, "reset_done", language)
        } else if (name === "start") {
          text = greetingOf(persona, language)
        } else {
          text = botMessage(persona, "help", language, { name: persona.title })
        }
        yield* store.markInbound(message.messageId, "answered", target.turnId)
        yield* sendText(persona, target, text)
      })

    const sendText = (persona: PersonaDefinition, target: ReplyTarget & { readonly channel: string }, text: string) =>
      Effect.flatMap(sinkFor(target), (sink) =>
        deliver(sink, {
          _tag: "ReplyCompleted",
          at: Date.now(),
          correlationId: target.correlationId,
          persona: persona.id,
          conversationId: id,
          turnId: target.turnId,
          text,
          provider: "troupe",
          model: "none",
          usage: { input: 0, output: 0 },
          finishReason: "stop",
          durationMs: 0
        })
      )

    const knownCommands = new Set(["reset", "start", "help"])

    return (
      message: ConversationMessage,
      inbox: Inbox<ConversationMessage>
    ): Effect.Effect<void, never, Store | EventBus | Metrics | LlmProviders | Tools> => {
      const persona = env.persona()
      switch (message._tag) {
        case "Inbound": {
          const inbound = message.message
          if (inbound.command && knownCommands.has(inbound.command.name)) {
            return command(persona, inbound, inbound.command.name)
          }
          const batch = [inbound]
          if (persona.reply.pending === "fold") {
            // Everything that queued up behind this message (up to the next command or other request) becomes one turn.
            for (const next of inbox.takeWhile((m) => m._tag === "Inbound" && !m.message.command)) {
              if (next._tag === "Inbound") batch.push(next.message)
            }
          }
          const last = batch.at(-1)!
          // Folded messages are answered by the turn of the newest one; a single message keeps the turn it came with.
          const turnId = batch.length === 1 ? (message.turnId ?? newTurnId()) : newTurnId()
          const recorded = batch.length === 1 && message.recorded ? inbound : undefined
          return turn(persona, targetOf(id, last, turnId), batch, undefined, recorded)
        }
        case "Notice": {
          const target = targetOf(id, message.message, newTurnId())
          return Effect.zipRight(
            store.markInbound(message.message.messageId, "skipped"),
            sendText(persona, target, botMessage(persona, message.key, message.message.author.language))
          )
        }
        case "Scheduled":
          return Effect.zipRight(
            turn(persona, message.target, [], message.prompt),
            message.done ? Deferred.succeed(message.done, true) : Effect.void
          )
        case "Reset":
          return Effect.flatMap(store.clearHistory(id), (deleted) => {
            history = []
            return Deferred.succeed(message.done, deleted)
          })
        case "Reload":
          return Effect.map(store.history(id, persona.memory.window), (fresh) => {
            history = [...fresh]
            cachedWindow = persona.memory.window
          })
      }
    }
  })

/** `/start`: the persona's greeting in the user's language when it has one. */
export const greetingOf = (persona: PersonaDefinition, language: string | undefined): string => {
  const greeting = persona.greeting
  if (typeof greeting === "string") return greeting
  if (greeting) {
    const lang = language?.slice(0, 2).toLowerCase()
    return (lang && greeting[lang]) || greeting[persona.language] || Object.values(greeting)[0] || ""
  }
  return botMessage(persona, "start", language, { name: persona.title })
}
