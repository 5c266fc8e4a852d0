import { describe, expect, test } from "bun:test"
import { Effect, Fiber } from "effect"
import { DeliveryError } from "../../../core/channels/Channel.ts"
import type { ChatPayload, Joined } from "../../../core/channels/cytube/Connection.ts"
import { isBanReason } from "../../../core/channels/cytube/Connection.ts"
import { baseUrlOf, pickServer } from "../../../core/channels/cytube/discovery.ts"
import { htmlToText, sameLine } from "../../../core/channels/cytube/html.ts"
import { chatMessageOf, pmMessageOf } from "../../../core/channels/cytube/inbound.ts"
import { type FloodParams, Pacer, SERVER_MINIMUM } from "../../../core/channels/cytube/Pacer.ts"
import { cleanReply, wireText } from "../../../core/channels/cytube/replyText.ts"
import { checkReplay, destinationOf, Sender } from "../../../core/channels/cytube/Sender.ts"
import { formatChatText } from "../../fakes/cytube/format.ts"
import { ChatLimiter } from "../../fakes/cytube/limits.ts"
import { runLive } from "../../support/effect.ts"
import { seeded } from "../../support/random.ts"
import { eventually } from "./harness.ts"

const registered = { filters: true, linkify: true, renderEmotes: [] }

describe("cytube text", () => {
  test("chat HTML becomes the text a person reads", () => {
    const html = formatChatText(
      `<i>hi</i> & "q" it's (ok) https://example.com/a?b=1&c=2 *bold* _em_ \`code\``,
      registered
    )
    expect(htmlToText(html)).toBe(`<i>hi</i> & "q" it's (ok) https://example.com/a?b=1&c=2 bold em code`)
    expect(htmlToText('nice <img class="channel-emote" src="https://x/k.png" title="Kappa">')).toBe("nice Kappa")
    expect(htmlToText("a&#39;b &#x41; &nbsp;c &unknown;")).toBe("a'b A c &unknown;")
  })

  test("an echo matches the line sent, through CyTube's filters and its length cut", () => {
    const sent = "hey kung_fu_fan, see *this* ~~now~~ & <then>"
    expect(sameLine(formatChatText(sent, registered), sent)).toBe(true)
    const long = "word ".repeat(100).trim()
    expect(sameLine(formatChatText(long.slice(0, 320), registered), long)).toBe(true)
    expect(sameLine(formatChatText("something else", registered), sent)).toBe(false)
  })

  test("replies lose markdown and one self-prefix; a line never starts a command", () => {
    expect(cleanReply("**Rothrock**: *Hi* @kung_fu_fan!", ["rothrock"])).toBe("Hi @kung_fu_fan!")
    expect(cleanReply("Cynthia: Rothrock: hi", ["Rothrock", "Cynthia"])).toBe("Rothrock: hi")
    expect(cleanReply("Rothrockers unite", ["Rothrock"])).toBe("Rothrockers unite")
    expect(wireText("/clear\nthe chat")).toBe(" /clear the chat")
    expect(wireText("line one\n\nline two")).toBe("line one line two")
  })

  test("ban reasons are recognised", () => {
    expect(isBanReason("You're banned!")).toBe(true)
    expect(isBanReason("You are banned from this channel.")).toBe(true)
    expect(isBanReason("be nice")).toBe(false)
    expect(isBanReason("Duplicate login")).toBe(false)
  })
})

