import type { Json } from "./types.ts"

/** An error answer in Discord's shape: `{ message, code, errors? }` with its HTTP status. */
export interface ApiError {
  readonly _tag: "ApiError"
  readonly status: number
  readonly body: Json
}

export const apiError = (status: number, code: number, message: string, errors?: Json): ApiError => ({
  _tag: "ApiError",
  status,
  body: errors ? { message, code, errors } : { message, code }
})

export const isApiError = (value: unknown): value is ApiError =>
  typeof value === "object" && value !== null && (value as { _tag?: unknown })._tag === "ApiError"

/** 400 Invalid Form Body (50035) for one field. */
export const invalidForm = (field: string, code: string, message: string): ApiError =>
  fieldError([field], code, message)

/** 400 Invalid Form Body (50035) with the error nested under a field path (e.g. `[0, "name"]`). */
export const fieldError = (path: Array<string | number>, code: string, message: string): ApiError => {
  let errors: Json = { _errors: [{ code, message }] }
  for (const key of [...path].reverse()) errors = { [String(key)]: errors }
  return apiError(400, 50035, "Invalid Form Body", errors)
}

export const Errors = {
  unauthorized: () => apiError(401, 0, "401: Unauthorized"),
  notFound: () => apiError(404, 0, "404: Not Found"),
  unknownChannel: () => apiError(404, 10003, "Unknown Channel"),
  unknownGuild: () => apiError(404, 10004, "Unknown Guild"),
  unknownMember: () => apiError(404, 10007, "Unknown Member"),
  unknownMessage: () => apiError(404, 10008, "Unknown Message"),
  unknownUser: () => apiError(404, 10013, "Unknown User"),
  unknownWebhook: () => apiError(404, 10015, "Unknown Webhook"),
  unknownCommand: () => apiError(404, 10063, "Unknown application command"),
  unknownInteraction: () => apiError(404, 10062, "Unknown interaction"),
  missingAccess: () => apiError(403, 50001, "Missing Access"),
  notAuthor: () => apiError(403, 50005, "Cannot edit a message authored by another user"),
  emptyMessage: () => apiError(400, 50006, "Cannot send an empty message"),
  cannotDmBot: () => apiError(400, 50007, "Cannot send messages to this user"),
  alreadyAcknowledged: () => apiError(400, 40060, "Interaction has already been acknowledged."),
  badJson: () => apiError(400, 50109, "The request body contains invalid JSON.")
}
