/**
 * The in-process event bus. Publishing is synchronous and cheap (a loop over matching subscribers), so actors publish
 * from hot paths without waiting; each subscriber owns a bounded sliding queue, so a slow subscriber (a dashboard tab)
 * loses its oldest events instead of slowing the runtime down.
 */
import { Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import type { EventOf, EventTag, TroupeEvent } from "./Events.ts"

export interface SubscribeOptions<T extends EventTag> {
  /** Only these event types (default: all). */
  readonly tags?: ReadonlyArray<T>
  /** Queue size of this subscriber before the oldest events are dropped (default 4096). */
  readonly capacity?: number
}

export interface EventBusService {
  /** Publish from anywhere, synchronously. */
  readonly unsafePublish: (event: TroupeEvent) => void
  readonly publish: (event: TroupeEvent) => Effect.Effect<void>
  /** A queue of matching events for the lifetime of the surrounding scope. */
  readonly subscribe: <T extends EventTag = EventTag>(
    options?: SubscribeOptions<T>
  ) => Effect.Effect<Queue.Dequeue<EventOf<T>>, never, Scope.Scope>
  readonly stream: <T extends EventTag = EventTag>(options?: SubscribeOptions<T>) => Stream.Stream<EventOf<T>>
  /** The last events of the retained types (plugin and persona loads by default), oldest first. */
  readonly retained: () => ReadonlyArray<TroupeEvent>
  /** A synchronous listener (for logs and metrics); returns the function that removes it. */
  readonly listen: <T extends EventTag = EventTag>(
    tags: ReadonlyArray<T> | "all",
    listener: (event: EventOf<T>) => void
  ) => () => void
}

interface Listener {
  readonly tags: ReadonlySet<string> | undefined
  readonly deliver: (event: TroupeEvent) => void
}

export interface EventBusOptions {
  /** Events kept for late subscribers (e.g. the dashboard's reload history, which starts after the first loads). */
  readonly retain?: { readonly tags: ReadonlyArray<EventTag>; readonly limit: number }
}

const defaultRetain = {
  tags: ["PluginLoaded", "PluginFailed", "PluginUnloaded", "PersonaLoaded", "PersonaFailed", "PersonaUnloaded"],
  limit: 100
} satisfies EventBusOptions["retain"]

export const makeEventBus = (options: EventBusOptions = {}): EventBusService => {
  const listeners = new Set<Listener>()
  const retain = options.retain ?? defaultRetain
  const retainTags = new Set<string>(retain.tags)
  let retained: Array<TroupeEvent> = []
  const add = (tags: ReadonlyArray<string> | undefined, deliver: (event: TroupeEvent) => void) => {
    const listener: Listener = { tags: tags ? new Set(tags) : undefined, deliver }
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
    }
  }
  const unsafePublish = (event: TroupeEvent) => {
    if (retainTags.has(event._tag)) {
      retained.push(event)
      if (retained.length > retain.limit * 2) retained = retained.slice(-retain.limit)
    }
    for (const listener of listeners) {
      if (listener.tags === undefined || listener.tags.has(event._tag)) listener.deliver(event)
    }
  }
  const subscribe = <T extends EventTag>(options: SubscribeOptions<T> = {}) =>
    Effect.acquireRelease(
      Effect.map(Queue.sliding<EventOf<T>>(options.capacity ?? 4096), (queue) => ({
        queue,
        // `unsafeOffer` refuses when full; the sliding strategy (dropping the oldest) applies through `offer`.
        remove: add(options.tags, (event) => {
          if (!queue.unsafeOffer(event as EventOf<T>)) Effect.runSync(Queue.offer(queue, event as EventOf<T>))
        })
      })),
      ({ queue, remove }) => Effect.zipRight(Effect.sync(remove), Queue.shutdown(queue))
    ).pipe(Effect.map(({ queue }) => queue as Queue.Dequeue<EventOf<T>>))
  return {
    unsafePublish,
    publish: (event) => Effect.sync(() => unsafePublish(event)),
    subscribe,
    retained: () => retained.slice(-retain.limit),
    stream: (options) => Stream.unwrapScoped(Effect.map(subscribe(options), (queue) => Stream.fromQueue(queue))),
    listen: (tags, listener) => add(tags === "all" ? undefined : tags, listener as (event: TroupeEvent) => void)
  }
}

export class EventBus extends Context.Tag("troupe/EventBus")<EventBus, EventBusService>() {
  static readonly layer = Layer.sync(EventBus, makeEventBus)
}
