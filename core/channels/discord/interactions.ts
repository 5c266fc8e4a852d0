/**
 * Slash command interactions as they happen: `/persona` is answered here, `/reset` is deferred (Discord wants an
 * acknowledgement within 3 s) and handed to the router as a command message; its answer then goes back through the
 * interaction (`openReply`), and a command the router decides not to answer has its "thinking…" placeholder removed.
 */
import type { ChatInputCommandInteraction } from "discord.js"
import { Effect, type Fiber, type Scope } from "effect"
import type { MessageReceived } from "../../events/Events.ts"
import type { Store } from "../../store/Store.ts"
import type { ChannelHost, OutboundEvent, ReplySink, ReplyTarget } from "../Channel.ts"
import { makeStreamingReply, type StreamingOptions } from "../text/StreamingReply.ts"
import { adapterCommands, conversationCommands, interactionOps, personaCard } from "./commands.ts"
import type { DiscordConfig } from "./DiscordConfig.ts"
import { allowedIn, type Place, placeOf } from "./inbound.ts"
import { discordText } from "./messages.ts"
import type { ChannelOpsInput } from "./outbound.ts"
import { makeInteractionTurns } from "./recovery.ts"

/** Discord keeps an interaction's token for 15 minutes; a pending one is forgotten after that. */
const INTERACTION_TTL_MS = 15 * 60_000

const noPingsOption = { parse: [], repliedUser: false }

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

export interface CommandHandlerInput {
  readonly config: DiscordConfig
  readonly host: ChannelHost
  readonly store: Store["Type"]
  readonly scope: Scope.Scope
  /** Fork work into the channel's scope. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  /** The command as a `MessageReceived`. */
  readonly inbound: (interaction: ChatInputCommandInteraction, place: Place) => MessageReceived
  /** Hand a command message to the router (in order with the channel's messages). */
  readonly hand: (message: MessageReceived) => Effect.Effect<unknown>
}

export const makeCommandHandler = (input: CommandHandlerInput) => {
  const { config, host } = input
  const pending = new Map<string, { readonly interaction: ChatInputCommandInteraction; readonly at: number }>()
  const turns = makeInteractionTurns(input.store, host.id)

  const onCommand = (interaction: ChatInputCommandInteraction) =>
    Effect.gen(function* () {
      const name = interaction.commandName
      const persona = host.persona()
      const place = placeOf(interaction.channel, interaction.channelId, interaction.guildId)
      const respond = (content: string, ephemeral: boolean) =>
        Effect.tryPromise(() =>
          interaction.reply({ content, allowedMentions: noPingsOption, ...(ephemeral ? { flags: 64 } : {}) })
        )
      if (!allowedIn(config, place)) {
        yield* respond(discordText(persona, "not_here", interaction.locale), true)
        return
      }
      if (adapterCommands.has(name)) {
        yield* respond(personaCard(persona, interaction.locale), false)
        return
      }
      if (!conversationCommands.has(name)) return
      const received = input.inbound(interaction, place)
      // Acknowledge within Discord's 3 s; the conversation's answer replaces the placeholder.
      yield* Effect.tryPromise(() => interaction.deferReply())
      const now = Date.now()
      for (const [id, entry] of pending) if (now - entry.at > INTERACTION_TTL_MS) pending.delete(id)
      pending.set(received.messageId, { interaction, at: now })
      yield* input.hand(received)
    }).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`discord: /${interaction.commandName} failed: ${describe(error.error)}`)
      )
    )

  // A command the router decided not to answer (an ignored user, say) must not leave "thinking…" forever.
  const close = host.bus.listen(["PolicyDecision"], (decision) => {
    if (decision.decision === "answer") return
    const entry = pending.get(decision.messageId)
    if (!entry) return
    pending.delete(decision.messageId)
    input.run(Effect.ignore(Effect.tryPromise(() => entry.interaction.deleteReply())))
  })

  /** The sink for an answer to a pending interaction, or undefined when the target is not one. */
  const openReply = (target: ReplyTarget, base: ChannelOpsInput, options: StreamingOptions): ReplySink | undefined => {
    const key = target.replyTo
    const entry = key === undefined ? undefined : pending.get(key)
    if (key === undefined || entry === undefined) return undefined
    const ops = interactionOps(entry.interaction, base)
    const sink = makeStreamingReply(target, ops, options, input.store, input.scope)
    let recorded = false
    // Remembered (committed with the first chunk) so a restart never resends this answer as a channel message.
    const record = Effect.suspend(() => {
      if (recorded) return Effect.void
      recorded = true
      return turns.add(target.turnId)
    })
    return {
      emit: (event: OutboundEvent) => {
        const emitted = Effect.zipRight(record, sink.emit(event))
        return event._tag === "ReplyCompleted" || event._tag === "ReplyFailed"
          ? Effect.ensuring(
              emitted,
              Effect.sync(() => pending.delete(key))
            )
          : emitted
      }
    }
  }

  return { onCommand, openReply, close }
}
