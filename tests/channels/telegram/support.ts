/** Shared setup for the Telegram channel tests: the fake Bot API, a persona running the real way, small waits. */
import { Effect, type Scope } from "effect"
import type { ActorSystem } from "../../../core/actor/ActorSystem.ts"
import type { EventBus } from "../../../core/events/EventBus.ts"
import { makeInstantProvider } from "../../../core/llm/InstantProvider.ts"
import type { LlmProvider } from "../../../core/llm/Provider.ts"
import type { PersonaServices } from "../../../core/runtime/PersonaRunner.ts"
import type { FakeTelegram } from "../../fakes/telegram/FakeTelegram.ts"
import { runLive } from "../../support/effect.ts"
import { personaLayer } from "../../support/runtime.ts"

export const TOKEN = "1001:sage-token"
export const OTHER = "2002:rothrock-token"
export const ann = { id: 42, first_name: "Ann", username: "ann", language_code: "en" }
export const bob = { id: 43, first_name: "Bob", username: "bob", language_code: "en" }

/** A `type: telegram` channel section for the fake. */
export const section = (fake: FakeTelegram, extra: Record<string, unknown> = {}, token = TOKEN) => ({
  type: "telegram",
  token,
  api_root: fake.apiRoot,
  ...extra
})

/** Start a fake with the test bots (sage_bot, and rothrock_bot for the two-persona tests). */
export const addBots = (fake: FakeTelegram) => {
  fake.addBot({ token: TOKEN, id: 1001, username: "sage_bot", first_name: "Sage" })
  fake.addBot({ token: OTHER, id: 2002, username: "rothrock_bot", first_name: "Rothrock" })
}

/** Wait on the fake's state from inside an Effect. */
export const waitFor = <T>(fake: FakeTelegram, predicate: (fake: FakeTelegram) => T, timeoutMs = 3000) =>
  Effect.promise(() => fake.waitFor(predicate, timeoutMs))

/**
 * Run a test body with persona services (in-memory store, HTTP on a free port, these providers). The body's own scope
 * (personas, channels) closes before the services do.
 */
export const live = <A, E>(
  body: Effect.Effect<A, E, PersonaServices | ActorSystem | EventBus | Scope.Scope>,
  providers: ReadonlyArray<LlmProvider> = [makeInstantProvider()]
): Promise<A> => runLive(Effect.scoped(body).pipe(Effect.provide(personaLayer(providers))))
