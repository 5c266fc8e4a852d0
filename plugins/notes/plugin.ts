/**
 * `notes`: short notes the persona keeps about the person it talks to ("her birthday is 12 March"). The notes belong
 * to the persona and the user of the conversation: the host decides that from the conversation, never from the
 * arguments, so one user can never read another's notes — whatever the model puts in the arguments.
 *
 * config.yaml (`plugins: { notes: {...} }`):
 *   max_chars: 2000   # longest note text
 *
 * A copyable example of a plugin that uses a host service (`ctx.notes`).
 */
import { definePlugin, defineTool, type Note, Schema } from "troupe/sdk"

const Config = Schema.Struct({
  max_chars: Schema.optionalWith(Schema.Int.pipe(Schema.between(10, 64 * 1024)), { default: () => 2000 })
})
type Config = typeof Config.Type

const day = (at: number | undefined) => (at ? new Date(at).toISOString().slice(0, 10) : "")
const line = (note: Note) => `- ${note.key}: ${note.text}${note.updatedAt ? ` (${day(note.updatedAt)})` : ""}`

const need = <A>(value: A | undefined, what: string, action: string): A => {
  if (value === undefined || value === "") throw new Error(`${action} needs '${what}'`)
  return value
}

export default definePlugin({
  name: "notes",
  version: "1.0.0",
  description: "Short notes about the user, kept per persona and user",
  config: Config,
  tools: [
    defineTool({
      name: "notes",
      description:
        "Remember things about the user you are talking to, across conversations. Actions: save (key + text; " +
        "replaces a note with the same key), get (key), search (query), list, delete (key). Keys are short names " +
        "such as 'birthday' or 'favourite_book'.",
      parameters: Schema.Struct({
        action: Schema.Literal("save", "get", "search", "list", "delete"),
        key: Schema.optional(Schema.String.pipe(Schema.maxLength(200)).annotations({ description: "the note's name" })),
        text: Schema.optional(Schema.String.annotations({ description: "save: the note" })),
        query: Schema.optional(Schema.String.annotations({ description: "search: words in the key or text" })),
        limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 100)))
      }),
      run: async ({ action, key, text, query, limit }, ctx) => {
        const config = ctx.config as Config
        switch (action) {
          case "save": {
            const name = need(key?.trim(), "key", "save")
            const body = need(text, "text", "save")
            if (body.length > config.max_chars) {
              throw new Error(`the note is too long (${body.length} characters; the limit is ${config.max_chars})`)
            }
            await ctx.notes.save(name, body)
            return `saved note "${name}"`
          }
          case "get": {
            const name = need(key?.trim(), "key", "get")
            const note = await ctx.notes.get(name)
            return note ? `${note.key}: ${note.text}` : `no note called "${name}"`
          }
          case "search": {
            const words = need(query?.trim(), "query", "search")
            const found = await ctx.notes.search(words, limit ?? 20)
            return found.length > 0 ? found.map(line).join("\n") : `no notes match "${words}"`
          }
          case "list": {
            const all = await ctx.notes.list(limit ?? 50)
            return all.length > 0 ? all.map(line).join("\n") : "no notes yet"
          }
          case "delete": {
            const name = need(key?.trim(), "key", "delete")
            return (await ctx.notes.delete(name)) ? `deleted note "${name}"` : `no note called "${name}"`
          }
        }
      }
    })
  ]
})
