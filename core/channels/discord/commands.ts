/**
 * Slash commands: `/reset` (the conversation forgets its history and says so) and `/persona` (who this is, answered
 * here without the model). Registered in one guild or in every guild the bot is in (`commands: guild`, instant, for
 * development), globally (`commands: global`, may take a while to show up), or not at all (`commands: off`).
 *
 * An interaction must be acknowledged within 3 s, so `/reset` is deferred at once and its answer later replaces the
 * "thinking…" placeholder (`@original`); further chunks, if any, become channel messages with nonces.
 */
import { type ChatInputCommandInteraction, type Client, Routes } from "discord.js"
import { Effect } from "effect"
import type { PersonaDefinition } from "../../persona/Persona.ts"
import type { PlatformOps } from "../text/StreamingReply.ts"
import type { DiscordConfig } from "./DiscordConfig.ts"
import { discordText, localizations } from "./messages.ts"
import { type ChannelOpsInput, createChunk, editMessage, toDeliveryError } from "./outbound.ts"

/** Commands the conversation answers (through the router) and the one the adapter answers itself. */
export const conversationCommands: ReadonlySet<string> = new Set(["reset"])
export const adapterCommands: ReadonlySet<string> = new Set(["persona"])

const ChatInput = 1
/** Usable in guilds and in DMs with the bot. */
const contexts = [0, 1]

export const commandDefinitions = (persona: PersonaDefinition) =>
  (["reset", "persona"] as const).map((name) => {
    const key = name === "reset" ? "command_reset" : "command_persona"
    const clip = (text: string) => (text.length > 100 ? `${text.slice(0, 99)}…` : text)
    return {
      type: ChatInput,
      name,
      description: clip(discordText(persona, key, "en")),
      description_localizations: Object.fromEntries(
        Object.keys(localizations(key)).map((locale) => [locale, clip(discordText(persona, key, locale))])
      ),
      contexts
    }
  })

/** Register (bulk overwrite, idempotent) the commands where the config says; failures are logged, never fatal. */
export const registerCommands = (client: Client<true>, config: DiscordConfig, persona: PersonaDefinition) =>
  Effect.gen(function* () {
    if (config.commands === "off") return
    const body = commandDefinitions(persona)
    const appId = client.application.id
    const put = (route: `/${string}`, where: string) =>
      Effect.tryPromise({
        try: () => client.rest.put(route, { body }),
        catch: (cause) => toDeliveryError("discord", `register commands ${where}`, cause).reason
      }).pipe(
        Effect.zipRight(Effect.logInfo(`discord: slash commands registered ${where}`)),
        Effect.catchAll((reason) => Effect.logWarning(`discord: ${reason}`))
      )
    if (config.commands === "global") {
      yield* put(Routes.applicationCommands(appId), "globally")
      return
    }
    const guilds = config.devGuild === undefined ? [...client.guilds.cache.keys()] : [config.devGuild]
    if (guilds.length === 0) yield* Effect.logWarning("discord: commands: guild, but the bot is in no guild yet")
    for (const guildId of guilds) yield* put(Routes.applicationGuildCommands(appId, guildId), `in guild ${guildId}`)
  })

/** `/persona`: the persona's name and description, in the user's language. */
export const personaCard = (persona: PersonaDefinition, language: string | undefined) =>
  discordText(persona, "persona_card", language)

const noPingsOption = { parse: [], repliedUser: false }

/**
 * A reply to a deferred interaction: the first chunk replaces the "thinking…" placeholder (an idempotent edit of
 * `@original`), later chunks are channel messages with nonces, like any reply.
 */
export const interactionOps = (interaction: ChatInputCommandInteraction, channel: ChannelOpsInput): PlatformOps => {
  let originalId: string | undefined
  const editOriginal = (text: string) =>
    Effect.tryPromise({
      try: () => interaction.editReply({ content: text, allowedMentions: noPingsOption }),
      catch: (cause) => toDeliveryError(channel.channel, "edit interaction response", cause)
    }).pipe(
      Effect.map((message) => {
        originalId = message.id
        return message.id
      })
    )
  return {
    send: (text, chunk) => (chunk === 0 ? editOriginal(text) : createChunk(channel, text, chunk)),
    edit: (messageId, text) =>
      messageId === originalId ? Effect.asVoid(editOriginal(text)) : editMessage(channel, messageId, text),
    // The deferred response already shows "… is thinking".
    typing: () => Effect.void
  }
}
