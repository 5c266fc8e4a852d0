/**
 * A bounded, single-consumer mailbox. Senders never block while there is room; when it is full they wait in line
 * (backpressure) and are admitted in order as the actor takes messages. The one consumer takes messages synchronously
 * with `poll` and, when there are none, waits in `awaitMessage` (the only suspension point of an idle actor).
 *
 * A message stays in the mailbox until the actor takes it, so a message is never "in flight" between the two: if the
 * actor is interrupted while waiting, nothing is lost.
 */
import { Effect } from "effect"

/** Returned by `poll` when the mailbox is empty. */
export const Empty: unique symbol = Symbol("troupe/Mailbox/Empty")

interface Putter<A> {
  readonly item: A
  readonly resume: (effect: Effect.Effect<void>) => void
}

export class Mailbox<A> {
  private items: Array<A> = []
  private head = 0
  private putters: Array<Putter<A>> | undefined
  private waiter: ((effect: Effect.Effect<void>) => void) | undefined
  private closed = false

  constructor(readonly capacity: number) {}

  /** Messages queued, including senders waiting for room. */
  get size(): number {
    return this.items.length - this.head + (this.putters?.length ?? 0)
  }

  /** Enqueue if there is room; `false` when full or closed. */
  offer(item: A): boolean {
    if (this.closed || this.items.length - this.head >= this.capacity || this.putters?.length) return false
    this.items.push(item)
    this.wake()
    return true
  }

  /** Enqueue, waiting in line while the mailbox is full. */
  offerWait(item: A): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.offer(item) || this.closed) return Effect.void
      return Effect.async<void>((resume) => {
        const putter: Putter<A> = { item, resume }
        if (!this.putters) this.putters = []
        this.putters.push(putter)
        return Effect.sync(() => {
          const index = this.putters?.indexOf(putter) ?? -1
          if (index >= 0) this.putters!.splice(index, 1)
        })
      })
    })
  }

  /** Take the oldest message, or `Empty`. */
  poll(): A | typeof Empty {
    if (this.head >= this.items.length) return Empty
    const item = this.items[this.head]!
    this.items[this.head++] = undefined as never
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    if (this.putters?.length) this.admit()
    return item
  }

  /** Take messages from the front for as long as `accept` says yes. */
  takeWhile(accept: (item: A) => boolean): Array<A> {
    const taken: Array<A> = []
    while (this.head < this.items.length && accept(this.items[this.head]!)) {
      const item = this.poll()
      if (item === Empty) break
      taken.push(item)
    }
    return taken
  }

  /** Suspends until a message is there (or `wakeUp` is called); resumes at once if one already is. */
  readonly awaitMessage: Effect.Effect<void> = Effect.suspend(() =>
    this.head < this.items.length
      ? Effect.void
      : Effect.async<void>((resume) => {
          this.waiter = resume
          return Effect.sync(() => {
            if (this.waiter === resume) this.waiter = undefined
          })
        })
  )

  /** Resume a waiting consumer even though nothing arrived (e.g. so it notices a stop request). */
  wakeUp(): void {
    this.wake()
  }

  /** Refuse new messages and release every waiting sender (their messages are returned by `drain`). */
  close(): void {
    this.closed = true
    this.admitAll()
  }

  /** Remove and return everything queued, waiting senders' messages included. */
  drain(): Array<A> {
    this.admitAll()
    const rest = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return rest
  }

  private wake() {
    const waiter = this.waiter
    if (waiter) {
      this.waiter = undefined
      waiter(Effect.void)
    }
  }

  private admit() {
    const putters = this.putters!
    while (putters.length > 0 && this.items.length - this.head < this.capacity) {
      const putter = putters.shift()!
      this.items.push(putter.item)
      putter.resume(Effect.void)
    }
  }

  private admitAll() {
    const putters = this.putters
    if (!putters) return
    this.putters = undefined
    for (const putter of putters) {
      this.items.push(putter.item)
      putter.resume(Effect.void)
    }
  }
}
