/**
 * The one actor module every actor in Troupe's tree uses: channel connections, routers, conversations, tool hosts,
 * the scheduler. An actor is a bounded mailbox + a fiber + its own `Scope` + a restart policy + counters.
 *
 * The mailbox belongs to the parent (the `Supervisor`), outside the child's scope, so a message sent while a child
 * restarts is delivered after the restart instead of being lost. A child that fails is restarted with exponential
 * backoff and jitter; more than `maxRestarts` failures inside `window` mark it failed and publish `ActorFailed`.
 *
 * Everything outside this folder talks to actors through `Supervisor`, `ActorRef` and `ask`, so a cluster backend
 * (e.g. `@effect/cluster` entities) can replace this local implementation by swapping this module.
 */
import { Data, Deferred, Effect, ExecutionStrategy, Exit, Scope } from "effect"
import type { ActorNode, ActorState, ActorStats } from "./ActorSystem.ts"
import { ActorSystem } from "./ActorSystem.ts"
import {
  type ActorUnavailable,
  type Handler,
  LocalActor,
  type RestartPolicy,
  type StopOptions
} from "./internal/LocalActor.ts"
import { Mailbox } from "./internal/Mailbox.ts"

export type { ActorState, ActorStats } from "./ActorSystem.ts"
export { ActorUnavailable, type Inbox, type RestartPolicy, type StopOptions } from "./internal/LocalActor.ts"

const noLabels: Readonly<Record<string, string>> = {}

export const defaultRestartPolicy: RestartPolicy = {
  initialDelay: "100 millis",
  maxDelay: "30 seconds",
  factor: 2,
  jitter: 0.2,
  maxRestarts: 5,
  window: "1 minute"
}

/**
 * What an actor does. The effect runs once per incarnation inside the actor's own scope (acquire connections,
 * timers, … there; they are released when the incarnation ends) and returns the message handler. A handler that
 * fails or dies crashes the incarnation, which is then restarted per the restart policy; the message that crashed
 * it counts as `failed`, the rest of the mailbox is kept.
 */
export type Behavior<M, R = never> = Effect.Effect<Handler<M, R>, unknown, R | Scope.Scope>

export interface ActorOptions {
  /** Unique among its siblings; the actor's path is `<parent path>/<id>`. */
  readonly id: string
  /** Shown in the dashboard and metrics: "persona", "channel", "router", "conversation", "tool", … */
  readonly kind?: string
  /** Mailbox capacity; senders wait (backpressure) when it is full. Default 1024. */
  readonly mailboxCapacity?: number
  readonly restart?: Partial<RestartPolicy>
  /** Free-form labels (persona, channel, …) for the dashboard and metrics. */
  readonly labels?: Readonly<Record<string, string>>
}

export class ActorExists extends Data.TaggedError("ActorExists")<{ readonly path: string }> {
  override get message() {
    return `an actor is already running at ${this.path}`
  }
}

/** A handle to a running actor. */
export interface ActorRef<M> {
  readonly id: string
  readonly path: string
  /** Enqueue a message, waiting while the mailbox is full. Fails when the actor is stopping, stopped or failed. */
  send(message: M): Effect.Effect<void, ActorUnavailable>
  /** Enqueue without waiting; `false` when the mailbox is full or the actor takes no messages. */
  unsafeOffer(message: M): boolean
  readonly state: ActorState
  readonly stats: ActorStats
  /** Resolves when the actor has stopped or failed for good. */
  readonly done: Effect.Effect<void>
}

/**
 * Send a request and wait for its answer: `make` builds the message around a `Deferred` the actor completes.
 *
 * @example
 * const count = yield* ask(counter, (reply) => ({ _tag: "Get", reply }))
 */
export const ask = <M, A, E = never>(
  ref: ActorRef<M>,
  make: (reply: Deferred.Deferred<A, E>) => M
): Effect.Effect<A, E | ActorUnavailable> =>
  Effect.flatMap(Deferred.make<A, E>(), (reply) => Effect.zipRight(ref.send(make(reply)), Deferred.await(reply)))

