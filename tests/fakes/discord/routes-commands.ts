import { type ApiError, Errors, fieldError, isApiError } from "./errors.ts"
import type { Ctx } from "./messages.ts"
import { noContent, ok, type RestRequest, type Route } from "./rest.ts"
import { snowflake } from "./snowflake.ts"
import type { BotRecord, Json, RegisteredCommand } from "./types.ts"

const body = (req: RestRequest): Json => (typeof req.body === "object" && req.body !== null ? (req.body as Json) : {})

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u

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

/** GET / PUT (bulk overwrite) / POST / DELETE for global or guild application commands under `pattern`. */
export const commandRoutes = (pattern: string): Route[] => [
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
