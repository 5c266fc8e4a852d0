/**
 * The tools on the runtime's own host services: notes in the store, jobs on the scheduler actor, the conversation's
 * history — each owned by the conversation the call comes from, whatever the model writes in the arguments.
 */
import { describe, expect, test } from "bun:test"
import { Effect, Layer } from "effect"
import * as Actor from "../../core/actor/Actor.ts"
import type { Router } from "../../core/conversation/Router.ts"
import { makeScheduler } from "../../core/conversation/Scheduler.ts"
import { makeInstantProvider } from "../../core/llm/InstantProvider.ts"
import type { ChatRequest } from "../../core/llm/Provider.ts"
import { LlmProviders } from "../../core/llm/Providers.ts"
import { Metrics } from "../../core/metrics/Metrics.ts"
import { HostApi, makeHostApi } from "../../core/plugins/HostApi.ts"
import { registerHostServices } from "../../core/runtime/hostServices.ts"
import { Store } from "../../core/store/Store.ts"
import { eventually, harness } from "../conversation/harness.ts"
import { inbound } from "../support/messages.ts"
import { callTool, context, sharedBuiltins } from "./support.ts"

/** Repeats the instruction it was given, so a test sees which prompt reached the persona. */
const instructionEcho = makeInstantProvider({
  reply: (request: ChatRequest) => {
    const last = request.messages.at(-1)
    return `done: ${typeof last?.content === "string" ? last.content : ""}`
  }
})

/** The router the scheduler fires jobs into (the running test's). */
let currentRouter: Router | undefined
/** Conversations whose history the `chat_memory` tool changed. */
const changed: Array<string> = []

/** The real notes / scheduler / memory host handlers over an in-memory store. */
const hostApi = Layer.scoped(
  HostApi,
  Effect.gen(function* () {
    const api = makeHostApi()
    const root = yield* Actor.root("tools")
    const scheduler = yield* makeScheduler(root, {
      minInterval: 60_000,
      tolerance: 60_000,
      router: (persona) => (persona === "sage" ? currentRouter : undefined)
    })
    yield* registerHostServices({ scheduler, historyChanged: (_persona, id) => void changed.push(id) }).pipe(
      Effect.provideService(HostApi, api)
    )
    return api
  })
)

const host = sharedBuiltins<Store | Metrics | LlmProviders>({
  services: Layer.mergeAll(Store.layerMemory, Metrics.layer, LlmProviders.layerTest([instructionEcho])).pipe(
    Layer.orDie
  ),
  hostApi
})

/** A persona "sage" in a chat of its own (`dm`), which has had one exchange; returns the chat's channel. */
const chat = (dm: string) =>
  Effect.gen(function* () {
    const h = yield* harness()
    currentRouter = h.router
    yield* h.router.receive(inbound({ text: "hello", chat: { id: dm, kind: "dm" } }))
    yield* eventually(() => h.channel.replies[0]?.text)
    return h
  })

/** The tool context of `userId` in chat `dm`. */
const user = (dm: string, userId: string, userName: string) =>
  context({
    persona: "sage",
    conversationId: `sage/memory:test/${dm}`,
    channel: "memory:test",
    chatId: dm,
    userId,
    userName
  })

describe("notes", () => {
  test("two users' notes are apart, and an owner in the arguments changes nothing", () =>
    host.run(
      Effect.gen(function* () {
        yield* chat("dm1")
        const ada = user("dm1", "u1", "Ada")
        const bob = user("dm1", "u2", "Bob")
        expect(yield* callTool("notes", { action: "save", key: "birthday", text: "12 March" }, ada)).toMatchObject({
          ok: true,
          content: 'saved note "birthday"'
        })
        expect(yield* callTool("notes", { action: "get", key: "birthday" }, bob)).toMatchObject({
          content: 'no note called "birthday"'
        })
        // The model tries to name Ada as the owner: the arguments are not where the owner comes from.
        for (const forged of [{ owner: "sage/memory:test/u1" }, { user: "u1" }, { userId: "u1", persona: "sage" }]) {
          expect(yield* callTool("notes", { action: "get", key: "birthday", ...forged }, bob)).toMatchObject({
            content: 'no note called "birthday"'
          })
        }
        yield* callTool("notes", { action: "save", key: "birthday", text: "1 May", owner: "sage/memory:test/u1" }, bob)
        expect(yield* callTool("notes", { action: "get", key: "birthday" }, ada)).toMatchObject({
          content: "birthday: 12 March"
        })
        expect(yield* callTool("notes", { action: "get", key: "birthday" }, bob)).toMatchObject({
          content: "birthday: 1 May"
        })
        yield* callTool("notes", { action: "save", key: "book", text: "Dune, half read" }, ada)
        const today = new Date().toISOString().slice(0, 10)
        expect((yield* callTool("notes", { action: "list" }, ada)).content.split("\n").sort()).toEqual([
          `- birthday: 12 March (${today})`,
          `- book: Dune, half read (${today})`
        ])
        expect(yield* callTool("notes", { action: "search", query: "dune" }, ada)).toMatchObject({
          content: `- book: Dune, half read (${today})`
        })
        expect(yield* callTool("notes", { action: "search", query: "dune" }, bob)).toMatchObject({
          content: 'no notes match "dune"'
        })
        expect(yield* callTool("notes", { action: "delete", key: "book" }, bob)).toMatchObject({
          content: 'no note called "book"'
        })
        expect(yield* callTool("notes", { action: "delete", key: "book" }, ada)).toMatchObject({
          content: 'deleted note "book"'
        })
        const store = yield* Store
        expect((yield* store.getNote("sage/memory:test/u1", "birthday"))?.text).toBe("12 March")
        expect((yield* store.getNote("sage/memory:test/u2", "birthday"))?.text).toBe("1 May")
        expect(yield* callTool("notes", { action: "save", key: "x", text: "y".repeat(2001) }, ada)).toMatchObject({
          ok: false,
          content: "the note is too long (2001 characters; the limit is 2000)"
        })
      })
    ))
})

