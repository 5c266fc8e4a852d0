/**
 * Helpers for the CyTube channel tests: the fake CyTube server as a scoped resource, a persona with a cytube channel
 * section pointing at it, and waits on the bot's lines and channel status.
 */
import { Effect, type Scope } from "effect"
import type { ChannelInstance } from "../../../core/channels/Channel.ts"
import { channelIdOf } from "../../../core/channels/channelId.ts"
import { EventBus } from "../../../core/events/EventBus.ts"
import type { EventTag, TroupeEvent } from "../../../core/events/Events.ts"
import type { PersonaRuntime } from "../../../core/runtime/PersonaRunner.ts"
import { eventually } from "../../conversation/harness.ts"
import { type FakeCytube, type FakeCytubeOptions, startFakeCytube } from "../../fakes/cytube/index.ts"
import type { ChatRecord } from "../../fakes/cytube/room.ts"
import { personaOf } from "../../support/persona.ts"

export { eventually }

/** The fake server for the duration of the test's scope (stopped after everything started later). */
export const fakeCytube = (options?: FakeCytubeOptions): Effect.Effect<FakeCytube, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeCytube(options)),
    (cy) => Effect.promise(() => cy.stop())
  )

/** A `type: cytube` channel section for the fake, with fast reconnects. */
export const cytubeSection = (cy: FakeCytube, overrides: Record<string, unknown> = {}) => ({
  type: "cytube",
  server: cy.url,
  room: "lobby",
  username: "rothrock",
  reconnect: { min_delay: "20ms", max_delay: "200ms" },
  ...overrides
})

/** The channel id the runner derives for a persona's first channel section. */
export const channelIdFor = (persona: Record<string, unknown>, id = "rothrock") => {
  const section = personaOf(persona, id).channels[0]
  if (!section) throw new Error("persona has no channel")
  return channelIdOf(section)
}

/** Record the bus's events of these tags for the rest of the test. */
export const recordEvents = (tags: ReadonlyArray<EventTag>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const events: Array<TroupeEvent> = []
    const remove = bus.listen(tags, (event) => {
      events.push(event)
    })
    yield* Effect.addFinalizer(() => Effect.sync(remove))
    return events
  })

/** `ChannelStatus` events as `status` or `status: reason`. */
export const statuses = (events: ReadonlyArray<TroupeEvent>) =>
  events.flatMap((event) =>
    event._tag === "ChannelStatus" ? [event.reason ? `${event.status}: ${event.reason}` : event.status] : []
  )

/** The running channel instance once it reports `state`. */
export const channelIn = (runtime: PersonaRuntime, id: string, state = "ready", timeoutMs = 3000) =>
  eventually((): ChannelInstance | undefined => {
    const channel = runtime.channels.get(id)
    return channel?.state() === state ? channel : undefined
  }, timeoutMs)

/** Lines the account `user` said in the room (as the fake recorded them: raw text as sent). */
export const linesOf = (cy: FakeCytube, user: string, room = "lobby"): ChatRecord[] =>
  cy.room(room).chat.filter((line) => line.username.toLowerCase() === user.toLowerCase())

/** Wait until `user` has said at least `count` lines. */
export const waitLines = (cy: FakeCytube, user: string, count: number, timeoutMs = 3000, room = "lobby") =>
  eventually(() => {
    const lines = linesOf(cy, user, room)
    return lines.length >= count ? lines : undefined
  }, timeoutMs)

/** Wait until nothing new was said in the room for `quietMs`; returns the room's lines. */
export const waitQuiet = (cy: FakeCytube, quietMs: number, timeoutMs = 5000, room = "lobby") =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let count = cy.room(room).chat.length
    let since = Date.now()
    while (Date.now() < deadline) {
      yield* Effect.sleep("10 millis")
      const now = cy.room(room).chat.length
      if (now !== count) {
        count = now
        since = Date.now()
      } else if (Date.now() - since >= quietMs) {
        return cy.room(room).chat
      }
    }
    return yield* Effect.dieMessage(`room ${room} did not go quiet within ${timeoutMs} ms`)
  })

/** The bot is joined to the room (as the fake sees it). */
export const joinedAs = (cy: FakeCytube, name: string, room = "lobby") =>
  eventually(() => cy.connections.find((c) => c.room === room && c.username.toLowerCase() === name.toLowerCase()))
