import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client"
import { type FakeCytube, type FakeCytubeOptions, startFakeCytube } from "./cytube/index.ts"

interface Received {
  readonly event: string
  readonly payload: unknown
}

/** A real socket.io-client connected the way a CyTube bot connects, recording every event it receives. */
class Client {
  readonly events: Received[] = []
  constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => {
      this.events.push({ event, payload })
    })
  }
  all(event: string): unknown[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload)
  }
  find(event: string, predicate: (payload: never) => boolean = () => true): Received | undefined {
    return this.events.find((e) => e.event === event && predicate(e.payload as never))
  }
}

let cy: FakeCytube
const clients: Client[] = []

const start = async (options?: FakeCytubeOptions) => {
  cy = await startFakeCytube(options)
  return cy
}

const connect = async (room: string, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<Client> => {
  const config = (await (await fetch(`${cy.url}/socketconfig/${room}.json`)).json()) as { servers: { url: string }[] }
  const url = config.servers[0]?.url ?? ""
  const client = new Client(
    io(url, { transports: ["websocket"], reconnectionDelay: 20, reconnectionDelayMax: 50, ...options })
  )
  clients.push(client)
  return client
}

/** Connect, join, log in; resolves once the login answer arrived. */
const joinAs = async (room: string, name: string, pw?: string): Promise<Client> => {
  const client = await connect(room)
  client.socket.emit("joinChannel", { name: room })
  client.socket.emit("login", pw === undefined ? { name } : { name, pw })
  await cy.waitFor(() => client.find("login"))
  return client
}

const chatOf = (client: Client, username: string) =>
  client.all("chatMsg").filter((m) => (m as { username: string }).username === username) as {
    username: string
    msg: string
    meta: Record<string, unknown>
    time: number
  }[]

beforeEach(async () => {
  await start()
})

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.close()
  await cy.stop()
})

describe("fake CyTube discovery and transport", () => {
  test("socketconfig answers the socket server's url, and 404 for an invalid channel name", async () => {
    const ok = await fetch(`${cy.url}/socketconfig/lobby.json`)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ servers: [{ url: cy.url, secure: false }] })
    const bad = await fetch(`${cy.url}/socketconfig/not%20valid.json`)
    expect(bad.status).toBe(404)
    expect(await bad.json()).toEqual({ error: 'Channel "not valid" does not exist.' })
  })

  test("the default transports start on polling and upgrade to websocket", async () => {
    cy.addRoom("lobby")
    const client = await connect("lobby", { transports: ["polling", "websocket"] })
    await cy.waitFor(() => client.socket.connected && client.socket.io.engine.transport.name === "websocket")
    client.socket.emit("joinChannel", { name: "lobby" })
    await cy.waitFor(() => client.find("userlist"))
  })

  test("joining an unknown channel creates it unregistered; an invalid name is kicked", async () => {
    const client = await connect("fresh")
    client.socket.emit("joinChannel", { name: "Fresh" })
    await cy.waitFor(() => client.find("channelNotRegistered"))
    expect(cy.room("fresh").registered).toBe(false)

    const bad = await connect("lobby")
    bad.socket.emit("joinChannel", { name: "no spaces allowed" })
    await cy.waitFor(() => bad.find("kick"))
    expect(bad.find("errorMsg")?.payload).toEqual({
      msg: "Invalid channel name.  Channel names may consist of 1-30 characters in the set a-z, A-Z, 0-9, -, and _"
    })
    expect(bad.find("kick")?.payload).toEqual({ reason: "Invalid channel name" })
  })
})

