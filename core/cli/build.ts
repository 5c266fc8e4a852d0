/**
 * The bundled runtime: the CLI (`core/troupe.ts`) built with `bun build --target=bun` into `dist/`: minified, and
 * precompiled to JavaScriptCore bytecode (`dist/troupe.js.jsc`, next to the script, picked up by Bun when it runs
 * `dist/troupe.js`). Starting from the bundle skips transpiling and resolving hundreds of modules, and the bytecode
 * skips parsing them: it is what makes `bun start` fast. Channel adapters stay lazy: a module reached only through
 * `import()` (discord.js, grammY, socket.io-client, the LLM SDKs) is evaluated when a persona first needs it.
 *
 * Bytecode without `bun build --compile` needs the CommonJS format, which has no code splitting and no top-level
 * `await`: keep `await` out of module top levels under `core/`.
 *
 * `dist/.fingerprint` records the sources it was built from (path, size and mtime of every file under `core/`, plus
 * `package.json` and `bun.lock`), so a changed source is never run from a stale bundle.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"

const listFiles = (dir: string, out: Array<string>) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) listFiles(path, out)
    else out.push(path)
  }
  return out
}

/** A cheap fingerprint of the sources (no file contents are read). */
export const sourcesFingerprint = (root: string): string => {
  const hash = new Bun.CryptoHasher("sha1")
  hash.update(`${Bun.version}\n`)
  for (const file of [
    ...listFiles(join(root, "core"), []),
    join(root, "package.json"),
    join(root, "bun.lock")
  ].sort()) {
    const stat = statSync(file, { throwIfNoEntry: false })
    if (stat) hash.update(`${relative(root, file)} ${stat.size} ${stat.mtimeMs}\n`)
  }
  return hash.digest("hex")
}

export const distDir = (root: string) => join(root, "dist")

/**
 * Build `dist/` (or `out`) from the sources; returns the entry file. The bundle is written to a folder of its own and
 * then moved into place, so two builds at once (two `bun start`s) never write into each other's files.
 */
export const buildDist = async (root: string, out = distDir(root)): Promise<string> => {
  const fingerprint = sourcesFingerprint(root)
  const building = `${out}.building-${process.pid}-${Date.now()}`
  try {
    const result = await Bun.build({
      entrypoints: [join(root, "core", "troupe.ts")],
      outdir: building,
      // Relative to `core/`, so the entry is `dist/troupe.js` and the web page `dist/web/page/index.html`.
      root: join(root, "core"),
      target: "bun",
      format: "cjs",
      bytecode: true,
      minify: true,
      throw: false
    })
    if (!result.success) {
      throw new AggregateError(result.logs, `bun build failed:\n${result.logs.map(String).join("\n")}`)
    }
    writeFileSync(join(building, ".fingerprint"), fingerprint)
    rmSync(out, { recursive: true, force: true })
    renameSync(building, out)
  } finally {
    rmSync(building, { recursive: true, force: true })
  }
  return join(out, "troupe.js")
}

/** The bundle's entry, rebuilt first when the sources changed since it was built. */
export const ensureDist = async (root: string): Promise<string> => {
  const entry = join(distDir(root), "troupe.js")
  const stamp = join(distDir(root), ".fingerprint")
  if (existsSync(entry) && existsSync(stamp) && readFileSync(stamp, "utf8") === sourcesFingerprint(root)) return entry
  process.stderr.write("troupe: building the runtime bundle (dist/) from the sources…\n")
  return buildDist(root)
}

/** `bun core/cli/build.ts` builds the bundle; with `--if-stale`, only when the sources changed. */
if (import.meta.main) {
  const root = join(import.meta.dir, "..", "..")
  if (process.argv.includes("--if-stale")) await ensureDist(root)
  else process.stdout.write(`built ${relative(root, await buildDist(root))}\n`)
}
