/**
 * One turn of a persona: build the prompt, stream the model's answer as `ReplyDelta` events, run the tools it calls
 * (parallel calls in parallel) and feed the results back, retry and fall back when a provider fails, continue an answer
 * cut for length with a larger budget, and respect the persona's daily token cap.
 *
 * The conversation actor calls `runTurn` once per turn and appends `transcript` after the user message(s).
 *
 * @example
 * const result = yield* runTurn({ persona, conversationId, correlationId, turnId, history, messages, toolContext, emit })
 * yield* Effect.forEach(result.transcript, store.appendMessage)
 */
import { Context, Data, Effect, Option, Random } from "effect"
import type { RoomContext } from "../channels/Channel.ts"
import type { EventOf, MessageReceived } from "../events/Events.ts"
import { type BotMessageKey, botMessage } from "../i18n/messages.ts"
import { Metrics } from "../metrics/Metrics.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import { type NewMessage, Store, type StoredMessage } from "../store/Store.ts"
import { type ToolCallContext, Tools } from "../tools/Tools.ts"
import {
  estimateTokens,
  type HistoryUnit,
  historyBudget,
  initialOutputBudget,
  messagesTokens,
  nextOutputBudget,
  toolsTokens,
  trimHistory
} from "./Budget.ts"
import { roughTokens } from "./internal/local.ts"
import { recordCall } from "./internal/metrics.ts"
import { currentMessages, hasImages, historyUnits, systemPrompt, withoutImages } from "./Prompt.ts"
import type {
  ChatMessage,
  ChatRequest,
  FinishReason,
  LlmError,
  LlmProvider,
  StreamEvent,
  ToolCall,
  ToolSpec,
  Usage
} from "./Provider.ts"
import { LlmProviders, type LlmProvidersService } from "./Providers.ts"
import { decide } from "./Retry.ts"

export type TurnEvent =
  | EventOf<"ReplyDelta">
  | EventOf<"ToolCalled">
  | EventOf<"ToolResult">
  | EventOf<"LlmAttemptFailed">
  | EventOf<"Typing">

export interface TurnInput {
  readonly persona: PersonaDefinition
  readonly conversationId: string
  readonly correlationId: string
  readonly turnId: string
  /** Earlier transcript of this conversation, oldest first (the caller already applied memory.window). */
  readonly history: ReadonlyArray<StoredMessage>
  /** This turn's new user message(s), oldest first (several when folded). Empty for a scheduled prompt. */
  readonly messages: ReadonlyArray<MessageReceived>
  /** A scheduled prompt's text, given to the model as an instruction for this turn. */
  readonly instruction?: string
  readonly room?: RoomContext
  readonly toolContext: Omit<ToolCallContext, "options">
  /** Called for every event of the turn as it happens (the caller publishes and forwards to the channel). */
  readonly emit: (event: TurnEvent) => Effect.Effect<void>
  /**
   * Optional synchronous path for the frequent ones (`Typing`, `ReplyDelta`): `true` when the event was delivered, and
   * `emit` is then not called for it.
   */
  readonly offer?: (event: EventOf<"Typing"> | EventOf<"ReplyDelta">) => boolean
}

export interface TurnResult {
  /** The whole reply as streamed (text of every round, continuations joined). */
  readonly text: string
  /** Who produced the final answer (a fallback when the main model failed). */
  readonly provider: string
  readonly model: string
  /** Summed over every call of the turn. */
  readonly usage: Usage
  readonly finishReason: FinishReason
  /** To append to the transcript after the user message(s): assistant tool-call messages, tool results, the final answer. */
  readonly transcript: ReadonlyArray<NewMessage>
}

export class TurnFailed extends Data.TaggedError("TurnFailed")<{
  readonly kind: "providers" | "budget" | "cancelled" | "config"
  /** For logs; free of secrets. */
  readonly reason: string
  /** A short message for the user, in their (or the persona's) language. */
  readonly userText: string
}> {
  override get message() {
    return `${this.kind}: ${this.reason}`
  }
}

/** Added to the system prompt of the last call once `max_tool_iterations` rounds of tool calls are used up. */
export const NO_MORE_TOOLS =
  "You have used all the tool calls available for this answer. Answer now with what you have, without calling tools."

