import { type ApiError, apiError, Errors, isApiError } from "./errors.ts"
import { type Ctx, createBotMessage, deleteMessage, editBotMessage } from "./messages.ts"
import {
  channelPayload,
  guildCreatePayload,
  memberPayload,
  messagePayload,
  rolePayload,
  userPayload
} from "./payloads.ts"
import { noContent, ok, type RestRequest, type RestResult, type Route } from "./rest.ts"
import { snowflake } from "./snowflake.ts"
import type { BotRecord, InteractionRecord, Json, RegisteredCommand, StoredMessage } from "./types.ts"

const body = (req: RestRequest): Json => (typeof req.body === "object" && req.body !== null ? (req.body as Json) : {})

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u

const fieldError = (path: Array<string | number>, code: string, message: string): ApiError => {
  let errors: Json = { _errors: [{ code, message }] }
  for (const key of [...path].reverse()) errors = { [String(key)]: errors }
  return apiError(400, 50035, "Invalid Form Body", errors)
}

/** Validates one command (or option) like Discord: names, lowercase chat-input names, descriptions, option count. */
const commandError = (command: Json, path: Array<string | number>, chatInput: boolean): ApiError | null => {
  const name = command.name
  if (typeof name !== "string" || !NAME.test(name))
    return fieldError([...path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
  if (chatInput && name !== name.toLowerCase())
    return fieldError([...path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
  const description = command.description ?? ""
  if (chatInput && (typeof description !== "string" || description.length < 1 || description.length > 100)) {
    return fieldError([...path, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
  }
  if (!chatInput && description !== "")
    return fieldError(
      [...path, "description"],
      "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
      "Context menu commands cannot have description"
    )
  const options = Array.isArray(command.options) ? (command.options as Json[]) : []
  if (options.length > 25)
    return fieldError([...path, "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
  for (const [i, option] of options.entries()) {
    const error = commandError(option, [...path, "options", i], true)
    if (error) return error
  }
  return null
}

const commandPayload = (command: RegisteredCommand): Json => ({
  ...command.raw,
  id: command.id,
  application_id: command.applicationId,
  ...(command.guildId ? { guild_id: command.guildId } : {}),
  version: command.id,
  type: command.type,
  name: command.name,
  description: command.description,
  options: command.options,
  name_localizations: command.raw.name_localizations ?? null,
  description_localizations: command.raw.description_localizations ?? null,
  default_member_permissions: command.raw.default_member_permissions ?? null,
  dm_permission: command.raw.dm_permission ?? true,
  contexts: command.raw.contexts ?? null,
  integration_types: command.raw.integration_types ?? [0],
  nsfw: command.raw.nsfw ?? false
})

/** Checks the app id and, for guild commands, that the bot is in the guild; returns the guild id (or null). */
const commandScope = (ctx: Ctx, req: RestRequest): string | null | ApiError => {
  if (req.params.app !== req.bot.applicationId) return Errors.missingAccess()
  const guildId = req.params.guild ?? null
  if (guildId === null) return null
  const guild = ctx.state.guilds.get(guildId)
  if (!guild) return Errors.unknownGuild()
  return ctx.state.isBotInGuild(req.bot.id, guild) ? guildId : Errors.missingAccess()
}

const register = (ctx: Ctx, bot: BotRecord, guildId: string | null, raw: Json): RegisteredCommand => {
  const type = typeof raw.type === "number" ? raw.type : 1
  const list = ctx.state.commands
  const index = list.findIndex(
    (c) => c.applicationId === bot.applicationId && c.guildId === guildId && c.name === raw.name && c.type === type
  )
  const command: RegisteredCommand = {
    id: list[index]?.id ?? snowflake(),
    applicationId: bot.applicationId,
    guildId,
    name: String(raw.name),
    description: typeof raw.description === "string" ? raw.description : "",
    type,
    options: Array.isArray(raw.options) ? (raw.options as Json[]) : [],
    raw
  }
  if (index >= 0) list[index] = command
  else list.push(command)
  return command
}

const scoped = (ctx: Ctx, appId: string, guildId: string | null): RegisteredCommand[] =>
  ctx.state.commands.filter((c) => c.applicationId === appId && c.guildId === guildId)

const commandRoutes = (pattern: string): Route[] => [
  {
    method: "GET",
    pattern,
    auth: true,
    handler: (ctx, req) => {
      const scope = commandScope(ctx, req)
      return isApiError(scope) ? scope : ok(scoped(ctx, req.bot.applicationId, scope).map(commandPayload))
    }
  },
  {
    method: "PUT",
    pattern,
    auth: true,
    handler: (ctx, req) => {
      const scope = commandScope(ctx, req)
      if (isApiError(scope)) return scope
      if (!Array.isArray(req.body)) return fieldError([], "BASE_TYPE_BAD_TYPE", "Must be an array.")
      const commands = req.body as Json[]
      const seen = new Set<string>()
      for (const [i, command] of commands.entries()) {
        const error = commandError(command, [i], (command.type ?? 1) === 1)
        if (error) return error
        const key = `${command.type ?? 1}:${command.name}`
        if (seen.has(key))
          return fieldError(
            [i, "name"],
            "APPLICATION_COMMANDS_DUPLICATE_NAME",
            "Application command names must be unique"
          )
        seen.add(key)
      }
      const kept = commands.map((raw) => register(ctx, req.bot, scope, raw))
      const all = ctx.state.commands
      for (let i = all.length - 1; i >= 0; i--) {
        const c = all[i]!
        if (c.applicationId === req.bot.applicationId && c.guildId === scope && !kept.includes(c)) all.splice(i, 1)
      }
      return ok(kept.map(commandPayload))
    }
  },
  {
    method: "POST",
    pattern,
    auth: true,
    handler: (ctx, req) => {
      const scope = commandScope(ctx, req)
      if (isApiError(scope)) return scope
      const raw = body(req)
      const error = commandError(raw, [], (raw.type ?? 1) === 1)
      return error ?? { status: 201, body: commandPayload(register(ctx, req.bot, scope, raw)) }
    }
  },
  {
    method: "DELETE",
    pattern: `${pattern}/:command`,
    auth: true,
    handler: (ctx, req) => {
      const scope = commandScope(ctx, req)
      if (isApiError(scope)) return scope
      const index = ctx.state.commands.findIndex(
        (c) => c.id === req.params.command && c.guildId === scope && c.applicationId === req.bot.applicationId
      )
      if (index < 0) return Errors.unknownCommand()
      ctx.state.commands.splice(index, 1)
      return noContent()
    }
  }
]

const interactionByToken = (ctx: Ctx, req: RestRequest): InteractionRecord | ApiError => {
  for (const interaction of ctx.state.interactions.values()) {
    if (interaction.token === req.params.token && interaction.applicationId === req.params.app) return interaction
  }
  return Errors.unknownWebhook()
}

const interactionMessage = (
  ctx: Ctx,
  interaction: InteractionRecord,
  id: string | undefined
): StoredMessage | ApiError => {
  const messageId = id === "@original" ? interaction.originalMessageId : id
  const message = messageId ? ctx.state.messages.get(messageId) : undefined
  if (!message || message.deleted || message.interactionId !== interaction.id) return Errors.unknownMessage()
  return message
}

const botOf = (ctx: Ctx, interaction: InteractionRecord): BotRecord => ctx.state.bots.get(interaction.botId)!

const respond = (
  ctx: Ctx,
  interaction: InteractionRecord,
  kind: "callback" | "edit-original" | "followup" | "delete-original",
  type: number | null,
  data: unknown
): void => {
  ctx.state.interactionResponses.push({
    interactionId: interaction.id,
    kind,
    type,
    data: (data as Json | null) ?? null,
    at: Date.now()
  })
}

const callback = (ctx: Ctx, req: RestRequest): RestResult => {
  const interaction = ctx.state.interactions.get(req.params.interaction ?? "")
  if (!interaction || interaction.token !== req.params.token) return Errors.unknownInteraction()
  if (interaction.acknowledged !== null) return Errors.alreadyAcknowledged()
  const b = body(req)
  const type = b.type
  if (type !== 4 && type !== 5 && type !== 9)
    return fieldError(["type"], "BASE_TYPE_CHOICES", "Value must be one of {4, 5, 9}.")
  const data = typeof b.data === "object" && b.data !== null ? (b.data as Json) : {}
  let message: StoredMessage | null = null
  if (type === 4 || type === 5) {
    const channel = ctx.state.requireChannel(interaction.channelId)
    const created = createBotMessage(ctx, {
      bot: botOf(ctx, interaction),
      channel,
      body: data,
      files: req.files,
      interactionId: interaction.id,
      loading: type === 5
    })
    if (isApiError(created)) return created
    message = created
    interaction.originalMessageId = created.id
    interaction.ephemeral = (created.flags & 64) !== 0
  }
  interaction.acknowledged = type
  respond(ctx, interaction, "callback", type, data)
  if (req.query.get("with_response") !== "true") return noContent()
  return ok({
    interaction: {
      id: interaction.id,
      type: 2,
      response_message_id: message?.id,
      response_message_loading: type === 5,
      response_message_ephemeral: interaction.ephemeral
    },
    resource: { type, ...(message ? { message: messagePayload(ctx.state, message, { gateway: false }) } : {}) }
  })
}

const webhookRoutes: Route[] = [
  { method: "POST", pattern: "/interactions/:interaction/:token/callback", auth: false, handler: callback },
  {
    method: "POST",
    pattern: "/webhooks/:app/:token",
    auth: false,
    handler: (ctx, req) => {
      const interaction = interactionByToken(ctx, req)
      if (isApiError(interaction)) return interaction
      if (interaction.acknowledged === null) return Errors.unknownWebhook()
      const original = interaction.originalMessageId ? ctx.state.messages.get(interaction.originalMessageId) : undefined
      // After a deferred response, the first follow-up replaces the "thinking…" placeholder.
      const message =
        original && (original.flags & 128) !== 0
          ? editBotMessage(ctx, original, body(req), req.files)
          : createBotMessage(ctx, {
              bot: botOf(ctx, interaction),
              channel: ctx.state.requireChannel(interaction.channelId),
              body: body(req),
              files: req.files,
              interactionId: interaction.id
            })
      if (isApiError(message)) return message
      if (message.id !== original?.id) interaction.followupIds.push(message.id)
      respond(ctx, interaction, "followup", null, req.body)
      return req.query.get("wait") === "true" ? ok(messagePayload(ctx.state, message, { gateway: false })) : noContent()
    }
  },
  ...(["GET", "PATCH", "DELETE"] as const).map(
    (method): Route => ({
      method,
      pattern: "/webhooks/:app/:token/messages/:message",
      auth: false,
      handler: (ctx, req) => {
        const interaction = interactionByToken(ctx, req)
        if (isApiError(interaction)) return interaction
        const message = interactionMessage(ctx, interaction, req.params.message)
        if (isApiError(message)) return message
        if (method === "GET") return ok(messagePayload(ctx.state, message, { gateway: false }))
        if (method === "DELETE") {
          deleteMessage(ctx, message)
          respond(ctx, interaction, "delete-original", null, null)
          return noContent()
        }
        const edited = editBotMessage(ctx, message, body(req), req.files)
        if (isApiError(edited)) return edited
        respond(ctx, interaction, "edit-original", null, req.body)
        return ok(messagePayload(ctx.state, edited, { gateway: false }))
      }
    })
  )
]

const guildRoute = (pattern: string, build: (ctx: Ctx, req: RestRequest, guildId: string) => RestResult): Route => ({
  method: "GET",
  pattern,
  auth: true,
  handler: (ctx, req) => {
    const guild = ctx.state.guilds.get(req.params.guild ?? "")
    if (!guild) return Errors.unknownGuild()
    return ctx.state.isBotInGuild(req.bot.id, guild) ? build(ctx, req, guild.id) : Errors.missingAccess()
  }
})

export const appRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/gateway/bot",
    auth: true,
    handler: (ctx) =>
      ok({
        url: `${ctx.baseUrl().replace(/^http/, "ws")}/gateway`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 }
      })
  },
  {
    method: "GET",
    pattern: "/gateway",
    auth: false,
    handler: (ctx) => ok({ url: `${ctx.baseUrl().replace(/^http/, "ws")}/gateway` })
  },
  ...["/applications/@me", "/oauth2/applications/@me"].map(
    (pattern): Route => ({
      method: "GET",
      pattern,
      auth: true,
      handler: (ctx, req) =>
        ok({
          id: req.bot.applicationId,
          name: req.bot.username,
          icon: null,
          description: "",
          bot_public: true,
          bot_require_code_grant: false,
          flags: 0,
          verify_key: "0".repeat(64),
          team: null,
          bot: userPayload(ctx.state.requireUser(req.bot.id))
        })
    })
  ),
  ...commandRoutes("/applications/:app/commands"),
  ...commandRoutes("/applications/:app/guilds/:guild/commands"),
  ...webhookRoutes,
  guildRoute("/guilds/:guild", (ctx, req, id) => {
    const {
      members: _m,
      channels: _c,
      threads: _t,
      presences: _p,
      voice_states: _v,
      ...guild
    } = guildCreatePayload(ctx.state, ctx.state.guilds.get(id)!, req.bot.id)
    return ok(guild)
  }),
  guildRoute("/guilds/:guild/channels", (ctx, _req, id) =>
    ok(ctx.state.guildChannels(id).map((ch) => channelPayload(ctx.state, ch)))
  ),
  guildRoute("/guilds/:guild/roles", (ctx, _req, id) => ok(ctx.state.guilds.get(id)!.roles.map(rolePayload))),
  guildRoute("/guilds/:guild/members/:user", (ctx, req, id) => {
    const member = ctx.state.member(ctx.state.guilds.get(id)!, req.params.user ?? "")
    return member ? ok(memberPayload(ctx.state, member, true)) : Errors.unknownMember()
  })
]
