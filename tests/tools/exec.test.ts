import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { bwrapArgs, run } from "../../plugins/exec/sandbox.ts"
import { tempDir } from "../support/tmp.ts"
import { callTool, context, sharedBuiltins, waitFor } from "./support.ts"

// Troupe's own environment (API keys …) must never reach a command.
process.env.TROUPE_TEST_SECRET = "sk-do-not-leak"

const root = tempDir()
afterAll(() => root.cleanup())

/** Whether bubblewrap is installed and can make a sandbox on this machine (user namespaces may be off). */
const sandbox = (() => {
  const bwrap = Bun.which("bwrap")
  if (!bwrap) return { ok: false, reason: "bwrap is not installed (apt-get install bubblewrap)" }
  const probe = Bun.spawnSync([...bwrapArgs(bwrap, root.dir, 1024 * 1024), "/bin/sh", "-c", "exit 0"])
  return probe.exitCode === 0
    ? { ok: true, reason: "" }
    : { ok: false, reason: `bwrap cannot create a sandbox here: ${probe.stderr.toString().trim()}` }
})()
if (!sandbox.ok) console.warn(`exec: the sandboxed tests are SKIPPED because ${sandbox.reason}`)

const host = sharedBuiltins({ config: { exec: { enabled: true, root: root.dir, timeout: 5, max_output: 2000 } } })
const missing = sharedBuiltins({ config: { exec: { enabled: true, root: root.dir, bwrap: "/nonexistent/bwrap" } } })

const sage = context({ persona: "sage" })
const exec = (args: Record<string, unknown>) => host.run(callTool("exec", args, sage))

/** Processes on this machine whose command line contains `text`. */
const processesWith = (text: string) =>
  readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(text)
      } catch {
        return false
      }
    })

let server: Bun.Server<undefined>
let hits = 0
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      hits++
      return new Response("reached")
    }
  })
})
afterAll(() => server.stop(true))

describe("exec in the sandbox", () => {
  test.skipIf(!sandbox.ok)("runs in the workspace; the rest of the system is read-only or absent", async () => {
    const outcome = await exec({
      command: "pwd; echo hello > greeting.txt; cat greeting.txt; env | sort; cat /etc/passwd; touch /usr/planted"
    })
    expect(outcome.ok).toBe(true)
    expect(outcome.content).toStartWith("exit code 1 (")
    expect(outcome.content).toContain("--- stdout ---\n/workspace\nhello\nHOME=/workspace\nLANG=C.UTF-8\nPATH=")
    expect(outcome.content).not.toContain("sk-do-not-leak")
    expect(outcome.content).toContain("cat: /etc/passwd: No such file or directory")
    expect(outcome.content).toContain("Read-only file system")
    expect(readFileSync(join(root.dir, "sage/greeting.txt"), "utf8")).toBe("hello\n")
    expect(existsSync("/usr/planted")).toBe(false)
    const script = await exec({ script: "import os\nprint(sum(range(10)), os.getcwd())", interpreter: "python3" })
    expect(script.content).toContain("--- stdout ---\n45 /workspace")
  })

  test.skipIf(!sandbox.ok)("there is no network inside", async () => {
    const outcome = await exec({
      command: `bash -c 'echo > /dev/tcp/127.0.0.1/${server.port}' 2>/dev/null && echo reached || echo refused`
    })
    expect(outcome.content).toContain("--- stdout ---\nrefused")
    expect(hits).toBe(0)
    // The same command outside the sandbox does reach the server: the refusal above is the sandbox's doing.
    const outside = await run({
      argv: [
        "/bin/sh",
        "-c",
        `bash -c 'echo > /dev/tcp/127.0.0.1/${server.port}' 2>/dev/null && echo reached || echo refused`
      ],
      workspace: root.dir,
      bwrap: undefined,
      prlimit: Bun.which("prlimit")!,
      limits: { cpuSeconds: 5, memoryBytes: 256 * 1024 * 1024, processes: 256, fileBytes: 1024, tmpBytes: 0 },
      timeoutMs: 5000,
      maxOutputBytes: 1000
    })
    expect(outside.stdout).toBe("reached\n")
  })

  test.skipIf(!sandbox.ok)("a timeout kills the command and everything it started", async () => {
    const started = Date.now()
    const outcome = await exec({ command: "sleep 31.3 & sleep 31.3; wait", timeout_seconds: 1 })
    expect(outcome.content).toStartWith("timed out after 1 s: the command and everything it started were killed")
    expect(Date.now() - started).toBeLessThan(3000)
    await waitFor(() => processesWith("sleep 31.3").length === 0, 2000, "the sleeps to be gone")
  })

  test.skipIf(!sandbox.ok)("output is capped; resource limits apply", async () => {
    const outcome = await exec({ command: "yes | head -c 100000" })
    expect(outcome.content).toEndWith("… [output cut: 99000 more bytes]")
    expect(outcome.content.length).toBeLessThan(1200)
    const limits = await exec({ command: "grep -E 'cpu time|file size|processes|address space' /proc/self/limits" })
    expect(limits.content).toMatch(/Max cpu time\s+10\s+10\s+seconds/)
    expect(limits.content).toMatch(/Max file size\s+16777216\s/)
    expect(limits.content).toMatch(/Max processes\s+256\s/)
    expect(limits.content).toMatch(/Max address space\s+536870912\s/)
  })
})

describe("exec without its sandbox", () => {
  test("refuses to run when the sandbox is required and bwrap is missing", async () => {
    expect(await missing.run(callTool("exec", { command: "echo should not run > ran.txt" }, sage))).toMatchObject({
      ok: false,
      content:
        "exec refuses to run: its sandbox needs bubblewrap, which was not found at /nonexistent/bwrap. Install it (apt-get install bubblewrap), or set plugins.exec.sandbox: off to run commands unconfined (dangerous)."
    })
    expect(existsSync(join(root.dir, "sage/ran.txt"))).toBe(false)
  })

  test("unconfined runs (sandbox: off) still get limits, and a timeout kills the whole process group", async () => {
    const prlimit = Bun.which("prlimit")
    if (!prlimit) throw new Error("prlimit (util-linux) is needed for exec")
    const limits = { cpuSeconds: 5, memoryBytes: 256 * 1024 * 1024, processes: 256, fileBytes: 1024, tmpBytes: 0 }
    const base = { workspace: root.dir, bwrap: undefined, prlimit, limits, maxOutputBytes: 4000 }
    const started = Date.now()
    const slow = await run({ ...base, argv: ["/bin/sh", "-c", "sleep 32.7 & sleep 32.7; wait"], timeoutMs: 300 })
    expect(slow).toMatchObject({ timedOut: true, signal: "SIGKILL" })
    expect(Date.now() - started).toBeLessThan(2000)
    await waitFor(() => processesWith("sleep 32.7").length === 0, 2000, "the sleeps to be gone")
    const big = await run({ ...base, argv: ["/bin/sh", "-c", "head -c 5000 /dev/zero > big.bin"], timeoutMs: 5000 })
    expect(big.signal ?? big.exitCode).not.toBe(0)
    expect(readFileSync(join(root.dir, "big.bin")).length).toBe(1024)
  })
})
