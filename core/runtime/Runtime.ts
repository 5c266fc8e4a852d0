/**
 * The whole runtime, assembled: services from `config.yaml` (store, HTTP, providers, plugin host, logging), then the
 * actor tree — the scheduler, and one persona group per loaded persona, following the persona registry as folders are
 * added, changed and removed.
 *
 * ```
 * Supervisor (root scope)
 * ├── PluginHost (a service: Workers per plugin, persona registry, watchers)
 * ├── persona:<id>  ├── channel:<channel id> …   └── router ── <conversation id> …
 * ├── scheduler
 * └── Http (/livez /readyz /metrics, webhooks, web playground)
 * ```
 */
import { resolve } from "node:path"
import { Deferred, Effect, ExecutionStrategy, Exit, Layer, Queue, Runtime as RuntimeModule, Scope } from "effect"
import * as Actor from "../actor/Actor.ts"
import { ActorSystem } from "../actor/ActorSystem.ts"
import type { ChannelInstance } from "../channels/Channel.ts"
import { Config, type LoadedConfig, loadConfig } from "../config/Config.ts"
import type { Env } from "../config/Yaml.ts"
import { makeScheduler, type SchedulerService } from "../conversation/Scheduler.ts"
import { EventBus } from "../events/EventBus.ts"
import { startEventLog } from "../events/EventLog.ts"
import { Health } from "../http/Health.ts"
import * as HttpServer from "../http/HttpServer.ts"
import { LlmProviders } from "../llm/Providers.ts"
import * as Logging from "../log/Logger.ts"
import { defaultRedactor, Redaction } from "../log/Redactor.ts"
import { Metrics } from "../metrics/Metrics.ts"
import { defineTroupeMetrics } from "../metrics/TroupeMetrics.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import { Personas } from "../persona/Personas.ts"
import { HostApi } from "../plugins/HostApi.ts"
import { PluginHost } from "../plugins/PluginHost.ts"
import { pruneDeliveriesEvery } from "../store/Retention.ts"
import { Store } from "../store/Store.ts"
import { registerGuardedFetch } from "../tools/GuardedFetch.ts"
import { ToolGuard } from "../tools/ToolGuard.ts"
import { makeBotAccounts } from "./BotAccounts.ts"
import { registerHostServices } from "./hostServices.ts"
import { type PersonaRuntime, startPersona } from "./PersonaRunner.ts"
import { recoverUnanswered } from "./Recovery.ts"

export interface RuntimeOptions {
  /** Log replies instead of sending them to any platform (overrides `runtime.dry_run`). */
  readonly dryRun?: boolean
  /** Watch personalities/ and plugins/ and reload on change (overrides `runtime.watch`). */
  readonly watch?: boolean
  readonly logFormat?: Logging.LogFormat
  readonly logLevel?: Logging.LevelName
  /** Only these personas (by id). */
  readonly only?: ReadonlyArray<string>
  /** Connect the platform channels of `channels:` (false for `troupe chat`). Default true. */
  readonly platformChannels?: boolean
  /** Override `http.port` (0: any free port). */
  readonly port?: number
  readonly env?: Env
  /** Serve the web playground and dashboard (default: `http.web`). */
  readonly web?: boolean
  /** Extra channels to attach to each persona (e.g. the console for `troupe chat`). */
  readonly attach?: (
    persona: PersonaRuntime
  ) => Effect.Effect<ReadonlyArray<ChannelInstance>, never, Scope.Scope | EventBus>
}

/** What a started runtime exposes to the CLI and tests. */
export interface Runtime {
  readonly url: string
  /** Providers that can answer (configured with what they need; a local Ollama only when it answered at start). */
  readonly usableProviders: ReadonlySet<string>
  readonly personas: () => ReadonlyMap<string, PersonaRuntime>
  readonly scheduler: SchedulerService
  /** SIGHUP: reload every persona and plugin. */
  readonly reload: Effect.Effect<void>
}

const echoFallback = { provider: "echo", model: "echo" }

/** A local Ollama counts only when it answered at start (it needs no key, so "configured" says nothing). */
const isLocalOllama = (name: string, baseUrl: string | undefined) =>
  name === "ollama" || (baseUrl !== undefined && /:11434(\/|$)/.test(baseUrl))