describe("fake CyTube login", () => {
  test("a guest logs in, appears in the userlist of others, and is listed as a connection", async () => {
    cy.addRoom("lobby", { users: [{ name: "alice", rank: 2 }] })
    const other = await joinAs("lobby", "watcher")
    const bot = await joinAs("lobby", "troupe_bot")
    expect(bot.find("login")?.payload).toEqual({ success: true, name: "troupe_bot", guest: true })
    expect(bot.all("rank")).toEqual([-1, 0])
    const userlist = bot.find("userlist")?.payload as Array<{ name: string } & Record<string, unknown>>
    expect(userlist.map((u) => u.name)).toEqual(["alice", "watcher"])
    expect(userlist[0]).toEqual({
      name: "alice",
      rank: 2,
      profile: { image: "", text: "" },
      meta: { afk: false, muted: false }
    })
    await cy.waitFor(() => other.find("addUser", (u: { name: string }) => u.name === "troupe_bot"))
    expect(cy.connections.map((c) => [c.username, c.room, c.guest])).toEqual([
      ["watcher", "lobby", true],
      ["troupe_bot", "lobby", true]
    ])
  })

  test("guest names must be valid, unreserved, unregistered and unused in the channel", async () => {
    cy.addRoom("lobby", { users: [{ name: "alice" }] })
    cy.addAccount("Rothrock", "secret")
    const client = await connect("lobby")
    client.socket.emit("joinChannel", { name: "lobby" })
    for (const name of ["bad name!", "site_admin", "rothrock", "ALICE", "fine_name"]) {
      client.socket.emit("login", { name })
    }
    await cy.waitFor(() => client.all("login").length === 5)
    expect(client.all("login")).toEqual([
      {
        success: false,
        error:
          "Invalid username.  Usernames must be 1-20 characters long and consist only of characters a-z, A-Z, 0-9, -, or _."
      },
      { success: false, error: "That username is reserved." },
      { success: false, error: "That username is registered." },
      { success: false, error: "That name is already in use on this channel." },
      { success: true, name: "fine_name", guest: true }
    ])
  })

  test("a registered account logs in with the right password and is refused with a wrong one", async () => {
    cy.addAccount("Rothrock", "hunter2", 1)
    cy.addRoom("lobby", { ranks: { rothrock: 2 } })
    const client = await connect("lobby")
    client.socket.emit("joinChannel", { name: "lobby" })
    client.socket.emit("login", { name: "rothrock", pw: "wrong" })
    client.socket.emit("login", { name: "nobody", pw: "x" })
    client.socket.emit("login", { name: "rothrock", pw: "hunter2" })
    await cy.waitFor(() => client.all("login").length === 3)
    expect(client.all("login")).toEqual([
      { success: false, error: "Invalid username/password combination" },
      { success: false, error: "User does not exist" },
      { success: true, name: "Rothrock" }
    ])
    // global rank 1 first, then the channel rank 2; everyone is told with setUserRank
    await cy.waitFor(() => client.find("setUserRank"))
    expect(client.all("rank")).toEqual([-1, 1, 2])
    expect(client.find("setUserRank")?.payload).toEqual({ name: "Rothrock", rank: 2 })
    expect(cy.connections[0]).toMatchObject({ username: "Rothrock", guest: false, rank: 2 })
  })

  test("guests wait between logins from one IP when a guest-login delay is configured", async () => {
    await cy.stop()
    await start({ guestLoginDelayMs: 60_000 })
    cy.addRoom("lobby")
    const first = await joinAs("lobby", "first")
    const second = await joinAs("lobby", "second")
    expect(first.find("login")?.payload).toEqual({ success: true, name: "first", guest: true })
    expect(second.find("login")?.payload).toEqual({
      success: false,
      error: "Guest logins are restricted to one per IP address per 60 seconds."
    })
  })

  test("a password room answers needPassword until channelPassword is right", async () => {
    cy.addRoom("vault", { password: "opensesame", history: [{ username: "alice", msg: "secret" }] })
    const client = await connect("vault")
    client.socket.emit("joinChannel", { name: "vault" })
    await cy.waitFor(() => client.find("needPassword"))
    expect(client.find("needPassword")?.payload).toBe(false)
    expect(client.find("chatMsg")).toBeUndefined()
    client.socket.emit("channelPassword", "wrong")
    await cy.waitFor(() => client.all("needPassword").length === 2)
    expect(client.all("needPassword")).toEqual([false, true])
    client.socket.emit("channelPassword", "opensesame")
    await cy.waitFor(() => client.find("userlist"))
    const order = client.events.map((e) => e.event)
    expect(order.indexOf("cancelNeedPassword")).toBeLessThan(order.indexOf("chatMsg"))

    const inline = await connect("vault")
    inline.socket.emit("joinChannel", { name: "vault", pw: "opensesame" })
    await cy.waitFor(() => inline.find("userlist"))
    expect(inline.find("needPassword")).toBeUndefined()
  })
})

