import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { noProviderNotice } from "../../core/web/notice.ts"
import type { ServerMessage } from "../../core/web/Protocol.ts"
import { type FakeLlm, startFakeLlm } from "../fakes/llm/index.ts"
import {
  apiKey,
  configFor,
  dicePlugin,
  openSocket,
  personaFiles,
  startRuntime,
  type TestRuntime,
  type TestSocket,
  tagged
} from "./support.ts"

let llm: FakeLlm
let troupe: TestRuntime
let tabs = 0
const newTab = () => `tab-test${++tabs}x${Date.now().toString(36)}`

beforeAll(async () => {
  llm = await startFakeLlm()
  troupe = await startRuntime({
    "config.yaml": configFor(llm.openaiBaseUrl),
    ...personaFiles("sage", { tools: ["roll"] }),
    ...personaFiles("rook"),
    ...dicePlugin
  })
})

afterAll(async () => {
  await troupe?.stop()
  await llm?.stop()
})

/** A socket that said hello as `tab` and picked `persona`. */
const chatting = async (tab: string, persona = "sage") => {
  const socket = await openSocket(troupe.url)
  socket.send({ _tag: "Hello", tab })
  await socket.next(tagged("Welcome"))
  socket.send({ _tag: "Select", persona })
  const history = await socket.next(tagged("History"))
  return { socket, history }
}

const completedIn = (socket: TestSocket, conversationId: string) =>
  socket.next(tagged("ReplyCompleted", (event) => event.conversationId === conversationId))

