/**
 * The Worker bootstrap, prebuilt. Starting a Worker from `worker.ts` makes it resolve and evaluate Effect's module
 * graph from `node_modules` again (~150 ms on a small machine); one bundled file with its bytecode starts in a
 * fraction of that.
 *
 * The bundle is kept in the temp folder under a hash of everything it is built from (these sources, Effect's version,
 * Bun's revision), so it is built once per machine and version rather than once per process, and a changed source
 * never meets a stale bundle. When the build fails (or `TROUPE_WORKER_BUNDLE=0`), Workers start from the source.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

/**
 * The project folder: found from this module's location, which is `core/plugins/internal/` when running from source
 * and `dist/` when running the bundled runtime (`bun start`).
 */
const projectRoot = (() => {
  let dir = fileURLToPath(new URL(".", import.meta.url))
  for (;;) {
    if (existsSync(join(dir, "core", "plugins", "worker.ts"))) return dir
    const parent = dirname(dir)
    if (parent === dir) return fileURLToPath(new URL("../../..", import.meta.url))
    dir = parent
  }
})()
const source = join(projectRoot, "core", "plugins", "worker.ts")
const folders = [join(projectRoot, "core", "plugins"), join(projectRoot, "core", "plugins", "internal")]

const fingerprint = (): string => {
  const hash = new Bun.CryptoHasher("sha256")
  hash.update(`${Bun.version} ${Bun.revision}`)
  const effectPackage = createRequire(source).resolve("effect/package.json")
  hash.update(readFileSync(effectPackage))
  for (const folder of folders) {
    for (const name of readdirSync(folder)
      .filter((file) => file.endsWith(".ts"))
      .sort()) {
      hash.update(name)
      hash.update(readFileSync(join(folder, name)))
    }
  }
  return hash.digest("hex").slice(0, 16)
}

/** Only a folder this user owns and nobody else may write is trusted (the temp folder is shared). */
const trusted = (dir: string) => {
  const stat = statSync(dir, { throwIfNoEntry: false })
  return stat !== undefined && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0
}

const build = async (): Promise<string> => {
  if (process.env.TROUPE_WORKER_BUNDLE === "0") return source
  try {
    const dir = join(tmpdir(), `troupe-worker-${fingerprint()}`)
    const entry = join(dir, "worker.js")
    if (existsSync(entry) && trusted(dir)) return entry
    const staging = mkdtempSync(join(tmpdir(), "troupe-worker-build-"))
    const result = await Bun.build({
      entrypoints: [source],
      outdir: staging,
      target: "bun",
      format: "cjs",
      bytecode: true,
      throw: false
    })
    if (!result.success) {
      rmSync(staging, { recursive: true, force: true })
      throw new Error(result.logs.map(String).join("\n"))
    }
    try {
      renameSync(staging, dir)
    } catch {
      // Another process finished the same build first (use its copy), or the name is taken by a folder we do not
      // trust (keep ours, private to this run).
      if (trusted(dir) && existsSync(entry)) rmSync(staging, { recursive: true, force: true })
      else return join(staging, "worker.js")
    }
    return entry
  } catch (error) {
    console.warn(`troupe: plugin workers start from source (bundling failed: ${(error as Error).message})`)
    return source
  }
}

let entry: Promise<string> | undefined

/** Path of the script a plugin Worker starts from. */
export const workerEntry: Effect.Effect<string> = Effect.promise(() => {
  entry ??= build()
  return entry
})
