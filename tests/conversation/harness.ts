import { Effect, Layer, type Scope } from "effect"
import * as Actor from "../../core/actor/Actor.ts"
import type { ActorSystem } from "../../core/actor/ActorSystem.ts"
import { makeMemoryChannel } from "../../core/channels/memory/MemoryChannel.ts"
import { makeRouter, type Router, type RouterServices } from "../../core/conversation/Router.ts"
import type { EventBus } from "../../core/events/EventBus.ts"
import { makeInstantProvider } from "../../core/llm/InstantProvider.ts"
import type { LlmProvider } from "../../core/llm/Provider.ts"
import { LlmProviders } from "../../core/llm/Providers.ts"
import { Metrics } from "../../core/metrics/Metrics.ts"
import type { PersonaDefinition } from "../../core/persona/Persona.ts"
import { Store } from "../../core/store/Store.ts"
import { Tools } from "../../core/tools/Tools.ts"
import { personaOf } from "../support/persona.ts"

/** No tools loaded. */
export const noTools = Tools.layerNone

/** Store in memory, metrics, no tools, and these providers. */
export const conversationLayer = (providers: ReadonlyArray<LlmProvider> = [makeInstantProvider()]) =>
  Layer.mergeAll(Store.layerMemory, Metrics.layer, LlmProviders.layerTest(providers), noTools).pipe(Layer.orDie)

export interface Harness {
  readonly router: Router
  readonly channel: ReturnType<typeof makeMemoryChannel>
  readonly persona: { current: PersonaDefinition }
}

/** A persona with a router and one in-memory channel. */
export const harness = (
  encoded: Record<string, unknown> = {},
  options: { readonly id?: string; readonly random?: () => number; readonly channelId?: string } = {}
): Effect.Effect<Harness, never, RouterServices | ActorSystem | EventBus | Scope.Scope> =>
  Effect.gen(function* () {
    const id = options.id ?? "sage"
    const root = yield* Actor.root(`troupe-${id}`)
    const group = yield* Effect.orDie(root.group("router", "router"))
    const channel = makeMemoryChannel(options.channelId ? { id: options.channelId } : {})
    const persona = { current: personaOf(encoded, id) }
    const router = yield* makeRouter(group, {
      persona: () => persona.current,
      channel: (channelId) => (channelId === channel.id ? channel : undefined),
      dryRun: false,
      ...(options.random ? { random: options.random } : {})
    })
    return { router, channel, persona }
  })

/** Wait (polling, real time) until `check` passes. */
export const eventually = <A>(check: () => A | undefined | false, timeoutMs = 3000): Effect.Effect<A> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const value = check()
      if (value) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`condition not met within ${timeoutMs} ms`)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
  })
