/**
 * Running one command for the `exec` tool: inside bubblewrap (`bwrap`) when the sandbox is on, always under
 * `prlimit` resource limits, in its own process group that is killed as a whole on timeout, with a minimal
 * environment (none of Troupe's variables — API keys — reach the command) and its output capped.
 *
 * The sandbox: every namespace unshared (no network but its own loopback, its own PIDs, IPC, UTS, user), read-only
 * /usr (and the /bin, /lib… links or folders), a few files of /etc, fresh /proc and /dev, a size-limited tmpfs /tmp,
 * and the workspace mounted read-write at /workspace. It dies with its parent and runs in a new session (no access to
 * a controlling terminal).
 */
import { existsSync, lstatSync, readlinkSync } from "node:fs"

export interface Limits {
  readonly cpuSeconds: number
  readonly memoryBytes: number
  readonly processes: number
  readonly fileBytes: number
  readonly tmpBytes: number
}

export interface RunRequest {
  /** argv inside the sandbox (e.g. `["/bin/sh", "-c", "ls"]`). */
  readonly argv: ReadonlyArray<string>
  readonly stdin?: string
  readonly workspace: string
  /** `undefined`: run unconfined (sandbox off). */
  readonly bwrap: string | undefined
  readonly prlimit: string
  readonly limits: Limits
  readonly timeoutMs: number
  readonly maxOutputBytes: number
  readonly signal?: AbortSignal
}

export interface RunResult {
  readonly exitCode: number | null
  readonly signal: string | null
  readonly timedOut: boolean
  readonly stdout: string
  readonly stderr: string
  /** Bytes left out of stdout + stderr. */
  readonly dropped: number
  readonly ms: number
}

const env = { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", TMPDIR: "/tmp" }

/** /bin, /lib … are links into /usr on most systems now, real folders on older ones: mirror whichever they are. */
const rootDirs = () =>
  ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"].flatMap((dir) => {
    const stat = lstatSync(dir, { throwIfNoEntry: false })
    if (!stat) return []
    return stat.isSymbolicLink() ? ["--symlink", readlinkSync(dir), dir] : ["--ro-bind", dir, dir]
  })

/** What of /etc a command needs to run (dynamic linker cache, alternatives such as awk, the local time). */
const etcFiles = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"]

export const bwrapArgs = (bwrap: string, workspace: string, tmpBytes: number): Array<string> => [
  bwrap,
  "--unshare-all",
  "--die-with-parent",
  "--new-session",
  "--cap-drop",
  "ALL",
  "--ro-bind",
  "/usr",
  "/usr",
  ...rootDirs(),
  ...etcFiles.flatMap((file) => ["--ro-bind-try", file, file]),
  "--proc",
  "/proc",
  "--dev",
  "/dev",
  "--size",
  String(tmpBytes),
  "--tmpfs",
  "/tmp",
  "--bind",
  workspace,
  "/workspace",
  "--chdir",
  "/workspace",
  "--clearenv",
  ...Object.entries({ ...env, HOME: "/workspace" }).flatMap(([name, value]) => ["--setenv", name, value]),
  "--"
]

const prlimitArgs = (prlimit: string, limits: Limits) => [
  prlimit,
  `--cpu=${limits.cpuSeconds}`,
  `--as=${limits.memoryBytes}`,
  `--nproc=${limits.processes}`,
  `--fsize=${limits.fileBytes}`,
  "--core=0",
  "--nofile=256",
  "--"
]

/** Read a stream to its end, keeping at most `cap` bytes. */
const collect = async (stream: ReadableStream<Uint8Array>, cap: number) => {
  const kept: Array<Uint8Array> = []
  let size = 0
  let dropped = 0
  const reader = stream.getReader()
  const done = (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      const room = cap - size
      if (room > 0) {
        kept.push(value.subarray(0, room))
        size += Math.min(room, value.byteLength)
      }
      dropped += Math.max(0, value.byteLength - Math.max(room, 0))
    }
  })()
  return {
    done,
    cancel: () => reader.cancel().catch(() => undefined),
    result: () => ({ text: Buffer.concat(kept).toString("utf8"), dropped })
  }
}

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // Already gone.
  }
}

export const run = async (request: RunRequest): Promise<RunResult> => {
  const started = performance.now()
  const sandbox = request.bwrap ? bwrapArgs(request.bwrap, request.workspace, request.limits.tmpBytes) : []
  const cmd = [...prlimitArgs(request.prlimit, request.limits), ...sandbox, ...request.argv]
  const child = Bun.spawn({
    cmd,
    cwd: request.workspace,
    env: { ...env, HOME: request.workspace },
    stdin: request.stdin === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
    // Its own process group (setsid), so a timeout kills everything the command started.
    detached: true
  })
  if (request.stdin !== undefined && child.stdin) {
    child.stdin.write(request.stdin)
    await child.stdin.end()
  }
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(child.pid)
  }, request.timeoutMs)
  const onAbort = () => killGroup(child.pid)
  request.signal?.addEventListener("abort", onAbort, { once: true })
  const half = Math.max(1, Math.floor(request.maxOutputBytes / 2))
  const out = await collect(child.stdout, half)
  const err = await collect(child.stderr, half)
  const exitCode = await child.exited
  clearTimeout(timer)
  request.signal?.removeEventListener("abort", onAbort)
  // Whatever the command left running in the background goes too.
  killGroup(child.pid)
  // Output still held open by an escaped process is not waited for.
  await Promise.race([Promise.all([out.done, err.done]), Bun.sleep(250)])
  await Promise.all([out.cancel(), err.cancel()])
  const stdout = out.result()
  const stderr = err.result()
  return {
    exitCode: child.signalCode ? null : exitCode,
    signal: child.signalCode === null ? null : String(child.signalCode),
    timedOut,
    stdout: stdout.text,
    stderr: stderr.text,
    dropped: stdout.dropped + stderr.dropped,
    ms: Math.round(performance.now() - started)
  }
}

/** The first of these that exists. */
export const findBinary = (configured: string | undefined, name: string): string | undefined => {
  if (configured !== undefined) return existsSync(configured) ? configured : undefined
  return Bun.which(name) ?? [`/usr/bin/${name}`, `/bin/${name}`].find((path) => existsSync(path))
}
