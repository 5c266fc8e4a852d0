/**
 * Conversation figures, in one run:
 * - heap bytes per active conversation actor (N conversations, each answered once and left alive: the actor, its
 *   history cache, the router's entry and the reply policy's state);
 * - RSS while touching 100,000 distinct conversations with a 1 s idle TTL (passivation must make it plateau);
 * - reply-policy decisions per second.
 *
 * Run: bun bench/conversations.ts [--active N] [--touched N]
 */
import { heapStats } from "bun:jsc"
import { Effect, Schema } from "effect"
import * as Actor from "../core/actor/Actor.ts"
import { makeMemoryChannel } from "../core/channels/memory/MemoryChannel.ts"
import { ReplyPolicyState } from "../core/conversation/ReplyPolicy.ts"
import { ReplyPolicyConfig } from "../core/conversation/ReplyPolicyConfig.ts"
import { makeRouter } from "../core/conversation/Router.ts"
import { inbound } from "../tests/support/messages.ts"
import { personaOf } from "../tests/support/persona.ts"
import { runInProcess } from "./inProcess.ts"
import { arg, fmt, report, rssMb } from "./support.ts"

const active = arg("active", 5_000)
const touched = arg("touched", 100_000)

let sequence = 0
const messageOf = (chat: string, text: string) =>
  inbound({
    correlationId: `c${++sequence}`,
    persona: "bench",
    channel: "memory:bench",
    messageId: `memory:bench/${chat}/${sequence}`,
    chat: { id: chat, kind: "dm" },
    author: { id: `u-${chat}`, name: "User", isBot: false },
    text
  })

/** A router whose replies are counted, and a way to wait until `n` replies are in. */
const setup = (idleTtl: string, id: string) =>
  Effect.gen(function* () {
    let replies = 0
    const channel = makeMemoryChannel({
      id: "memory:bench",
      record: false,
      onEvent: (_, event) => {
        if (event._tag === "ReplyCompleted" || event._tag === "ReplyFailed") replies++
      }
    })
    const root = yield* Actor.root(id)
    const group = yield* Effect.orDie(root.group("router", "router"))
    const persona = personaOf({ memory: { idle_ttl: idleTtl }, reply: { duplicate_window: 0 } }, "bench")
    const router = yield* makeRouter(group, { persona: () => persona, channel: () => channel, dryRun: false })
    const until = (n: number) =>
      Effect.gen(function* () {
        while (replies < n) yield* Effect.sleep("2 millis")
      })
    return { router, root, until, replies: () => replies }
  })

const heapPerConversation = Effect.gen(function* () {
  const { router, until, root } = yield* setup("1h", "heap")
  // Warm up the code paths and the store's statements first.
  for (let i = 0; i < 200; i++) yield* router.receive(messageOf(`warm${i}`, "hello"))
  yield* until(200)
  Bun.gc(true)
  const before = heapStats().heapSize
  for (let i = 0; i < active; i++) yield* router.receive(messageOf(`chat${i}`, "hello there"))
  yield* until(200 + active)
  yield* Effect.sleep("50 millis")
  Bun.gc(true)
  const perConversation = (heapStats().heapSize - before) / active
  const alive = router.active()
  yield* root.shutdown
  return { perConversation, alive }
})

const plateau = Effect.gen(function* () {
  const { router, until, root } = yield* setup("1s", "plateau")

  const samples: Array<readonly [number, number, number, number]> = []
  const start = performance.now()
  for (let i = 0; i < touched; i++) {
    yield* router.receive(messageOf(`t${i}`, "hi"))
    // Keep a bounded number in flight so the run measures steady state, not a backlog; and let the event loop run now
    // and then, as it does when messages arrive from the network (timers such as the passivation sweep need it).
    if (i % 500 === 499) yield* until(i - 1000)
    if (i % 100 === 99) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    if (i % 10_000 === 9_999) {
      // Live heap after a full collection: what the runtime really holds (RSS also counts what the GC keeps in reserve).
      Bun.gc(true)
      samples.push([i + 1, rssMb(), router.active(), heapStats().heapSize / 1024 / 1024])
    }
  }
  yield* until(touched)
  const seconds = (performance.now() - start) / 1000
  yield* root.shutdown
  return { samples, seconds }
})

const policyRate = () => {
  const policy = Schema.decodeUnknownSync(ReplyPolicyConfig)({
    triggers: { "kung fu": 0.3, roundhouse: 0.5 },
    aliases: ["rothrock"],
    cooldown: { user: "2s" },
    rate_limit: { user: "5/min", room: "20/min" }
  })
  const state = new ReplyPolicyState()
  const rooms = Array.from({ length: 50 }, (_, i) => `room${i}`)
  const texts = ["nice movie", "rothrock, your take?", "that kung fu scene", "lol", "roundhouse kick!"]
  const messages = Array.from({ length: 1000 }, (_, i) => ({
    ...messageOf(rooms[i % rooms.length]!, texts[i % texts.length]!),
    chat: { id: rooms[i % rooms.length]!, kind: "room" as const },
    author: { id: `user${i % 200}`, name: "U", isBot: false }
  }))
  const n = 1_000_000
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const message = messages[i % messages.length]!
    state.decide({
      message,
      policy,
      names: ["bench"],
      room: message.chat.id,
      now: Date.now(),
      random: Math.random,
      queued: 0
    })
  }
  return n / ((performance.now() - t0) / 1000)
}

const program = Effect.gen(function* () {
  // The plateau first, on a fresh process: RSS is not given back once reached, so an earlier phase would count.
  const { samples, seconds } = yield* plateau
  const heap = yield* heapPerConversation
  const decisions = policyRate()
  const rss = samples.map(
    ([n, mb, alive, heap]) => `${fmt(n / 1000)}k: ${fmt(mb)} MB RSS, ${fmt(heap)} MB live heap, ${fmt(alive)} alive`
  )
  const firstHalf = samples.slice(0, Math.floor(samples.length / 2)).map(([, mb]) => mb)
  const secondHalf = samples.slice(Math.floor(samples.length / 2)).map(([, mb]) => mb)
  report("conversations", [
    ["heap per active conversation", `${fmt(heap.perConversation)} bytes (${fmt(heap.alive)} alive; target <= 16,384)`],
    [`RSS touching ${fmt(touched)} conversations`, rss.join(", ")],
    [
      "RSS plateau",
      `max ${fmt(Math.max(...firstHalf))} MB in the first half, ${fmt(Math.max(...secondHalf))} MB in the second (target < 300 MB); ${fmt(touched / seconds)} msg/s`
    ],
    ["policy decisions", `${fmt(decisions)} /s`]
  ])
})

await runInProcess("conversations", "Hi!", program)