/** The user turn that asks the model to go on after an answer was cut for length. */
import { CONTINUE_PROMPT } from "./continuation.ts"

export { CONTINUE_PROMPT }

/** One model of the persona's chain, resolved. */
interface Candidate {
  readonly provider: LlmProvider
  readonly model: string
  readonly contextWindow: number
  readonly vision: boolean
  readonly timeoutMs: number
  readonly maxRetries: number
}

/** What one streamed call produced. */
interface StreamedCall {
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason
  /** Output tokens, as reported or estimated. */
  readonly output: number
}

/** What one successful call produced, and who produced it. */
interface CallResult extends StreamedCall {
  readonly candidate: Candidate
}

export const utcDay = (now: number): string => new Date(now).toISOString().slice(0, 10)

interface Chain {
  readonly chain: ReadonlyArray<Candidate>
  readonly skipped: ReadonlyArray<string>
}

const resolveChain = (persona: PersonaDefinition, providers: LlmProvidersService): Effect.Effect<Chain> =>
  Effect.gen(function* () {
    const refs = [{ provider: persona.model.provider, model: persona.model.model }, ...persona.model.fallbacks]
    const chain: Candidate[] = []
    const skipped: string[] = []
    for (const [index, ref] of refs.entries()) {
      const found = yield* Effect.either(providers.get(ref.provider))
      if (found._tag === "Left") {
        skipped.push(found.left.reason)
        continue
      }
      const provider = found.right
      const model = ref.model ?? provider.defaultModel
      if (model === undefined) {
        skipped.push(`provider ${ref.provider} has no default_model: name the model (${ref.provider}/<model>)`)
        continue
      }
      const main = index === 0
      chain.push({
        provider,
        model,
        contextWindow: (main ? persona.model.contextWindow : undefined) ?? provider.contextWindow(model),
        vision: (main ? persona.model.vision : undefined) ?? provider.supportsVision(model),
        timeoutMs: persona.model.timeout ?? provider.timeoutMs,
        maxRetries: provider.maxRetries
      })
    }
    return { chain, skipped }
  })

/**
 * The chain of a persona, resolved once per persona definition and providers service (both immutable: a reloaded
 * persona or config is a new object), so a turn does not look its providers up again.
 */
const chains = new WeakMap<PersonaDefinition, { readonly providers: LlmProvidersService; readonly chain: Chain }>()

const chainOf = (persona: PersonaDefinition, providers: LlmProvidersService): Effect.Effect<Chain> => {
  const cached = chains.get(persona)
  if (cached !== undefined && cached.providers === providers) return Effect.succeed(cached.chain)
  return Effect.tap(resolveChain(persona, providers), (chain) => {
    chains.set(persona, { providers, chain })
  })
}

/** The services a turn uses, read from the context in one step. */
const turnServices = Effect.contextWith((context: Context.Context<LlmProviders | Tools | Store>) => ({
  tools: Context.get(context, Tools),
  store: Context.get(context, Store),
  providers: Context.get(context, LlmProviders),
  metrics: Context.getOption(context as Context.Context<unknown>, Metrics)
}))

/**
 * Run one turn. Fails only with `TurnFailed` (every provider down, daily budget reached, nothing configured);
 * interrupting it cancels the HTTP request in flight and any running tool calls.
 */
