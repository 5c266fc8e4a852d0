/**
 * `workspace`: a folder of files per persona (`<root>/<persona>/`) the model can read, write, list and search —
 * drafts, lists, small data files; the `exec` tool runs commands in the same folder.
 *
 * Off by default, behind two switches: the persona lists `workspace` in `tools:`, and config.yaml enables it:
 *
 *   plugins:
 *     workspace:
 *       enabled: true
 *       root: data/workspaces          # relative to where Troupe runs
 *       max_file_bytes: 1048576        # per file
 *       max_workspace_bytes: 52428800  # all files of one persona
 *
 * Paths are relative to the workspace. Absolute paths, `..`, and symbolic links that lead outside are refused.
 */
import { lstatSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { definePlugin, defineTool, Schema } from "troupe/sdk"
import { type Entry, isInside, resolveInside, walk, workspaceOf, writeInside } from "./files.ts"

const Config = Schema.Struct({
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  root: Schema.optionalWith(Schema.String, { default: () => "data/workspaces" }),
  max_file_bytes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 1024 * 1024 }),
  max_workspace_bytes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 50 * 1024 * 1024 }),
  max_read_chars: Schema.optionalWith(Schema.Int.pipe(Schema.between(100, 1_000_000)), { default: () => 12_000 })
})
type Config = typeof Config.Type

/** Entries walked at most when listing, searching or adding up the workspace size. */
const walkLimit = 20_000

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

const isBinary = (bytes: Uint8Array) => bytes.subarray(0, 8192).includes(0)

const show = (entry: Entry) =>
  entry.kind === "dir"
    ? `${entry.path}/`
    : entry.kind === "link"
      ? `${entry.path}@`
      : `${entry.path} (${size(entry.size)})`

export default definePlugin({
  name: "workspace",
  version: "1.0.0",
  description: "Read, write, list and search files in the persona's workspace folder (off unless enabled)",
  config: Config,
  enabled: (config) => config.enabled,
  tools: [
    defineTool({
      name: "workspace",
      description:
        "Files in your private workspace folder. Actions: read (path), write (path + content; append: true adds to " +
        "the end), list (path of a folder, default the whole workspace), search (query, optionally under path), " +
        "delete (path). Paths are relative, like notes/todo.md.",
      parameters: Schema.Struct({
        action: Schema.Literal("read", "write", "list", "search", "delete"),
        path: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
        content: Schema.optional(Schema.String),
        append: Schema.optional(Schema.Boolean),
        query: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
        offset: Schema.optional(
          Schema.Int.pipe(Schema.nonNegative()).annotations({ description: "read: start at this character" })
        )
      }),
      run: ({ action, path, content, append, query, offset }, ctx) => {
        const config = ctx.config as Config
        const base = workspaceOf(config.root, ctx.persona)
        const target = resolveInside(base, path ?? ".")
        const shown = path ?? "."
        switch (action) {
          case "read": {
            if (!target.exists) throw new Error(`no file '${shown}'`)
            const stat = statSync(target.path)
            if (!stat.isFile()) throw new Error(`'${shown}' is not a file`)
            if (stat.size > config.max_file_bytes)
              throw new Error(`'${shown}' is too large to read (${size(stat.size)})`)
            const bytes = readFileSync(target.path)
            if (isBinary(bytes)) throw new Error(`'${shown}' is a binary file (${size(stat.size)})`)
            const text = bytes.toString("utf8")
            const start = offset ?? 0
            const part = text.slice(start, start + config.max_read_chars)
            const rest = text.length - start - part.length
            return rest > 0
              ? `${part}\n… [${rest} more characters; read again with offset ${start + part.length}]`
              : part
          }
          case "write": {
            if (path === undefined || content === undefined) throw new Error("write needs 'path' and 'content'")
            if (target.exists && !lstatSync(target.path).isFile()) throw new Error(`'${shown}' is not a file`)
            const old = target.exists ? statSync(target.path).size : 0
            const bytes = Buffer.byteLength(content)
            const after = append ? old + bytes : bytes
            if (after > config.max_file_bytes) {
              throw new Error(`the file would be ${size(after)}; the limit per file is ${size(config.max_file_bytes)}`)
            }
            const { entries, complete } = walk(base, base, walkLimit)
            if (!complete) throw new Error(`the workspace has more than ${walkLimit} entries; delete some first`)
            const total = entries.reduce((sum, entry) => sum + entry.size, 0) - old + after
            if (total > config.max_workspace_bytes) {
              throw new Error(
                `the workspace would hold ${size(total)}; its limit is ${size(config.max_workspace_bytes)}`
              )
            }
            writeInside(target, base, content, append ?? false)
            return `${append ? "appended to" : "wrote"} ${shown} (${size(after)})`
          }
          case "list": {
            if (!target.exists) throw new Error(`no folder '${shown}'`)
            if (!statSync(target.path).isDirectory()) throw new Error(`'${shown}' is not a folder`)
            const { entries, complete } = walk(base, target.path, 500)
            if (entries.length === 0) return `'${shown}' is empty`
            return entries.map(show).join("\n") + (complete ? "" : "\n… (more entries not shown)")
          }
          case "search": {
            if (query === undefined) throw new Error("search needs 'query'")
            if (!target.exists) throw new Error(`no folder '${shown}'`)
            const needle = query.toLowerCase()
            const hits: Array<string> = []
            for (const entry of walk(base, target.path, walkLimit).entries) {
              if (hits.length >= 50) break
              if (entry.path.toLowerCase().includes(needle)) hits.push(`${entry.path}: (name matches)`)
              if (entry.kind !== "file" || entry.size > config.max_file_bytes) continue
              // Walked entries are real files inside the workspace (links are listed, never followed).
              const bytes = readFileSync(join(base, entry.path))
              if (isBinary(bytes)) continue
              for (const [i, line] of bytes.toString("utf8").split("\n").entries()) {
                if (hits.length >= 50) break
                if (line.toLowerCase().includes(needle))
                  hits.push(`${entry.path}:${i + 1}: ${line.trim().slice(0, 200)}`)
              }
            }
            return hits.length > 0 ? hits.join("\n") : `nothing matches '${query}'`
          }
          case "delete": {
            if (path === undefined || target.path === base) throw new Error("delete needs the 'path' of a file")
            if (!target.exists) throw new Error(`no file '${shown}'`)
            // Delete the entry the model named (a link itself, not what it points to).
            const parent = resolveInside(base, dirname(path))
            const entry = join(parent.path, basename(path))
            if (!isInside(entry, base) || entry === base) throw new Error("the path leads outside the workspace")
            if (lstatSync(entry).isDirectory()) {
              if (readdirSync(entry).length > 0) throw new Error(`'${shown}' is a folder that is not empty`)
              rmdirSync(entry)
            } else unlinkSync(entry)
            return `deleted ${shown}`
          }
        }
      }
    })
  ]
})
