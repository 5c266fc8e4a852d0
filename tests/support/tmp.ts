import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

/** A temporary directory with files written into it; `cleanup()` removes it. */
export const tempDir = (files: Readonly<Record<string, string>> = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-"))
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  for (const [path, text] of Object.entries(files)) write(path, text)
  return { dir, path: (p: string) => join(dir, p), write, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
