/**
 * The web playground and dashboard, served by the runtime's HTTP server: the page at `/`, the WebSocket at `/ws`
 * (protocol in `Protocol.ts`), and a few JSON endpoints under `/api/`. All of them are admin routes: open on loopback
 * without `admin_token`, behind the token otherwise.
 *
 * The runtime calls `startWeb` once, then `attach` for every persona that starts: each persona gets a `web` channel,
 * and every browser tab is its own conversation with it.
 *
 * @example
 * const web = yield* startWeb({ personas: () => running, usableProviders })
 * for (const channel of yield* web.attach(personaRuntime)) yield* personaRuntime.attach(channel)
 */
import { Effect, Runtime, type Scope } from "effect"
import { ActorSystem } from "../actor/ActorSystem.ts"
import type { ChannelInstance } from "../channels/Channel.ts"
import { EventBus } from "../events/EventBus.ts"
import { Health } from "../http/Health.ts"
import { Http, isLoopback } from "../http/HttpServer.ts"
import { LlmProviders } from "../llm/Providers.ts"
import { Redaction } from "../log/Redactor.ts"
import type { PersonaDefinition } from "../persona/Persona.ts"
import { Personas } from "../persona/Personas.ts"
import { PluginHost } from "../plugins/PluginHost.ts"
import type { PersonaRuntime } from "../runtime/PersonaRunner.ts"
import { Store } from "../store/Store.ts"
import { dashboardOf, isReloadEvent, makeReloadHistory, reloadTags } from "./Dashboard.ts"
import { noProviderNotice } from "./notice.ts"
import type { PersonaInfo } from "./Protocol.ts"
import page from "./page/index.html"
import { makeSessions, type SessionState } from "./Sessions.ts"
import { makeWebChannel } from "./WebChannel.ts"

export interface WebDeps {
  /** The running personas, by id (live). */
  readonly personas: () => ReadonlyMap<string, PersonaRuntime>
  /** Providers that can answer; empty means every persona answers through the echo development provider. */
  readonly usableProviders: ReadonlySet<string>
}

export interface Web {
  /** The web channel of one persona, for its lifetime (the surrounding scope). */
  readonly attach: (
    persona: PersonaRuntime
  ) => Effect.Effect<ReadonlyArray<ChannelInstance>, never, Scope.Scope | EventBus>
}

const hostnameOf = (host: string) => (URL.canParse(`http://${host}`) ? new URL(`http://${host}`).hostname : "")

export const startWeb = (deps: WebDeps) =>
  Effect.gen(function* () {
    const http = yield* Http
    const bus = yield* EventBus
    const system = yield* ActorSystem
    const registry = yield* Personas
    const host = yield* PluginHost
    const store = yield* Store
    const llm = yield* LlmProviders
    const health = yield* Health
    const redactor = yield* Redaction
    const runtime = yield* Effect.runtime<never>()

    /** Why a persona's provider cannot answer, with the config line that fixes it. */
    const problemOf = (provider: string) =>
      provider === "ollama" && llm.status().some((status) => status.name === "ollama" && status.usable)
        ? "no local Ollama answered at 127.0.0.1:11434 when Troupe started"
        : Effect.runSync(
            llm.get(provider).pipe(
              Effect.match({
                onFailure: (error) => error.reason,
                onSuccess: () => `provider ${provider} did not answer when Troupe started`
              })
            )
          )

    const infoOf = (persona: PersonaDefinition): PersonaInfo => {
      const chain = [persona.model.provider, ...persona.model.fallbacks.map((fallback) => fallback.provider)]
      const echo = !chain.some((provider) => deps.usableProviders.has(provider))
      return {
        id: persona.id,
        title: persona.title,
        description: persona.description,
        provider: persona.model.provider,
        ...(persona.model.model === undefined ? {} : { model: persona.model.model }),
        echo,
        ...(echo && persona.model.provider !== "echo" ? { problem: problemOf(persona.model.provider) } : {})
      }
    }

    const personaList = () =>
      [...deps.personas().values()]
        .map((running) => infoOf(registry.get(running.id) ?? running.current()))
        .sort((a, b) => a.id.localeCompare(b.id))

    const notice = deps.usableProviders.size === 0 ? noProviderNotice(llm.status()) : undefined
    const reloads = makeReloadHistory()
    // The loads at startup happened before the page existed; the bus kept them.
    for (const event of bus.retained()) if (isReloadEvent(event)) reloads.add(event)
    const dashboard = Effect.suspend(() =>
      dashboardOf({ store, host, health, llm, reloads: reloads.entries }, Date.now())
    )

    const sessions = yield* makeSessions({
      personas: deps.personas,
      personaList,
      notice,
      bus,
      system,
      store,
      host,
      redactor,
      dashboard
    })

    const unlisten = bus.listen([...reloadTags, "ReplyCompleted", "ChannelStatus", "ActorFailed"], (event) => {
      if (isReloadEvent(event)) reloads.add(event)
      sessions.dashboardChanged()
      if (event._tag === "PersonaLoaded" || event._tag === "PersonaUnloaded") sessions.personasChanged()
    })
    yield* Effect.addFinalizer(() => Effect.sync(unlisten))

    /**
     * A browser on another site may open a WebSocket to 127.0.0.1 (browsers allow cross-origin sockets), and a
     * rebound DNS name may point at it: the socket and the API only answer pages served from here.
     */
    const sameOrigin = (request: Request) => {
      const hostHeader = request.headers.get("host") ?? ""
      const origin = request.headers.get("origin")
      if (origin !== null && (!URL.canParse(origin) || new URL(origin).host !== hostHeader)) return false
      return !http.open || isLoopback(hostnameOf(hostHeader))
    }

    yield* http.addSocket(sessions.route((request): SessionState => ({ allowed: sameOrigin(request) })))
    // A plain request to the socket's path: 401 without the token like the upgrade, else a hint.
    yield* http.addRoute({
      path: "/ws",
      admin: true,
      handler: () =>
        new Response("426 this is a WebSocket endpoint\n", { status: 426, headers: { upgrade: "websocket" } })
    })

    const json = (body: unknown, status = 200) =>
      new Response(redactor.redact(JSON.stringify(body)), {
        status,
        headers: { "content-type": "application/json", "cache-control": "no-store" }
      })

    yield* http.addRoute({
      path: "/api",
      prefix: true,
      admin: true,
      methods: ["GET"],
      handler: async (request, { url }) => {
        if (!sameOrigin(request)) return new Response("403 forbidden\n", { status: 403 })
        switch (url.pathname) {
          case "/api/personas":
            return json({ personas: personaList(), ...(notice ? { notice } : {}) })
          case "/api/tree":
            return json({ nodes: system.snapshot() })
          case "/api/dashboard":
            return json(await Runtime.runPromise(runtime)(dashboard))
          default:
            return new Response("404 not found\n", { status: 404 })
        }
      }
    })

    // With an admin token, `addPage` bundles the page once and serves it (and its assets) behind the token.
    yield* http
      .addPage("/", page)
      .pipe(Effect.catchAllDefect((defect) => Effect.logError("web: the playground page is not served", defect)))

    yield* Effect.logInfo(`web playground and dashboard at ${http.url}/`)

    const web: Web = {
      attach: () =>
        Effect.gen(function* () {
          const channel = makeWebChannel(sessions.deliver)
          sessions.personasChanged()
          yield* Effect.addFinalizer(() => Effect.sync(sessions.personasChanged))
          return [channel]
        })
    }
    return web
  })
