/**
 * The playground's open WebSockets. Each socket is a session: the tab it belongs to (several sockets may share one tab
 * across a reload), the persona it talks to, and what the dashboard watches. Client messages are decoded with the
 * protocol schema and handled one at a time per session; a bad one gets an `Error` answer and nothing else happens.
 *
 * The tree and the event stream are only computed while some tab watches them: the loops wait on a latch that is open
 * only then, so an idle runtime with no dashboard open never walks its actor tree.
 */
import type { ServerWebSocket } from "bun"
import { Effect, Either, FiberSet, Queue, type Scope } from "effect"
import type { ActorSystemService } from "../actor/ActorSystem.ts"
import type { OutboundEvent } from "../channels/Channel.ts"
import type { EventBusService } from "../events/EventBus.ts"
import type { TroupeEvent } from "../events/Events.ts"
import type { SocketData, SocketRoute } from "../http/HttpServer.ts"
import type { Redactor } from "../log/Redactor.ts"
import type { PluginHostService } from "../plugins/PluginHost.ts"
import type { PersonaRuntime } from "../runtime/PersonaRunner.ts"
import type { StoreService } from "../store/Store.ts"
import { makeTreeDiffer } from "./Dashboard.ts"
import { EventBuffer, flushEveryMs } from "./EventStream.ts"
import { historyOf } from "./history.ts"
import {
  type ClientMessage,
  decodeClient,
  encodeServer,
  type PersonaInfo,
  type ServerMessage,
  type ServerMessageOf
} from "./Protocol.ts"
import { inboundOf, tabOf } from "./WebChannel.ts"

/** How often the tree (and the dashboard panels) are sent while someone watches. */
export const treeEveryMs = 500
/** Client messages queued per socket before further ones are refused. */
const inboxCapacity = 64
/** A socket with this much unsent data gets no dashboard events until it drains. */
const backedUpBytes = 1 << 20

export interface SessionState {
  /** The request passed the origin check (see `Web.ts`); a refused socket is closed as soon as it opens. */
  readonly allowed: boolean
}

type Socket = ServerWebSocket<SocketData>

interface Session {
  readonly socket: Socket
  readonly inbox: Queue.Queue<string>
  tab: string | undefined
  persona: string | undefined
  /** Watching the tree; `fresh` until it got a full snapshot. */
  tree: "off" | "fresh" | "on"
  events: EventBuffer | undefined
}

export interface SessionsDeps {
  readonly personas: () => ReadonlyMap<string, PersonaRuntime>
  /** The personas a tab can pick, for `Welcome`. */
  readonly personaList: () => ReadonlyArray<PersonaInfo>
  readonly notice: ServerMessageOf<"Welcome">["notice"]
  readonly bus: EventBusService
  readonly system: ActorSystemService
  readonly store: StoreService
  readonly host: PluginHostService
  readonly redactor: Redactor
  /** The dashboard panels as they are now. */
  readonly dashboard: Effect.Effect<ServerMessageOf<"Dashboard">>
}

const chatTags = ["ToolCalled", "ToolResult", "PolicyDecision", "LlmAttemptFailed"] as const

