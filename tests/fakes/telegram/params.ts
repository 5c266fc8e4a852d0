import type { Transport, UploadedFile } from "./types.ts"

// The Bot API takes parameters as a query string, urlencoded or multipart form, or a JSON body. grammY sends JSON
// unless a payload holds an InputFile; then it streams multipart/form-data (chunked) in which every field is a
// string (objects JSON-encoded, numbers as digits) and each file is a part named by a random id that the
// parameter refers to as "attach://<id>". Form values are normalised here so handlers see JSON-like params.

const NUMBERS = new Set([
  "chat_id",
  "from_chat_id",
  "message_id",
  "message_thread_id",
  "reply_to_message_id",
  "user_id",
  "offset",
  "limit",
  "timeout",
  "max_connections"
])
const BOOLEANS = new Set([
  "drop_pending_updates",
  "disable_notification",
  "protect_content",
  "allow_sending_without_reply",
  "has_spoiler",
  "show_caption_above_media",
  "disable_content_type_detection",
  "disable_web_page_preview"
])

const normalise = (key: string, value: string): unknown => {
  if (NUMBERS.has(key) && /^-?\d+$/.test(value)) return Number(value)
  if (BOOLEANS.has(key)) return value === "true" || value === "1"
  if (value.startsWith("{") || value.startsWith("[")) {
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }
  return value
}

const fromEntries = (entries: Iterable<[string, string]>) => {
  const params: Record<string, unknown> = {}
  for (const [key, value] of entries) params[key] = normalise(key, value)
  return params
}

export type ReadResult =
  | { readonly ok: true; readonly params: Record<string, unknown>; readonly transport: Transport }
  | { readonly ok: false; readonly description: string }

/** Reads a Bot API request's parameters from wherever the client put them. */
export const readParams = async (req: Request, url: URL): Promise<ReadResult> => {
  const query = fromEntries(url.searchParams.entries())
  const type = (req.headers.get("content-type") ?? "").toLowerCase()
  if (req.method !== "POST" || type === "") {
    return { ok: true, params: query, transport: "query" }
  }
  if (type.startsWith("application/json")) {
    const body = await req.text()
    if (body.trim() === "") return { ok: true, params: query, transport: "json" }
    try {
      const parsed: unknown = JSON.parse(body)
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        return { ok: false, description: "Bad Request: JSON object expected" }
      }
      return { ok: true, params: { ...query, ...(parsed as Record<string, unknown>) }, transport: "json" }
    } catch {
      return { ok: false, description: "Bad Request: can't parse JSON" }
    }
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    const body = new URLSearchParams(await req.text())
    return { ok: true, params: { ...query, ...fromEntries(body.entries()) }, transport: "urlencoded" }
  }
  if (type.startsWith("multipart/form-data")) {
    let form: FormData
    try {
      form = await req.formData()
    } catch {
      return { ok: false, description: "Bad Request: can't parse multipart/form-data" }
    }
    const params: Record<string, unknown> = { ...query }
    const files = new Map<string, UploadedFile>()
    for (const [key, value] of form.entries() as Iterable<[string, string | Blob]>) {
      if (typeof value === "string") params[key] = normalise(key, value)
      else {
        files.set(key, {
          kind: "upload",
          name: (value as Blob & { name?: string }).name ?? "",
          type: value.type,
          bytes: new Uint8Array(await value.arrayBuffer())
        })
      }
    }
    const attached = new Set<string>()
    const attach = (value: unknown): unknown => {
      if (typeof value === "string" && value.startsWith("attach://")) {
        const id = value.slice(9)
        attached.add(id)
        return files.get(id) ?? value
      }
      if (Array.isArray(value)) return value.map(attach)
      if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, attach(v)]))
      }
      return value
    }
    for (const [key, value] of Object.entries(params)) params[key] = attach(value)
    // a file part may also be named after the parameter itself
    for (const [key, file] of files) if (!(key in params) && !attached.has(key)) params[key] = file
    return { ok: true, params, transport: "multipart" }
  }
  return { ok: true, params: query, transport: "query" }
}

/** Reads a parameter as an integer (JSON number or digit string). */
export const int = (value: unknown): number | undefined => {
  if (typeof value === "number" && Number.isInteger(value)) return value
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value)
  return undefined
}

export const str = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined

export const bool = (value: unknown): boolean => value === true || value === "true" || value === 1 || value === "1"

export const isUpload = (value: unknown): value is UploadedFile =>
  typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "upload"
