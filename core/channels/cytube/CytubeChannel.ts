/**
 * The CyTube channel: one persona account in one room of a CyTube server, over `socket.io-client`.
 *
 * Inbound, chat lines become `MessageReceived` events of the room (chat kind `room`) and PMs their own conversations
 * (kind `dm`, id `pm:<user>`); the history CyTube replays on join is context, never answered. Outbound, a reply is
 * cleaned (plain text, no self-prefix), split to `max_length` on word boundaries, and sent line by line through the
 * outbox, paced under the room's flood limits and confirmed by the server's echo (see `Sender.ts`). CyTube has no
 * edits, so a reply is sent once it is complete (`makeStreamingReply` with `stream: false`).
 *
 * @example
 * channels:
 *   - type: cytube
 *     server: https://cytu.be
 *     room: ${CYTUBE_CHANNEL:-}
 *     username: ${CYTUBE_USERNAME:-rothrock}
 *     password: ${CYTUBE_PASSWORD:-}
 */
import { Deferred, Effect, Exit, FiberSet, Option, Queue } from "effect"
import type { MessageReceived } from "../../events/Events.ts"
import { Store } from "../../store/Store.ts"
import {
  type ChannelFactory,
  ChannelFailed,
  type ChannelInstance,
  type ChannelState,
  DeliveryError,
  type OutboundEvent,
  type ReplySink,
  type ReplyTarget
} from "../Channel.ts"
import { makeStreamingReply, outboxKey } from "../text/StreamingReply.ts"
import { splitMessage } from "../text/split.ts"
import { CytubeConnection } from "./Connection.ts"
import type { CytubeConfig } from "./CytubeConfig.ts"
import { discover } from "./discovery.ts"
import { chatMessageOf, type InboundContext, type PmPayload, pmMessageOf } from "./inbound.ts"
import { type FloodParams, Pacer, SERVER_MINIMUM } from "./Pacer.ts"
import { RoomState } from "./RoomState.ts"
import { cleanReply } from "./replyText.ts"
import { type Destination, Sender } from "./Sender.ts"

const PLATFORM = "cytube"
const ECHO_TIMEOUT = 5_000
const READY_TIMEOUT = 60_000

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** The room's chat limits from `channelOpts` (they apply below moderator rank). */
const antifloodOf = (opts: unknown): FloodParams | undefined => {
  if (!isObject(opts) || opts.chat_antiflood !== true || !isObject(opts.chat_antiflood_params)) return undefined
  const { burst, sustained, cooldown } = opts.chat_antiflood_params
  if (typeof burst !== "number" || typeof sustained !== "number" || burst < 1 || sustained <= 0) return undefined
  return typeof cooldown === "number" ? { burst, sustained, cooldown } : { burst, sustained }
}