/** Children of one node in the actor tree, started and stopped by id. */
export interface Supervisor {
  readonly path: string
  /** Start a child actor; its mailbox is owned by this supervisor. */
  spawn<M, R>(options: ActorOptions, behavior: Behavior<M, R>): Effect.Effect<ActorRef<M>, ActorExists, R>
  /** A nested supervisor (a group node in the tree, e.g. a persona) that is shut down with this one. */
  group(id: string, kind?: string, labels?: Readonly<Record<string, string>>): Effect.Effect<Supervisor, ActorExists>
  /** Stop one child (actor or group). Returns the messages handed back (mode `handback`), else nothing. */
  stop(id: string, options?: StopOptions): Effect.Effect<ReadonlyArray<unknown>>
  get<M = unknown>(id: string): ActorRef<M> | undefined
  readonly size: number
  /** Stop every child (drain, newest first), then release this supervisor's scope. */
  readonly shutdown: Effect.Effect<void>
}

interface Child {
  readonly node: ActorNode
  readonly stop: (options: StopOptions) => Effect.Effect<ReadonlyArray<unknown>>
  readonly ref?: ActorRef<unknown>
}

const makeSupervisor = (
  system: ActorSystem["Type"],
  path: string,
  parentScope: Scope.Scope,
  selfNode: ActorNode | undefined
): Effect.Effect<Supervisor> =>
  Effect.gen(function* () {
    const scope = yield* Scope.fork(parentScope, ExecutionStrategy.sequential)
    const children = new Map<string, Child>()

    const stopChild = (id: string, options: StopOptions = {}) =>
      Effect.suspend(() => {
        const child = children.get(id)
        if (!child) return Effect.succeed([] as ReadonlyArray<unknown>)
        return Effect.ensuring(
          child.stop(options),
          Effect.sync(() => {
            if (children.get(id) === child) children.delete(id)
            system.unregister(child.node.path)
          })
        )
      })

    const spawn = <M, R>(options: ActorOptions, behavior: Behavior<M, R>) =>
      Effect.suspend(() => {
        const childPath = `${path}/${options.id}`
        if (children.has(options.id)) return Effect.fail(new ActorExists({ path: childPath }))
        // The mailbox is created here, by the parent, so it outlives every incarnation of the child.
        const mailbox = new Mailbox<M>(options.mailboxCapacity ?? 1024)
        const actor = new LocalActor<M, R>(
          options.id,
          childPath,
          path,
          options.kind ?? "actor",
          options.labels ?? noLabels,
          mailbox,
          options.restart ? { ...defaultRestartPolicy, ...options.restart } : defaultRestartPolicy,
          behavior,
          system
        )
        children.set(options.id, { node: actor, stop: (stopOptions) => actor.stop(stopOptions), ref: actor })
        system.register(actor)
        return Effect.as(actor.start(), actor as ActorRef<M>)
      })

    const group = (id: string, kind = "group", labels: Readonly<Record<string, string>> = {}) =>
      Effect.suspend(() => {
        const childPath = `${path}/${id}`
        if (children.has(id)) return Effect.fail(new ActorExists({ path: childPath }))
        const node: ActorNode = {
          path: childPath,
          parent: path,
          kind,
          labels,
          state: "ready",
          startedAt: Date.now(),
          stats: undefined,
          lastError: undefined,
          mailboxSize: () => 0
        }
        return Effect.map(makeSupervisor(system, childPath, scope, node), (sup) => {
          children.set(id, { node, stop: () => Effect.as(sup.shutdown, []) })
          system.register(node)
          return sup
        })
      })

    const shutdown = Effect.suspend(() => {
      if (selfNode) selfNode.state = "stopping"
      const ids = [...children.keys()].reverse()
      return Effect.forEach(ids, (id) => stopChild(id), { discard: true }).pipe(
        Effect.zipRight(Scope.close(scope, Exit.void)),
        Effect.ensuring(
          Effect.sync(() => {
            if (selfNode) selfNode.state = "stopped"
          })
        )
      )
    })

    const supervisor: Supervisor = {
      path,
      spawn,
      group,
      stop: stopChild,
      get: <M>(id: string) => children.get(id)?.ref as ActorRef<M> | undefined,
      get size() {
        return children.size
      },
      shutdown
    }
    return supervisor
  })

/**
 * The root of an actor tree, released (every child drained and stopped) when the surrounding scope closes.
 *
 * @example
 * const root = yield* Supervisor.root("troupe")
 * const echo = yield* root.spawn({ id: "echo" }, Effect.succeed((m: string) => Effect.log(m)))
 * yield* echo.send("hello")
 */
export const root = (path = "troupe"): Effect.Effect<Supervisor, never, ActorSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const system = yield* ActorSystem
    const scope = yield* Effect.scope
    const supervisor = yield* makeSupervisor(system, path, scope, undefined)
    yield* Effect.addFinalizer(() => supervisor.shutdown)
    return supervisor
  })
