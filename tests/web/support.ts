/**
 * Web tests run the real runtime (`runtimeLayer` + `runForever`) from a temporary project folder, with the fake LLM
 * server as its `openai` provider, and talk to it over real HTTP and WebSockets.
 */
import { Deferred, Effect, Exit, Fiber } from "effect"
import { loadConfig } from "../../core/config/Config.ts"
import { type Runtime, type RuntimeOptions, runForever, runtimeLayer } from "../../core/runtime/Runtime.ts"
import type { ClientMessage, ServerMessage } from "../../core/web/Protocol.ts"
import { decodeServer, encodeClient } from "../../core/web/Protocol.ts"
import { pluginSource } from "../fixtures/plugins.ts"
import { tempDir } from "../support/tmp.ts"

/** An API key long enough for the redactor to register (shorter ones are ignored). */
export const apiKey = "test-key-for-the-fake-llm-0123456789"

/** Poll `predicate` until it holds, failing after `timeoutMs`. */
export const waitFor = async <A>(
  predicate: () => A | undefined | false,
  timeoutMs = 3000,
  what = "condition"
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(5)
  }
}

/** `config.yaml` with the fake LLM as `openai` (no retries, so a scripted failure fails at once). */
export const configFor = (llmBaseUrl: string | undefined, extra = "") =>
  `${
    llmBaseUrl === undefined
      ? ""
      : `providers:\n  openai:\n    api_key: ${apiKey}\n    base_url: ${llmBaseUrl}\n    max_retries: 0\n`
  }store:\n  path: data/troupe.db\n${extra}`

/** A persona folder: `persona.yaml` on the fake's `openai` provider and a `system.md`. */
export const personaFiles = (id: string, options: { readonly tools?: ReadonlyArray<string>; title?: string } = {}) => ({
  [`personalities/${id}/persona.yaml`]: [
    `display_name: ${options.title ?? id[0]!.toUpperCase() + id.slice(1)}`,
    `description: A test persona`,
    "model: { provider: openai, model: fake-model }",
    ...(options.tools ? [`tools: [${options.tools.join(", ")}]`] : [])
  ].join("\n"),
  [`personalities/${id}/system.md`]: `You are ${id}, a test persona.\n`
})

/** `plugins/dice/plugin.ts`: a `roll` tool that answers "4". */
export const dicePlugin = {
  "plugins/dice/plugin.ts": pluginSource(`
export default definePlugin({
  name: "dice",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "roll",
      description: "Roll a die",
      parameters: Schema.Struct({ sides: Schema.Number }),
      run: () => "4"
    })
  ]
})`)
}

export interface TestRuntime {
  readonly url: string
  readonly dir: string
  readonly runtime: Runtime
  readonly write: (path: string, text: string) => void
  /** Reload every persona and plugin (what SIGHUP does). */
  readonly reload: () => Promise<void>
  readonly stop: () => Promise<void>
}

/** Start the runtime from a temporary project with these files (`config.yaml`, `personalities/…`, `plugins/…`). */
export const startRuntime = async (
  files: Readonly<Record<string, string>>,
  options: RuntimeOptions = {}
): Promise<TestRuntime> => {
  const folder = tempDir(files)
  const loaded = await Effect.runPromise(loadConfig({ cwd: folder.dir, env: {} }))
  const runtimeOptions: RuntimeOptions = {
    port: 0,
    platformChannels: false,
    logLevel: process.env.TROUPE_TEST_LOGS ? "debug" : "error",
    logFormat: "logfmt",
    ...options
  }
  const ready = Effect.runSync(Deferred.make<Runtime>())
  const fiber = Effect.runFork(Effect.provide(runForever(runtimeOptions, ready), runtimeLayer(loaded, runtimeOptions)))
  const started = await Promise.race([
    Effect.runPromise(Deferred.await(ready)),
    Effect.runPromise(Fiber.await(fiber)).then((exit) => {
      throw new Error(`the runtime did not start: ${Exit.isFailure(exit) ? String(exit.cause) : "it ended"}`)
    })
  ])
  return {
    url: started.url,
    dir: folder.dir,
    runtime: started,
    write: folder.write,
    reload: () => Effect.runPromise(started.reload),
    stop: async () => {
      await Effect.runPromise(Fiber.interrupt(fiber))
      folder.cleanup()
    }
  }
}

export interface TestSocket {
  readonly received: Array<ServerMessage>
  /** Raw frames, to check that nothing secret went out. */
  readonly frames: Array<string>
  send(message: ClientMessage): void
  sendRaw(text: string): void
  /** The first message (from the start) matching `predicate` that was not taken before. */
  next<T extends ServerMessage>(predicate: (message: ServerMessage) => message is T, timeoutMs?: number): Promise<T>
  next(predicate: (message: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
  close(): void
}

/** A WebSocket to `<url>/ws` that records every decoded message. */
export const openSocket = async (url: string, headers: Record<string, string> = {}): Promise<TestSocket> => {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`, { headers } as never)
  const received: Array<ServerMessage> = []
  const frames: Array<string> = []
  const taken = new Set<ServerMessage>()
  let closedResolve: (value: { code: number; reason: string }) => void = () => {}
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    closedResolve = resolve
  })
  ws.addEventListener("message", (event) => {
    const text = String(event.data)
    frames.push(text)
    const decoded = decodeServer(text)
    if (decoded._tag === "Left") throw new Error(`the server sent a message that does not decode: ${decoded.left}`)
    received.push(decoded.right)
  })
  ws.addEventListener("close", (event) => closedResolve({ code: event.code, reason: event.reason }))
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve())
    ws.addEventListener("error", () => reject(new Error("the socket did not open")))
  })
  return {
    received,
    frames,
    send: (message) => ws.send(JSON.stringify(encodeClient(message))),
    sendRaw: (text) => ws.send(text),
    next: (async (predicate: (message: ServerMessage) => boolean, timeoutMs = 3000) => {
      const found = await waitFor(
        () => received.find((message) => !taken.has(message) && predicate(message)),
        timeoutMs,
        "a matching message"
      )
      taken.add(found)
      return found
    }) as TestSocket["next"],
    closed,
    close: () => ws.close()
  }
}

/** A type guard for `next`: the message has this `_tag`. */
export const tagged =
  <T extends ServerMessage["_tag"]>(
    tag: T,
    check: (message: Extract<ServerMessage, { _tag: T }>) => boolean = () => true
  ) =>
  (message: ServerMessage): message is Extract<ServerMessage, { _tag: T }> =>
    message._tag === tag && check(message as Extract<ServerMessage, { _tag: T }>)
