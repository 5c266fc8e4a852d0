import { type ApiError, Errors, invalidForm, isApiError } from "./errors.ts"
import { type Ctx, createBotMessage, deleteMessage, editBotMessage } from "./messages.ts"
import { channelPayload, messagePayload, userPayload } from "./payloads.ts"
import { created, noContent, ok, type RestRequest, type RestResult, type Route } from "./rest.ts"
import { snowflake } from "./snowflake.ts"
import type { BotRecord, ChannelRecord, Json, StoredMessage } from "./types.ts"
import { ChannelKind, Intent, isThreadType } from "./types.ts"

const body = (req: RestRequest): Json => (typeof req.body === "object" && req.body !== null ? (req.body as Json) : {})

/** A channel the bot can see, or Discord's error for it (404 unknown, 403 missing access). */
export const visibleChannel = (ctx: Ctx, bot: BotRecord, id: string | undefined): ChannelRecord | ApiError => {
  const channel = id ? ctx.state.channels.get(id) : undefined
  if (!channel) return Errors.unknownChannel()
  return ctx.state.canSee(bot.id, channel) ? channel : Errors.missingAccess()
}

const channelMessage = (ctx: Ctx, channel: ChannelRecord, id: string | undefined): StoredMessage | ApiError => {
  const message = id ? ctx.state.messages.get(id) : undefined
  if (!message || message.deleted || message.channelId !== channel.id || (message.flags & 64) !== 0)
    return Errors.unknownMessage()
  return message
}

/** Tells the bots of a guild about a new thread (THREAD_CREATE, Guilds intent). */
export const announceThread = (ctx: Ctx, thread: ChannelRecord): void => {
  const d = { ...channelPayload(ctx.state, thread), newly_created: true }
  for (const botId of ctx.state.audience(thread)) {
    ctx.gateway.dispatchToBot(botId, "THREAD_CREATE", (session) => ((session.intents & Intent.Guilds) === 0 ? null : d))
  }
}

export const startThread = (
  ctx: Ctx,
  parent: ChannelRecord,
  spec: { id?: string; name: string; type?: number; ownerId: string }
): ChannelRecord => {
  const thread = ctx.state.addChannel({
    id: spec.id ?? snowflake(),
    type: spec.type ?? ChannelKind.PublicThread,
    name: spec.name,
    guildId: parent.guildId,
    parentId: parent.id,
    ownerId: spec.ownerId,
    topic: null,
    position: 0,
    dm: null
  })
  announceThread(ctx, thread)
  return thread
}

const listMessages = (ctx: Ctx, req: RestRequest): RestResult => {
  const channel = visibleChannel(ctx, req.bot, req.params.channel)
  if (isApiError(channel)) return channel
  const limit = Number(req.query.get("limit") ?? 50)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return invalidForm("limit", "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
  }
  const all = ctx.state.channelMessages(channel.id)
  const before = req.query.get("before")
  const after = req.query.get("after")
  const around = req.query.get("around")
  let picked: StoredMessage[]
  if (after) picked = all.filter((m) => BigInt(m.id) > BigInt(after)).slice(0, limit)
  else if (around) {
    const index = all.findIndex((m) => BigInt(m.id) >= BigInt(around))
    const start = Math.max(0, (index < 0 ? all.length : index) - Math.floor(limit / 2))
    picked = all.slice(start, start + limit)
  } else picked = (before ? all.filter((m) => BigInt(m.id) < BigInt(before)) : all).slice(-limit)
  return ok(picked.reverse().map((m) => messagePayload(ctx.state, m, { gateway: false })))
}

const withMessage =
  (
    handler: (ctx: Ctx, req: RestRequest, channel: ChannelRecord, message: StoredMessage) => RestResult
  ): Route["handler"] =>
  (ctx, req) => {
    const channel = visibleChannel(ctx, req.bot, req.params.channel)
    if (isApiError(channel)) return channel
    const message = channelMessage(ctx, channel, req.params.message)
    return isApiError(message) ? message : handler(ctx, req, channel, message)
  }

