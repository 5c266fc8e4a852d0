/**
 * Paths inside a workspace folder, checked so nothing leads out of it: no absolute paths, no `..`, and every symbolic
 * link on the way resolved and checked to stay inside (also for files that do not exist yet: their deepest existing
 * ancestor is checked, and the file itself is created without following a link).
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, writeSync } from "node:fs"
import { isAbsolute, join, relative, resolve, sep } from "node:path"

/** `<root>/<persona>`, created if missing, as a real path (no links). */
export const workspaceOf = (root: string, persona: string): string => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(persona) || persona.includes("..")) {
    throw new Error(`persona id '${persona}' cannot name a workspace folder`)
  }
  const dir = resolve(root, persona)
  mkdirSync(dir, { recursive: true })
  return realpathSync(dir)
}

export const isInside = (path: string, base: string): boolean => path === base || path.startsWith(base + sep)

export interface Resolved {
  /** Real path: inside the workspace, every link on the way already followed. */
  readonly path: string
  readonly exists: boolean
}

/** Resolve a path the model gave, refusing anything that leads outside `base` (itself a real path). */
export const resolveInside = (base: string, path: string): Resolved => {
  if (path.includes("\0")) throw new Error("the path contains a NUL character")
  if (isAbsolute(path) || /^[a-zA-Z]:[\\/]/.test(path) || path.startsWith("~")) {
    throw new Error(`'${path}' is an absolute path: use a path relative to the workspace, such as notes/todo.md`)
  }
  const segments = path.split(/[\\/]+/).filter((s) => s !== "" && s !== ".")
  if (segments.includes("..")) throw new Error(`'..' is not allowed in paths ('${path}')`)
  let current = base
  for (const [i, segment] of segments.entries()) {
    const next = join(current, segment)
    const stat = lstatSync(next, { throwIfNoEntry: false })
    if (!stat) return { path: join(current, ...segments.slice(i)), exists: false }
    if (stat.isSymbolicLink()) {
      let target: string
      try {
        target = realpathSync(next)
      } catch {
        throw new Error(`'${segments.slice(0, i + 1).join("/")}' is a broken symbolic link`)
      }
      if (!isInside(target, base)) {
        throw new Error(`'${segments.slice(0, i + 1).join("/")}' is a symbolic link that leads outside the workspace`)
      }
      current = target
    } else current = next
  }
  return { path: current, exists: true }
}

/** Create or replace (or append to) a file that `resolveInside` checked, never following a link at its name. */
export const writeInside = (resolved: Resolved, base: string, content: string, append: boolean): void => {
  const parent = resolve(resolved.path, "..")
  if (!resolved.exists) {
    mkdirSync(parent, { recursive: true })
    // A link could have been planted while the folders were made (by exec): check the parent once more.
    if (!isInside(realpathSync(parent), base)) throw new Error("the path leads outside the workspace")
  }
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (append ? constants.O_APPEND : constants.O_TRUNC)
  const fd = openSync(resolved.path, flags, 0o644)
  try {
    writeSync(fd, content)
  } finally {
    closeSync(fd)
  }
}

export interface Entry {
  /** Relative to the workspace, with `/`. */
  readonly path: string
  readonly kind: "file" | "dir" | "link" | "other"
  readonly size: number
}

/** Every entry under `dir` (links are listed, never followed), at most `limit`. */
export const walk = (base: string, dir: string, limit: number): { entries: Array<Entry>; complete: boolean } => {
  const entries: Array<Entry> = []
  const queue = [dir]
  while (queue.length > 0) {
    const current = queue.shift()!
    const names = readdirSync(current).sort()
    for (const name of names) {
      if (entries.length >= limit) return { entries, complete: false }
      const full = join(current, name)
      const stat = lstatSync(full, { throwIfNoEntry: false })
      if (!stat) continue
      const kind = stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "dir" : stat.isFile() ? "file" : "other"
      entries.push({ path: relative(base, full).split(sep).join("/"), kind, size: kind === "file" ? stat.size : 0 })
      if (kind === "dir") queue.push(full)
    }
  }
  return { entries, complete: true }
}
