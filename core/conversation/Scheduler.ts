/**
 * The scheduler actor: scheduled prompts (one-shot `at` / `in`, and intervals) persisted in SQLite, each owned by a
 * persona + conversation. When one is due it runs as a turn of that conversation and the answer goes there.
 *
 * A run missed by more than `tolerance` (the runtime was down) is not made up for: an interval job moves on to its
 * next future time, a one-shot job is marked done with a log line. No burst after downtime.
 */
import { Clock, Duration, Effect, Fiber, type Scope } from "effect"
import type { ActorRef, Supervisor } from "../actor/Actor.ts"
import { EventBus } from "../events/EventBus.ts"
import type { Chat } from "../events/Events.ts"
import { type Job, type NewJob, Store } from "../store/Store.ts"
import { newTurnId } from "./ids.ts"
import type { Router } from "./Router.ts"

/** Where a conversation's replies go, remembered so a scheduled prompt can answer there after a restart. */
export interface ConversationAddress {
  readonly channel: string
  readonly chat: Chat
  readonly thread?: string
  readonly userId?: string
}

export const addressKey = (conversationId: string) => `address:${conversationId}`

export interface SchedulerOptions {
  /** Shortest interval a job may have (default 60 s). */
  readonly minInterval: number
  /** A run later than this is considered missed (default 60 s). */
  readonly tolerance: number
  /** The router of a persona, if it runs. */
  readonly router: (persona: string) => Router | undefined
}

export class ScheduleRejected extends Error {
  readonly _tag = "ScheduleRejected"
}

export interface SchedulerService {
  /** Add a job; `nextAt` must be in the future, `intervalMs` at least the minimum. */
  readonly schedule: (job: NewJob) => Effect.Effect<Job, ScheduleRejected>
  readonly list: (owner: string) => Effect.Effect<ReadonlyArray<Job>>
  /** Stop a job (kept, status `cancelled`); only its owner may. */
  readonly cancel: (owner: string, id: string) => Effect.Effect<boolean>
  /** Remove a job; only its owner may. */
  readonly remove: (owner: string, id: string) => Effect.Effect<boolean>
}

type SchedulerMessage = { readonly _tag: "Tick" }

export const makeScheduler = (
  supervisor: Supervisor,
  options: SchedulerOptions
): Effect.Effect<SchedulerService, never, Store | EventBus | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* Store
    const bus = yield* EventBus
    const running = new Set<Fiber.RuntimeFiber<unknown>>()

    const fire = (job: Job, now: number) =>
      Effect.gen(function* () {
        const router = options.router(job.persona)
        const stored = yield* store.getCursor(addressKey(job.conversationId))
        if (!router || !stored) {
          yield* Effect.logWarning(
            `scheduled prompt ${job.id} skipped: ${router ? "its conversation has no known address" : `persona ${job.persona} is not running`}`
          )
          return
        }
        const address = JSON.parse(stored) as ConversationAddress
        const turnId = newTurnId()
        const correlationId = `job-${job.id}-${turnId.slice(0, 4)}`
        yield* bus.publish({
          _tag: "ScheduledPromptFired",
          at: now,
          correlationId,
          persona: job.persona,
          conversationId: job.conversationId,
          jobId: job.id,
          prompt: job.prompt
        })
        // Each run is its own fiber, so one long turn does not hold back the other jobs.
        const fiber = yield* Effect.forkDaemon(
          router.scheduled(job.id, job.prompt, {
            ...address,
            conversationId: job.conversationId,
            turnId,
            correlationId
          })
        )
        running.add(fiber)
        fiber.addObserver(() => running.delete(fiber))
      })

    /** Handle every due job; returns how long to sleep until the next one. */
    const tick = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      for (const job of yield* store.dueJobs(now)) {
        const late = now - job.nextAt
        const missed = late > options.tolerance
        if (missed) {
          yield* Effect.logInfo(`scheduled prompt ${job.id} missed by ${Math.round(late / 1000)} s: not run late`)
        } else {
          yield* fire(job, now)
        }
        if (job.kind === "interval" && job.intervalMs) {
          const periods = Math.floor(late / job.intervalMs) + 1
          yield* store.updateJob(job.id, {
            nextAt: job.nextAt + periods * job.intervalMs,
            ...(missed ? {} : { lastRunAt: now })
          })
        } else {
          yield* store.updateJob(job.id, { status: "done", ...(missed ? {} : { lastRunAt: now }) })
        }
      }
      yield* store.commit.pipe(Effect.ignoreLogged)
      const next = (yield* store.listJobs({ status: "active" }))[0]
      return next ? Math.max(0, next.nextAt - now) : 60_000
    })

    // The actor: a tick on every message; between messages it sleeps until the next due job (or a new one arrives).
    let wakeUp: ActorRef<SchedulerMessage> | undefined
    const actor = yield* supervisor
      .spawn<SchedulerMessage, Store | EventBus>(
        { id: "scheduler", kind: "scheduler" },
        Effect.gen(function* () {
          const scope = yield* Effect.scope
          let timer: Fiber.RuntimeFiber<void> | undefined
          const arm = (delay: number) =>
            Effect.gen(function* () {
              if (timer) yield* Fiber.interrupt(timer)
              timer = yield* Effect.forkIn(
                Effect.zipRight(
                  Effect.sleep(Duration.millis(Math.min(delay, 60_000))),
                  Effect.sync(() => {
                    wakeUp?.unsafeOffer({ _tag: "Tick" })
                  })
                ),
                scope
              )
            })
          yield* Effect.addFinalizer(() => Effect.forEach([...running], Fiber.interrupt, { discard: true }))
          yield* Effect.flatMap(tick, arm)
          return () => Effect.flatMap(tick, arm)
        })
      )
      .pipe(Effect.orDie)
    wakeUp = actor
    const wake = Effect.sync(() => actor.unsafeOffer({ _tag: "Tick" }))

    const owned = (owner: string, id: string) =>
      Effect.map(store.getJob(id), (job) => (job && job.owner === owner ? job : undefined))

    return {
      schedule: (job) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          if (job.kind === "interval" && (job.intervalMs ?? 0) < options.minInterval) {
            return yield* Effect.fail(
              new ScheduleRejected(`the shortest interval is ${Math.round(options.minInterval / 1000)} s`)
            )
          }
          if (job.nextAt < now - 1000) return yield* Effect.fail(new ScheduleRejected("that time is in the past"))
          const added = yield* store.addJob(job)
          yield* store.commit.pipe(Effect.ignoreLogged)
          yield* wake
          return added
        }),
      list: (owner) => store.listJobs({ owner }),
      cancel: (owner, id) =>
        Effect.flatMap(owned(owner, id), (job) =>
          job
            ? Effect.as(Effect.zipRight(store.updateJob(id, { status: "cancelled" }), wake), true)
            : Effect.succeed(false)
        ),
      remove: (owner, id) =>
        Effect.flatMap(owned(owner, id), (job) =>
          job ? Effect.tap(store.deleteJob(id), () => wake) : Effect.succeed(false)
        )
    }
  })
