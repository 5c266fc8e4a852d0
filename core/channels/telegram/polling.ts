/**
 * Long polling with the update offset kept in the store (cursor `telegram:<bot id>:offset`), so a restart neither
 * answers an update twice nor skips one:
 *
 * - each update is handed to the persona's router first, then the offset past it is written. The router records the
 *   message's id in the same store and the writer commits in order, so whenever the offset is durable the inbound
 *   record is too; a crash between the two redelivers the update, and the router recognises its id;
 * - the next `getUpdates` asks for that offset, which is also what confirms the updates to Telegram;
 * - on start, polling resumes at the stored offset: updates below it are never fetched again, updates that came
 *   while the runtime was down are fetched and answered (unless older than the persona's staleness window).
 *
 * Stopping interrupts the pending long poll (its HTTP request is aborted at once).
 */
import { Duration, Effect } from "effect"
import type { Update } from "grammy/types"
import type { StoreService } from "../../store/Store.ts"
import type { TelegramApi } from "./TelegramApi.ts"

export const offsetKey = (botId: number) => `telegram:${botId}:offset`

export interface PollingOptions {
  readonly api: TelegramApi
  readonly store: StoreService
  readonly botId: number
  /** Seconds Telegram holds a `getUpdates` open when there is nothing new. */
  readonly pollSeconds: number
  /** Extra time a long poll may take on top of `pollSeconds` before it counts as failed. */
  readonly slackMs: number
  readonly allowedUpdates: ReadonlyArray<"message" | "edited_message">
  /** Hand one update over; never fails (problems are logged inside). */
  readonly handle: (update: Update) => Effect.Effect<void>
  readonly onDown: (reason: string) => void
  readonly onUp: () => void
}

/** Runs until interrupted, or until the token is rejected (the channel is then failed). */
export const pollUpdates = (options: PollingOptions): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { api, store } = options
    const key = offsetKey(options.botId)
    const stored = yield* store.getCursor(key)
    let offset = stored === undefined ? undefined : Number(stored)
    let failures = 0
    while (true) {
      const result = yield* Effect.either(
        api.call(
          "getUpdates",
          (raw, signal) =>
            raw.getUpdates(
              {
                ...(offset === undefined ? {} : { offset }),
                timeout: options.pollSeconds,
                allowed_updates: [...options.allowedUpdates]
              },
              signal
            ),
          { idempotent: true, timeoutMs: options.pollSeconds * 1000 + options.slackMs, attempts: 1 }
        )
      )
      if (result._tag === "Left") {
        const error = result.left
        if (error.kind === "unauthorized") return
        failures++
        const why =
          error.code === 409
            ? `another client is polling with this token, or a webhook is set (${error.reason})`
            : error.reason
        if (failures === 1 || failures % 10 === 0) yield* Effect.logWarning(`telegram getUpdates failed: ${why}`)
        if (failures >= 2) options.onDown(why)
        yield* Effect.sleep(Duration.millis(Math.min(30_000, 250 * 2 ** Math.min(failures - 1, 7))))
        continue
      }
      if (failures > 0) {
        failures = 0
        options.onUp()
      }
      for (const update of result.right) {
        yield* options.handle(update)
        offset = update.update_id + 1
        yield* store.setCursor(key, String(offset))
      }
    }
  })