describe("web playground protocol", () => {
  test("a tab says hello, picks a persona and gets its reply streamed, then completed", async () => {
    const tab = newTab()
    const socket = await openSocket(troupe.url)
    socket.send({ _tag: "Hello", tab })
    const welcome = await socket.next(tagged("Welcome"))
    expect(welcome.tab).toBe(tab)
    expect(welcome.personas.map((p) => [p.id, p.title, p.echo])).toEqual([
      ["rook", "Rook", false],
      ["sage", "Sage", false]
    ])
    expect(welcome.notice).toBeUndefined()

    socket.send({ _tag: "Select", persona: "sage" })
    const history = await socket.next(tagged("History"))
    expect(history).toEqual({ _tag: "History", persona: "sage", conversationId: `sage/web/${tab}`, messages: [] })

    llm.script({ text: "Hello there, my friend", chunks: ["Hello", " there,", " my", " friend"] })
    socket.send({ _tag: "Say", text: "hi" })
    const completed = await completedIn(socket, `sage/web/${tab}`)
    expect(completed.text).toBe("Hello there, my friend")
    expect(completed.provider).toBe("openai")

    const deltas = socket.received.filter((m) => m._tag === "ReplyDelta")
    expect(deltas.map((d) => (d._tag === "ReplyDelta" ? d.text : ""))).toEqual([
      "Hello",
      "Hello there,",
      "Hello there, my",
      "Hello there, my friend"
    ])
    // Typing first, the deltas, then the completed reply, in that order.
    const order = socket.received.map((m) => m._tag).filter((t) => t === "Typing" || t.startsWith("Reply"))
    expect(order[0]).toBe("Typing")
    expect(order.at(-1)).toBe("ReplyCompleted")
    // The fake saw the persona's system.md.
    const request = llm.requests.at(-1)!
    expect(JSON.stringify(request.body.messages)).toContain("You are sage, a test persona.")
    socket.close()
  })

  test("the conversation survives a reload of the tab, and /reset forgets it", async () => {
    const tab = newTab()
    const first = await chatting(tab)
    llm.script({ text: "Nice to meet you" })
    first.socket.send({ _tag: "Say", text: "I am Ada" })
    await completedIn(first.socket, `sage/web/${tab}`)
    first.socket.close()

    // A reload: a new socket, the same tab id.
    const again = await chatting(tab)
    expect(again.history.messages.map((m) => [m.role, m.text])).toEqual([
      ["user", "I am Ada"],
      ["assistant", "Nice to meet you"]
    ])
    // Another tab is another conversation.
    const other = await chatting(newTab())
    expect(other.history.messages).toEqual([])
    other.socket.close()

    again.socket.send({ _tag: "Say", text: "/reset" })
    const reset = await completedIn(again.socket, `sage/web/${tab}`)
    expect(reset.text).toContain("forgotten our conversation")
    again.socket.close()

    const after = await chatting(tab)
    expect(after.history.messages).toEqual([])
    after.socket.close()
  })

  test("each persona is its own conversation for the same tab", async () => {
    const tab = newTab()
    const { socket } = await chatting(tab, "rook")
    socket.send({ _tag: "Say", text: "hello rook" })
    const completed = await completedIn(socket, `rook/web/${tab}`)
    expect(completed.text).toBe("echo: hello rook")
    socket.send({ _tag: "Select", persona: "sage" })
    const history = await socket.next(tagged("History", (h) => h.persona === "sage"))
    expect(history.messages).toEqual([])
    socket.close()
  })

  test("tool calls of the conversation reach the tab with their arguments, result and time", async () => {
    const tab = newTab()
    const { socket } = await chatting(tab)
    llm.script({ toolCalls: [{ id: "call_dice", name: "roll", arguments: { sides: 6 } }] }, { text: "You rolled a 4" })
    socket.send({ _tag: "Say", text: "roll a die" })
    const called = await socket.next(tagged("ToolCalled"))
    expect(called).toMatchObject({ tool: "roll", callId: "call_dice", conversationId: `sage/web/${tab}` })
    expect(JSON.parse(called.arguments)).toEqual({ sides: 6 })
    const result = await socket.next(tagged("ToolResult"))
    expect(result).toMatchObject({ tool: "roll", callId: "call_dice", ok: true, result: "4" })
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
    expect((await completedIn(socket, `sage/web/${tab}`)).text).toBe("You rolled a 4")
    socket.close()

    // The history shows the call and its result after a reload.
    const again = await chatting(tab)
    const call = again.history.messages.find((m) => m.toolCalls !== undefined)
    expect(call?.toolCalls).toEqual([{ id: "call_dice", name: "roll", arguments: '{"sides":6}' }])
    expect(again.history.messages.find((m) => m.role === "tool")).toMatchObject({
      toolCallId: "call_dice",
      toolName: "roll",
      text: "4",
      ok: true
    })
    again.socket.close()
  })

  test("a bad message gets an Error answer and the socket keeps working", async () => {
    const socket = await openSocket(troupe.url)
    const errors = () => socket.received.filter((m) => m._tag === "Error")
    socket.sendRaw("not json")
    socket.sendRaw(JSON.stringify({ _tag: "Launch", rockets: 3 }))
    socket.sendRaw(JSON.stringify({ _tag: "Hello", tab: "../../etc/passwd" }))
    socket.send({ _tag: "Say", text: "before hello" })
    socket.sendRaw(JSON.stringify({ _tag: "Say", text: "   " }))
    await socket.next(tagged("Error", (e) => e.message.includes("non-empty")))
    expect(errors().map((e) => (e._tag === "Error" ? e.request : undefined))).toEqual([
      undefined,
      "Launch",
      "Hello",
      "Say",
      "Say"
    ])
    expect(errors()[2]).toMatchObject({ message: expect.stringContaining("tab id") })
    expect(errors()[3]).toMatchObject({ message: "send Hello first" })

    socket.send({ _tag: "Hello", tab: newTab() })
    await socket.next(tagged("Welcome"))
    socket.send({ _tag: "Say", text: "nobody picked" })
    await socket.next(tagged("Error", (e) => e.message === "pick a persona first"))
    socket.send({ _tag: "Select", persona: "nobody" })
    await socket.next(tagged("Error", (e) => e.message === 'no persona "nobody" is running'))
    socket.send({ _tag: "Select", persona: "sage" })
    await socket.next(tagged("History"))
    socket.close()
  })

  test("the event stream follows its filter and leaves deltas out unless asked", async () => {
    const tab = newTab()
    const watcher = await openSocket(troupe.url)
    watcher.send({ _tag: "Subscribe", stream: "events", filter: { persona: "sage" } })
    const deltas = await openSocket(troupe.url)
    deltas.send({ _tag: "Subscribe", stream: "events", filter: { types: ["ReplyDelta"], deltas: true } })
    const telegram = await openSocket(troupe.url)
    telegram.send({ _tag: "Subscribe", stream: "events", filter: { channel: "telegram" } })
    const rook = await openSocket(troupe.url)
    rook.send({ _tag: "Subscribe", stream: "events", filter: { persona: "rook" } })

    const { socket } = await chatting(tab)
    llm.script({ text: "one two three" })
    socket.send({ _tag: "Say", text: "stream please" })
    await completedIn(socket, `sage/web/${tab}`)

    const streamed = (s: TestSocket) =>
      s.received.flatMap((m) => (m._tag === "Events" ? m.events : [])).filter((e) => e.at > 0)
    await watcher.next(tagged("Events", (m) => m.events.some((e) => e._tag === "ReplyCompleted")))
    const seen = streamed(watcher)
    expect(seen.map((e) => e._tag)).toEqual(
      expect.arrayContaining(["PolicyDecision", "ActorStarted", "Typing", "ReplyCompleted"])
    )
    expect(seen.some((e) => e._tag === "ReplyDelta")).toBe(false)
    const decision = seen.find((e) => e._tag === "PolicyDecision" && e.conversationId === `sage/web/${tab}`)
    expect(decision).toBeDefined()

    await deltas.next(tagged("Events", (m) => m.events.some((e) => e._tag === "ReplyDelta")))
    expect(new Set(streamed(deltas).map((e) => e._tag))).toEqual(new Set(["ReplyDelta"]))

    // Filtering by correlation id shows only that message's events (new ones from now on).
    const byCid = await openSocket(troupe.url)
    const correlationId = decision && "correlationId" in decision ? decision.correlationId : ""
    byCid.send({ _tag: "Subscribe", stream: "events", filter: { correlationId } })
    socket.send({ _tag: "Say", text: "another one" })
    await completedIn(socket, `sage/web/${tab}`)
    // The watcher saw the second message; the correlation id filter and the others did not.
    await watcher.next(
      tagged("Events", (m) => m.events.some((e) => e._tag === "ReplyCompleted" && e.correlationId !== correlationId))
    )
    expect(streamed(telegram)).toEqual([])
    expect(streamed(rook)).toEqual([])
    expect(streamed(byCid)).toEqual([])
    for (const s of [watcher, deltas, telegram, rook, byCid, socket]) s.close()
  })

  test("the actor tree shows the conversation, with state and counters, and the panels show today's usage", async () => {
    const tab = newTab()
    const dashboard = await openSocket(troupe.url)
    dashboard.send({ _tag: "Subscribe", stream: "tree" })
    const full = await dashboard.next(tagged("Tree", (t) => t.full))
    expect(full.nodes.map((n) => n.path)).toEqual(
      expect.arrayContaining(["troupe/persona:sage", "troupe/persona:sage/router", "troupe/scheduler"])
    )
    expect(full.nodes.find((n) => n.path === "troupe/persona:sage")).toMatchObject({ kind: "persona", state: "ready" })
    // The dice plugin's tool Worker is in the tree too.
    expect(full.nodes.some((n) => n.path.startsWith("troupe/plugins/") && n.kind === "tool")).toBe(true)
    await dashboard.next(tagged("Dashboard"))

    const { socket } = await chatting(tab)
    socket.send({ _tag: "Say", text: "count me" })
    await completedIn(socket, `sage/web/${tab}`)
    const path = `troupe/persona:sage/router/sage/web/${tab}`
    const diff = await dashboard.next(
      tagged("Tree", (t) => !t.full && t.nodes.some((n) => n.path === path && n.processed === 1))
    )
    expect(diff.nodes.find((n) => n.path === path)).toMatchObject({
      kind: "conversation",
      state: "ready",
      mailbox: 0,
      restarts: 0,
      received: 1
    })
    const panels = await dashboard.next(tagged("Dashboard", (d) => d.usage.some((u) => u.persona === "sage")))
    const usage = panels.usage.find((u) => u.persona === "sage")!
    expect(usage).toMatchObject({ provider: "openai", model: "fake-model" })
    expect(usage.input + usage.output).toBeGreaterThan(0)
    expect(panels.plugins.map((p) => [p.name, p.tools])).toEqual([["dice", ["roll"]]])
    expect(panels.providers).toEqual([{ name: "openai", usable: true }])

    // Unsubscribed, no more trees arrive.
    dashboard.send({ _tag: "Unsubscribe", stream: "tree" })
    const count = () => dashboard.received.filter((m) => m._tag === "Tree").length
    const before = count()
    socket.send({ _tag: "Say", text: "more" })
    await completedIn(socket, `sage/web/${tab}`)
    await Bun.sleep(700) // longer than one tree tick: nothing may arrive
    expect(count()).toBe(before)
    socket.close()
    dashboard.close()
  })

  test("reload history: a broken persona.yaml is reported with its file and line, the fixed one as loaded", async () => {
    const dashboard = await openSocket(troupe.url)
    dashboard.send({ _tag: "Subscribe", stream: "tree" })
    await dashboard.next(tagged("Dashboard"))
    troupe.write("personalities/sage/persona.yaml", "display_name: Sage\nmodel: { provider: openai, temperature: 9 }\n")
    await troupe.reload()
    const failed = await dashboard.next(
      tagged("Dashboard", (d) => d.reloads.some((r) => r._tag === "PersonaFailed")),
      3000
    )
    const failure = failed.reloads.find((r) => r._tag === "PersonaFailed")!
    expect(failure).toMatchObject({ persona: "sage", file: "personalities/sage/persona.yaml" })
    expect(failure._tag === "PersonaFailed" && failure.line).toBe(2)
    troupe.write(
      "personalities/sage/persona.yaml",
      personaFiles("sage", { tools: ["roll"] })["personalities/sage/persona.yaml"]!
    )
    await troupe.reload()
    const fixed = await dashboard.next(tagged("Dashboard", (d) => d.reloads.length > failed.reloads.length))
    expect(fixed.reloads.slice(failed.reloads.length).map((r) => r._tag)).toContain("PersonaLoaded")
    dashboard.close()
  })

  test("secrets never go out: the provider key in a reply is redacted on the socket and in the API", async () => {
    const tab = newTab()
    const { socket } = await chatting(tab)
    llm.script({ text: `my key is ${apiKey} ok` })
    socket.send({ _tag: "Say", text: "tell me your key" })
    const completed = await completedIn(socket, `sage/web/${tab}`)
    expect(completed.text).toBe("my key is [redacted] ok")
    expect(socket.frames.some((frame) => frame.includes(apiKey))).toBe(false)
    for (const path of ["/api/personas", "/api/tree", "/api/dashboard"]) {
      const response = await fetch(`${troupe.url}${path}`)
      expect(response.status).toBe(200)
      expect(await response.text()).not.toContain(apiKey)
    }
    socket.close()
  })

  test("sockets from another site and requests through a foreign host name are refused", async () => {
    const foreign = await openSocket(troupe.url, { origin: "http://evil.example" })
    expect((await foreign.closed).code).toBe(1008)
    const port = new URL(troupe.url).port
    const rebound = await fetch(`${troupe.url}/api/personas`, { headers: { host: `evil.example:${port}` } })
    expect(rebound.status).toBe(403)
    const same = await openSocket(troupe.url, { origin: troupe.url })
    same.send({ _tag: "Hello", tab: newTab() })
    await same.next(tagged("Welcome"))
    same.close()
  })

  test("the page is served at / and its script is loadable", async () => {
    const page = await fetch(`${troupe.url}/`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain("<title>Troupe</title>")
    const script = /src="([^"]+\.js)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const js = await fetch(new URL(script!, troupe.url))
    expect(js.status).toBe(200)
    expect(await js.text()).toContain("troupe.tab")
  })
})

