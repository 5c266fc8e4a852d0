/** Shared pieces of the agent loop tests: personas, inbound messages, an in-test `Tools`, event collection, layers. */
import { Effect, Layer, Logger, LogLevel, Queue, Schema, TestClock, TestContext } from "effect"
import type { EventOf, MessageReceived } from "../../core/events/Events.ts"
import type { TurnEvent, TurnInput } from "../../core/llm/AgentLoop.ts"
import { makeAnthropicProvider } from "../../core/llm/AnthropicProvider.ts"
import { makeOpenAiProvider } from "../../core/llm/OpenAiProvider.ts"
import type { LlmProvider, ToolSpec } from "../../core/llm/Provider.ts"
import { LlmProviders } from "../../core/llm/Providers.ts"
import { type PersonaDefinition, PersonaFile } from "../../core/persona/Persona.ts"
import { Store } from "../../core/store/Store.ts"
import { type ToolOutcome, Tools } from "../../core/tools/Tools.ts"
import type { FakeLlm } from "../fakes/llm/index.ts"

export const API_KEY = "sk-test-SECRET0123456789abcdefXYZ"

/** A persona decoded from a `persona.yaml`-shaped object (snake_case keys), with the loader's extra fields. */
export const persona = (file: Record<string, unknown>): PersonaDefinition => {
  const decoded = Schema.decodeUnknownSync(PersonaFile)(file)
  const id = decoded.name ?? "sage"
  return {
    ...decoded,
    id,
    title: decoded.displayName ?? "Sage",
    systemPrompt: decoded.system ?? "You are Sage, a calm helper.",
    source: `personalities/${id}`,
    format: "folder"
  }
}

let messageCounter = 0

/** An inbound message as a channel would hand it over. */
export const inbound = (text: string, options: Partial<MessageReceived> = {}): MessageReceived => ({
  _tag: "MessageReceived",
  at: 0,
  correlationId: "cid-1",
  persona: "sage",
  channel: "telegram:sage_bot",
  platform: "telegram",
  messageId: `telegram:42:${++messageCounter}`,
  chat: { id: "42", kind: "dm" },
  author: { id: "u1", name: "Ann", isBot: false },
  text,
  attachments: [],
  mentioned: false,
  replyToSelf: false,
  fromSelf: false,
  ...options
})

/** Every event a turn emitted, plus a queue to await them one by one. */
export interface Collector {
  readonly events: Array<TurnEvent>
  readonly queue: Queue.Queue<TurnEvent>
  readonly emit: TurnInput["emit"]
  readonly deltas: () => Array<EventOf<"ReplyDelta">>
  readonly ofTag: <T extends TurnEvent["_tag"]>(tag: T) => Array<Extract<TurnEvent, { _tag: T }>>
}

export const collector = Effect.gen(function* () {
  const queue = yield* Queue.unbounded<TurnEvent>()
  const events: Array<TurnEvent> = []
  const ofTag = <T extends TurnEvent["_tag"]>(tag: T) =>
    events.filter((event): event is Extract<TurnEvent, { _tag: T }> => event._tag === tag)
  return {
    events,
    queue,
    emit: (event: TurnEvent) =>
      Effect.sync(() => {
        events.push(event)
      }).pipe(Effect.zipRight(Queue.offer(queue, event))),
    deltas: () => ofTag("ReplyDelta"),
    ofTag
  } satisfies Collector
})

/** Take events until one matches. */
export const nextEvent = <T extends TurnEvent["_tag"]>(collected: Collector, tag: T) =>
  Effect.gen(function* () {
    for (;;) {
      const event = yield* Queue.take(collected.queue)
      if (event._tag === tag) return event as Extract<TurnEvent, { _tag: T }>
    }
  })

/** Wait until the loop sleeps on the TestClock (a retry backoff), then move the clock past it. */
export const passBackoff = (delayMs: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < 10_000 && (yield* TestClock.sleeps()).length === 0; i++) yield* Effect.yieldNow()
    yield* TestClock.adjust(delayMs)
  })

/** The turn input without the per-test parts. */
export const turnInput = (who: PersonaDefinition, collected: Collector, rest: Partial<TurnInput> = {}): TurnInput => ({
  persona: who,
  conversationId: "sage/telegram/42",
  correlationId: "cid-1",
  turnId: "turn-1",
  history: [],
  messages: [inbound("hello")],
  toolContext: {
    persona: who.id,
    conversationId: "sage/telegram/42",
    correlationId: "cid-1",
    turnId: "turn-1",
    channel: "telegram:sage_bot",
    chatId: "42",
    userId: "u1",
    userName: "Ann"
  },
  emit: collected.emit,
  ...rest
})

export const openaiAt = (
  llm: FakeLlm,
  name = "fakeai",
  extra: Partial<Parameters<typeof makeOpenAiProvider>[0]> = {}
) =>
  makeOpenAiProvider({
    name,
    baseUrl: llm.openaiBaseUrl,
    apiKey: API_KEY,
    defaultModel: "gpt-4o-mini",
    timeoutMs: 5_000,
    maxRetries: 2,
    ...extra
  })

export const anthropicAt = (
  llm: FakeLlm,
  name = "fakeclaude",
  extra: Partial<Parameters<typeof makeAnthropicProvider>[0]> = {}
) =>
  makeAnthropicProvider({
    name,
    baseUrl: llm.anthropicBaseUrl,
    apiKey: API_KEY,
    defaultModel: "claude-sonnet-5-5",
    timeoutMs: 5_000,
    maxRetries: 2,
    ...extra
  })

/** Tools whose calls run `handlers[name]`; every call is recorded. */
export const toolsLayer = (
  handlers: Record<string, (args: any) => Effect.Effect<string>>,
  calls: Array<{ name: string; args: string; options: unknown }> = []
) =>
  Layer.succeed(Tools, {
    specs: (names) =>
      names.flatMap((name): ToolSpec[] =>
        name in handlers
          ? [{ name, description: `the ${name} tool`, parameters: { type: "object", properties: {} } }]
          : []
      ),
    names: () => Object.keys(handlers),
    call: (name, argumentsJson, context) =>
      Effect.gen(function* () {
        calls.push({ name, args: argumentsJson, options: context.options })
        const handler = handlers[name]
        if (handler === undefined)
          return { ok: false, content: `unknown tool ${name}`, durationMs: 0 } satisfies ToolOutcome
        const content = yield* handler(JSON.parse(argumentsJson))
        return { ok: true, content, durationMs: 1 } satisfies ToolOutcome
      })
  })

/** Run with fresh test layers: these providers, these tools, an in-memory store, the TestClock, quiet logs. */
export const run = <A, E>(
  effect: Effect.Effect<A, E, LlmProviders | Tools | Store>,
  options: { readonly providers: ReadonlyArray<LlmProvider>; readonly tools?: Layer.Layer<Tools> }
): Promise<A> =>
  effect.pipe(
    Effect.provide(
      Layer.mergeAll(LlmProviders.layerTest(options.providers), options.tools ?? toolsLayer({}), Store.layerMemory)
    ),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(process.env.TROUPE_TEST_LOGS ? LogLevel.Debug : LogLevel.None),
    Effect.scoped,
    Effect.runPromise
  )
