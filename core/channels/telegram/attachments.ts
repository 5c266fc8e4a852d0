/**
 * Photos and documents of a Telegram message as `Attachment`s. Images are downloaded (getFile + the file URL) and
 * passed as base64 only when the persona's model can see them; otherwise, and for other files, the attachment says
 * what was sent without its content. The file URL contains the bot token, so it never leaves this module.
 */
import { Effect } from "effect"
import type { Message } from "grammy/types"
import type { Attachment } from "../../events/Events.ts"
import type { TelegramApi } from "./TelegramApi.ts"

/** A file a message carries, before download. */
export interface FileRef {
  readonly kind: Attachment["kind"]
  readonly fileId: string
  readonly mime: string
  readonly name?: string
  readonly size?: number
}

export const fileRefsOf = (message: Message): ReadonlyArray<FileRef> => {
  const refs: Array<FileRef> = []
  // Telegram sends a photo in several sizes, smallest first.
  const photo = message.photo?.at(-1)
  if (photo) {
    refs.push({
      kind: "image",
      fileId: photo.file_id,
      mime: "image/jpeg",
      ...(photo.file_size === undefined ? {} : { size: photo.file_size })
    })
  }
  const document = message.document
  if (document) {
    const mime = document.mime_type ?? "application/octet-stream"
    refs.push({
      kind: mime.startsWith("image/") ? "image" : "file",
      fileId: document.file_id,
      mime,
      ...(document.file_name === undefined ? {} : { name: document.file_name }),
      ...(document.file_size === undefined ? {} : { size: document.file_size })
    })
  }
  return refs
}

export interface LoadOptions {
  /** The persona's model takes images. */
  readonly vision: boolean
  /** Larger images are not downloaded. */
  readonly maxBytes: number
  readonly timeoutMs: number
}

const describe = (ref: FileRef): Attachment => ({
  kind: ref.kind,
  mime: ref.mime,
  ...(ref.name === undefined ? {} : { name: ref.name }),
  ...(ref.size === undefined ? {} : { size: ref.size })
})

/** The attachments, and whether the model will see any of them. */
export const loadAttachments = (
  api: TelegramApi,
  refs: ReadonlyArray<FileRef>,
  options: LoadOptions
): Effect.Effect<{ readonly attachments: ReadonlyArray<Attachment>; readonly visible: boolean }> =>
  Effect.gen(function* () {
    const attachments: Array<Attachment> = []
    let visible = false
    for (const ref of refs) {
      const wanted = options.vision && ref.kind === "image" && (ref.size ?? 0) <= options.maxBytes
      if (!wanted) {
        attachments.push(describe(ref))
        continue
      }
      const loaded = yield* Effect.either(
        Effect.gen(function* () {
          const file = yield* api.call("getFile", (raw, signal) => raw.getFile(ref.fileId, signal), {
            idempotent: true,
            timeoutMs: options.timeoutMs
          })
          if (!file.file_path) return undefined
          if ((file.file_size ?? 0) > options.maxBytes) return undefined
          return yield* api.download(file.file_path, options.timeoutMs)
        })
      )
      if (loaded._tag === "Left" || loaded.right === undefined || loaded.right.length > options.maxBytes) {
        if (loaded._tag === "Left")
          yield* Effect.logWarning(`telegram: could not download an image: ${loaded.left.reason}`)
        attachments.push(describe(ref))
        continue
      }
      attachments.push({
        ...describe(ref),
        size: loaded.right.length,
        data: Buffer.from(loaded.right).toString("base64")
      })
      visible = true
    }
    return { attachments, visible }
  })
