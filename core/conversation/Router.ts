/**
 * A persona's router: every inbound message of every channel of the persona passes here. It asks the reply policy
 * whether to answer, records the message (so a platform's redelivery is recognised), and hands it to the conversation
 * actor of its conversation id — spawned on the first message, stopped after an idle TTL (passivation). Memory is
 * bounded by active conversations, not by how many ever existed.
 */
import { Clock, Deferred, Duration, Effect, type Scope } from "effect"
import type { ActorRef, Supervisor } from "../actor/Actor.ts"
import type { ChannelInstance, ReplyTarget } from "../channels/Channel.ts"
import { channelIdOf } from "../channels/channelId.ts"
import { EventBus } from "../events/EventBus.ts"
import type { MessageReceived } from "../events/Events.ts"
import type { LlmProviders } from "../llm/Providers.ts"
import { withCorrelation } from "../log/Correlation.ts"
import { Metrics } from "../metrics/Metrics.ts"
import { defineTroupeMetrics } from "../metrics/TroupeMetrics.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import { Store } from "../store/Store.ts"
import type { Tools } from "../tools/Tools.ts"
import { type ConversationMessage, conversationBehavior } from "./Conversation.ts"
import { conversationIdOf, roomKeyOf } from "./ConversationId.ts"
import { newTurnId } from "./ids.ts"
import type { Decision } from "./ReplyPolicy.ts"
import { ReplyPolicyState } from "./ReplyPolicy.ts"
import { mergePolicy, type ReplyPolicyConfig } from "./ReplyPolicyConfig.ts"

export type RouterServices = Store | EventBus | Metrics | LlmProviders | Tools

export interface RouterEnv {
  readonly persona: () => PersonaDefinition
  readonly channel: (id: string) => ChannelInstance | undefined
  /** Wait (a bounded time) for a configured channel that is still connecting. */
  readonly awaitChannel?: (id: string) => Effect.Effect<ChannelInstance | undefined>
  readonly dryRun: boolean
  /** Source of the trigger and chime-in dice (seed it in tests). */
  readonly random?: () => number
}

export interface Router {
  /** Decide and route one inbound message. */
  readonly receive: (message: MessageReceived) => Effect.Effect<void>
  /**
   * Answer a message recorded before a restart but never answered (the policy already said yes), continuing the turn
   * that had started on it, if any.
   */
  readonly resume: (message: MessageReceived, conversationId: string, turnId?: string) => Effect.Effect<void>
  /** Run a scheduled prompt as a turn of its conversation; resolves when the turn is over. */
  readonly scheduled: (
    jobId: string,
    prompt: string,
    target: ReplyTarget & { readonly channel: string }
  ) => Effect.Effect<boolean>
  /** Clear a conversation's history (through its actor, so it is ordered with its messages). */
  readonly reset: (conversationId: string) => Effect.Effect<number>
  /** The stored history of a conversation changed underneath its actor (if it is alive, it reads it again). */
  readonly historyChanged: (conversationId: string) => void
  /** Conversation actors currently alive. */
  readonly active: () => number
}

/** The names a persona answers to when mentioned: id, display name and aliases. */
export const namesOf = (persona: PersonaDefinition, policy: ReplyPolicyConfig) => [
  persona.id,
  ...(persona.title === persona.id ? [] : [persona.title]),
  ...policy.aliases
]

