/**
 * The local implementation of one actor: its mailbox, its fiber, the incarnation scope, restarts and counters.
 *
 * It is a class so that an idle actor costs little: methods live on the prototype, and the effects the message loop
 * reuses are built once per incarnation instead of once per message. Only `Actor.ts` constructs it.
 */
import { Cause, Data, Duration, Effect, Exit, Fiber, Option, Random, Scope } from "effect"
import type { ActorNode, ActorState, ActorSystemService } from "../ActorSystem.ts"
import { Empty, type Mailbox } from "./Mailbox.ts"

/** How an actor is restarted after a failure. */
export interface RestartPolicy {
  /** Delay before the first restart (default 100 ms). */
  readonly initialDelay: Duration.DurationInput
  /** Upper bound for the delay (default 30 s). */
  readonly maxDelay: Duration.DurationInput
  /** Growth factor between consecutive restarts (default 2). */
  readonly factor: number
  /** Random spread added to each delay, as a fraction of it (default 0.2 = up to +20%). */
  readonly jitter: number
  /** Restart budget: more than this many restarts within `window` marks the actor failed (default 5). */
  readonly maxRestarts: number
  /** Sliding window of the restart budget (default 1 minute). */
  readonly window: Duration.DurationInput
}

/** The rest of an actor's mailbox, as its handler sees it. */
export interface Inbox<M> {
  /** Messages waiting behind the one being handled. */
  readonly size: number
  /** Take waiting messages from the front for as long as `accept` says yes (e.g. to fold them into one turn). */
  takeWhile(accept: (message: M) => boolean): ReadonlyArray<M>
}

export type Handler<M, R> = (message: M, inbox: Inbox<M>) => Effect.Effect<void, unknown, R>

export class ActorUnavailable extends Data.TaggedError("ActorUnavailable")<{
  readonly path: string
  readonly state: ActorState
}> {
  override get message() {
    return `actor ${this.path} is ${this.state} and takes no messages`
  }
}

export interface StopOptions {
  /** `drain` (default) processes what is queued before stopping; `handback` returns the queued messages instead. */
  readonly mode?: "drain" | "handback"
  /** After this long the actor is interrupted whatever it is doing (default 10 s). */
  readonly timeout?: Duration.DurationInput
}

const reasonOf = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.squash(cause)
  return failure instanceof Error ? failure.message : String(failure)
}

export class LocalActor<M, R> implements ActorNode, Inbox<M> {
  state: ActorState = "starting"
  readonly startedAt = Date.now()
  lastError: string | undefined = undefined
  received = 0
  processed = 0
  failed = 0
  restarts = 0

  private accepting = true
  private stopping = false
  private inHand = false
  private restartTimes: Array<number> | undefined
  private incarnationScope: Scope.CloseableScope | undefined
  private handle: Handler<M, R> | undefined
  private waitThenNext: Effect.Effect<void, unknown, R> | undefined
  private fiber: Fiber.RuntimeFiber<void> | undefined

  constructor(
    readonly id: string,
    readonly path: string,
    readonly parent: string,
    readonly kind: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly mailbox: Mailbox<M>,
    private readonly policy: RestartPolicy,
    private readonly behavior: Effect.Effect<Handler<M, R>, unknown, R | Scope.Scope>,
    private readonly system: ActorSystemService
  ) {}

  get stats() {
    return this
  }

  mailboxSize(): number {
    return this.mailbox.size
  }

  get size(): number {
    return this.mailbox.size
  }

  takeWhile(accept: (message: M) => boolean): ReadonlyArray<M> {
    const taken = this.mailbox.takeWhile(accept)
    this.processed += taken.length
    return taken
  }

  readonly send = (message: M): Effect.Effect<void, ActorUnavailable> =>
    Effect.suspend(() => {
      if (!this.accepting) return Effect.fail(new ActorUnavailable({ path: this.path, state: this.state }))
      this.received++
      // Fast path when there is room; otherwise wait in line (backpressure).
      return this.mailbox.offer(message) ? Effect.void : this.mailbox.offerWait(message)
    })

  readonly unsafeOffer = (message: M): boolean => {
    if (!this.accepting || !this.mailbox.offer(message)) return false
    this.received++
    return true
  }

  get done(): Effect.Effect<void> {
    return this.fiber ? Effect.asVoid(Fiber.await(this.fiber)) : Effect.void
  }

  start(): Effect.Effect<void, never, R> {
    // Interruptible whatever the caller is: a fiber forked inside an uninterruptible region (e.g. a plugin version
    // swap) would otherwise inherit it, and `stop` could never interrupt the actor after its drain timeout.
    return Effect.map(Effect.forkDaemon(Effect.interruptible(this.live())), (fiber) => {
      this.fiber = fiber
    })
  }

  // --- the message loop -------------------------------------------------------------------------------------------

  private readonly afterOne = (): Effect.Effect<void, unknown, R> => {
    this.inHand = false
    this.processed++
    return this.next()
  }

  /** Handle the next message, or wait for one. A message leaves the mailbox only when it is handled. */
  private next(): Effect.Effect<void, unknown, R> {
    const message = this.mailbox.poll()
    if (message !== Empty) {
      this.inHand = true
      return Effect.flatMap(this.handle!(message, this), this.afterOne)
    }
    if (this.stopping) return Effect.void
    return this.waitThenNext!
  }

