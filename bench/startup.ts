/**
 * Cold start: a fresh `troupe start` process until `/readyz` answers 200, with 1, 10 and 50 personas connected to fake
 * Telegram, Discord and CyTube servers on 127.0.0.1 (one channel each, rotating platforms), and the process's RSS right
 * after ready and after 1 s idle. Each figure is the median of several starts.
 *
 * Run: bun bench/startup.ts [--runs N] [--counts 1,10,50] [--entry core/cli/main.ts | dist/troupe.js]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { startFakeCytube } from "../tests/fakes/cytube/index.ts"
import { startFakeDiscord } from "../tests/fakes/discord/index.ts"
import { FakeTelegram } from "../tests/fakes/telegram/FakeTelegram.ts"
import { arg, fmt, report } from "./support.ts"

const runs = arg("runs", 3)
const countsFlag = process.argv.indexOf("--counts")
const counts = countsFlag >= 0 ? process.argv[countsFlag + 1]!.split(",").map(Number) : [1, 10, 50]
const entryFlag = process.argv.indexOf("--entry")
const entry = resolve(import.meta.dir, "..", entryFlag >= 0 ? process.argv[entryFlag + 1]! : "core/cli/main.ts")

const trace = process.argv.includes("--trace")

const telegram = FakeTelegram.start()
const discord = await startFakeDiscord({ heartbeatIntervalMs: 30_000 })
const cytube = await startFakeCytube()

const freePort = () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port
  server.stop(true)
  return port!
}

let projects = 0

/** A project folder with `count` personas, each on one fake platform (fresh accounts for every project). */
const project = (count: number) => {
  const base = ++projects * 1000
  const dir = mkdtempSync(join(tmpdir(), "troupe-startup-"))
  const port = freePort()
  writeFileSync(
    join(dir, "config.yaml"),
    `http: { port: ${port} }\nstore: { path: ${join(dir, "data", "troupe.db")} }\nlog: { level: ${trace ? "debug" : "warn"}, format: logfmt }\nproviders: {}\n`
  )
  mkdirSync(join(dir, "plugins"))
  for (let i = 0; i < count; i++) {
    const name = `p${base + i}`
    let channel: string
    if (i % 3 === 0) {
      const token = `${700000 + base + i}:${"A".repeat(35)}${i}`
      telegram.addBot({ token, id: 700000 + base + i, username: `${name}_bot` })
      channel = `{ type: telegram, token: "${token}", api_root: "${telegram.apiRoot}", commands: false }`
    } else if (i % 3 === 1) {
      const id = String(9100000000000000 + base + i)
      const token = `${Buffer.from(id).toString("base64")}.bench.${i}`
      discord.addBot({ token, id, username: name })
      channel = `{ type: discord, token: "${token}", api: "${discord.api}", commands: off }`
    } else {
      cytube.addRoom(`room${base + i}`, {})
      channel = `{ type: cytube, server: "${cytube.url}", room: room${base + i}, username: ${name} }`
    }
    mkdirSync(join(dir, "personalities", name), { recursive: true })
    writeFileSync(
      join(dir, "personalities", name, "persona.yaml"),
      `display_name: ${name}\nmodel: { provider: echo }\nchannels:\n  - ${channel}\n`
    )
  }
  return { dir, port }
}

const rssMbOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const startOnce = async (count: number) => {
  const { dir, port } = project(count)
  const started = performance.now()
  const profile = process.argv.includes("--profile") ? ["--cpu-prof", "--cpu-prof-dir=/tmp/startup-prof"] : []
  const child = Bun.spawn(["bun", ...profile, entry, "start"], { cwd: dir, stdout: "ignore", stderr: "pipe" })
  let readyMs = Number.NaN
  for (const deadline = started + 60_000; performance.now() < deadline; ) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false)
    if (ok) {
      readyMs = performance.now() - started
      break
    }
    await Bun.sleep(5)
  }
  const rssReady = rssMbOf(child.pid)
  await Bun.sleep(1000)
  const rssIdle = rssMbOf(child.pid)
  child.kill("SIGTERM")
  await child.exited
  if (Number.isNaN(readyMs) || trace) {
    const text = await new Response(child.stderr).text()
    for (const line of text.split("\n").filter(Boolean)) {
      const at = /ts=(\S+)/.exec(line)?.[1]
      const since = at ? Math.round(Date.parse(at) - (Date.now() - (performance.now() - started))) : "?"
      console.error(`${String(since).padStart(6)} ms  ${line.replace(/^ts=\S+ /, "").slice(0, 150)}`)
    }
    console.error(`ready at ${Math.round(readyMs)} ms`)
  }
  rmSync(dir, { recursive: true, force: true })
  return { readyMs, rssReady, rssIdle }
}

const rows: Array<readonly [string, string]> = []
for (const count of counts) {
  const results = []
  for (let i = 0; i < runs; i++) results.push(await startOnce(count))
  rows.push([
    `${count} persona${count === 1 ? "" : "s"}`,
    `ready in ${fmt(median(results.map((r) => r.readyMs)))} ms, RSS ${fmt(median(results.map((r) => r.rssReady)))} MB at ready, ${fmt(median(results.map((r) => r.rssIdle)))} MB after 1 s idle`
  ])
}
report(`startup (${entry.replace(`${resolve(import.meta.dir, "..")}/`, "")}, median of ${runs})`, [
  ...rows,
  ["targets", "10 personas ready in <= 250 ms with <= 80 MB RSS (issue 11); < 1 s and < 150 MB (issue 10)"]
])
await telegram.stop()
await discord.stop()
await cytube.stop()
