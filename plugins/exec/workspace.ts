/** The persona's workspace folder, `<root>/<persona>`, created if missing (the same folder the `workspace` tool uses). */
import { mkdirSync, realpathSync } from "node:fs"
import { resolve } from "node:path"

export const workspaceOf = (root: string, persona: string): string => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(persona) || persona.includes("..")) {
    throw new Error(`persona id '${persona}' cannot name a workspace folder`)
  }
  const dir = resolve(root, persona)
  mkdirSync(dir, { recursive: true })
  return realpathSync(dir)
}
