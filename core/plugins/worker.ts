/**
 * The bootstrap of a plugin Worker. The host starts it (from a prebuilt bundle when possible, see `WorkerBundle.ts`),
 * waits for `ready`, then sends `load` with the plugin's file. From then on it serves `call` messages, each answered by
 * one `result`, and relays the plugin's host service calls.
 *
 * Plugin imports of `core/plugins/sdk.ts` are answered with this Worker's own copy of the SDK (a Bun loader plugin),
 * so a plugin loads in milliseconds instead of loading Effect again, and `definePlugin` values are recognised.
 *
 * A Worker isolates faults (a hang, a crash, a memory leak ends with the Worker), not hostile code: a plugin shares
 * the process, its file system and its environment. Only install plugins you trust.
 */

import { fileURLToPath } from "node:url"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { formatDecodeError } from "./internal/decodeError.ts"
import { describeLoadError, type Loaded, loadPlugin } from "./internal/loadPlugin.ts"
import { capText, defaultResultLimit, type HostToWorker, type WorkerToHost } from "./internal/protocol.ts"
import { currentCall, HostCalls, makeFetch, makeSetupContext, makeToolContext } from "./internal/workerContext.ts"
import type { Cleanup, SetupContext, ToolResult } from "./sdk.ts"
import * as sdk from "./sdk.ts"

declare const self: {
  postMessage(message: unknown): void
  addEventListener(type: string, listener: (event: any) => void): void
}

const post = (message: WorkerToHost) => self.postMessage(message)
const host = new HostCalls(post)

let loaded: Loaded | undefined
let setupContext: SetupContext | undefined
let cleanup: Cleanup | undefined
let resultLimit = defaultResultLimit
const running = new Map<number, AbortController>()

/** The SDK's own file: plugin imports of it are answered with this Worker's copy (see the loader below). */
const sdkPath = fileURLToPath(new URL("./sdk.ts", import.meta.url))
const loaderOf = (path: string) =>
  path.endsWith(".tsx") ? "tsx" : path.endsWith(".jsx") ? "jsx" : path.endsWith(".ts") ? "ts" : "js"

Bun.plugin({
  name: "troupe-sdk",
  setup(build) {
    build.onLoad({ filter: /[\\/]core[\\/]plugins[\\/]sdk\.ts$/ }, () => ({ exports: { ...sdk }, loader: "object" }))
    // `troupe/sdk` must resolve wherever the plugin folder is (`runtime.plugins` may point outside the Troupe folder,
    // where the package's own export does not reach): a plugin's source files get it rewritten to the SDK's path, on
    // the same line, so error positions stay right.
    build.onLoad({ filter: /^(?!.*[\\/]node_modules[\\/]).*\.(ts|tsx|js|jsx|mjs)$/ }, async (args) => {
      const text = await Bun.file(args.path).text()
      const contents = text.includes("troupe/sdk")
        ? text.replace(/(["'])troupe\/sdk\1/g, JSON.stringify(sdkPath))
        : text
      return { contents, loader: loaderOf(args.path) }
    })
  }
})

// Outbound HTTP from plugin code goes through the host's `http.fetch`, with the context of the call it belongs to.
globalThis.fetch = Object.assign(
  makeFetch(host, () => currentCall.getStore()),
  { preconnect: () => undefined }
) as typeof fetch

const logError = (message: string) => {
  host.call(currentCall.getStore(), "log", { level: "error", message, fields: {} }).catch(() => undefined)
}
self.addEventListener("error", (event: { preventDefault?: () => void; message?: string; error?: unknown }) => {
  event.preventDefault?.()
  logError(`uncaught error: ${(event.error as Error | undefined)?.stack ?? event.message}`)
})
self.addEventListener("unhandledrejection", (event: { preventDefault?: () => void; reason?: unknown }) => {
  event.preventDefault?.()
  logError(`unhandled rejection: ${(event.reason as Error | undefined)?.stack ?? String(event.reason)}`)
})

const stringify = (value: ToolResult): string => {
  if (typeof value === "string") return value
  if (value === undefined) return ""
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const messageOf = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message
}

const load = async (message: Extract<HostToWorker, { _tag: "load" }>) => {
  let phase: "import" | "setup" = "import"
  try {
    const plugin = await loadPlugin(message.file, message.plugin, message.config)
    phase = "setup"
    setupContext = makeSetupContext(host, plugin.config)
    const result = await plugin.plugin.setup?.(setupContext)
    if (typeof result === "function") cleanup = result
    loaded = plugin
    post({ _tag: "loaded", plugin: plugin.info })
  } catch (error) {
    post({ _tag: "loadFailed", error: describeLoadError(error, message.file, phase) })
  }
}

const call = async (message: Extract<HostToWorker, { _tag: "call" }>) => {
  const finish = (ok: boolean, content: string) =>
    post({ _tag: "result", id: message.id, ok, content: capText(content, resultLimit) })
  const tool = loaded?.tools.get(message.tool)
  if (!loaded || !tool) return finish(false, `unknown tool ${message.tool}`)
  const decoded = Schema.decodeUnknownEither(tool.parameters, { errors: "all", onExcessProperty: "ignore" })(
    message.args
  )
  if (Either.isLeft(decoded)) return finish(false, `invalid arguments: ${formatDecodeError(decoded.left)}`)
  const controller = new AbortController()
  running.set(message.id, controller)
  const context = makeToolContext(host, message.id, message.context, loaded.config, controller.signal)
  try {
    const value = await currentCall.run(message.id, () => tool.run(decoded.right, context))
    finish(true, stringify(value))
  } catch (error) {
    finish(false, messageOf(error))
  } finally {
    running.delete(message.id)
  }
}

const hook = async (message: Extract<HostToWorker, { _tag: "event" }>) => {
  const handler = (
    loaded?.plugin.hooks as Record<string, (event: unknown, ctx: SetupContext) => unknown> | undefined
  )?.[message.event._tag]
  if (!handler || !setupContext) return
  try {
    await handler(message.event, setupContext)
  } catch (error) {
    logError(`hook ${message.event._tag} failed: ${messageOf(error)}`)
  }
}

const shutdown = async () => {
  for (const controller of running.values()) controller.abort(new Error("plugin is stopping"))
  try {
    await cleanup?.()
  } catch (error) {
    logError(`cleanup failed: ${messageOf(error)}`)
  }
  post({ _tag: "closed" })
}

self.addEventListener("message", (event: { data: HostToWorker }) => {
  const message = event.data
  switch (message._tag) {
    case "load":
      resultLimit = message.resultLimit
      return void load(message)
    case "call":
      return void call(message)
    case "cancel":
      return running.get(message.id)?.abort(new Error("the tool call timed out"))
    case "ping":
      return post({ _tag: "pong", id: message.id })
    case "hostResult":
      return host.settle(message.id, message.ok, message.value, message.error)
    case "event":
      return void hook(message)
    case "shutdown":
      return void shutdown()
  }
})

post({ _tag: "ready" })
