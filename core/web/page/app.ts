/**
 * The playground page: one WebSocket to `/ws` speaking `Protocol.ts`. The tab's id lives in `sessionStorage`, so a
 * reload of the same tab comes back to the same conversation (and the same persona); the socket reconnects with
 * backoff when the runtime restarts. The dashboard is only watched while the page is visible.
 */
import { Either } from "effect"
import { type ClientMessage, decodeServer, encodeClient, type Notice } from "../Protocol.ts"
import { makeChat } from "./chat.ts"
import { makeDashboard } from "./dashboard.ts"
import { byId, h, replace } from "./dom.ts"

const tabKey = "troupe.tab"
const personaKey = "troupe.persona"

const randomId = () => {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => alphabet[byte % alphabet.length]).join("")
}

const tab = sessionStorage.getItem(tabKey) ?? `tab-${randomId()}`
sessionStorage.setItem(tabKey, tab)

const status = byId("status")
let socket: WebSocket | undefined
let retryMs = 500
let selected: string | undefined

/** Send if connected; `false` when the message could not be sent. */
const send = (message: ClientMessage) => {
  if (socket?.readyState !== WebSocket.OPEN) return false
  socket.send(JSON.stringify(encodeClient(message)))
  return true
}

const select = (persona: string) => {
  selected = persona
  sessionStorage.setItem(personaKey, persona)
  send({ _tag: "Select", persona })
}

const chat = makeChat({
  select,
  say: (text) => {
    if (!send({ _tag: "Say", text })) chat.notice("Not connected: your message was not sent.", "error")
  }
})
const dashboard = makeDashboard({ subscribe: (filter) => send({ _tag: "Subscribe", stream: "events", filter }) })

const showNotice = (notice: Notice | undefined) => {
  const element = byId("notice")
  element.hidden = notice === undefined
  if (!notice) return
  replace(
    element,
    h("strong", {}, notice.title),
    h("p", {}, notice.text),
    h("pre", { class: "config" }, notice.config),
    h("pre", { class: "shell" }, notice.shell),
    h("p", {}, notice.ollama)
  )
}

const watch = () => {
  if (document.visibilityState === "visible") {
    send({ _tag: "Subscribe", stream: "tree" })
    send({ _tag: "Subscribe", stream: "events", filter: dashboard.filter() })
  } else {
    send({ _tag: "Unsubscribe", stream: "tree" })
    send({ _tag: "Unsubscribe", stream: "events" })
  }
}
document.addEventListener("visibilitychange", watch)

const setStatus = (text: string, state: string) => {
  status.textContent = text
  status.dataset.state = state
}

const onMessage = (data: unknown) => {
  if (typeof data !== "string") return
  const decoded = decodeServer(data)
  if (Either.isLeft(decoded)) return console.warn("troupe: a message from the server did not decode", decoded.left)
  const message = decoded.right
  switch (message._tag) {
    case "Welcome": {
      showNotice(message.notice)
      chat.personas(message.personas)
      dashboard.personas(message.personas.map((p) => p.id))
      const wanted = selected ?? sessionStorage.getItem(personaKey) ?? undefined
      if (wanted && message.personas.some((p) => p.id === wanted) && selected !== wanted) select(wanted)
      return
    }
    case "History":
      return chat.history(message)
    case "Tree":
      return dashboard.tree(message)
    case "Events":
      return dashboard.events(message)
    case "Dashboard":
      return dashboard.panels(message)
    case "Error":
      return chat.notice(`The server refused ${message.request ?? "a message"}: ${message.message}`, "error")
    default:
      return chat.event(message)
  }
}

const connect = () => {
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`
  const ws = new WebSocket(url)
  socket = ws
  setStatus("connecting…", "connecting")
  ws.addEventListener("open", () => {
    retryMs = 500
    setStatus("connected", "open")
    const again = selected
    selected = undefined
    send({ _tag: "Hello", tab })
    if (again) select(again)
    watch()
  })
  ws.addEventListener("message", (event) => onMessage(event.data))
  ws.addEventListener("close", () => {
    if (socket !== ws) return
    setStatus(`disconnected; retrying in ${Math.round(retryMs / 100) / 10} s`, "closed")
    setTimeout(connect, retryMs)
    retryMs = Math.min(retryMs * 2, 8000)
  })
}

connect()
