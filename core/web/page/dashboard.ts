/**
 * The dashboard: the live actor tree, the filtered event stream, plugin and persona reloads, token usage today,
 * plugins, channels and providers. The server sends the tree as a snapshot then diffs, and events in capped batches;
 * the page keeps the last `keepEvents`.
 */
import { type EventTag, eventTags, type TroupeEvent } from "../../events/Events.ts"
import type { EventFilter, ReloadEvent, ServerMessageOf, TreeNode } from "../Protocol.ts"
import { byId, clock, h, replace } from "./dom.ts"

const keepEvents = 300

/** One line summing up an event for the stream. */
const summary = (event: TroupeEvent): string => {
  switch (event._tag) {
    case "MessageReceived":
      return `${event.author.name}: ${event.text}`
    case "ReplyDelta":
      return event.text
    case "ReplyCompleted":
      return `${event.provider}/${event.model} in ${event.durationMs} ms: ${event.text}`
    case "ReplyFailed":
      return event.error
    case "ToolCalled":
      return `${event.tool}(${event.arguments})`
    case "ToolResult":
      return `${event.tool} ${event.ok ? "ok" : "failed"} in ${event.durationMs} ms: ${event.result}`
    case "PolicyDecision":
      return `${event.decision}: ${event.reason}`
    case "LlmAttemptFailed":
      return `${event.provider}/${event.model} attempt ${event.attempt}: ${event.reason} → ${event.next}`
    case "ChannelStatus":
      return `${event.channel} ${event.status}${event.reason ? `: ${event.reason}` : ""}`
    case "PluginLoaded":
      return `${event.plugin} ${event.version} (${event.tools.join(", ")})`
    case "PersonaLoaded":
      return `${event.persona} from ${event.file}`
    case "PluginFailed":
    case "PersonaFailed":
      return `${event.file}${event.line === undefined ? "" : `:${event.line}`}: ${event.message}`
    case "ActorStarted":
    case "ActorStopped":
      return event.path
    case "ActorRestarted":
      return `${event.path} (attempt ${event.attempt}): ${event.reason}`
    case "ActorFailed":
      return `${event.path}: ${event.reason}`
    default:
      return ""
  }
}

const correlationOf = (event: TroupeEvent) => ("correlationId" in event ? event.correlationId : undefined)

export interface DashboardOptions {
  /** Ask for the event stream with this filter. */
  readonly subscribe: (filter: EventFilter) => void
}