/** Every service the runtime runs on, built from the loaded config. */
export const runtimeLayer = (loaded: LoadedConfig, options: RuntimeOptions = {}) => {
  const { config, root } = loaded
  const redactor = defaultRedactor
  for (const provider of Object.values(config.providers)) redactor.add(provider.apiKey)
  redactor.add(config.http.adminToken)

  const logging = Logging.layer({
    format: options.logFormat ?? config.log.format,
    level: options.logLevel ?? config.log.level,
    redactor
  })
  const base = Layer.mergeAll(
    Config.layerValue(loaded),
    Redaction.layerGlobal,
    Health.layer,
    Metrics.layer,
    // Outbound HTTP of plugins goes through the SSRF guard, set up from plugins.http_fetch (core/tools/GuardedFetch.ts).
    HostApi.layer.pipe(
      Layer.tap((context) => Effect.provide(registerGuardedFetch(config.plugins.http_fetch), context))
    ),
    ActorSystem.layer.pipe(Layer.provideMerge(EventBus.layer))
  )
  const store = Store.layer({
    path: resolve(root, config.store.path),
    synchronous: config.store.synchronous,
    flushDelayMs: config.store.flushDelay
  })
  const http = Layer.unwrapEffect(
    Effect.map(Metrics, (registry) =>
      HttpServer.layer({
        host: config.http.host,
        port: options.port ?? config.http.port,
        adminToken: config.http.adminToken,
        metrics: () => registry.render()
      })
    )
  )
  // Every tool call is rate-limited per conversation and logged with its correlation id (core/tools/ToolGuard.ts).
  const plugins = ToolGuard.wrap(PluginHost.layerConfig(options.watch === undefined ? {} : { watch: options.watch }), {
    maxCalls: config.runtime.toolCallsPerMinute,
    windowMs: 60_000
  })
  const providers = LlmProviders.layer
  return Layer.mergeAll(store, http, plugins, providers).pipe(Layer.provideMerge(base), Layer.provide(logging))
}

export type RuntimeServices = Layer.Layer.Success<ReturnType<typeof runtimeLayer>>

