/**
 * The host side of the services plugins reach through `ctx` (see core/plugins/HostApi.ts): notes, scheduled prompts
 * and conversation memory. The owner of every note and job is derived here from the tool call's context — persona,
 * channel and user as the conversation knows them — never from what the model or the plugin passes.
 */
import { Effect } from "effect"
import type { SchedulerService } from "../conversation/Scheduler.ts"
import { HostApi, HostError } from "../plugins/HostApi.ts"
import { type Job, Store } from "../store/Store.ts"
import type { ToolCallContext } from "../tools/Tools.ts"

/** Whose notes and jobs these are: one user of one persona on one channel. */
export const ownerOf = (ctx: ToolCallContext) => `${ctx.persona}/${ctx.channel}/${ctx.userId}`

/** A job as the SDK's `ScheduledJob` describes it. */
const jobOf = (job: Job) => ({
  id: job.id,
  prompt: job.prompt,
  nextAt: job.nextAt,
  status: job.status,
  ...(job.intervalMs ? { intervalMs: job.intervalMs } : {})
})

const needsConversation = (method: string, ctx: ToolCallContext) =>
  ctx.persona && ctx.conversationId
    ? Effect.void
    : Effect.fail(new HostError({ method, message: `${method} is only available inside a conversation` }))

export interface HostServiceHooks {
  readonly scheduler: SchedulerService
  /** Tell a conversation its stored history changed under it (the `chat_memory` tool trimmed it). */
  readonly historyChanged: (persona: string, conversationId: string) => void
}

export const registerHostServices = (hooks: HostServiceHooks): Effect.Effect<void, never, HostApi | Store> =>
  Effect.gen(function* () {
    const api = yield* HostApi
    const store = yield* Store
    const fail = (method: string) => (error: { message: string }) => new HostError({ method, message: error.message })

    yield* api.register("notes.save", (ctx, { key, text }) =>
      Effect.zipRight(needsConversation("notes.save", ctx), store.saveNote(ownerOf(ctx), key, text))
    )
    yield* api.register("notes.get", (ctx, { key }) =>
      Effect.zipRight(needsConversation("notes.get", ctx), store.getNote(ownerOf(ctx), key)).pipe(
        Effect.map((note) => note ?? null)
      )
    )
    yield* api.register("notes.search", (ctx, { query, limit }) =>
      Effect.zipRight(needsConversation("notes.search", ctx), store.searchNotes(ownerOf(ctx), query, limit))
    )
    yield* api.register("notes.list", (ctx, { limit }) =>
      Effect.zipRight(needsConversation("notes.list", ctx), store.listNotes(ownerOf(ctx), limit))
    )
    yield* api.register("notes.delete", (ctx, { key }) =>
      Effect.zipRight(needsConversation("notes.delete", ctx), store.deleteNote(ownerOf(ctx), key))
    )

    yield* api.register("scheduler.schedule", (ctx, { prompt, at, inMs, everyMs }) =>
      Effect.gen(function* () {
        yield* needsConversation("scheduler.schedule", ctx)
        const now = Date.now()
        const nextAt = at ?? now + (inMs ?? everyMs ?? 0)
        const job = yield* hooks.scheduler
          .schedule({
            persona: ctx.persona,
            conversationId: ctx.conversationId,
            owner: ownerOf(ctx),
            prompt,
            kind: everyMs ? "interval" : "once",
            nextAt,
            ...(everyMs ? { intervalMs: everyMs } : {})
          })
          .pipe(Effect.mapError(fail("scheduler.schedule")))
        return jobOf(job)
      })
    )
    yield* api.register("scheduler.list", (ctx) =>
      Effect.zipRight(needsConversation("scheduler.list", ctx), hooks.scheduler.list(ownerOf(ctx))).pipe(
        Effect.map((jobs) => jobs.map(jobOf))
      )
    )
    yield* api.register("scheduler.cancel", (ctx, { id }) =>
      Effect.zipRight(needsConversation("scheduler.cancel", ctx), hooks.scheduler.cancel(ownerOf(ctx), id))
    )
    yield* api.register("scheduler.delete", (ctx, { id }) =>
      Effect.zipRight(needsConversation("scheduler.delete", ctx), hooks.scheduler.remove(ownerOf(ctx), id))
    )

    yield* api.register("memory.count", (ctx) =>
      Effect.zipRight(needsConversation("memory.count", ctx), store.messageCount(ctx.conversationId))
    )
    yield* api.register("memory.trim", (ctx, { keep }) =>
      Effect.gen(function* () {
        yield* needsConversation("memory.trim", ctx)
        const deleted = yield* store.trimHistory(ctx.conversationId, keep)
        hooks.historyChanged(ctx.persona, ctx.conversationId)
        return deleted
      })
    )
  })