export const makeDashboard = (options: DashboardOptions) => {
  const treeView = byId("tree")
  const eventList = byId("events")
  const dropped = byId("events-dropped")
  const filterForm = byId<HTMLFormElement>("event-filter")
  const nodes = new Map<string, TreeNode>()
  let droppedTotal = 0

  // --- the tree ---------------------------------------------------------------------------------------------------

  const nodeRow = (node: TreeNode, children: ReadonlyArray<HTMLElement>) => {
    const name = node.path.slice(node.parent.length + 1) || node.path
    const counters =
      node.kind === "group" || node.kind === "persona" || node.kind === "router"
        ? ""
        : `mailbox ${node.mailbox} · ${node.processed}/${node.received} done${node.failed ? ` · ${node.failed} failed` : ""}`
    return h(
      "li",
      { "data-path": node.path, "data-kind": node.kind, "data-state": node.state },
      h(
        "div",
        { class: "node", title: node.lastError ?? "" },
        h("span", { class: `state ${node.state}` }, node.state),
        h("span", { class: "kind" }, node.kind),
        h("span", { class: "name" }, name),
        h("span", { class: "counters" }, counters),
        node.restarts > 0 ? h("span", { class: "restarts" }, `${node.restarts} restarts`) : null,
        node.lastError ? h("span", { class: "error" }, node.lastError) : null
      ),
      children.length > 0 ? h("ul", {}, children) : null
    )
  }

  const renderTree = () => {
    const children = new Map<string, Array<TreeNode>>()
    for (const node of nodes.values()) {
      const list = children.get(node.parent) ?? []
      list.push(node)
      children.set(node.parent, list)
    }
    const build = (node: TreeNode): HTMLElement =>
      nodeRow(
        node,
        (children.get(node.path) ?? []).map((child) => build(child))
      )
    // Roots of the tree (e.g. `troupe`, `troupe/plugins`) are supervisors without a node of their own.
    const roots = [...children.keys()].filter((parent) => !nodes.has(parent)).sort()
    replace(
      treeView,
      roots.length === 0 ? h("p", { class: "empty" }, "No actors.") : null,
      roots.map((root) =>
        h(
          "ul",
          { class: "root" },
          h(
            "li",
            { "data-path": root },
            h("div", { class: "node" }, h("span", { class: "name" }, root)),
            h("ul", {}, (children.get(root) ?? []).map(build))
          )
        )
      )
    )
  }

  // --- the event stream -----------------------------------------------------------------------------------------

  const typeSelect = byId<HTMLSelectElement>("filter-type")
  typeSelect.append(...eventTags.map((tag) => h("option", { value: tag }, tag)))

  const readFilter = (): EventFilter => {
    const data = new FormData(filterForm)
    const text = (name: string) => String(data.get(name) ?? "").trim() || undefined
    const type = text("type") as EventTag | undefined
    const persona = text("persona")
    const channel = text("channel")
    const correlationId = text("correlationId")
    return {
      ...(persona ? { persona } : {}),
      ...(channel ? { channel } : {}),
      ...(type ? { types: [type] } : {}),
      ...(correlationId ? { correlationId } : {}),
      ...(data.get("deltas") ? { deltas: true } : {})
    }
  }

  const applyFilter = () => {
    eventList.replaceChildren()
    droppedTotal = 0
    dropped.textContent = ""
    options.subscribe(readFilter())
  }
  filterForm.addEventListener("change", applyFilter)
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault()
    applyFilter()
  })

  const eventRow = (event: TroupeEvent) => {
    const cid = correlationOf(event)
    return h(
      "li",
      { class: `event ${event._tag}`, "data-type": event._tag },
      h("span", { class: "meta" }, clock(event.at)),
      h("span", { class: "type" }, event._tag),
      cid
        ? h(
            "button",
            {
              type: "button",
              class: "cid",
              title: "show only this message's events",
              onclick: () => {
                const field = filterForm.elements.namedItem("correlationId") as HTMLInputElement
                field.value = cid
                applyFilter()
              }
            },
            cid
          )
        : null,
      h("span", { class: "summary" }, summary(event))
    )
  }

  // --- panels -------------------------------------------------------------------------------------------------------

  const reloadRow = (event: ReloadEvent) => {
    const failed = event._tag === "PluginFailed" || event._tag === "PersonaFailed"
    const name = "plugin" in event ? `plugin ${event.plugin}` : `persona ${event.persona}`
    const where =
      "file" in event ? `${event.file}${"line" in event && event.line !== undefined ? `:${event.line}` : ""}` : ""
    return h(
      "li",
      { class: failed ? "failed" : "ok", "data-type": event._tag },
      h("span", { class: "meta" }, clock(event.at)),
      h("span", { class: "type" }, event._tag),
      h("span", {}, name),
      where ? h("code", {}, where) : null,
      failed ? h("div", { class: "error" }, event.message) : null
    )
  }

  const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>, empty: string) =>
    rows.length === 0
      ? h("p", { class: "empty" }, empty)
      : h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              head.map((cell) => h("th", {}, cell))
            )
          ),
          h(
            "tbody",
            {},
            rows.map((row) =>
              h(
                "tr",
                {},
                row.map((cell) => h("td", {}, cell))
              )
            )
          )
        )

  const renderPanels = (message: ServerMessageOf<"Dashboard">) => {
    replace(byId("usage-day"), message.day)
    replace(
      byId("usage"),
      table(
        ["persona", "provider/model", "in", "out", "total"],
        message.usage.map((row) => [
          row.persona,
          `${row.provider}/${row.model}`,
          row.input,
          row.output,
          row.input + row.output
        ]),
        "No tokens used today."
      )
    )
    const reloads = byId("reloads")
    replace(
      reloads,
      message.reloads.length === 0 ? h("p", { class: "empty" }, "No reloads since start.") : null,
      h("ul", {}, [...message.reloads].reverse().map(reloadRow))
    )
    replace(
      byId("plugins"),
      table(
        ["plugin", "version", "tools", "file"],
        message.plugins.map((plugin) => [
          plugin.name,
          plugin.version,
          plugin.enabled ? plugin.tools.join(", ") : `${plugin.tools.join(", ")} (off in config.yaml)`,
          plugin.file
        ]),
        "No plugins loaded."
      )
    )
    replace(
      byId("components"),
      table(
        ["component", "state", "detail"],
        [
          ...message.components.map((c) => [c.name, c.state, c.detail ?? ""]),
          ...message.providers.map((p) => [`provider ${p.name}`, p.usable ? "usable" : "unusable", p.problem ?? ""])
        ],
        "Nothing to report."
      )
    )
  }

  return {
    tree: (message: ServerMessageOf<"Tree">) => {
      if (message.full) nodes.clear()
      for (const path of message.removed) nodes.delete(path)
      for (const node of message.nodes) nodes.set(node.path, node)
      renderTree()
    },
    events: (message: ServerMessageOf<"Events">) => {
      droppedTotal += message.dropped
      dropped.textContent = droppedTotal > 0 ? `${droppedTotal} left out (rate cap)` : ""
      for (const event of message.events) eventList.prepend(eventRow(event))
      while (eventList.childElementCount > keepEvents) eventList.lastElementChild?.remove()
    },
    panels: renderPanels,
    /** The current filter, to subscribe again after a reconnect. */
    filter: readFilter,
    personas: (ids: ReadonlyArray<string>) => {
      const select = filterForm.elements.namedItem("persona") as HTMLSelectElement
      const chosen = select.value
      replace(
        select,
        h("option", { value: "" }, "any persona"),
        ids.map((id) => h("option", { value: id }, id))
      )
      select.value = ids.includes(chosen) ? chosen : ""
    }
  }
}