describe("fake CyTube chat", () => {
  test("recent history is replayed as escaped chatMsg events right after joining", async () => {
    cy.addRoom("lobby", {
      history: [
        { username: "alice", msg: "<b>first</b>", time: 1000 },
        { username: "bob", msg: "second & last", time: 2000 }
      ]
    })
    const client = await connect("lobby")
    client.socket.emit("joinChannel", { name: "lobby" })
    await cy.waitFor(() => client.find("userlist"))
    expect(client.all("chatMsg")).toEqual([
      { username: "alice", msg: "&lt;b&gt;first&lt;/b&gt;", meta: {}, time: 1000 },
      { username: "bob", msg: "second &amp; last", meta: {}, time: 2000 }
    ])
    const order = client.events.map((e) => e.event)
    expect(order.lastIndexOf("chatMsg")).toBeLessThan(order.indexOf("userlist"))
  })

  test("a client's message is broadcast escaped, with links and filters, to others and back to itself", async () => {
    cy.addRoom("lobby", { maxMessageLength: 320 })
    const bot = await joinAs("lobby", "bot")
    const other = await joinAs("lobby", "human")
    const raw = `<i>hi</i> & "q" it's (ok) https://example.com/a?b=1&c=2 *bold*\nline two`
    bot.socket.emit("chatMsg", { msg: raw, meta: {} })
    await cy.waitFor(() => chatOf(other, "bot").length === 1 && chatOf(bot, "bot").length === 1)
    const expected =
      '&lt;i&gt;hi&lt;/i&gt; &amp; "q" it\'s (ok) <a href="https://example.com/a?b=1&amp;c=2" target="_blank" ' +
      'rel="noopener noreferrer">https://example.com/a?b=1&amp;c=2</a> <strong>bold</strong> line two'
    expect(chatOf(other, "bot")[0]).toMatchObject({ username: "bot", msg: expected, meta: {} })
    expect(chatOf(bot, "bot")[0]?.msg).toBe(expected)
    expect(cy.room("lobby").chat.at(-1)).toMatchObject({ username: "bot", msg: expected, rawMsg: raw })
  })

  test("long messages are truncated, blank ones dropped, /me and > get their meta", async () => {
    cy.addRoom("short", { maxMessageLength: 10 })
    const bot = await joinAs("short", "bot")
    bot.socket.emit("chatMsg", { msg: "   ", meta: {} })
    bot.socket.emit("chatMsg", { msg: "0123456789abcdef", meta: {} })
    bot.socket.emit("chatMsg", { msg: "/me waves", meta: {} })
    bot.socket.emit("chatMsg", { msg: ">implying", meta: {} })
    await cy.waitFor(() => chatOf(bot, "bot").length === 3)
    expect(chatOf(bot, "bot").map((m) => [m.msg, m.meta])).toEqual([
      ["0123456789", {}],
      ["waves", { addClass: "action", action: true }],
      ["&gt;implying", { addClass: "greentext" }]
    ])
  })

  test("another user's message arrives with its username", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    const sent = cy.room("lobby").say("alice", "hello bot :)")
    await cy.waitFor(() => chatOf(bot, "alice").length === 1)
    expect(chatOf(bot, "alice")[0]).toEqual({ username: "alice", msg: "hello bot :)", meta: {}, time: sent.time })
  })

  test("emotes are listed in emoteList and left as text unless the room renders them", async () => {
    const emotes = [{ name: "Kappa", image: "https://img.example/kappa.png" }]
    cy.addRoom("plain", { emotes })
    cy.addRoom("rendered", { emotes, renderEmotes: true })
    const plain = await joinAs("plain", "bot")
    const rendered = await joinAs("rendered", "bot")
    expect(plain.find("emoteList")?.payload).toEqual([
      { name: "Kappa", image: "https://img.example/kappa.png", source: "(^|\\s)Kappa(?!\\S)" }
    ])
    cy.room("plain").say("alice", "nice Kappa")
    cy.room("rendered").say("alice", "nice Kappa")
    await cy.waitFor(() => chatOf(plain, "alice").length === 1 && chatOf(rendered, "alice").length === 1)
    expect(chatOf(plain, "alice")[0]?.msg).toBe("nice Kappa")
    expect(chatOf(rendered, "alice")[0]?.msg).toBe(
      'nice <img class="channel-emote" src="https://img.example/kappa.png" title="Kappa">'
    )
  })

  test("PMs go both ways and the sender gets its own PM echoed", async () => {
    cy.addRoom("lobby", { users: [{ name: "alice" }] })
    const bot = await joinAs("lobby", "bot")
    bot.socket.emit("pm", { to: "Alice", msg: "hi <3", meta: {} })
    await cy.waitFor(() => bot.find("pm"))
    expect(bot.find("pm")?.payload).toMatchObject({ username: "bot", to: "alice", msg: "hi &lt;3", meta: {} })
    expect(cy.room("lobby").pms[0]).toMatchObject({ username: "bot", to: "alice", rawMsg: "hi <3" })

    cy.room("lobby").pmTo("alice", "bot", "psst")
    await cy.waitFor(() => bot.find("pm", (p: { username: string }) => p.username === "alice"))
    expect(bot.find("pm", (p: { username: string }) => p.username === "alice")?.payload).toMatchObject({
      username: "alice",
      to: "bot",
      msg: "psst",
      meta: {}
    })

    bot.socket.emit("pm", { to: "ghost", msg: "anyone?", meta: {} })
    bot.socket.emit("pm", { to: "bot", msg: "me?", meta: {} })
    await cy.waitFor(() => bot.all("errorMsg").length === 2)
    expect(bot.all("errorMsg")).toEqual([
      { msg: "PM failed: ghost isn't connected to this channel." },
      { msg: "You can't PM yourself!" }
    ])
  })

  test("a PM between two clients reaches the recipient and echoes to the sender", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    const human = await joinAs("lobby", "human")
    human.socket.emit("pm", { to: "bot", msg: "hey", meta: {} })
    await cy.waitFor(() => bot.find("pm") && human.find("pm"))
    expect(bot.find("pm")?.payload).toEqual(human.find("pm")?.payload)
  })
})