/** Start the actor tree on the runtime's services; everything stops when the scope closes. */
export const startRuntime = (options: RuntimeOptions = {}) =>
  Effect.gen(function* () {
    const loaded = yield* Config
    const { config, root: cwd } = loaded
    const system = yield* ActorSystem
    const health = yield* Health
    const http = yield* HttpServer.Http
    const registry = yield* Metrics
    const personasRegistry = yield* Personas
    const host = yield* PluginHost
    const hostApi = yield* HostApi
    const fiberRuntime = yield* Effect.runtime<never>()
    const dryRun = options.dryRun ?? config.runtime.dryRun
    defineTroupeMetrics(registry, { actors: () => system.snapshot() })

    if (config.log.events.enabled) {
      yield* startEventLog({
        file: resolve(cwd, config.log.events.file),
        maxBytes: config.log.events.maxBytes,
        keep: config.log.events.keep,
        deltas: config.log.events.deltas,
        redact: (line) => defaultRedactor.redact(line)
      })
    }

    yield* pruneDeliveriesEvery({ retentionMs: config.store.deliveryRetention })

    const runtimeScope = yield* Effect.scope
    const root = yield* Actor.root("troupe")
    const running = new Map<string, PersonaRuntime>()
    const accounts = makeBotAccounts()
    const scheduler = yield* makeScheduler(root, {
      minInterval: 60_000,
      tolerance: 60_000,
      router: (id) => running.get(id)?.router
    })
    yield* registerHostServices({
      scheduler,
      historyChanged: (persona, conversationId) => running.get(persona)?.router.historyChanged(conversationId)
    })

    // A persona none of whose providers can answer still answers, through the clearly labelled echo provider, so a
    // fresh checkout can be tried without any key; `troupe check` and the web page say so.
    const llm = yield* LlmProviders
    const ollamaUp = yield* llm.ollamaReachable(300)
    const usableProviders = new Set(
      llm
        .status()
        .filter((p) => p.usable && p.api !== "echo" && (!isLocalOllama(p.name, p.baseUrl) || ollamaUp))
        .map((p) => p.name)
    )
    const adapt = (persona: PersonaDefinition): PersonaDefinition => {
      const chain = [persona.model.provider, ...persona.model.fallbacks.map((f) => f.provider)]
      if (chain.some((name) => usableProviders.has(name) || name === "echo")) return persona
      return { ...persona, model: { ...persona.model, fallbacks: [...persona.model.fallbacks, echoFallback] } }
    }

    const wanted = (persona: PersonaDefinition) => !options.only || options.only.includes(persona.id)

    // Channels attached to every persona besides its `channels:`: the web playground, and the console for `troupe chat`.
    const attachers: Array<NonNullable<RuntimeOptions["attach"]>> = []
    if (options.attach) attachers.push(options.attach)
    if (config.http.web && options.web !== false) {
      const { startWeb } = yield* Effect.promise(() => import("../web/Web.ts"))
      const web = yield* startWeb({ personas: () => running, usableProviders })
      attachers.push(web.attach)
    }
    const scopes = new Map<string, Scope.CloseableScope>()

    const start = (persona: PersonaDefinition) =>
      Effect.gen(function* () {
        if (!wanted(persona) || running.has(persona.id)) return
        // Each persona has its own scope, closed when the persona is removed (or at shutdown).
        const scope = yield* Scope.fork(runtimeScope, ExecutionStrategy.sequential)
        if (adapt(persona) !== persona) {
          yield* Effect.logWarning(
            `persona ${persona.id}: no provider of ${persona.model.provider} is configured; it answers through the echo development provider until one is (see config.example.yaml)`
          )
        }
        const runtime = yield* startPersona(root, adapt(persona), {
          dryRun,
          platformChannels: options.platformChannels ?? true,
          accounts
        }).pipe(Scope.extend(scope))
        running.set(persona.id, runtime)
        scopes.set(persona.id, scope)
        for (const attach of attachers) {
          const extra = yield* attach(runtime).pipe(Scope.extend(scope))
          for (const channel of extra) yield* runtime.attach(channel).pipe(Scope.extend(scope))
        }
        // Answer what the last run left unanswered (in the background: channels may still be connecting).
        yield* Effect.forkIn(recoverUnanswered(runtime), scope)
        yield* Effect.logInfo(`persona ${persona.id} is up`).pipe(
          Effect.annotateLogs({ persona: persona.id, channels: String(persona.channels.length) })
        )
      })

    const stop = (id: string) =>
      Effect.gen(function* () {
        running.delete(id)
        const scope = scopes.get(id)
        scopes.delete(id)
        yield* root.stop(`persona:${id}`)
        if (scope) yield* Scope.close(scope, Exit.void)
        yield* Effect.logInfo(`persona ${id} stopped`)
      })

    // The current personas, then every change, with nothing missed in between.
    const { current, changes } = yield* personasRegistry.subscribe
    for (const persona of current) yield* start(persona)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(changes), (change) => {
          switch (change._tag) {
            case "added":
              return start(change.persona)
            case "removed":
              return stop(change.persona.id)
            case "updated": {
              const runtime = running.get(change.persona.id)
              return runtime ? runtime.update(adapt(change.persona)) : start(change.persona)
            }
          }
        }).pipe(Effect.catchAllCause((cause) => Effect.logError("applying a persona change failed", cause)))
      )
    )
    yield* Effect.addFinalizer(() => Effect.forEach([...running.keys()], stop, { discard: true }))

    health.markStarted()
    const names = [...running.keys()]
    yield* Effect.logInfo(
      `Troupe is up at ${http.url} with ${names.length} persona${names.length === 1 ? "" : "s"}: ${names.join(", ") || "none"}${dryRun ? " (dry run: nothing is sent)" : ""}`
    )
    const runtime: Runtime = {
      url: http.url,
      usableProviders,
      personas: () => running,
      scheduler,
      // SIGHUP: plugin settings come from config.yaml as it is now; the rest of it (providers, http, store) needs a
      // restart. A broken config.yaml is reported and the reload goes on with the settings already running.
      // It runs on the runtime's own fiber runtime (its logger, level and redaction), whoever triggers it.
      reload: Effect.promise(() =>
        RuntimeModule.runPromise(fiberRuntime)(
          Effect.gen(function* () {
            const fresh = yield* Effect.either(loadConfig({ ...(loaded.file ? { file: loaded.file } : {}), cwd }))
            if (fresh._tag === "Left") {
              yield* Effect.logError(`config.yaml not reloaded: ${fresh.left.message}`)
              return yield* host.reloadAll()
            }
            yield* registerGuardedFetch(fresh.right.config.plugins.http_fetch).pipe(
              Effect.provideService(HostApi, hostApi)
            )
            yield* host.reloadAll(fresh.right.config.plugins)
            yield* Effect.logInfo("reloaded personas and plugins (SIGHUP)")
          })
        )
      )
    }
    return runtime
  })

/** Run until interrupted (the CLI interrupts on SIGINT/SIGTERM; finalizers then stop everything in order). */
export const runForever = (options: RuntimeOptions, ready?: Deferred.Deferred<Runtime>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const runtime = yield* startRuntime(options)
      if (ready) yield* Deferred.succeed(ready, runtime)
      return yield* Effect.never
    })
  )