export const runTurn = (input: TurnInput): Effect.Effect<TurnResult, TurnFailed, LlmProviders | Tools | Store> =>
  Effect.gen(function* () {
    const { tools, store, providers, metrics } = yield* turnServices
    const persona = input.persona
    const language = input.messages.at(-1)?.author.language
    const failure = (kind: TurnFailed["kind"], reason: string, key: BotMessageKey) =>
      new TurnFailed({ kind, reason, userText: botMessage(persona, key, language) })
    // Read synchronously (the test clock too): this runs for every streamed delta.
    const clock = yield* Effect.clock
    const base = () => ({
      at: clock.unsafeCurrentTimeMillis(),
      correlationId: input.correlationId,
      persona: persona.id,
      conversationId: input.conversationId
    })

    const { chain, skipped } = yield* chainOf(persona, providers)
    for (const reason of skipped) yield* Effect.logWarning(`${persona.id}: skipping a model of the chain: ${reason}`)
    if (chain.length === 0) return yield* failure("config", skipped.join("; "), "not_configured")

    const startedAt = clock.unsafeCurrentTimeMillis()
    const day = utcDay(startedAt)
    if (persona.model.dailyTokens !== undefined) {
      const rows = yield* store.usage({ persona: persona.id, day })
      const used = rows.reduce((sum, row) => sum + row.input + row.output, 0)
      if (used >= persona.model.dailyTokens) {
        return yield* failure(
          "budget",
          `daily token cap reached: ${used} of ${persona.model.dailyTokens} on ${day}`,
          "budget_reached"
        )
      }
    }

    // The prompt: fixed parts, trimmable history units, and this turn's messages (which grow with tool rounds).
    const specs: ReadonlyArray<ToolSpec> = persona.tools.length > 0 ? tools.specs(persona.tools) : []
    const names =
      input.messages.some((message) => message.chat.kind !== "dm") ||
      (input.messages.length === 0 &&
        new Set(input.history.flatMap((m) => (m.authorName ? [m.authorName] : []))).size > 1)
    const system = systemPrompt(persona, { now: startedAt, room: input.room, names })
    const units: ReadonlyArray<HistoryUnit> = historyUnits(input.history, { names })
    const turnMessages: ChatMessage[] = currentMessages(input.messages, { names, instruction: input.instruction })
    const systemTokens = estimateTokens(system) + estimateTokens(NO_MORE_TOOLS)
    const specsTokens = toolsTokens(specs)

    const state = { visible: "", separator: "", candidate: 0, input: 0, output: 0 }
    const transcript: NewMessage[] = []
    const attempts: string[] = []

    const requestFor = (
      candidate: Candidate,
      extra: ReadonlyArray<ChatMessage>,
      maxTokens: number,
      lastRound: boolean
    ): ChatRequest => {
      const current = extra.length === 0 ? turnMessages : [...turnMessages, ...extra]
      const budget = historyBudget({
        contextWindow: candidate.contextWindow,
        outputTokens: persona.model.maxTokens,
        fixedTokens: systemTokens + specsTokens + messagesTokens(current)
      })
      const all = [...trimHistory(units, budget), ...current]
      const messages = candidate.vision || !hasImages(all) ? all : withoutImages(all)
      return {
        model: candidate.model,
        system: lastRound && specs.length > 0 ? `${system}\n\n${NO_MORE_TOOLS}` : system,
        messages,
        ...(specs.length > 0 ? { tools: specs, toolChoice: lastRound ? ("none" as const) : ("auto" as const) } : {}),
        maxTokens,
        ...(persona.model.temperature === undefined ? {} : { temperature: persona.model.temperature }),
        timeoutMs: candidate.timeoutMs
      }
    }

    /**
     * Stream one call, forwarding text deltas; fails with the provider's `LlmError`. A plain loop of `flatMap`s rather
     * than a generator: it runs once per streamed delta.
     */
    const streamCall = (candidate: Candidate, request: ChatRequest): Effect.Effect<StreamedCall, LlmError> =>
      Effect.suspend(() => {
        const completion = candidate.provider.start(request)
        const started = performance.now()
        let text = ""
        const finished = (event: Extract<StreamEvent, { _tag: "Finished" }>) => {
          const usage = {
            input:
              event.usage.input > 0
                ? event.usage.input
                : messagesTokens(request.messages) + estimateTokens(request.system),
            output: event.usage.output > 0 ? event.usage.output : text === "" ? 0 : roughTokens(text.length)
          }
          state.input += usage.input
          state.output += usage.output
          if (Option.isSome(metrics)) {
            const seconds = (performance.now() - started) / 1000
            recordCall(metrics.value, persona.id, candidate.provider.name, candidate.model, seconds, usage)
          }
          const call: StreamedCall = {
            text,
            toolCalls: event.toolCalls,
            finishReason: event.finishReason,
            output: usage.output
          }
          return Effect.as(
            store.addUsage({
              persona: persona.id,
              provider: candidate.provider.name,
              model: candidate.model,
              day,
              input: usage.input,
              output: usage.output
            }),
            call
          )
        }
        /** Takes one event; returns what must run before the next one, or `undefined` when it was taken in full. */
        const take = (event: StreamEvent): Effect.Effect<StreamedCall, LlmError> | undefined => {
          if (event._tag === "Finished") return finished(event)
          if (event.text === "") return undefined
          const delta = state.separator === "" ? event.text : `${state.separator}${event.text}`
          state.separator = ""
          text += event.text
          state.visible += delta
          const out: EventOf<"ReplyDelta"> = {
            _tag: "ReplyDelta",
            ...base(),
            turnId: input.turnId,
            delta,
            text: state.visible
          }
          return input.offer?.(out) ? undefined : Effect.zipRight(input.emit(out), loop)
        }
        // Events already buffered (a burst from the network, an in-process answer) are taken in a plain loop.
        const drain = (): Effect.Effect<StreamedCall, LlmError> => {
          for (let event = completion.poll?.(); event !== undefined; event = completion.poll?.()) {
            const next = take(event)
            if (next !== undefined) return next
          }
          return loop
        }
        const loop: Effect.Effect<StreamedCall, LlmError> = Effect.flatMap(
          completion.next,
          (event) => take(event) ?? (completion.poll === undefined ? loop : drain())
        )
        return Effect.ensuring(loop, Effect.sync(completion.cancel))
      })

    /**
     * One call of the chain's model `index`, attempt `attempt`; on failure, a retry (after its delay), the next model
     * of the chain, or the turn fails.
     */
    const callWithRetry = (
      extra: ReadonlyArray<ChatMessage>,
      maxTokens: number,
      lastRound: boolean,
      index = state.candidate,
      attempt = 1
    ): Effect.Effect<CallResult, TurnFailed> =>
      Effect.suspend(() => {
        const candidate = chain[index]
        if (candidate === undefined) {
          return Effect.fail(failure("providers", attempts.join("; ") || "no model left to try", "error"))
        }
        const visibleBefore = state.visible
        const separatorBefore = state.separator
        const stream = streamCall(candidate, requestFor(candidate, extra, maxTokens, lastRound))
        const typing: EventOf<"Typing"> = { _tag: "Typing", ...base() }
        const call = input.offer?.(typing) ? stream : Effect.zipRight(input.emit(typing), stream)
        return Effect.matchEffect(call, {
          onSuccess: (result) => {
            state.candidate = index
            return Effect.succeed({ ...result, candidate })
          },
          onFailure: (error) =>
            Effect.gen(function* () {
              const step = decide(error, attempt, candidate.maxRetries, index + 1 < chain.length, yield* Random.next)
              attempts.push(error.message)
              yield* Effect.logWarning(`${persona.id}: LLM call failed (${step.next}): ${error.message}`)
              yield* input.emit({
                _tag: "LlmAttemptFailed",
                ...base(),
                provider: candidate.provider.name,
                model: candidate.model,
                attempt,
                reason: error.message,
                next: step.next,
                ...(step.next === "retry" ? { delayMs: step.delayMs } : {})
              })
              if (step.next === "give_up") {
                return yield* failure("providers", attempts.join("; "), "error")
              }
              if (state.visible !== visibleBefore) {
                // Part of an answer was shown and is now discarded: the channel re-renders from `text`.
                state.visible = visibleBefore
                yield* input.emit({
                  _tag: "ReplyDelta",
                  ...base(),
                  turnId: input.turnId,
                  delta: "",
                  text: visibleBefore,
                  reset: true
                })
              }
              state.separator = separatorBefore
              if (step.next === "fallback") return yield* callWithRetry(extra, maxTokens, lastRound, index + 1, 1)
              yield* Effect.sleep(step.delayMs)
              return yield* callWithRetry(extra, maxTokens, lastRound, index, attempt + 1)
            })
        })
      })

    /** One answer: a call, continued with a doubled budget while it is cut for length. */
    const answer = (
      lastRound: boolean,
      budget = initialOutputBudget(persona.model.initialTokens, persona.model.maxTokens),
      before = "",
      usedBefore = 0,
      extra: ReadonlyArray<ChatMessage> = []
    ): Effect.Effect<CallResult, TurnFailed> =>
      Effect.flatMap(callWithRetry(extra, budget, lastRound), (result) => {
        const text = before + result.text
        // A call cut for length used its whole budget, whatever a server reports.
        const used = usedBefore + (result.finishReason === "length" ? Math.max(result.output, budget) : result.output)
        const next =
          result.finishReason !== "length" || result.toolCalls.length > 0
            ? undefined
            : nextOutputBudget(budget, used, persona.model.maxTokens)
        if (next === undefined) return Effect.succeed({ ...result, text })
        return answer(lastRound, next, text, used, [
          { role: "assistant", content: text },
          { role: "user", content: CONTINUE_PROMPT }
        ])
      })

    const runTool = (call: ToolCall) =>
      Effect.gen(function* () {
        // `tool_options` by tool name, else by the plugin's name (one entry for all of a plugin's tools).
        const plugin = tools.pluginOf?.(call.name)
        const options =
          persona.toolOptions[call.name] ?? (plugin === undefined ? undefined : persona.toolOptions[plugin])
        const context: ToolCallContext = { ...input.toolContext, options }
        const outcome = yield* tools.call(call.name, call.arguments, context)
        yield* input.emit({
          _tag: "ToolResult",
          ...base(),
          turnId: input.turnId,
          callId: call.id,
          tool: call.name,
          ok: outcome.ok,
          result: outcome.content,
          durationMs: outcome.durationMs
        })
        return outcome
      })

    const record = (message: Omit<NewMessage, "conversationId" | "at" | "turnId">) => {
      transcript.push({
        conversationId: input.conversationId,
        at: clock.unsafeCurrentTimeMillis(),
        turnId: input.turnId,
        ...message
      })
    }

    for (let round = 0; ; round++) {
      const lastRound = specs.length > 0 && round >= persona.model.maxToolIterations
      if (round > 0 && state.visible !== "" && !/\s$/.test(state.visible)) state.separator = "\n\n"
      const result = yield* answer(lastRound)
      if (result.toolCalls.length > 0 && !lastRound && specs.length > 0) {
        const calls = result.toolCalls
        turnMessages.push({ role: "assistant", content: result.text, toolCalls: calls })
        record({ role: "assistant", content: result.text, toolCalls: calls })
        for (const call of calls) {
          yield* input.emit({
            _tag: "ToolCalled",
            ...base(),
            turnId: input.turnId,
            callId: call.id,
            tool: call.name,
            // Fields a tool marks `secret` never reach events or logs.
            arguments: tools.redactArguments ? tools.redactArguments(call.name, call.arguments) : call.arguments
          })
        }
        const outcomes = yield* Effect.forEach(calls, runTool, { concurrency: "unbounded" })
        for (const [i, call] of calls.entries()) {
          const outcome = outcomes[i]!
          turnMessages.push({ role: "tool", toolCallId: call.id, name: call.name, content: outcome.content })
          record({
            role: "tool",
            content: outcome.content,
            toolCallId: call.id,
            toolName: call.name,
            meta: { ok: outcome.ok, durationMs: outcome.durationMs }
          })
        }
        continue
      }
      if (state.visible.trim() === "") {
        // Nothing to show (an empty completion, a filtered one, tool calls past the limit and no text): the user hears
        // the short error message instead of silence.
        const what = `${result.candidate.provider.name}/${result.candidate.model}`
        return yield* failure("providers", `${what} returned an empty answer (finish: ${result.finishReason})`, "error")
      }
      const usage = { input: state.input, output: state.output }
      record({
        role: "assistant",
        content: result.text,
        tokensIn: usage.input,
        tokensOut: usage.output,
        meta: {
          provider: result.candidate.provider.name,
          model: result.candidate.model,
          finishReason: result.finishReason
        }
      })
      return {
        text: state.visible,
        provider: result.candidate.provider.name,
        model: result.candidate.model,
        usage,
        finishReason: result.finishReason,
        transcript
      } satisfies TurnResult
    }
  })
