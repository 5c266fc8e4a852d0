/**
 * The registry behind the actor tree: every actor and group registers here so `/readyz`, `/metrics` and the dashboard
 * can read the live tree, and lifecycle events (`ActorRestarted`, `ActorFailed`) reach the event bus.
 */
import { Context, Effect, Layer } from "effect"
import { EventBus } from "../events/EventBus.ts"
import type { TroupeEvent } from "../events/Events.ts"

export type ActorState = "starting" | "ready" | "restarting" | "failed" | "stopping" | "stopped"

export interface ActorStats {
  received: number
  processed: number
  failed: number
  restarts: number
}

/** One node of the live tree: an actor (with stats) or a group such as a persona (without). */
export interface ActorNode {
  readonly path: string
  readonly parent: string
  readonly kind: string
  readonly labels: Readonly<Record<string, string>>
  state: ActorState
  readonly startedAt: number
  readonly stats: ActorStats | undefined
  lastError: string | undefined
  readonly mailboxSize: () => number
}

/** A plain, serializable copy of a node for pages, metrics and health checks. */
export interface ActorInfo {
  readonly path: string
  readonly parent: string
  readonly kind: string
  readonly labels: Readonly<Record<string, string>>
  readonly state: ActorState
  readonly startedAt: number
  readonly received: number
  readonly processed: number
  readonly failed: number
  readonly restarts: number
  readonly mailbox: number
  readonly lastError?: string
}

export const snapshotOf = (node: ActorNode): ActorInfo => ({
  path: node.path,
  parent: node.parent,
  kind: node.kind,
  labels: node.labels,
  state: node.state,
  startedAt: node.startedAt,
  received: node.stats?.received ?? 0,
  processed: node.stats?.processed ?? 0,
  failed: node.stats?.failed ?? 0,
  restarts: node.stats?.restarts ?? 0,
  mailbox: node.mailboxSize(),
  ...(node.lastError === undefined ? {} : { lastError: node.lastError })
})

export interface ActorSystemService {
  register(node: ActorNode): void
  unregister(path: string): void
  /** Nodes in registration order (parents before their children). */
  nodes(): Iterable<ActorNode>
  snapshot(): ReadonlyArray<ActorInfo>
  publish(event: TroupeEvent): void
}

export const makeActorSystem = (publish: (event: TroupeEvent) => void): ActorSystemService => {
  const nodes = new Map<string, ActorNode>()
  return {
    register: (node) => {
      nodes.set(node.path, node)
      publish({ _tag: "ActorStarted", at: Date.now(), path: node.path, kind: node.kind })
    },
    unregister: (path) => {
      const node = nodes.get(path)
      if (!node) return
      nodes.delete(path)
      publish({ _tag: "ActorStopped", at: Date.now(), path, kind: node.kind })
    },
    nodes: () => nodes.values(),
    snapshot: () => Array.from(nodes.values(), snapshotOf),
    publish
  }
}

export class ActorSystem extends Context.Tag("troupe/ActorSystem")<ActorSystem, ActorSystemService>() {
  /** Lifecycle events go to the `EventBus`. */
  static readonly layer = Layer.effect(
    ActorSystem,
    Effect.map(EventBus, (bus) => makeActorSystem(bus.unsafePublish))
  )
}
