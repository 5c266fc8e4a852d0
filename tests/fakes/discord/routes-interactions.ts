import { type ApiError, Errors, fieldError, isApiError } from "./errors.ts"
import { type Ctx, createBotMessage, deleteMessage, editBotMessage } from "./messages.ts"
import { messagePayload } from "./payloads.ts"
import { noContent, ok, type RestRequest, type RestResult, type Route } from "./rest.ts"
import type { BotRecord, InteractionRecord, Json, StoredMessage } from "./types.ts"

const body = (req: RestRequest): Json => (typeof req.body === "object" && req.body !== null ? (req.body as Json) : {})

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

/** The interaction callback and the interaction webhook (original response, follow-ups); no Authorization. */
export const interactionRoutes: Route[] = [
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
