import type { Ctx } from "./messages.ts"
import { channelPayload, memberPayload, userPayload } from "./payloads.ts"
import { snowflake } from "./snowflake.ts"
import { EVERYONE_PERMISSIONS } from "./state.ts"
import type { InteractionRecord, Json, RegisteredCommand } from "./types.ts"

export interface SlashCommandSpec {
  readonly botToken: string
  readonly name: string
  readonly userId: string
  readonly channelId: string
  /**
   * Option values by name (typed from the registered command's option definitions, else from the JS type), or the
   * raw `data.options` array.
   */
  readonly options?: Readonly<Record<string, string | number | boolean>> | ReadonlyArray<Json>
  /** Dispatch even when the bot never registered the command (Discord itself would not). */
  readonly allowUnregistered?: boolean
}

const optionType = (command: RegisteredCommand | undefined, name: string, value: string | number | boolean): number => {
  const declared = command?.options.find((o) => o.name === name)?.type
  if (typeof declared === "number") return declared
  if (typeof value === "boolean") return 5
  if (typeof value === "number") return Number.isInteger(value) ? 4 : 10
  return 3
}

/** Builds, records and dispatches an APPLICATION_COMMAND (type 2) INTERACTION_CREATE for a chat-input command. */
export const slashCommand = (ctx: Ctx, spec: SlashCommandSpec): InteractionRecord => {
  const { state } = ctx
  const bot = state.requireBotByToken(spec.botToken)
  const user = state.requireUser(spec.userId)
  const channel = state.requireChannel(spec.channelId)
  if (!state.canSee(bot.id, channel)) throw new Error(`fake discord: bot ${bot.id} cannot see channel ${channel.id}`)
  if (channel.dm && channel.dm.userId !== user.id)
    throw new Error(`fake discord: ${user.id} is not in DM ${channel.id}`)
  const guild = channel.guildId ? state.guilds.get(channel.guildId) : undefined
  const command =
    state.commands.find(
      (c) =>
        c.applicationId === bot.applicationId &&
        c.guildId === (guild?.id ?? null) &&
        c.name === spec.name &&
        c.type === 1
    ) ??
    state.commands.find(
      (c) => c.applicationId === bot.applicationId && c.guildId === null && c.name === spec.name && c.type === 1
    )
  if (!command && !spec.allowUnregistered) {
    throw new Error(`fake discord: /${spec.name} is not registered for application ${bot.applicationId}`)
  }
  const options = Array.isArray(spec.options)
    ? spec.options
    : Object.entries(spec.options ?? {}).map(([name, value]) => ({
        name,
        type: optionType(command, name, value),
        value
      }))
  const interaction: InteractionRecord = {
    id: snowflake(),
    token: `fake-interaction-token-${crypto.randomUUID()}`,
    botId: bot.id,
    applicationId: bot.applicationId,
    channelId: channel.id,
    guildId: guild?.id ?? null,
    userId: user.id,
    commandName: spec.name,
    acknowledged: null,
    originalMessageId: null,
    followupIds: [],
    ephemeral: false
  }
  state.interactions.set(interaction.id, interaction)
  const member = guild ? state.ensureMember(guild, user.id) : undefined
  const d: Json = {
    id: interaction.id,
    application_id: bot.applicationId,
    type: 2,
    token: interaction.token,
    version: 1,
    data: {
      id: command?.id ?? snowflake(),
      name: spec.name,
      type: 1,
      ...(options.length > 0 ? { options } : {}),
      ...(command?.guildId ? { guild_id: command.guildId } : {})
    },
    channel_id: channel.id,
    channel: channelPayload(state, channel),
    app_permissions: EVERYONE_PERMISSIONS,
    locale: "en-US",
    entitlements: [],
    authorizing_integration_owners: guild ? { "0": guild.id } : { "1": user.id },
    context: guild ? 0 : 1,
    attachment_size_limit: 10_485_760,
    ...(guild && member
      ? {
          guild_id: guild.id,
          guild: { id: guild.id, locale: "en-US", features: [] },
          guild_locale: "en-US",
          member: { ...memberPayload(state, member, true), permissions: EVERYONE_PERMISSIONS }
        }
      : { user: userPayload(user) })
  }
  ctx.gateway.dispatchToBot(bot.id, "INTERACTION_CREATE", () => d)
  return interaction
}