export const makeSessions = (deps: SessionsDeps) =>
  Effect.gen(function* () {
    const sessions = new Map<Socket, Session>()
    const byTab = new Map<string, Set<Session>>()
    const fibers = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(fibers)<never>()
    const treeWatched = yield* Effect.makeLatch(false)
    const eventsWatched = yield* Effect.makeLatch(false)
    const differ = makeTreeDiffer()
    let dashboardDirty = true

    /** Encode once, redact, and send to each socket. */
    const frame = (message: ServerMessage) => deps.redactor.redact(JSON.stringify(encodeServer(message)))
    const sendTo = (targets: Iterable<Session>, message: ServerMessage) => {
      let text: string | undefined
      for (const session of targets) {
        text ??= frame(message)
        session.socket.send(text)
      }
    }
    const send = (session: Session, message: ServerMessage) => sendTo([session], message)
    const fail = (session: Session, message: string, request?: string) =>
      send(session, { _tag: "Error", message, ...(request === undefined ? {} : { request }) })

    // --- the chat: events of a tab's conversations go to its sockets ---------------------------------------------

    const toTab = (tab: string, event: TroupeEvent) => {
      const targets = byTab.get(tab)
      if (targets && targets.size > 0) sendTo(targets, event)
    }

    /** An outbound event of the web channel (the reply sink). */
    const deliver = (tab: string, event: OutboundEvent) => toTab(tab, event)

    // Tool calls, policy refusals and retries of a web conversation are on the bus only.
    const unlistenChat = deps.bus.listen(chatTags, (event) => {
      const tab = tabOf(event.conversationId)
      if (tab === undefined) return
      if (event._tag === "PolicyDecision" && event.decision === "answer") return
      if (event._tag === "ToolCalled") {
        toTab(tab, { ...event, arguments: deps.host.redactArguments(event.tool, event.arguments) })
      } else {
        toTab(tab, event)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(unlistenChat))

    // --- the dashboard: the tree and panels, every `treeEveryMs` while watched ------------------------------------

    const watchers = (predicate: (session: Session) => boolean) => [...sessions.values()].filter(predicate)

    const sendTree = Effect.gen(function* () {
      const diff = differ(deps.system.snapshot())
      const fresh = watchers((s) => s.tree === "fresh")
      const watching = watchers((s) => s.tree === "on")
      if (diff.changed.length > 0 || diff.removed.length > 0) {
        sendTo(watching, { _tag: "Tree", full: false, nodes: diff.changed, removed: diff.removed })
      }
      sendTo(fresh, { _tag: "Tree", full: true, nodes: diff.nodes, removed: [] })
      if (dashboardDirty || fresh.length > 0) {
        const all = dashboardDirty ? [...watching, ...fresh] : fresh
        dashboardDirty = false
        sendTo(all, yield* deps.dashboard)
      }
      for (const session of fresh) session.tree = "on"
    })

    const treeLoop = Effect.forever(
      Effect.zipRight(
        treeWatched.await,
        Effect.zipRight(
          sendTree.pipe(Effect.catchAllCause((cause) => Effect.logWarning("web: sending the tree failed", cause))),
          Effect.sleep(treeEveryMs)
        )
      )
    )
    yield* Effect.forkScoped(treeLoop)

    const updateTreeLatch = () => {
      if (watchers((s) => s.tree !== "off").length > 0) treeWatched.unsafeOpen()
      else treeWatched.unsafeClose()
    }

    /** Usage, plugins, reloads or health changed: the next tick sends the panels again. */
    const dashboardChanged = () => {
      dashboardDirty = true
    }

    // --- the event stream: filtered per tab, buffered, flushed every `flushEveryMs` -------------------------------

    let unlistenEvents: (() => void) | undefined
    const updateEventsListener = () => {
      const subscribed = watchers((s) => s.events !== undefined)
      if (subscribed.length > 0 && unlistenEvents === undefined) {
        unlistenEvents = deps.bus.listen("all", (event) => {
          for (const session of sessions.values()) session.events?.offer(event)
        })
        eventsWatched.unsafeOpen()
      } else if (subscribed.length === 0 && unlistenEvents !== undefined) {
        unlistenEvents()
        unlistenEvents = undefined
        eventsWatched.unsafeClose()
      }
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => unlistenEvents?.()))

    const flushEvents = Effect.sync(() => {
      for (const session of sessions.values()) {
        const buffer = session.events
        if (!buffer) continue
        const batch = buffer.take()
        if (!batch) continue
        if (session.socket.getBufferedAmount() > backedUpBytes) buffer.lost(batch.events.length + batch.dropped)
        else send(session, { _tag: "Events", events: batch.events, dropped: batch.dropped })
      }
    })
    yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(eventsWatched.await, Effect.zipRight(flushEvents, Effect.sleep(flushEveryMs))))
    )

    // --- client messages ------------------------------------------------------------------------------------------

    const setTab = (session: Session, tab: string) => {
      if (session.tab !== undefined) byTab.get(session.tab)?.delete(session)
      session.tab = tab
      let set = byTab.get(tab)
      if (!set) {
        set = new Set()
        byTab.set(tab, set)
      }
      set.add(session)
    }

    const welcome = (tab: string): ServerMessage => ({
      _tag: "Welcome",
      tab,
      personas: deps.personaList(),
      ...(deps.notice === undefined ? {} : { notice: deps.notice })
    })

    const handle = (session: Session, message: ClientMessage): Effect.Effect<void> => {
      switch (message._tag) {
        case "Hello":
          return Effect.sync(() => {
            setTab(session, message.tab)
            send(session, welcome(message.tab))
          })
        case "Select":
          return Effect.suspend(() => {
            if (session.tab === undefined) return Effect.sync(() => fail(session, "send Hello first", "Select"))
            if (!deps.personas().has(message.persona)) {
              return Effect.sync(() => fail(session, `no persona "${message.persona}" is running`, "Select"))
            }
            session.persona = message.persona
            return Effect.map(historyOf(deps.store, deps.host, message.persona, session.tab), (answer) =>
              send(session, answer)
            )
          })
        case "Say":
          return Effect.suspend(() => {
            const { tab, persona } = session
            if (tab === undefined) return Effect.sync(() => fail(session, "send Hello first", "Say"))
            if (persona === undefined) return Effect.sync(() => fail(session, "pick a persona first", "Say"))
            const runtime = deps.personas().get(persona)
            if (!runtime) return Effect.sync(() => fail(session, `persona "${persona}" is not running`, "Say"))
            return runtime.router.receive(inboundOf(persona, tab, message.text))
          })
        case "Subscribe":
          return Effect.suspend(() => {
            if (message.stream === "events") {
              session.events = new EventBuffer(message.filter ?? {})
              updateEventsListener()
              return Effect.void
            }
            session.tree = "fresh"
            updateTreeLatch()
            return sendTree
          })
        case "Unsubscribe":
          return Effect.sync(() => {
            if (message.stream === "events") {
              session.events = undefined
              updateEventsListener()
            } else {
              session.tree = "off"
              updateTreeLatch()
            }
          })
      }
    }

    const tagOf = (text: string): string | undefined => /"_tag"\s*:\s*"([A-Za-z]{1,40})"/.exec(text)?.[1]

    const handleFrame = (session: Session, text: string) =>
      Either.match(decodeClient(text), {
        onLeft: (reason) => Effect.sync(() => fail(session, `bad message: ${reason}`, tagOf(text))),
        onRight: (message) =>
          handle(session, message).pipe(
            Effect.catchAllCause((cause) =>
              Effect.zipRight(
                Effect.logWarning(`web: handling ${message._tag} failed`, cause),
                Effect.sync(() => fail(session, `could not handle ${message._tag}`, message._tag))
              )
            )
          )
      })

    const open = (socket: Socket, state: SessionState) => {
      if (!state.allowed) {
        socket.close(1008, "origin not allowed")
        return
      }
      const inbox = Effect.runSync(Queue.bounded<string>(inboxCapacity))
      const session: Session = { socket, inbox, tab: undefined, persona: undefined, tree: "off", events: undefined }
      sessions.set(socket, session)
      run(Effect.forever(Effect.flatMap(Queue.take(inbox), (text) => handleFrame(session, text))))
    }

    const close = (socket: Socket) => {
      const session = sessions.get(socket)
      if (!session) return
      sessions.delete(socket)
      if (session.tab !== undefined) {
        const set = byTab.get(session.tab)
        set?.delete(session)
        if (set?.size === 0) byTab.delete(session.tab)
      }
      // The session's worker finishes the message in hand, then ends (a take on a shut-down queue is interrupted).
      Effect.runFork(Queue.shutdown(session.inbox))
      updateTreeLatch()
      updateEventsListener()
    }

    const message = (socket: Socket, _state: SessionState, data: string | Buffer) => {
      const session = sessions.get(socket)
      if (!session) return
      if (typeof data !== "string") return fail(session, "expected a text frame with a JSON message")
      if (!session.inbox.unsafeOffer(data)) fail(session, "too many messages at once; slow down", tagOf(data))
    }

    const route = (accept: (request: Request) => SessionState): SocketRoute<SessionState> => ({
      path: "/ws",
      admin: true,
      accept,
      open,
      message,
      close
    })

    return {
      route,
      deliver,
      dashboardChanged,
      /** The running personas changed: every greeted tab gets the new list. */
      personasChanged: () => {
        const greeted = [...sessions.values()].filter((s) => s.tab !== undefined)
        for (const session of greeted) send(session, welcome(session.tab!))
      },
      /** Open sockets (for tests and `/api/status`). */
      size: () => sessions.size
    }
  }) satisfies Effect.Effect<unknown, never, Scope.Scope>