describe("fake CyTube flood control", () => {
  test("a 30-message burst passes 20 and answers the rest with cooldown 100 (CyTube's default antiflood)", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    for (let i = 0; i < 30; i++) bot.socket.emit("chatMsg", { msg: `m${i}`, meta: {} })
    await cy.waitFor(() => chatOf(bot, "bot").length + bot.all("cooldown").length === 30)
    expect(chatOf(bot, "bot").map((m) => m.msg)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
    expect(bot.all("cooldown")).toEqual(Array(10).fill(100))
    expect(cy.room("lobby").floodEvents.filter((e) => e.kind === "cooldown")).toHaveLength(10)
  })

  test("a stricter room throttles a burst but not messages paced under its sustained rate", async () => {
    cy.addRoom("strict", { floodBurst: 2, floodSustainedPerSecond: 20, floodCooldownSeconds: 1 })
    const bot = await joinAs("strict", "bot")
    for (let i = 0; i < 30; i++) bot.socket.emit("chatMsg", { msg: `burst${i}`, meta: {} })
    await cy.waitFor(() => bot.all("cooldown").length === 28)
    expect(chatOf(bot, "bot")).toHaveLength(2)
    expect(new Set(bot.all("cooldown"))).toEqual(new Set([50]))

    const paced = await joinAs("strict", "paced")
    for (let i = 0; i < 6; i++) {
      paced.socket.emit("chatMsg", { msg: `slow${i}`, meta: {} })
      await Bun.sleep(100) // pacing the client is the behaviour under test, not a wait for a condition
    }
    await cy.waitFor(() => chatOf(paced, "paced").length === 6)
    expect(paced.all("cooldown")).toEqual([])
  })

  test("a muted user gets noflood instead of a broadcast", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    cy.room("lobby").mute("bot")
    bot.socket.emit("chatMsg", { msg: "can anyone hear me", meta: {} })
    await cy.waitFor(() => bot.find("noflood"))
    expect(bot.find("noflood")?.payload).toEqual({ action: "chat", msg: "You have been muted on this channel." })
    expect(chatOf(bot, "bot")).toEqual([])
  })

  test("a socket exceeding the server's event rate limit is kicked and not reconnected", async () => {
    await cy.stop()
    await start({ eventRateLimit: { perSecond: 5, burst: 10 } })
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    const reason = new Promise<string>((resolve) => bot.socket.once("disconnect", resolve))
    for (let i = 0; i < 30; i++) bot.socket.emit("chatMsg", { msg: `spam${i}`, meta: {} })
    expect(await reason).toBe("io server disconnect")
    expect(bot.find("kick")?.payload).toEqual({ reason: "Rate limit exceeded" })
    expect(bot.socket.active).toBe(false)
    expect(cy.floodEvents.at(-1)).toMatchObject({
      kind: "kick",
      username: "bot",
      payload: { reason: "Rate limit exceeded" }
    })
  })
})

