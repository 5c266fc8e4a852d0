/**
 * A development provider (`api: echo`): answers `[echo] <the user's last message>`, streamed word by word, without
 * any network. Use it to try channels and personas before configuring a real model.
 *
 * @example
 * # persona.yaml
 * model: { provider: echo }
 */

import { completionStream, eventsCompletion } from "./internal/completion.ts"
import { answerEvents, lastUserText, words } from "./internal/local.ts"
import { lookupModel } from "./ModelTable.ts"
import type { ChatRequest, LlmProvider } from "./Provider.ts"

const start = (request: ChatRequest) =>
  eventsCompletion(answerEvents(words(`[echo] ${lastUserText(request.messages)}`), request))

export interface EchoProviderOptions {
  readonly name?: string
  readonly timeoutMs?: number
  readonly maxRetries?: number
}

/** The echo provider; its only model is `echo`. */
export const makeEchoProvider = (options: EchoProviderOptions = {}): LlmProvider => ({
  name: options.name ?? "echo",
  api: "echo",
  defaultModel: "echo",
  timeoutMs: options.timeoutMs ?? 60_000,
  maxRetries: options.maxRetries ?? 0,
  supportsVision: () => false,
  contextWindow: (model) => Math.max(lookupModel(model).contextWindow, 32_768),
  start,
  stream: (request) => completionStream(() => start(request))
})