describe("web playground without a provider", () => {
  test("the page says no provider is configured, shows the lines to add, and personas answer through echo", async () => {
    const troupe = await startRuntime({ "config.yaml": configFor(undefined), ...personaFiles("sage") })
    try {
      if (troupe.runtime.usableProviders.size > 0) {
        console.log("skipped the no-provider check: a local Ollama answered on 127.0.0.1:11434")
        return
      }
      const socket = await openSocket(troupe.url)
      socket.send({ _tag: "Hello", tab: newTab() })
      const welcome = await socket.next(tagged("Welcome"))
      expect(welcome.notice?.title).toBe("No LLM provider is configured")
      expect(welcome.notice?.config).toBe("providers:\n  openai:\n    api_key: ${OPENAI_API_KEY}")
      expect(welcome.notice?.shell).toContain("export OPENAI_API_KEY")
      expect(JSON.stringify(welcome.notice)).not.toContain("[redacted]")
      expect(welcome.notice?.ollama).toContain("ollama")
      expect(welcome.personas).toEqual([
        expect.objectContaining({
          id: "sage",
          provider: "openai",
          echo: true,
          problem: expect.stringContaining("api_key")
        })
      ])
      socket.send({ _tag: "Select", persona: "sage" })
      await socket.next(tagged("History"))
      socket.send({ _tag: "Say", text: "anyone there?" })
      const completed = await socket.next(tagged("ReplyCompleted"))
      expect(completed.provider).toBe("echo")
      expect(completed.text).toBe("[echo] anyone there?")
      socket.close()
    } finally {
      await troupe.stop()
    }
  })
})

