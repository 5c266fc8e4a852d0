/**
 * What the dashboard shows besides the event stream: the live actor tree (sent as a snapshot, then as diffs of what
 * changed), token usage per persona today, the plugins serving, the plugin and persona reload history, and health.
 */
import { Effect } from "effect"
import type { ActorInfo } from "../actor/ActorSystem.ts"
import type { TroupeEvent } from "../events/Events.ts"
import type { HealthService } from "../http/Health.ts"
import { utcDay } from "../llm/AgentLoop.ts"
import type { LlmProvidersService } from "../llm/Providers.ts"
import type { PluginHostService } from "../plugins/PluginHost.ts"
import type { StoreService } from "../store/Store.ts"
import type { ReloadEvent, ServerMessageOf, TreeNode } from "./Protocol.ts"

const toNode = (info: ActorInfo): TreeNode => ({
  path: info.path,
  parent: info.parent,
  kind: info.kind,
  labels: info.labels,
  state: info.state,
  startedAt: info.startedAt,
  received: info.received,
  processed: info.processed,
  failed: info.failed,
  restarts: info.restarts,
  mailbox: info.mailbox,
  ...(info.lastError === undefined ? {} : { lastError: info.lastError })
})

export interface TreeDiff {
  /** Every node now. */
  readonly nodes: ReadonlyArray<TreeNode>
  /** Nodes that appeared or changed since the previous snapshot. */
  readonly changed: ReadonlyArray<TreeNode>
  /** Paths gone since the previous snapshot. */
  readonly removed: ReadonlyArray<string>
}

/** Diffs successive snapshots of the tree (computed once per tick, shared by every watching tab). */
export const makeTreeDiffer = () => {
  let previous = new Map<string, string>()
  return (snapshot: ReadonlyArray<ActorInfo>): TreeDiff => {
    const current = new Map<string, string>()
    const nodes: Array<TreeNode> = []
    const changed: Array<TreeNode> = []
    for (const info of snapshot) {
      const node = toNode(info)
      const key = JSON.stringify(node)
      nodes.push(node)
      current.set(node.path, key)
      if (previous.get(node.path) !== key) changed.push(node)
    }
    const removed = [...previous.keys()].filter((path) => !current.has(path))
    previous = current
    return { nodes, changed, removed }
  }
}

export const reloadTags: ReadonlyArray<ReloadEvent["_tag"]> = [
  "PluginLoaded",
  "PluginFailed",
  "PluginUnloaded",
  "PersonaLoaded",
  "PersonaFailed",
  "PersonaUnloaded"
]

export const isReloadEvent = (event: TroupeEvent): event is ReloadEvent =>
  (reloadTags as ReadonlyArray<string>).includes(event._tag)

/** The last `limit` reload events, oldest first. */
export const makeReloadHistory = (limit = 100) => {
  const entries: Array<ReloadEvent> = []
  return {
    add: (event: ReloadEvent) => {
      entries.push(event)
      if (entries.length > limit) entries.splice(0, entries.length - limit)
    },
    entries: (): ReadonlyArray<ReloadEvent> => entries
  }
}

export interface DashboardSources {
  readonly store: StoreService
  readonly host: PluginHostService
  readonly health: HealthService
  readonly llm: LlmProvidersService
  readonly reloads: () => ReadonlyArray<ReloadEvent>
}

/** The dashboard panels as they are now. */
export const dashboardOf = (sources: DashboardSources, now: number) =>
  Effect.gen(function* () {
    const day = utcDay(now)
    const usage = yield* sources.store.usage({ day })
    const message: ServerMessageOf<"Dashboard"> = {
      _tag: "Dashboard",
      day,
      usage: usage.map((row) => ({
        persona: row.persona,
        provider: row.provider,
        model: row.model,
        input: row.input,
        output: row.output
      })),
      plugins: sources.host.plugins().map((plugin) => ({
        name: plugin.name,
        version: plugin.version,
        description: plugin.description,
        tools: plugin.tools,
        enabled: plugin.enabled,
        file: plugin.file
      })),
      reloads: sources.reloads(),
      components: sources.health.report().components.map((component) => ({
        name: component.name,
        state: component.state,
        ...(component.detail === undefined ? {} : { detail: component.detail })
      })),
      providers: sources.llm
        .status()
        .filter((provider) => provider.configured)
        .map((provider) => ({
          name: provider.name,
          usable: provider.usable,
          ...(provider.problem === undefined ? {} : { problem: provider.problem })
        }))
    }
    return message
  })
