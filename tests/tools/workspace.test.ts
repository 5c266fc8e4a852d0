import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { Tools } from "../../core/tools/Tools.ts"
import { tempDir } from "../support/tmp.ts"
import { callTool, context, sharedBuiltins } from "./support.ts"

const root = tempDir()
const outside = tempDir({ "secret.txt": "top secret" })
afterAll(() => {
  root.cleanup()
  outside.cleanup()
})

const personas = {
  "sage/persona.yaml": "model: { provider: echo }\ntools: [workspace, exec]\n",
  "plain/persona.yaml": "model: { provider: echo }\ntools: [calculator]\n"
}
const host = sharedBuiltins({
  config: { workspace: { enabled: true, root: root.dir, max_file_bytes: 1000, max_workspace_bytes: 2500 } },
  personalities: personas
})
// The same, with the config switch off.
const off = sharedBuiltins({ personalities: personas })

const sage = context({ persona: "sage" })
const ws = (args: Record<string, unknown>, ctx = sage) => host.run(callTool("workspace", args, ctx))
const dir = join(root.dir, "sage")

describe("workspace", () => {
  test("write, read, append, list, search and delete inside the persona's folder", async () => {
    expect(await ws({ action: "write", path: "notes/todo.md", content: "- buy milk\n- call Bob\n" })).toMatchObject({
      ok: true,
      content: "wrote notes/todo.md (22 B)"
    })
    expect(readFileSync(join(dir, "notes/todo.md"), "utf8")).toBe("- buy milk\n- call Bob\n")
    expect(
      await ws({ action: "write", path: "notes/todo.md", content: "- water plants\n", append: true })
    ).toMatchObject({
      content: "appended to notes/todo.md (37 B)"
    })
    expect(await ws({ action: "read", path: "notes/todo.md" })).toMatchObject({
      ok: true,
      content: "- buy milk\n- call Bob\n- water plants\n"
    })
    expect(await ws({ action: "write", path: "draft.txt", content: "Dear Bob," })).toMatchObject({ ok: true })
    expect(await ws({ action: "list" })).toMatchObject({ content: "draft.txt (9 B)\nnotes/\nnotes/todo.md (37 B)" })
    expect(await ws({ action: "search", query: "BOB" })).toMatchObject({
      content: "draft.txt:1: Dear Bob,\nnotes/todo.md:2: - call Bob"
    })
    expect(await ws({ action: "delete", path: "draft.txt" })).toMatchObject({ content: "deleted draft.txt" })
    expect(await ws({ action: "read", path: "draft.txt" })).toMatchObject({ ok: false, content: "no file 'draft.txt'" })
    expect(await ws({ action: "delete", path: "notes" })).toMatchObject({
      ok: false,
      content: "'notes' is a folder that is not empty"
    })
  })

  test("'..', absolute paths and links that lead outside are refused", async () => {
    mkdirSync(dir, { recursive: true })
    symlinkSync(join(outside.dir, "secret.txt"), join(dir, "secret-link"))
    symlinkSync(outside.dir, join(dir, "outside-dir"))
    mkdirSync(join(dir, "inside"), { recursive: true })
    writeFileSync(join(dir, "inside/file.txt"), "inside")
    symlinkSync("inside", join(dir, "alias"))
    const refused = async (args: Record<string, unknown>, message: string) =>
      expect(await ws(args)).toMatchObject({ ok: false, content: message })
    await refused({ action: "read", path: "../plain/x" }, "'..' is not allowed in paths ('../plain/x')")
    await refused(
      { action: "read", path: "notes/../../secret.txt" },
      "'..' is not allowed in paths ('notes/../../secret.txt')"
    )
    await refused(
      { action: "read", path: "/etc/passwd" },
      "'/etc/passwd' is an absolute path: use a path relative to the workspace, such as notes/todo.md"
    )
    await refused(
      { action: "read", path: "secret-link" },
      "'secret-link' is a symbolic link that leads outside the workspace"
    )
    await refused(
      { action: "read", path: "outside-dir/secret.txt" },
      "'outside-dir' is a symbolic link that leads outside the workspace"
    )
    // Files that do not exist yet are checked through their parent.
    await refused(
      { action: "write", path: "outside-dir/planted.txt", content: "x" },
      "'outside-dir' is a symbolic link that leads outside the workspace"
    )
    await refused(
      { action: "write", path: "secret-link", content: "overwritten" },
      "'secret-link' is a symbolic link that leads outside the workspace"
    )
    await refused(
      { action: "list", path: "outside-dir" },
      "'outside-dir' is a symbolic link that leads outside the workspace"
    )
    expect(readFileSync(join(outside.dir, "secret.txt"), "utf8")).toBe("top secret")
    expect(existsSync(join(outside.dir, "planted.txt"))).toBe(false)
    // Listing shows links without following them; a search never reads through them.
    expect((await ws({ action: "list" })).content).toContain("outside-dir@")
    expect(await ws({ action: "search", query: "top secret" })).toMatchObject({
      content: "nothing matches 'top secret'"
    })
    // A link that stays inside works.
    expect(await ws({ action: "read", path: "alias/file.txt" })).toMatchObject({ ok: true, content: "inside" })
  })

  test("size caps per file and per workspace", async () => {
    // A persona of its own, so the workspace starts empty.
    const quota = context({ persona: "quota" })
    const ws = (args: Record<string, unknown>) => host.run(callTool("workspace", args, quota))
    expect(await ws({ action: "write", path: "big.txt", content: "x".repeat(1001) })).toMatchObject({
      ok: false,
      content: "the file would be 1001 B; the limit per file is 1000 B"
    })
    for (const name of ["a", "b"]) {
      expect(await ws({ action: "write", path: `fill/${name}.txt`, content: "y".repeat(1000) })).toMatchObject({
        ok: true
      })
    }
    expect(await ws({ action: "write", path: "fill/c.txt", content: "z".repeat(1000) })).toMatchObject({
      ok: false,
      content: "the workspace would hold 2.9 KiB; its limit is 2.4 KiB"
    })
    writeFileSync(join(root.dir, "quota/blob.bin"), Buffer.from([1, 2, 0, 3]))
    expect(await ws({ action: "read", path: "blob.bin" })).toMatchObject({
      ok: false,
      content: "'blob.bin' is a binary file (4 B)"
    })
  })

  test("off unless the persona lists it and the config enables it", async () => {
    expect(await ws({ action: "list" }, context({ persona: "plain" }))).toMatchObject({
      ok: false,
      content: "tool workspace is not enabled for plain"
    })
    // Switched off in config.yaml: not offered to the model at all, and a call is refused by the host.
    const offered = (on: typeof host) => on.run(Effect.map(Tools, (tools) => tools.specs(["workspace", "exec"])))
    expect((await offered(off)).map((spec) => spec.name)).toEqual([])
    expect((await offered(host)).map((spec) => spec.name)).toEqual(["workspace"])
    expect(await off.run(callTool("workspace", { action: "list" }, sage))).toMatchObject({
      ok: false,
      content: "tool workspace is switched off by plugins.workspace in config.yaml"
    })
    expect(await off.run(callTool("exec", { command: "id" }, sage))).toMatchObject({
      ok: false,
      content: "tool exec is switched off by plugins.exec in config.yaml"
    })
    expect(await off.run(Effect.map(PluginHost, (h) => h.plugins().find((p) => p.name === "exec")?.enabled))).toBe(
      false
    )
  })
})
