import { Database } from "bun:sqlite"
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../support/tmp.ts"

const root = join(import.meta.dir, "..", "..")
const cli = join(root, "core", "cli", "main.ts")
const dirs: Array<ReturnType<typeof tempDir>> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})

/** A project folder that can import `troupe/sdk` and `effect` (its node_modules points at ours). */
const project = (files: Record<string, string>) => {
  const dir = tempDir(files)
  dirs.push(dir)
  symlinkSync(join(root, "node_modules"), dir.path("node_modules"))
  dir.write("package.json", JSON.stringify({ name: "troupe-project", private: true }))
  return dir
}

const troupe = async (cwd: string, ...args: Array<string>) => {
  const child = Bun.spawn(["bun", cli, ...args], { cwd, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ])
  return { stdout, stderr, code }
}

describe("troupe CLI", () => {
  test("check passes a sound project and exits 1 naming the file, line and field of a broken persona", async () => {
    const dir = project({
      "config.yaml": "providers: {}\n",
      "personalities/good/persona.yaml": "display_name: Good\nmodel: { provider: echo }\n",
      "personalities/bad/persona.yaml": "display_name: Bad\nmodel:\n  provder: echo\n"
    })
    const broken = await troupe(dir.dir, "check")
    expect(broken.code).toBe(1)
    expect(broken.stdout).toContain("persona good")
    expect(broken.stdout).toContain(
      'personalities/bad/persona.yaml:3: model.provder: unknown key (did you mean "provider"?)'
    )
    dir.write("personalities/bad/persona.yaml", "display_name: Bad\nmodel:\n  provider: echo\n")
    const fixed = await troupe(dir.dir, "check")
    expect(fixed.code).toBe(0)
    expect(fixed.stdout).toContain("persona bad")
  }, 30_000)

  test("a broken config.yaml is refused with every problem and its line, before anything starts", async () => {
    const dir = project({ "config.yaml": "http:\n  port: nope\nlogg: {}\n" })
    const result = await troupe(dir.dir, "start")
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("config.yaml: 2 problems")
    expect(result.stderr).toContain("config.yaml:2:9 http.port: expected a number")
    expect(result.stderr).toContain('config.yaml:3:1 logg: unknown key (did you mean "log"?)')
  }, 30_000)

  test("new persona and new plugin scaffold folders that load at once", async () => {
    const dir = project({ "config.yaml": "providers: {}\n" })
    expect((await troupe(dir.dir, "new", "persona", "helper")).code).toBe(0)
    expect((await troupe(dir.dir, "new", "plugin", "repeat")).code).toBe(0)
    expect(existsSync(dir.path("personalities/helper/system.md"))).toBe(true)
    const again = await troupe(dir.dir, "new", "persona", "helper")
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("already exists")
    expect((await troupe(dir.dir, "new", "persona", "Bad Name!")).stderr).toContain("not a valid persona name")
    const check = await troupe(dir.dir, "check")
    expect(check.code).toBe(0)
    expect(check.stdout).toContain("plugin repeat 0.1.0: repeat")
    expect(check.stdout).toContain("persona helper")
  }, 30_000)

  test("check says which tools a persona lists but config.yaml switches off", async () => {
    const gated = `import { definePlugin, defineTool, Schema } from "troupe/sdk"
export default definePlugin({
  name: "gated",
  version: "1.0.0",
  config: Schema.Struct({ enabled: Schema.optionalWith(Schema.Boolean, { default: () => false }) }),
  enabled: (config) => config.enabled,
  tools: [defineTool({ name: "gate", description: "A gate", parameters: Schema.Struct({}), run: () => "open" })]
})
`
    const dir = project({
      "config.yaml": "providers: {}\n",
      "plugins/gated/plugin.ts": gated,
      "personalities/keeper/persona.yaml": "display_name: Keeper\nmodel: { provider: echo }\ntools: [gate]\n"
    })
    const off = await troupe(dir.dir, "check")
    expect(off.code).toBe(0)
    expect(off.stdout).toContain("plugin gated 1.0.0: gate (switched off in config.yaml)")
    expect(off.stdout).toContain("tools switched off in config.yaml, not offered: gate (plugins.gated)")
    dir.write("config.yaml", "providers: {}\nplugins: { gated: { enabled: true } }\n")
    const on = await troupe(dir.dir, "check")
    expect(on.stdout).toContain("plugin gated 1.0.0: gate\n")
    expect(on.stdout).not.toContain("switched off")
  }, 30_000)

  test("SIGTERM shuts down gracefully: exit 0, the store flushed", async () => {
    const dir = project({
      "config.yaml": "providers: {}\nhttp: { port: 0 }\n",
      "personalities/sage/persona.yaml": "display_name: Sage\nmodel: { provider: echo }\n"
    })
    const child = Bun.spawn(["bun", cli, "chat", "sage"], {
      cwd: dir.dir,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe"
    })
    child.stdin.write("remember this\n")
    child.stdin.flush()
    const reader = child.stdout.getReader()
    let out = ""
    while (!out.includes("[echo] remember this")) {
      const { value, done } = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    child.kill("SIGTERM")
    expect(await child.exited).toBe(0)
    const db = new Database(dir.path("data/troupe.db"), { readonly: true })
    const rows = db.query("SELECT role, content FROM messages ORDER BY id").all()
    db.close()
    expect(rows).toEqual([
      { role: "user", content: "remember this" },
      { role: "assistant", content: "[echo] remember this" }
    ])
  }, 30_000)
})