export const cytubeChannel: ChannelFactory<CytubeConfig> = (config, host) =>
  Effect.gen(function* () {
    // The runner provides the channel services; `ChannelFactory`'s type only names `Scope`.
    const found = yield* Effect.serviceOption(Store)
    if (Option.isNone(found)) return yield* new ChannelFailed({ channel: host.id, reason: "no Store service" })
    const store = found.value
    const scope = yield* Effect.scope
    const run = yield* FiberSet.makeRuntime<never>()
    const annotate = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.annotateLogs(effect, { channel: host.id })
    const log = (level: "info" | "warning" | "error", message: string) =>
      run(
        annotate(
          level === "info"
            ? Effect.logInfo(message)
            : level === "warning"
              ? Effect.logWarning(message)
              : Effect.logError(message)
        )
      )

    let state: ChannelState = "connecting"
    const setState = (next: ChannelState, reason?: string) => {
      state = next
      host.setState(next, reason)
    }
    let self = config.username
    let rank = -1
    let antiflood: FloodParams | undefined
    /** Newest server `time` of a replayed line: nothing at or before it is answered. */
    let horizon = 0

    const room = new RoomState(host.id, config.room, () => config.contextLines, host.bus.unsafePublish)
    const pacer = new Pacer({ burst: config.rate.burst, sustained: config.rate.perSecond })
    const updatePacer = () => pacer.setServer(rank < 2 && antiflood ? antiflood : SERVER_MINIMUM)
    let connection: CytubeConnection | undefined
    const sender = new Sender({
      channel: host.id,
      pacer,
      emit: (event, payload) => connection?.emit(event, payload) ?? false,
      self: () => self,
      echoTimeout: ECHO_TIMEOUT,
      readyTimeout: READY_TIMEOUT
    })

    // Inbound messages reach the router in order, from one fiber; a flood beyond 1024 waiting lines is dropped.
    const inbox = yield* Queue.dropping<MessageReceived>(1024)
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(inbox), host.receive)))
    const hand = (message: MessageReceived) => {
      if (!inbox.unsafeOffer(message)) log("warning", `inbound queue full; dropped ${message.messageId}`)
    }

    const inboundContext = (now: number): InboundContext => ({
      channel: host.id,
      persona: host.persona().id,
      room: config.room,
      self,
      isBot: (name) => host.accounts.has(PLATFORM, name),
      now
    })

    const onChat = (payload: unknown, replay: boolean) => {
      if (!isObject(payload) || typeof payload.username !== "string" || typeof payload.msg !== "string") return
      const time = typeof payload.time === "number" ? payload.time : 0
      const now = Date.now()
      const message = chatMessageOf(inboundContext(now), {
        username: payload.username,
        msg: payload.msg,
        time,
        meta: payload.meta
      })
      if (!message) return
      room.addLine({
        user: message.author.name,
        text: message.text,
        at: replay ? time : now,
        messageId: message.messageId
      })
      // The history replayed on join is context only: it was said before the bot was here.
      if (replay || time <= horizon) {
        horizon = Math.max(horizon, time)
        return
      }
      hand(message)
    }

    const onPm = (payload: unknown) => {
      if (!isObject(payload) || typeof payload.username !== "string" || typeof payload.msg !== "string") return
      // The server echoes our own PMs back to us: they confirm a send (Sender), they are not messages.
      if (payload.username.toLowerCase() === self.toLowerCase() || !config.pm) return
      hand(pmMessageOf(inboundContext(Date.now()), payload as unknown as PmPayload))
    }

    const onEvent = (event: string, payload: unknown, replay: boolean) => {
      sender.observe(event, payload, replay)
      if (room.apply(event, payload)) return
      switch (event) {
        case "chatMsg":
          return onChat(payload, replay)
        case "pm":
          return onPm(payload)
        case "rank":
          rank = typeof payload === "number" ? payload : rank
          return updatePacer()
        case "channelOpts":
          antiflood = antifloodOf(payload)
          return updatePacer()
        case "errorMsg":
          if (isObject(payload) && typeof payload.msg === "string") log("warning", `server error: ${payload.msg}`)
          return
        case "noflood":
          if (isObject(payload) && typeof payload.msg === "string")
            log("warning", `refused by the room: ${payload.msg}`)
          return
      }
    }

    const first = yield* Deferred.make<void, { readonly reason: string; readonly config: boolean }>()
    const configFailure = (reason: string) => {
      setState("failed", reason)
      log("error", `CyTube channel stopped: ${reason}`)
      Deferred.unsafeDone(first, Exit.fail({ reason, config: true }))
    }

    if (!/^[\w-]{1,30}$/.test(config.room)) {
      configFailure(`"${config.room}" is not a CyTube room name (1-30 of a-z, A-Z, 0-9, - and _)`)
    } else {
      const url = yield* discover(config.server, config.room).pipe(
        Effect.catchAll((error) =>
          error.permanent
            ? Effect.sync(() => {
                configFailure(error.reason)
                return undefined
              })
            : Effect.fail(new ChannelFailed({ channel: host.id, reason: error.reason }))
        )
      )
      if (url !== undefined) {
        connection = new CytubeConnection(
          {
            url,
            room: config.room,
            username: config.username,
            password: config.password || undefined,
            roomPassword: config.roomPassword || undefined,
            minDelay: config.reconnect.minDelay,
            maxDelay: config.reconnect.maxDelay
          },
          {
            event: onEvent,
            joined: (info) => {
              self = info.name
              host.accounts.add(PLATFORM, info.name)
              sender.joined(info)
              setState("ready")
              Deferred.unsafeDone(first, Exit.void)
              log("info", `joined ${config.room} as ${info.name}${info.guest ? " (guest)" : ""}`)
              run(annotate(sender.reconcile(store, info, host.persona().reply.staleAfter)))
            },
            down: (reason, retryInMs) => {
              sender.down(reason)
              setState("down", reason)
              Deferred.unsafeDone(first, Exit.fail({ reason, config: false }))
              log("warning", `disconnected from ${config.room}: ${reason}; reconnecting in ${retryInMs} ms`)
            },
            failed: (reason) => {
              sender.failed(reason)
              configFailure(reason)
            }
          }
        )
      }
    }

    host.accounts.add(PLATFORM, config.username)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        connection?.close()
        sender.failed("the channel is closing")
        host.accounts.remove(PLATFORM, config.username)
        if (self !== config.username) host.accounts.remove(PLATFORM, self)
      })
    )

    connection?.start()
    const outcome = yield* Effect.either(Deferred.await(first))
    if (outcome._tag === "Left" && !outcome.left.config) {
      // The first connection failed: the channel actor restarts us with its own backoff.
      return yield* new ChannelFailed({ channel: host.id, reason: outcome.left.reason })
    }

    const names = () => {
      const persona = host.persona()
      return [self, config.username, persona.id, persona.title, ...persona.reply.aliases]
    }

    const openReply = (target: ReplyTarget): ReplySink => {
      const destination: Destination = target.chat.id.startsWith("pm:")
        ? { kind: "pm", to: target.chat.id.slice(3) }
        : { kind: "room" }
      const reply = makeStreamingReply(
        target,
        {
          send: (text, chunk) => sender.send(destination, text, outboxKey(target.turnId, chunk)),
          edit: () =>
            Effect.fail(new DeliveryError({ channel: host.id, reason: "CyTube has no edits", ambiguous: false })),
          typing: () => Effect.void
        },
        {
          channel: host.id,
          persona: host.persona().id,
          limit: config.maxLength,
          stream: false,
          editInterval: 0,
          typingInterval: 60_000
        },
        store,
        scope
      )
      const finish = (event: OutboundEvent, text: string) =>
        Effect.gen(function* () {
          if (state === "failed") {
            return yield* new DeliveryError({ channel: host.id, reason: `channel is stopped`, ambiguous: false })
          }
          yield* reply.emit(event)
          yield* host.bus.publish({
            _tag: "ReplySent",
            at: Date.now(),
            correlationId: target.correlationId,
            persona: host.persona().id,
            conversationId: target.conversationId,
            channel: host.id,
            turnId: target.turnId,
            chunks: splitMessage(text, config.maxLength).length
          })
        })
      return {
        // No typing indicator and no edits on CyTube: only the final text goes out.
        offer: () => true,
        emit: (event) => {
          switch (event._tag) {
            case "Typing":
            case "ReplyDelta":
              return Effect.void
            case "ReplyCompleted": {
              const text = cleanReply(event.text, names())
              return finish({ ...event, text }, text)
            }
            case "ReplyFailed": {
              const text = cleanReply(event.userText, names())
              return finish({ ...event, userText: text }, text)
            }
          }
        }
      }
    }

    const instance: ChannelInstance = {
      id: host.id,
      platform: PLATFORM,
      state: () => state,
      openReply,
      context: (target) => room.context(target.replyTo),
      maxMessageLength: config.maxLength,
      attachments: false
    }
    return instance
  })
