/**
 * A persona running the real way (router, conversation actors, channel actors) with test services: SQLite in memory,
 * an HTTP server on a free loopback port, metrics, no tools, and the given LLM providers. For channel adapter tests.
 */
import { Effect, Layer, type Scope } from "effect"
import * as Actor from "../../core/actor/Actor.ts"
import type { ActorSystem } from "../../core/actor/ActorSystem.ts"
import type { EventBus } from "../../core/events/EventBus.ts"
import { Health } from "../../core/http/Health.ts"
import * as HttpServer from "../../core/http/HttpServer.ts"
import { makeInstantProvider } from "../../core/llm/InstantProvider.ts"
import type { LlmProvider } from "../../core/llm/Provider.ts"
import { Redaction } from "../../core/log/Redactor.ts"
import { makeBotAccounts } from "../../core/runtime/BotAccounts.ts"
import {
  type PersonaRunnerOptions,
  type PersonaRuntime,
  type PersonaServices,
  startPersona
} from "../../core/runtime/PersonaRunner.ts"
import { conversationLayer } from "../conversation/harness.ts"
import { personaOf } from "./persona.ts"

/** Store, metrics, providers, no tools, health, redaction and an HTTP server on 127.0.0.1:0. */
export const personaLayer = (providers: ReadonlyArray<LlmProvider> = [makeInstantProvider()]) => {
  const health = Health.layer
  const services = Layer.mergeAll(conversationLayer(providers), health, Redaction.layer)
  return Layer.provideMerge(HttpServer.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.orDie), services)
}

/** Accounts shared by every persona started through `runPersona` in one test. */
export const sharedAccounts = makeBotAccounts

/** Start one persona from `persona.yaml`-shaped data, with its channels. */
export const runPersona = (
  encoded: Record<string, unknown>,
  options: Partial<PersonaRunnerOptions> & { readonly id?: string; readonly root?: Actor.Supervisor } = {}
): Effect.Effect<PersonaRuntime, never, PersonaServices | ActorSystem | EventBus | Scope.Scope> =>
  Effect.gen(function* () {
    const root = options.root ?? (yield* Actor.root(`test-${options.id ?? "sage"}`))
    return yield* startPersona(root, personaOf(encoded, options.id ?? "sage"), {
      dryRun: false,
      platformChannels: true,
      accounts: options.accounts ?? makeBotAccounts(),
      ...options
    })
  })