describe("the no-provider notice", () => {
  test("names the providers the config lists without a key, with the variable to export", () => {
    const keyless = { api: "openai" as const, configured: true, needsKey: true, hasKey: false, usable: false }
    const notice = noProviderNotice([
      { name: "groq", ...keyless },
      { name: "anthropic", ...keyless, api: "anthropic" },
      { name: "ollama", api: "openai", configured: false, needsKey: false, hasKey: false, usable: true }
    ])
    expect(notice.text).toContain(
      "Your config lists groq, anthropic without a key: export GROQ_API_KEY or ANTHROPIC_API_KEY"
    )
    expect(notice.shell).toBe("read -rs GROQ_API_KEY && export GROQ_API_KEY   # paste your key\nbun start")
    expect(noProviderNotice([]).text).not.toContain("Your config lists")
  })
})

describe("web playground behind an admin token", () => {
  test("/, /ws and /api/* answer 401 without the token and work with the header or the login cookie", async () => {
    const token = "an-admin-token-for-the-test-42"
    const troupe = await startRuntime({
      "config.yaml": configFor(undefined, `http:\n  admin_token: ${token}\n`),
      ...personaFiles("sage")
    })
    try {
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${troupe.url}${path}`, { headers, redirect: "manual" })
      for (const path of ["/", "/api/personas", "/api/tree", "/api/dashboard", "/ws"]) {
        for (const headers of [{}, { authorization: "Bearer wrong-token-000000" }] as Array<Record<string, string>>) {
          const denied = await get(path, headers)
          expect(denied.status).toBe(401)
          const body = await denied.text()
          expect(body).not.toContain("sage")
          expect(body).not.toContain("Troupe</title>")
        }
      }
      const denied = await fetch(`${troupe.url}/ws`, { headers: { upgrade: "websocket", connection: "Upgrade" } })
      expect(denied.status).toBe(401)

      const bearer = { authorization: `Bearer ${token}` }
      const page = await get("/", bearer)
      expect(page.status).toBe(200)
      const html = await page.text()
      expect(html).toContain("<title>Troupe</title>")
      expect(html).not.toContain(token)
      const script = /src="([^"]+\.js)"/.exec(html)?.[1] ?? "/missing.js"
      expect((await get(script)).status).toBe(401)
      expect((await get(script, bearer)).status).toBe(200)
      expect((await get("/api/personas", bearer)).status).toBe(200)

      const login = await fetch(`${troupe.url}/login`, {
        method: "POST",
        body: new URLSearchParams({ token }),
        redirect: "manual"
      })
      expect(login.status).toBe(303)
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!
      expect((await get("/", { cookie })).status).toBe(200)
      expect((await get("/api/tree", { cookie })).status).toBe(200)

      const socket = await openSocket(troupe.url, { cookie })
      socket.send({ _tag: "Hello", tab: newTab() })
      const welcome = (await socket.next(tagged("Welcome"))) as ServerMessage
      expect(welcome._tag).toBe("Welcome")
      socket.close()
      await expect(openSocket(troupe.url)).rejects.toThrow("did not open")
    } finally {
      await troupe.stop()
    }
  })
})