describe("fake CyTube media and presence", () => {
  test("the current media is sent on join; changeMedia and mediaUpdate arrive later", async () => {
    cy.addRoom("lobby", { media: { title: "Intro", id: "abc123", type: "yt", seconds: 212 } })
    const bot = await joinAs("lobby", "bot")
    await cy.waitFor(() => bot.find("changeMedia"))
    expect(bot.find("changeMedia")?.payload).toEqual({
      id: "abc123",
      title: "Intro",
      seconds: 212,
      duration: "03:32",
      type: "yt",
      meta: {},
      currentTime: -3,
      paused: true
    })
    expect(bot.find("setCurrent")?.payload).toBe(0)

    cy.room("lobby").changeMedia({
      title: "Long one",
      id: "xyz",
      type: "vi",
      seconds: 3725,
      currentTime: 0,
      paused: false
    })
    cy.room("lobby").mediaUpdate(42.5)
    await cy.waitFor(() => bot.find("mediaUpdate"))
    expect(bot.all("changeMedia")[1]).toMatchObject({
      title: "Long one",
      duration: "01:02:05",
      currentTime: 0,
      paused: false
    })
    expect(bot.find("queue")?.payload).toMatchObject({ after: 0, item: { uid: 1, media: { id: "xyz" } } })
    expect(bot.find("mediaUpdate")?.payload).toEqual({ currentTime: 42.5, paused: false })
  })

  test("virtual users join, go AFK and leave", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    const room = cy.room("lobby")
    room.join("carol")
    room.setAfk("carol", true)
    room.leave("carol")
    await cy.waitFor(() => bot.find("userLeave"))
    expect(bot.find("addUser", (u: { name: string }) => u.name === "carol")?.payload).toMatchObject({
      name: "carol",
      rank: 0
    })
    expect(bot.find("setAFK")?.payload).toEqual({ name: "carol", afk: true })
    expect(bot.find("userLeave")?.payload).toEqual({ name: "carol" })
    expect(bot.all("usercount").at(-1)).toBe(1)
  })

  test("a kick sends the reason and a server disconnect", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    const reason = new Promise<string>((resolve) => bot.socket.once("disconnect", resolve))
    cy.room("lobby").kick("bot", "be nice")
    expect(await reason).toBe("io server disconnect")
    expect(bot.find("kick")?.payload).toEqual({ reason: "be nice" })
  })
})

describe("fake CyTube disconnects", () => {
  test("after a forced disconnect the client reconnects by itself and re-joins", async () => {
    cy.addRoom("lobby")
    const watcher = await joinAs("lobby", "watcher")
    const bot = await connect("lobby")
    let connects = 0
    bot.socket.on("connect", () => {
      connects++
      bot.socket.emit("joinChannel", { name: "lobby" })
      bot.socket.emit("login", { name: "bot" })
    })
    await cy.waitFor(() => cy.connections.some((c) => c.username === "bot"))
    expect(cy.disconnectAll("lobby")).toBe(2)
    await cy.waitFor(() => connects === 2 && cy.connections.some((c) => c.username === "bot"))
    expect(bot.all("login").at(-1)).toEqual({ success: true, name: "bot", guest: true })
    // the watcher was dropped too and did not re-join (it has no connect handler), so only the bot is listed
    expect(cy.connections.map((c) => c.username)).toEqual(["bot"])
    await cy.waitFor(() => watcher.socket.connected)
  })

  test("a server-mode disconnect is 'io server disconnect' and the client stays down", async () => {
    cy.addRoom("lobby")
    const bot = await joinAs("lobby", "bot")
    const reason = new Promise<string>((resolve) => bot.socket.once("disconnect", resolve))
    cy.disconnectAll(undefined, "server")
    expect(await reason).toBe("io server disconnect")
    expect(bot.socket.active).toBe(false)
  })
})