export const channelRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/channels/:channel",
    auth: true,
    handler: (ctx, req) => {
      const channel = visibleChannel(ctx, req.bot, req.params.channel)
      return isApiError(channel) ? channel : ok(channelPayload(ctx.state, channel))
    }
  },
  { method: "GET", pattern: "/channels/:channel/messages", auth: true, handler: listMessages },
  {
    method: "POST",
    pattern: "/channels/:channel/messages",
    auth: true,
    handler: (ctx, req) => {
      const channel = visibleChannel(ctx, req.bot, req.params.channel)
      if (isApiError(channel)) return channel
      const message = createBotMessage(ctx, { bot: req.bot, channel, body: body(req), files: req.files })
      return isApiError(message) ? message : ok(messagePayload(ctx.state, message, { gateway: false }))
    }
  },
  {
    method: "GET",
    pattern: "/channels/:channel/messages/:message",
    auth: true,
    handler: withMessage((ctx, _req, _channel, message) => ok(messagePayload(ctx.state, message, { gateway: false })))
  },
  {
    method: "PATCH",
    pattern: "/channels/:channel/messages/:message",
    auth: true,
    handler: withMessage((ctx, req, _channel, message) => {
      if (message.authorId !== req.bot.id || message.interactionId !== null) return Errors.notAuthor()
      const edited = editBotMessage(ctx, message, body(req), req.files)
      return isApiError(edited) ? edited : ok(messagePayload(ctx.state, edited, { gateway: false }))
    })
  },
  {
    method: "DELETE",
    pattern: "/channels/:channel/messages/:message",
    auth: true,
    handler: withMessage((ctx, req, channel, message) => {
      if (channel.dm && message.authorId !== req.bot.id)
        return {
          _tag: "ApiError",
          status: 403,
          body: { message: "Cannot execute action on a DM channel", code: 50003 }
        }
      deleteMessage(ctx, message)
      return noContent()
    })
  },
  {
    method: "POST",
    pattern: "/channels/:channel/typing",
    auth: true,
    handler: (ctx, req) => {
      const channel = visibleChannel(ctx, req.bot, req.params.channel)
      if (isApiError(channel)) return channel
      ctx.state.typing.push({ channelId: channel.id, botId: req.bot.id, at: Date.now() })
      return noContent()
    }
  },
  {
    method: "PUT",
    pattern: "/channels/:channel/messages/:message/reactions/:emoji/@me",
    auth: true,
    handler: withMessage((_ctx, req, _channel, message) => {
      const emoji = req.params.emoji!
      if (!message.reactions.some((r) => r.emoji === emoji && r.userId === req.bot.id))
        message.reactions.push({ emoji, userId: req.bot.id })
      return noContent()
    })
  },
  {
    method: "DELETE",
    pattern: "/channels/:channel/messages/:message/reactions/:emoji/@me",
    auth: true,
    handler: withMessage((_ctx, req, _channel, message) => {
      const index = message.reactions.findIndex((r) => r.emoji === req.params.emoji && r.userId === req.bot.id)
      if (index >= 0) message.reactions.splice(index, 1)
      return noContent()
    })
  },
  {
    method: "POST",
    pattern: "/channels/:channel/threads",
    auth: true,
    handler: (ctx, req) => {
      const parent = visibleChannel(ctx, req.bot, req.params.channel)
      if (isApiError(parent)) return parent
      if (parent.dm || isThreadType(parent.type))
        return {
          _tag: "ApiError",
          status: 400,
          body: { message: "Cannot execute action on this channel type", code: 50024 }
        }
      const b = body(req)
      if (typeof b.name !== "string" || b.name.length === 0 || b.name.length > 100)
        return invalidForm("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
      const type = typeof b.type === "number" ? b.type : ChannelKind.PrivateThread
      return created(channelPayload(ctx.state, startThread(ctx, parent, { name: b.name, type, ownerId: req.bot.id })))
    }
  },
  {
    method: "POST",
    pattern: "/channels/:channel/messages/:message/threads",
    auth: true,
    handler: withMessage((ctx, req, channel, message) => {
      if (channel.dm || isThreadType(channel.type))
        return {
          _tag: "ApiError",
          status: 400,
          body: { message: "Cannot execute action on this channel type", code: 50024 }
        }
      if (ctx.state.channels.has(message.id))
        return {
          _tag: "ApiError",
          status: 400,
          body: { message: "A thread has already been created for this message", code: 160004 }
        }
      const b = body(req)
      if (typeof b.name !== "string" || b.name.length === 0 || b.name.length > 100)
        return invalidForm("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
      // Discord gives a thread started from a message the message's id.
      return created(
        channelPayload(
          ctx.state,
          startThread(ctx, channel, {
            id: message.id,
            name: b.name,
            type: ChannelKind.PublicThread,
            ownerId: req.bot.id
          })
        )
      )
    })
  },
  {
    method: "POST",
    pattern: "/users/@me/channels",
    auth: true,
    handler: (ctx, req) => {
      const recipient = body(req).recipient_id
      const user = typeof recipient === "string" ? ctx.state.user(recipient) : undefined
      if (!user) return invalidForm("recipient_id", "USER_NOT_FOUND", "Unknown user")
      if (user.bot) return Errors.cannotDmBot()
      return ok(channelPayload(ctx.state, ctx.state.dmChannel(req.bot.id, user.id)))
    }
  },
  {
    method: "GET",
    pattern: "/users/:user",
    auth: true,
    handler: (ctx, req) => {
      const id = req.params.user === "@me" ? req.bot.id : req.params.user!
      const user = ctx.state.user(id)
      if (!user) return Errors.unknownUser()
      return ok(
        req.params.user === "@me" ? { ...userPayload(user), verified: true, mfa_enabled: false } : userPayload(user)
      )
    }
  }
]