describe("cytube discovery", () => {
  test("a secure server is preferred for an https page, else the first; IPv6 entries only as a last resort", () => {
    const servers = [
      { url: "http://cytu.be:8080", secure: false, ipv6: false },
      { url: "https://cytu.be:8443", secure: true, ipv6: false },
      { url: "https://[::1]:8443", secure: true, ipv6: true }
    ]
    expect(pickServer(servers, true)?.url).toBe("https://cytu.be:8443")
    expect(pickServer(servers, false)?.url).toBe("http://cytu.be:8080")
    expect(pickServer([servers[2]!], false)?.url).toBe("https://[::1]:8443")
    expect(baseUrlOf("cytu.be/")).toBe("https://cytu.be")
    expect(baseUrlOf("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080")
  })
})

describe("cytube inbound", () => {
  const context = {
    channel: "cytube:cytu.be:lobby:rothrock",
    persona: "rothrock",
    room: "lobby",
    self: "Rothrock",
    isBot: (name: string) => name === "jackie",
    now: 1000
  }

  test("a line's id is stable across replays; mentions are word-bounded; commands must name the bot", () => {
    const line = { username: "alice", msg: "hey @rothrock!", time: 123, meta: {} }
    const a = chatMessageOf(context, line)
    const b = chatMessageOf({ ...context, now: 5000 }, line)
    expect(a?.messageId).toBe(b?.messageId ?? "")
    expect(a?.mentioned).toBe(true)
    expect(chatMessageOf(context, { ...line, msg: "rothrockers" })?.mentioned).toBe(false)
    expect(chatMessageOf(context, { ...line, username: "jackie" })?.author.isBot).toBe(true)
    expect(chatMessageOf(context, { ...line, username: "ROTHROCK" })?.fromSelf).toBe(true)
    expect(chatMessageOf(context, { ...line, msg: "/reset" })?.command).toBeUndefined()
    expect(chatMessageOf(context, { ...line, msg: "/reset@rothrock now" })?.command).toEqual({
      name: "reset",
      args: "now"
    })
    expect(chatMessageOf(context, { ...line, username: "[server]" })).toBeUndefined()
    const pm = pmMessageOf(context, { username: "alice", msg: "/help", time: 5, to: "Rothrock" })
    expect(pm.chat).toEqual({ id: "pm:alice", kind: "dm", title: "alice" })
    expect(pm.command).toEqual({ name: "help", args: "" })
    expect(destinationOf(`rothrock/${context.channel}/pm:alice`)).toEqual({ kind: "pm", to: "alice" })
    expect(destinationOf(`rothrock/${context.channel}/lobby/user:alice`)).toEqual({ kind: "room" })
  })
})

describe("cytube pacing", () => {
  const cases: ReadonlyArray<readonly [string, FloodParams, FloodParams]> = [
    ["stock room, default bot", SERVER_MINIMUM, { burst: 3, sustained: 1 }],
    ["CyTube's antiflood defaults, default bot", { burst: 4, sustained: 1, cooldown: 4 }, { burst: 3, sustained: 1 }],
    ["strict room, eager bot", { burst: 3, sustained: 5 }, { burst: 10, sustained: 50 }],
    ["long cooldown room", { burst: 2, sustained: 2, cooldown: 10 }, { burst: 3, sustained: 1 }]
  ]
  for (const [name, room, own] of cases) {
    test(`the server's limiter never throttles the paced bot: ${name}`, () => {
      const random = seeded(7)
      let now = 1_000_000
      const server = new ChatLimiter(() => now)
      const pacer = new Pacer(own, room)
      let sent = 0
      for (let i = 0; i < 3000; i++) {
        // The bot wants to talk at random moments: bursts of replies, short and long pauses.
        now += Math.floor(random() < 0.7 ? random() * 200 : random() * 8000)
        const wait = pacer.delay(now)
        if (wait > 0) now += wait
        expect(pacer.delay(now)).toBe(0)
        expect(server.throttle(room)).toBe(false)
        pacer.sent(now)
        sent++
      }
      expect(sent).toBe(3000)
    })
  }

  test("a server cooldown pauses the pacer", () => {
    const pacer = new Pacer({ burst: 3, sustained: 1 })
    pacer.pause(1000, 0)
    expect(pacer.delay(500)).toBeGreaterThan(500)
    expect(pacer.delay(2200)).toBe(0)
  })
})

describe("cytube sender", () => {
  const joined = (replay: ReadonlyArray<ChatPayload> = []): Joined => ({ name: "rothrock", guest: true, replay, at: 0 })

  const harness = () => {
    const emitted: Array<{ event: string; payload: { msg: string; to?: string } }> = []
    const sender = new Sender({
      channel: "cytube:test",
      pacer: new Pacer({ burst: 100, sustained: 100 }),
      emit: (event, payload) => {
        emitted.push({ event, payload: payload as { msg: string } })
        return true
      },
      self: () => "rothrock",
      echoTimeout: 300,
      readyTimeout: 1000
    })
    const echo = (msg: string, time = Date.now()) =>
      sender.observe("chatMsg", { username: "rothrock", msg: formatChatText(msg, registered), meta: {}, time }, false)
    return { sender, emitted, echo }
  }

  test("a line is sent when its echo arrives; a cooldown means send it again after the pause", () =>
    runLive(
      Effect.gen(function* () {
        const { sender, emitted, echo } = harness()
        sender.joined(joined())
        const fiber = yield* Effect.fork(sender.send({ kind: "room" }, "hello *room*", "k:000"))
        yield* eventually(() => emitted.length === 1)
        sender.observe("cooldown", 100, false)
        yield* eventually(() => emitted.length === 2)
        echo("hello *room*")
        expect(yield* Fiber.join(fiber)).toMatch(/^cytube:\d+$/)
        expect(emitted.map((e) => e.payload.msg)).toEqual(["hello *room*", "hello *room*"])
      })
    ))

  test("noflood and a failed PM are definite refusals; no echo is an unknown outcome", () =>
    runLive(
      Effect.gen(function* () {
        const { sender, emitted } = harness()
        sender.joined(joined())
        const muted = yield* Effect.fork(Effect.flip(sender.send({ kind: "room" }, "hi", "k:000")))
        yield* eventually(() => emitted.length === 1)
        sender.observe("noflood", { action: "chat", msg: "You have been muted on this channel." }, false)
        expect(yield* Fiber.join(muted)).toMatchObject({
          ambiguous: false,
          reason: "You have been muted on this channel."
        })

        const pm = yield* Effect.fork(Effect.flip(sender.send({ kind: "pm", to: "ghost" }, "boo", "k:001")))
        yield* eventually(() => emitted.length === 2)
        sender.observe("errorMsg", { msg: "PM failed: ghost isn't connected to this channel." }, false)
        expect((yield* Fiber.join(pm)).ambiguous).toBe(false)

        const silent = yield* Effect.flip(sender.send({ kind: "room" }, "anyone?", "k:002"))
        expect(silent).toBeInstanceOf(DeliveryError)
        expect(silent.ambiguous).toBe(true)
      })
    ))

  test("a line lost with the connection: found in the re-join's replay → sent, not repeated", () =>
    runLive(
      Effect.gen(function* () {
        const { sender, emitted } = harness()
        sender.joined(joined())
        const fiber = yield* Effect.fork(sender.send({ kind: "room" }, "said just before the drop", "k:000"))
        yield* eventually(() => emitted.length === 1)
        sender.down("transport close")
        const line = { username: "rothrock", msg: "said just before the drop", meta: {}, time: Date.now() }
        sender.joined(joined([line]))
        expect(yield* Fiber.join(fiber)).toBe("cytube:replay")
        expect(emitted).toHaveLength(1)
      })
    ))

  test("a line lost with the connection and not in the replay is sent again, once", () =>
    runLive(
      Effect.gen(function* () {
        const { sender, emitted, echo } = harness()
        sender.joined(joined())
        const fiber = yield* Effect.fork(sender.send({ kind: "room" }, "did it arrive?", "k:000"))
        yield* eventually(() => emitted.length === 1)
        sender.down("transport close")
        sender.joined(joined([{ username: "alice", msg: "hi", meta: {}, time: Date.now() }]))
        yield* eventually(() => emitted.length === 2)
        echo("did it arrive?")
        expect(yield* Fiber.join(fiber)).toMatch(/^cytube:\d+$/)

        // Lost again after the resend: not a third time.
        const twice = yield* Effect.fork(Effect.flip(sender.send({ kind: "room" }, "unlucky", "k:001")))
        yield* eventually(() => emitted.length === 3)
        sender.down("transport close")
        sender.joined(joined())
        yield* eventually(() => emitted.length === 4)
        sender.down("transport close")
        sender.joined(joined())
        expect((yield* Fiber.join(twice)).ambiguous).toBe(true)
        expect(emitted).toHaveLength(4)
      })
    ))

  test("a PM lost with the connection is never resent; a stopped channel fails waiting lines at once", () =>
    runLive(
      Effect.gen(function* () {
        const { sender, emitted } = harness()
        sender.joined(joined())
        const pm = yield* Effect.fork(Effect.flip(sender.send({ kind: "pm", to: "alice" }, "psst", "k:000")))
        yield* eventually(() => emitted.length === 1)
        sender.down("transport close")
        expect((yield* Fiber.join(pm)).ambiguous).toBe(true)
        const waiting = yield* Effect.fork(Effect.flip(sender.send({ kind: "room" }, "later", "k:001")))
        sender.failed(`banned from room "lobby": You're banned!`)
        const error = yield* Fiber.join(waiting)
        expect(error).toMatchObject({ ambiguous: false, reason: `banned from room "lobby": You're banned!` })
        expect(emitted).toHaveLength(1)
      })
    ))

  test("the replay verdict: seen, unseen (the window reaches back far enough), uncertain", () => {
    const mine = (msg: string, time: number) => ({ username: "rothrock", msg, meta: {}, time })
    const other = (time: number) => ({ username: "alice", msg: "x", meta: {}, time })
    expect(checkReplay([mine("hello", 100_000)], "Rothrock", "hello", 100_000)).toBe("seen")
    expect(checkReplay([other(1)], "rothrock", "hello", 100_000)).toBe("unseen")
    const full = Array.from({ length: 15 }, (_, i) => other(200_000 + i))
    expect(checkReplay(full, "rothrock", "hello", 100_000)).toBe("uncertain")
    const reaching = Array.from({ length: 15 }, (_, i) => other(50_000 + i * 10_000))
    expect(checkReplay(reaching, "rothrock", "hello", 100_000)).toBe("unseen")
    // An identical line from long before does not count as this one.
    expect(checkReplay([mine("hello", 10_000)], "rothrock", "hello", 100_000)).toBe("unseen")
  })
})