export const makeRouter = (
  supervisor: Supervisor,
  env: RouterEnv
): Effect.Effect<Router, never, RouterServices | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<RouterServices>()
    const store = yield* Store
    const bus = yield* EventBus
    const metrics = defineTroupeMetrics(yield* Metrics)
    const state = new ReplyPolicyState()
    const random = env.random ?? Math.random
    const conversations = new Map<string, { ref: ActorRef<ConversationMessage>; lastActive: number }>()

    // A channel's `reply:` overrides the persona's policy; merged once per persona version and channel.
    const policies = new WeakMap<PersonaDefinition, Map<string, ReplyPolicyConfig>>()
    const policyFor = (persona: PersonaDefinition, channelId: string): ReplyPolicyConfig => {
      let perChannel = policies.get(persona)
      if (!perChannel) {
        perChannel = new Map()
        policies.set(persona, perChannel)
      }
      let policy = perChannel.get(channelId)
      if (!policy) {
        const section = persona.channels.find((c) => channelIdOf(c) === channelId)
        policy = mergePolicy(persona.reply, section?.reply)
        perChannel.set(channelId, policy)
      }
      return policy
    }

    const conversation = (conversationId: string, now: number) =>
      Effect.suspend(() => {
        const existing = conversations.get(conversationId)
        if (existing) {
          existing.lastActive = now
          return Effect.succeed(existing.ref)
        }
        return supervisor
          .spawn(
            {
              id: conversationId,
              kind: "conversation",
              mailboxCapacity: 256,
              labels: { persona: env.persona().id }
            },
            conversationBehavior({
              conversationId,
              persona: env.persona,
              channel: env.channel,
              ...(env.awaitChannel ? { awaitChannel: env.awaitChannel } : {}),
              dryRun: env.dryRun
            })
          )
          .pipe(
            Effect.tap((ref) => Effect.sync(() => conversations.set(conversationId, { ref, lastActive: now }))),
            Effect.orDie
          )
      })

    const send = (conversationId: string, message: ConversationMessage, now: number): Effect.Effect<void> => {
      // Fast path: the conversation is alive and has room.
      const existing = conversations.get(conversationId)
      if (existing?.ref.unsafeOffer(message)) {
        existing.lastActive = now
        return Effect.void
      }
      return sendSlow(conversationId, message, now)
    }

    /** Spawn the conversation if needed (with the router's services), then wait for room in its mailbox. */
    const sendSlow = (conversationId: string, message: ConversationMessage, now: number) =>
      Effect.flatMap(conversation(conversationId, now), (ref) =>
        ref.send(message).pipe(
          // Stopped between lookup and send (passivated or failed): forget it and start it again.
          Effect.catchTag("ActorUnavailable", () =>
            Effect.suspend(() => {
              conversations.delete(conversationId)
              return Effect.flatMap(conversation(conversationId, now), (fresh) => Effect.orDie(fresh.send(message)))
            })
          )
        )
      ).pipe(Effect.provide(context))

    const queuedFor = (conversationId: string) => {
      const entry = conversations.get(conversationId)
      return entry ? queuedIn(entry.ref) : 0
    }

    const decisionEvent = (
      message: MessageReceived,
      persona: string,
      conversationId: string,
      now: number,
      decision: Decision
    ) => {
      metrics.policyDecisions.inc({ persona, channel: message.channel, decision: decision.decision })
      bus.unsafePublish({
        _tag: "PolicyDecision",
        at: now,
        correlationId: message.correlationId,
        persona,
        conversationId,
        channel: message.channel,
        messageId: message.messageId,
        decision: decision.decision,
        reason: decision.reason
      })
    }

    // The hot path: everything but the inbound record is plain synchronous code (this runs for every message of
    // every channel); effects only where they are needed (the store, spawning a conversation, waiting for room).
    const receive = (message: MessageReceived): Effect.Effect<void> =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const persona = env.persona()
        metrics.messagesIn.inc({ persona: persona.id, channel: message.channel })
        bus.unsafePublish(message)
        const policy = policyFor(persona, message.channel)
        const conversationId = conversationIdOf(persona.id, message, policy.history === "user")
        const decision = state.decide({
          message,
          policy,
          names: namesOf(persona, policy),
          room: roomKeyOf(message),
          now,
          random,
          queued: queuedFor(conversationId)
        })
        if (decision.decision !== "answer") {
          decisionEvent(message, persona.id, conversationId, now, decision)
          if (decision.decision === "limited" && decision.notify) {
            return send(conversationId, { _tag: "Notice", message, key: "slow_down" }, now)
          }
          return Effect.logDebug(`not answering: ${decision.reason}`).pipe(
            withCorrelation(message.correlationId, persona.id)
          )
        }
        // The turn that answers it is named now and recorded with it: a restart can then finish that very turn.
        const turnId = newTurnId()
        return Effect.flatMap(
          store.recordInbound({
            messageId: message.messageId,
            persona: persona.id,
            conversationId,
            at: message.at,
            payload: JSON.stringify(message),
            turnId
          }),
          (seen) => {
            if (seen === "seen") {
              decisionEvent(message, persona.id, conversationId, now, {
                decision: "ignore",
                reason: "already seen (redelivered by the platform)"
              })
              return Effect.void
            }
            decisionEvent(message, persona.id, conversationId, now, decision)
            return send(conversationId, { _tag: "Inbound", message, turnId, recorded: true }, now)
          }
        )
      })

    // Passivation: idle conversation actors are stopped; their state is in the store.
    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const ttl = env.persona().memory.idleTtl
      const idle: Array<string> = []
      for (const [id, entry] of conversations) {
        if (now - entry.lastActive < ttl || !isIdle(entry.ref)) continue
        conversations.delete(id)
        idle.push(id)
      }
      // Many at once: a sweep must keep up with thousands of conversations going quiet.
      yield* Effect.forEach(idle, (id) => supervisor.stop(id), { concurrency: 64, discard: true })
    })
    const interval = () => Duration.millis(Math.min(30_000, Math.max(100, env.persona().memory.idleTtl / 4)))
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.zipRight(
          Effect.suspend(() => Effect.sleep(interval())),
          sweep
        )
      )
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => conversations.clear()))

    const request = <A>(conversationId: string, make: (done: Deferred.Deferred<A>) => ConversationMessage) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<A>()
        yield* send(conversationId, make(done), yield* Clock.currentTimeMillis)
        return yield* Deferred.await(done)
      }).pipe(Effect.provide(context))

    const resume = (message: MessageReceived, conversationId: string, turnId?: string) =>
      Effect.gen(function* () {
        yield* Effect.logInfo(`answering a message left unanswered by the last run`).pipe(
          Effect.annotateLogs({
            cid: message.correlationId,
            conversation: conversationId,
            ...(turnId ? { turn: turnId } : {})
          })
        )
        yield* send(
          conversationId,
          turnId ? { _tag: "Inbound", message, turnId } : { _tag: "Inbound", message },
          Date.now()
        )
      }).pipe(Effect.provide(context))

    return {
      receive,
      resume,
      scheduled: (jobId, prompt, target) =>
        request<boolean>(target.conversationId, (done) => ({ _tag: "Scheduled", jobId, prompt, target, done })),
      reset: (conversationId) => request<number>(conversationId, (done) => ({ _tag: "Reset", done })),
      historyChanged: (conversationId) => {
        conversations.get(conversationId)?.ref.unsafeOffer({ _tag: "Reload" })
      },
      active: () => conversations.size
    }
  })

const queuedIn = (ref: ActorRef<ConversationMessage>) => ref.stats.received - ref.stats.processed - ref.stats.failed

/** Nothing queued and nothing in hand. */
const isIdle = (ref: ActorRef<ConversationMessage>) => queuedIn(ref) <= 0
