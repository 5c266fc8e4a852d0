/**
 * `exec`: run a shell command or a short script in the persona's workspace folder (`<root>/<persona>/`, shared with
 * the `workspace` tool), with a timeout, an output cap, resource limits and — by default — inside a bubblewrap
 * sandbox without network. Read core/tools/README.md ("exec") before turning it on.
 *
 * Off by default, behind two switches: the persona lists `exec` in `tools:`, and config.yaml enables it:
 *
 *   plugins:
 *     exec:
 *       enabled: true
 *       root: data/workspaces   # the same folder as plugins.workspace.root
 *       sandbox: required       # required (default): refuse to run without bwrap. off: run UNCONFINED (dangerous)
 *       bwrap: /usr/bin/bwrap   # default: found on PATH
 *       timeout: 10             # seconds, default; the model may ask for up to max_timeout
 *       max_timeout: 60
 *       max_output: 8000        # characters returned
 *       cpu_seconds: 10
 *       memory_mb: 512          # address space
 *       processes: 256          # RLIMIT_NPROC (counts every process of the user Troupe runs as)
 *       file_size_mb: 16        # largest file the command may write
 *       tmp_mb: 64              # size of the sandbox's /tmp
 */
import { definePlugin, defineTool, Schema } from "troupe/sdk"
import { bwrapArgs, findBinary, type Limits, run } from "./sandbox.ts"
import { workspaceOf } from "./workspace.ts"

const Config = Schema.Struct({
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  root: Schema.optionalWith(Schema.String, { default: () => "data/workspaces" }),
  sandbox: Schema.optionalWith(Schema.Literal("required", "off"), { default: () => "required" as const }),
  bwrap: Schema.optional(Schema.String),
  prlimit: Schema.optional(Schema.String),
  timeout: Schema.optionalWith(Schema.Number.pipe(Schema.between(1, 600)), { default: () => 10 }),
  max_timeout: Schema.optionalWith(Schema.Number.pipe(Schema.between(1, 600)), { default: () => 60 }),
  max_output: Schema.optionalWith(Schema.Int.pipe(Schema.between(100, 1_000_000)), { default: () => 8000 }),
  cpu_seconds: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 10 }),
  memory_mb: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 512 }),
  processes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 }),
  file_size_mb: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 16 }),
  tmp_mb: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 64 })
})
type Config = typeof Config.Type

const interpreters = { sh: "/bin/sh", bash: "/bin/bash", python3: "/usr/bin/python3" } as const

/** Whether bwrap can actually make a sandbox here (user namespaces may be disabled), checked once per binary. */
const probes = new Map<string, Promise<string | undefined>>()
const probe = (bwrap: string, workspace: string): Promise<string | undefined> => {
  let result = probes.get(bwrap)
  if (!result) {
    result = (async () => {
      const child = Bun.spawn({
        cmd: [...bwrapArgs(bwrap, workspace, 1024 * 1024), "/bin/sh", "-c", "exit 0"],
        stdout: "ignore",
        stderr: "pipe"
      })
      const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()])
      return code === 0 ? undefined : stderr.trim() || `bwrap exited with ${code}`
    })()
    probes.set(bwrap, result)
  }
  return result
}

const limitsOf = (config: Config): Limits => ({
  cpuSeconds: config.cpu_seconds,
  memoryBytes: config.memory_mb * 1024 * 1024,
  processes: config.processes,
  fileBytes: config.file_size_mb * 1024 * 1024,
  tmpBytes: config.tmp_mb * 1024 * 1024
})

export default definePlugin({
  name: "exec",
  version: "1.0.0",
  description: "Run a shell command or a short script in the persona's workspace, sandboxed (off unless enabled)",
  config: Config,
  enabled: (config) => config.enabled,
  setup: (ctx) => {
    const config = ctx.config as Config
    if (config.enabled && config.sandbox === "off") {
      ctx.log.warn(
        "exec runs commands UNCONFINED (plugins.exec.sandbox: off): they can read and change anything this user can, and reach the network"
      )
    }
  },
  tools: [
    defineTool({
      name: "exec",
      description:
        "Run a shell command (command) or a short script (script + interpreter: sh, bash or python3) in your " +
        "workspace folder. No network. Returns the exit code and the output.",
      parameters: Schema.Struct({
        command: Schema.optional(
          Schema.String.pipe(Schema.maxLength(10_000)).annotations({ description: "run by /bin/sh -c" })
        ),
        script: Schema.optional(Schema.String.pipe(Schema.maxLength(100_000))),
        interpreter: Schema.optional(Schema.Literal("sh", "bash", "python3")),
        timeout_seconds: Schema.optional(Schema.Number.pipe(Schema.positive()))
      }),
      // Longer than the longest allowed run, so the command's own timeout always fires first.
      timeout: "11 minutes",
      run: async ({ command, script, interpreter, timeout_seconds }, ctx) => {
        const config = ctx.config as Config
        if ((command === undefined) === (script === undefined)) throw new Error("give either 'command' or 'script'")
        const prlimit = findBinary(config.prlimit, "prlimit")
        if (!prlimit)
          throw new Error("exec needs prlimit (from util-linux) for its resource limits, and it was not found")
        let bwrap: string | undefined
        const workspace = workspaceOf(config.root, ctx.persona)
        if (config.sandbox === "required") {
          bwrap = findBinary(config.bwrap, "bwrap")
          if (!bwrap) {
            throw new Error(
              `exec refuses to run: its sandbox needs bubblewrap, which was not found${config.bwrap ? ` at ${config.bwrap}` : ""}. ` +
                "Install it (apt-get install bubblewrap), or set plugins.exec.sandbox: off to run commands unconfined (dangerous)."
            )
          }
          const problem = await probe(bwrap, workspace)
          if (problem) throw new Error(`exec refuses to run: bubblewrap cannot create its sandbox here (${problem})`)
        } else {
          ctx.log.warn("exec: running a command UNCONFINED (sandbox: off)", { persona: ctx.persona })
        }
        const seconds = Math.min(timeout_seconds ?? config.timeout, config.max_timeout)
        const argv = command !== undefined ? ["/bin/sh", "-c", command] : [interpreters[interpreter ?? "sh"], "-"]
        const result = await run({
          argv,
          ...(script === undefined ? {} : { stdin: script }),
          workspace,
          bwrap,
          prlimit,
          limits: limitsOf(config),
          timeoutMs: seconds * 1000,
          maxOutputBytes: config.max_output,
          signal: ctx.signal
        })
        const status = result.timedOut
          ? `timed out after ${seconds} s: the command and everything it started were killed`
          : result.signal
            ? `killed by ${result.signal}${result.signal === "SIGXCPU" ? " (CPU time limit)" : result.signal === "SIGXFSZ" ? " (file size limit)" : ""}`
            : `exit code ${result.exitCode}`
        const parts = [`${status} (${(result.ms / 1000).toFixed(2)} s)`]
        if (result.stdout) parts.push(`--- stdout ---\n${result.stdout}`)
        if (result.stderr) parts.push(`--- stderr ---\n${result.stderr}`)
        if (result.dropped > 0) parts.push(`… [output cut: ${result.dropped} more bytes]`)
        return parts.join("\n")
      }
    })
  ]
})