describe("scheduled prompts", () => {
  test("a prompt scheduled with the tool fires in this conversation", () =>
    host.run(
      Effect.gen(function* () {
        const { channel } = yield* chat("dm2")
        const ada = user("dm2", "u1", "Ada")
        const scheduled = yield* callTool("schedule_prompt", { prompt: "remind Ada to stretch", in: "200ms" }, ada)
        expect(scheduled.ok).toBe(true)
        expect(scheduled.content).toMatch(
          /^Scheduled job \S+: "remind Ada to stretch" — next at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.$/
        )
        const reply = yield* eventually(
          () => channel.replies.find((r) => r.text?.includes("remind Ada to stretch"))?.text,
          5000
        )
        expect(reply).toStartWith("done: ")
        expect(yield* callTool("list_scheduled_prompts", {}, ada)).toMatchObject({ content: "no scheduled prompts" })
        expect((yield* callTool("list_scheduled_prompts", { all: true }, ada)).content).toContain("[done]")
      })
    ))

  test("jobs are listed, cancelled and deleted by their owner only", () =>
    host.run(
      Effect.gen(function* () {
        yield* chat("dm3")
        const ada = user("dm3", "u3", "Ada")
        const bob = user("dm3", "u4", "Bob")
        const made = yield* callTool(
          "schedule_prompt",
          { prompt: "daily digest", at: "09:00", every: "1d", time_zone: "Europe/Oslo" },
          ada
        )
        expect(made.content).toMatch(/next at \d{4}-\d\d-\d\dT09:00:00\+0[12]:00 \(Europe\/Oslo\), then every 1d\.$/)
        const id = /job (\S+):/.exec(made.content)![1]!
        expect((yield* callTool("list_scheduled_prompts", { time_zone: "Europe/Oslo" }, ada)).content).toMatch(
          new RegExp(`^- ${id}: "daily digest" next .*T09:00:00.* \\(Europe/Oslo\\), every 1d$`)
        )
        expect(yield* callTool("list_scheduled_prompts", {}, bob)).toMatchObject({ content: "no scheduled prompts" })
        expect(yield* callTool("cancel_scheduled_prompt", { id }, bob)).toMatchObject({
          content: `no job ${id} of yours`
        })
        expect(yield* callTool("delete_scheduled_prompt", { id }, bob)).toMatchObject({
          content: `no job ${id} of yours`
        })
        expect(yield* callTool("cancel_scheduled_prompt", { id }, ada)).toMatchObject({
          content: `cancelled job ${id}`
        })
        expect(yield* callTool("list_scheduled_prompts", {}, ada)).toMatchObject({ content: "no scheduled prompts" })
        expect((yield* callTool("list_scheduled_prompts", { all: true }, ada)).content).toContain(`${id} [cancelled]`)
        expect(yield* callTool("delete_scheduled_prompt", { id }, ada)).toMatchObject({ content: `deleted job ${id}` })
        expect(yield* callTool("list_scheduled_prompts", { all: true }, ada)).toMatchObject({
          content: "no scheduled prompts"
        })
      })
    ))

  test("readable refusals: too often, in the past, unreadable times", () =>
    host.run(
      Effect.gen(function* () {
        const ada = user("dm4", "u5", "Ada")
        expect(yield* callTool("schedule_prompt", { prompt: "spam", every: "30s" }, ada)).toMatchObject({
          ok: false,
          content: "'every' must be at least 1m"
        })
        expect(yield* callTool("schedule_prompt", { prompt: "p", at: "2020-01-01T00:00:00Z" }, ada)).toMatchObject({
          ok: false,
          content: "2020-01-01T00:00:00Z is in the past"
        })
        expect(yield* callTool("schedule_prompt", { prompt: "p", in: "soon" }, ada)).toMatchObject({
          ok: false,
          content: "cannot read the duration 'soon' (write it like 10m, 2h, 1h30m or 1d)"
        })
        expect(yield* callTool("schedule_prompt", { prompt: "p", in: "10m", at: "09:00" }, ada)).toMatchObject({
          ok: false,
          content: "give either 'in' or 'at', not both"
        })
      })
    ))
})

describe("chat_memory", () => {
  test("counts this conversation's messages and trims it to the newest", () =>
    host.run(
      Effect.gen(function* () {
        const { router, channel } = yield* chat("dm5")
        yield* router.receive(inbound({ text: "one more", chat: { id: "dm5", kind: "dm" } }))
        yield* eventually(() => channel.replies[1]?.text)
        const ada = user("dm5", "u1", "Ada")
        const conversationId = "sage/memory:test/dm5"
        const store = yield* Store
        const stored = yield* store.messageCount(conversationId)
        expect(stored).toBe(4)
        expect(yield* callTool("chat_memory", { action: "count" }, ada)).toMatchObject({
          ok: true,
          content: `${stored} messages stored in this conversation`
        })
        expect(yield* callTool("chat_memory", { action: "trim", keep: 1 }, ada)).toMatchObject({
          ok: true,
          content: "removed 3 messages; 1 kept"
        })
        expect(yield* store.messageCount(conversationId)).toBe(1)
        expect(changed).toEqual([conversationId])
        expect(yield* callTool("chat_memory", { action: "trim" }, ada)).toMatchObject({
          ok: false,
          content: "trim needs 'keep' (how many of the newest messages to keep)"
        })
      })
    ))
})