  // --- incarnations and restarts ----------------------------------------------------------------------------------

  /**
   * One incarnation after another. The behaviour's setup runs in a short-lived fiber that has the incarnation's scope
   * in its context; the long-lived actor fiber only takes and handles messages, which keeps an idle actor small. The
   * scope is closed when the incarnation ends, or by `stop` when the fiber is interrupted.
   */
  private live(): Effect.Effect<void, never, R> {
    const setup = Effect.flatMap(Scope.make(), (scope) => {
      this.incarnationScope = scope
      return Effect.flatMap(Effect.forkDaemon(Effect.provideService(this.behavior, Scope.Scope, scope)), (fiber) =>
        Effect.onInterrupt(Effect.flatten(Fiber.await(fiber)), () => Fiber.interrupt(fiber))
      )
    })
    return Effect.matchCauseEffect(
      Effect.flatMap(setup, (handle) => {
        this.handle = handle
        this.waitThenNext = Effect.flatMap(this.mailbox.awaitMessage, () => this.next())
        this.state = this.stopping ? "stopping" : "ready"
        return Effect.suspend(() => this.next())
      }),
      {
        onSuccess: () => Effect.zipRight(this.closeScope(Exit.void), this.ended()),
        onFailure: (cause) => Effect.zipRight(this.closeScope(Exit.failCause(cause)), this.crashed(cause))
      }
    )
  }

  private ended() {
    return Effect.sync(() => {
      if (this.state !== "failed") this.state = "stopped"
    })
  }

  private closeScope(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const scope = this.incarnationScope
      this.incarnationScope = undefined
      return scope ? Scope.close(scope, exit) : Effect.void
    })
  }

  private crashed(cause: Cause.Cause<unknown>): Effect.Effect<void, never, R> {
    return Effect.suspend(() => {
      if (this.stopping) return this.ended()
      if (this.inHand) this.failed++
      this.inHand = false
      const reason = reasonOf(cause)
      this.lastError = reason
      const now = Date.now()
      const windowStart = now - Duration.toMillis(this.policy.window)
      if (!this.restartTimes) this.restartTimes = []
      const times = this.restartTimes
      times.push(now)
      while (times.length > 0 && times[0]! < windowStart) times.shift()
      if (times.length > this.policy.maxRestarts) return this.giveUp(cause, reason, now)
      const attempt = times.length
      this.restarts++
      this.state = "restarting"
      this.system.publish({ _tag: "ActorRestarted", at: now, path: this.path, kind: this.kind, attempt, reason })
      return Effect.logWarning(`actor ${this.path} crashed, restarting (attempt ${attempt})`, cause).pipe(
        Effect.zipRight(Effect.flatMap(this.backoff(attempt), Effect.sleep)),
        Effect.zipRight(
          Effect.suspend(() => {
            if (this.stopping) return this.ended()
            this.state = "starting"
            return this.live()
          })
        )
      )
    })
  }

  private giveUp(cause: Cause.Cause<unknown>, reason: string, now: number): Effect.Effect<void> {
    this.state = "failed"
    this.accepting = false
    const { maxRestarts, window } = this.policy
    this.system.publish({
      _tag: "ActorFailed",
      at: now,
      path: this.path,
      kind: this.kind,
      reason: `more than ${maxRestarts} restarts within ${Duration.format(window)}; last error: ${reason}`
    })
    return Effect.logError(`actor ${this.path} failed: restart budget exhausted`, cause)
  }

  private backoff(attempt: number): Effect.Effect<Duration.Duration> {
    const { initialDelay, maxDelay, factor, jitter } = this.policy
    return Effect.map(Random.next, (r) => {
      const base = Duration.toMillis(initialDelay) * factor ** Math.max(0, attempt - 1)
      const capped = Math.min(base, Duration.toMillis(maxDelay))
      return Duration.millis(Math.round(capped * (1 + jitter * r)))
    })
  }

  // --- stopping ---------------------------------------------------------------------------------------------------

  stop(options: StopOptions): Effect.Effect<ReadonlyArray<M>> {
    return Effect.gen(this, function* () {
      this.accepting = false
      const fiber = this.fiber
      this.mailbox.close()
      if (!fiber || this.state === "failed" || this.state === "stopped") return this.mailbox.drain()
      const handback = options.mode === "handback" ? this.mailbox.drain() : []
      this.stopping = true
      if (this.state === "ready") {
        // The loop ends once the mailbox is empty; if it is waiting for a message, wake it so it notices.
        this.state = "stopping"
        this.mailbox.wakeUp()
      } else {
        // Starting or backing off: no message is in hand, so interrupting loses nothing.
        yield* Fiber.interrupt(fiber)
      }
      const timeout = options.timeout ?? "10 seconds"
      const exited = yield* Fiber.await(fiber).pipe(Effect.timeout(timeout), Effect.option)
      if (Option.isNone(exited)) {
        yield* Effect.logWarning(`actor ${this.path} did not stop within ${Duration.format(timeout)}`)
        yield* Fiber.interrupt(fiber)
      }
      yield* this.closeScope(Exit.interrupt(fiber.id()))
      if ((this.state as ActorState) !== "failed") this.state = "stopped"
      return [...handback, ...this.mailbox.drain()]
    })
  }
}
