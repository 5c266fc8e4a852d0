/**
 * Soak: the real runtime process (`troupe start`) with three personas on fake Telegram, Discord and CyTube servers and
 * the fake LLM (an `openai` provider through `base_url`), under a steady mixed load for a bounded time, with plugin
 * reloads, SIGHUP and persona reloads while it runs. Every user message carries a marker (`#m123`) that the fake
 * LLM's echo reply repeats, so replies are matched to messages from the fakes' own records.
 *
 * The load (per second, `--rate` messages overall): Telegram DMs and group mentions (persona `tg`, whose
 * `reply.rate_limit.user` is 6/min), Discord DMs and guild mentions (persona `dc`, with `tools: [calculator, clock]`:
 * messages saying "calc" or "clock" make the fake LLM ask for the tool), CyTube room mentions and PMs (persona `cy`),
 * plus group lines that address nobody; besides, one Telegram user sends DMs fast (`--spam-rate`, rate-limited), and
 * every `--loop-every` seconds a human speaks in a CyTube room where `dc` and `cy` both answer everything, bots included (a bot-loop
 * attempt the `bot_turns` guard must stop).
 *
 * Prints: messages sent and answered, duplicates and lost (both must be 0), limited and ignored messages, the
 * bot-loop's lines, reply latency, and the runtime's RSS at start, middle and end with its slope in MB per hour over
 * the second half (least squares, with its standard error; goal < 5 MB/h, which only a run of half an hour or more
 * can show: over two minutes GC noise alone is worth hundreds of MB/h). Exits 1 when a message is duplicated, lost or
 * answered in the wrong chat, a reply carries no marker (cut short), the bot loop is not bounded, or the runtime died.
 *
 * Run: bun bench/soak.ts [--minutes 2] [--rate 20] [--spam-rate 2] [--reload-every 5] [--hup-every 30]
 *        [--persona-every 20] [--loop-every 15] [--grace 30] [--sample 2] [--seed 1] [--window N] [--only tg|dc|cy] [--smol] [--source] [--keep]
 * Intervals are in seconds; 0 turns a kind of reload off. `--window` sets every persona's `memory.window` (default 32):
 * the heap grows until each of the ~430 conversations holds a full window, which at the default takes ~10 minutes of
 * this load; a small window gets a bounded run past that warm-up.
 * `--source` runs `core/cli/main.ts` instead of the bundle (`dist/troupe.js`, rebuilt first when stale); `--keep`
 * keeps the temporary project (config, runtime log, store) and prints its path.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { distDir, sourcesFingerprint } from "../core/cli/build.ts"
import { startFakeCytube } from "../tests/fakes/cytube/index.ts"
import { snowflake, startFakeDiscord } from "../tests/fakes/discord/index.ts"
import { type RecordedRequest, type Step, startFakeLlm } from "../tests/fakes/llm/index.ts"
import { FakeTelegram } from "../tests/fakes/telegram/FakeTelegram.ts"
import { arg, fmt, percentile, report } from "./support.ts"

const minutes = arg("minutes", 2)
const rate = arg("rate", 20)
const spamRate = arg("spam-rate", 2)
const reloadEvery = arg("reload-every", 5)
const hupEvery = arg("hup-every", 30)
const personaEvery = arg("persona-every", 20)
const graceSeconds = arg("grace", 30)
const sampleSeconds = arg("sample", 2)
const loopEvery = arg("loop-every", 15)
/** Each persona's `memory.window` (0: the persona default, 32). */
const memoryWindow = arg("window", 0)
let seed = arg("seed", 1) >>> 0
const keep = process.argv.includes("--keep")
const root = resolve(import.meta.dir, "..")

/** Seeded PRNG (mulberry32), so two runs send the same mix. */
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const log = (line: string) => process.stderr.write(`soak: ${line}\n`)

// ---------------------------------------------------------------- which runtime

const pickEntry = (): { entry: string; how: string } => {
  const source = join(root, "core", "cli", "main.ts")
  if (process.argv.includes("--source")) return { entry: source, how: "source (core/cli/main.ts, --source)" }
  const bundle = join(distDir(root), "troupe.js")
  const stamp = join(distDir(root), ".fingerprint")
  const fresh = existsSync(bundle) && existsSync(stamp) && readFileSync(stamp, "utf8") === sourcesFingerprint(root)
  if (fresh) return { entry: bundle, how: "bundle (dist/troupe.js, fresh)" }
  const build = Bun.spawnSync(["bun", join(root, "core", "cli", "build.ts"), "--if-stale"], { stderr: "pipe" })
  if (build.exitCode === 0 && existsSync(bundle)) return { entry: bundle, how: "bundle (dist/troupe.js, rebuilt)" }
  log(`building dist/ failed, running the sources instead:\n${build.stderr.toString().slice(0, 2000)}`)
  return { entry: source, how: "source (core/cli/main.ts; the bundle did not build)" }
}
const { entry, how } = pickEntry()

// ---------------------------------------------------------------- fakes

const telegram = FakeTelegram.start()
const discord = await startFakeDiscord({ heartbeatIntervalMs: 30_000 })
const cytube = await startFakeCytube()
const llm = await startFakeLlm({ recordLimit: 50 })

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("")
      : ""

let llmToolSteps = 0
/** "calc 12+30" asks the calculator, "clock" the clock; once the tool answered, the reply echoes its result. */
llm.onRequest((request: RecordedRequest): Step | undefined => {
  const messages: Array<{ role: string; content: unknown }> = request.body.messages ?? []
  let last = messages.length - 1
  while (last >= 0 && messages[last]!.role !== "user") last--
  if (last < 0) return undefined
  const user = textOf(messages[last]!.content)
  const results = messages.slice(last + 1).filter((m) => m.role === "tool")
  if (results.length > 0) return { text: `echo: ${user} [tool: ${results.map((m) => textOf(m.content)).join("; ")}]` }
  const tools = new Set<string>(
    (request.body.tools ?? []).map((t: { function?: { name?: string } }) => t.function?.name)
  )
  const calc = /\bcalc (\d+)\+(\d+)/.exec(user)
  if (calc && tools.has("calculator")) {
    llmToolSteps++
    return { toolCalls: [{ name: "calculator", arguments: { expression: `${calc[1]}+${calc[2]}` } }] }
  }
  if (/\bclock\b/.test(user) && tools.has("clock")) {
    llmToolSteps++
    return { toolCalls: [{ name: "clock", arguments: { action: "now", format: "iso" } }] }
  }
  return undefined
})

// `--only tg|dc|cy`: the load on one platform alone (the others stay connected), to tell where memory goes.
const onlyFlag = process.argv.indexOf("--only")
const only = onlyFlag >= 0 ? process.argv[onlyFlag + 1] : undefined

// Accounts. Each normal user sends at most ~3 messages a minute (round-robin over a pool sized by the platform's rate),
// so only the spammer ever meets tg's 6/min user limit — with `--only` too, where one platform gets the whole rate.
const poolSize = (share: number) => Math.max(10, Math.ceil((rate * share * 60) / 3))
const share =
  only === undefined
    ? { tg: 0.32, dc: 0.4, cy: 0.28 }
    : { tg: only === "tg" ? 1 : 0, dc: only === "dc" ? 1 : 0, cy: only === "cy" ? 1 : 0 }

const tgToken = `7100001:${"S".repeat(35)}`
const tgBot = telegram.addBot({ token: tgToken, id: 7100001, username: "tg_soak_bot" })
const tgUsers = Array.from({ length: poolSize(share.tg) }, (_, i) => ({ id: 10_000 + i, first_name: `Tu${i}` }))
const tgSpammer = { id: 9999, first_name: "Spammer" }
// Shared rooms get at most ~10 addressed messages a minute each (Telegram allows a bot ~20 messages a minute in a group,
// and a streamed reply there takes `group_edit_interval`, 3 s): more of them at higher rates.
const roomCount = (perSecond: number) => Math.max(2, Math.ceil((perSecond * 60) / 10))
// (A quarter of Telegram's load is group mentions.)
const tgGroups = Array.from({ length: roomCount(rate * share.tg * 0.25) }, (_, i) => ({
  id: -100_000 - i,
  type: "group" as const,
  title: `Soak group ${i}`
}))

const dcBotId = snowflake()
const dcToken = `${Buffer.from(dcBotId).toString("base64")}.soak.token`
discord.addBot({ token: dcToken, id: dcBotId, username: "dcsoak" })
const dcUsers = Array.from({ length: poolSize(share.dc) }, (_, i) =>
  discord.addUser({ id: snowflake(), username: `du${i}` })
)
const guildId = snowflake()
// (About 30% of Discord's load is addressed in guild channels: mentions and part of the tool requests.)
const guildChannels = Array.from({ length: roomCount(rate * share.dc * 0.3) }, (_, i) => ({
  id: snowflake(),
  name: `general${i}`
}))
discord.addGuild({
  id: guildId,
  name: "Soak",
  channels: guildChannels,
  members: dcUsers.map((u) => u.id)
})
const dcDms = new Map(dcUsers.map((u) => [u.id, discord.dmChannel(dcBotId, u.id).id]))

const cyUsers = Array.from({ length: poolSize(share.cy) }, (_, i) => `cu${i}`)
const lobby = cytube.addRoom("lobby", { users: cyUsers.map((name) => ({ name })) })
const loop = cytube.addRoom("loop", { users: [{ name: "looper" }] })

// ---------------------------------------------------------------- the project

const dir = mkdtempSync(join(tmpdir(), "troupe-soak-"))
const freePort = () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}
const port = freePort()
writeFileSync(
  join(dir, "config.yaml"),
  `http: { port: ${port} }
store: { path: ${join(dir, "data", "troupe.db")} }
log: { level: info, format: logfmt }
runtime: { watch: true, plugins: plugins, personalities: personalities }
providers:
  fake: { api: openai, base_url: "${llm.openaiBaseUrl}", api_key: sk-soak, default_model: fake-model }
`
)

// The built-in calculator and clock, copied; the SDK import points at the repo (the folder is outside it).
const sdk = join(root, "core", "plugins", "sdk.ts")
for (const folder of ["calculator", "clock", "_shared"])
  cpSync(join(root, "plugins", folder), join(dir, "plugins", folder), { recursive: true })
const pluginSources = new Map<string, string>()
for (const name of ["calculator", "clock"]) {
  const file = join(dir, "plugins", name, "plugin.ts")
  const text = readFileSync(file, "utf8").replace('from "troupe/sdk"', `from ${JSON.stringify(sdk)}`)
  writeFileSync(file, text)
  pluginSources.set(name, text)
}

const cyRate = "rate: { per_second: 8, burst: 16 }"
const loopReply = "reply: { bots: true, everything: true }"
const personas: Record<string, string> = {
  tg: `display_name: Tegan
model: { provider: fake, model: fake-model }
reply: { rate_limit: { user: 6/min } }
channels:
  - { type: telegram, token: "${tgToken}", api_root: "${telegram.apiRoot}", commands: false }
`,
  dc: `display_name: Decker
model: { provider: fake, model: fake-model }
tools: [calculator, clock]
channels:
  - { type: discord, token: "${dcToken}", api: "${discord.api}", commands: off }
  - { type: cytube, server: "${cytube.url}", room: loop, username: dcloop, ${cyRate}, ${loopReply} }
`,
  cy: `display_name: Cyra
description: revision 0
model: { provider: fake, model: fake-model }
channels:
  - { type: cytube, server: "${cytube.url}", room: lobby, username: cybot, ${cyRate} }
  - { type: cytube, server: "${cytube.url}", room: loop, username: cyloop, ${cyRate}, ${loopReply} }
`
}
const memory = memoryWindow > 0 ? `memory: { window: ${memoryWindow} }\n` : ""
for (const [name, text] of Object.entries(personas)) {
  mkdirSync(join(dir, "personalities", name), { recursive: true })
  writeFileSync(join(dir, "personalities", name, "persona.yaml"), text + memory)
}

// ---------------------------------------------------------------- the runtime

const logFile = join(dir, "runtime.log")
const started = performance.now()
// `--smol`: the runtime on Bun's smaller heap (collects more often), to compare memory with the default.
const smol = process.argv.includes("--smol") ? ["--smol"] : []
const child = Bun.spawn(["bun", ...smol, entry, "start"], {
  cwd: dir,
  stdout: Bun.file(logFile),
  stderr: Bun.file(`${logFile}.err`)
})
let childExit: number | undefined
child.exited.then((code) => {
  childExit = code
})

/** A field of `/proc/<pid>/status` (VmRSS in kB, Threads), or NaN once the process is gone. */
const statusOf = (pid: number, field: string) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN)
  } catch {
    return Number.NaN
  }
}
const rssOf = (pid: number) => statusOf(pid, "VmRSS") / 1024

let readyMs = Number.NaN
for (const deadline = started + 60_000; performance.now() < deadline && childExit === undefined; ) {
  const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.status === 200,
    () => false
  )
  if (ok) {
    readyMs = performance.now() - started
    break
  }
  await Bun.sleep(20)
}
const runtimeLog = () =>
  [logFile, `${logFile}.err`]
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, "utf8"))
    .join("")
if (Number.isNaN(readyMs)) {
  log(`the runtime was not ready within 60 s (exit ${childExit ?? "none"}); its log:\n${runtimeLog().slice(-4000)}`)
  child.kill("SIGKILL")
  await Promise.all([telegram.stop(), discord.stop(), cytube.stop(), llm.stop()])
  process.exit(1)
}
log(`runtime ready in ${fmt(readyMs)} ms (${how}), project ${dir}`)

// ---------------------------------------------------------------- the load

type Kind =
  | "tg-dm"
  | "tg-group"
  | "tg-unaddressed"
  | "tg-spam"
  | "dc-dm"
  | "dc-mention"
  | "dc-tool"
  | "dc-unaddressed"
  | "cy-mention"
  | "cy-pm"
  | "cy-unaddressed"
  | "loop"

interface Sent {
  readonly marker: number
  readonly kind: Kind
  /** Where its answer belongs: `tg:<chat>`, `dc:<channel>`, `cy:lobby`, `cy:pm:<user>`, `cy:loop`. */
  readonly where: string
  readonly at: number
  /** The calculator's expected result, for `calc` messages. */
  readonly expect?: string
}

const sent: Array<Sent> = []
let nextMarker = 1
const counters = { tg: 0, dc: 0, cy: 0 }
const take = <T>(pool: ReadonlyArray<T>, key: keyof typeof counters) => pool[counters[key]++ % pool.length]!

const guildChannel = () => guildChannels[Math.floor(random() * guildChannels.length)]!.id

const send = (kind: Kind) => {
  const marker = nextMarker++
  const m = `#m${marker}`
  const at = Date.now()
  const record = (where: string, expect?: string) =>
    sent.push(expect === undefined ? { marker, kind, where, at } : { marker, kind, where, at, expect })
  switch (kind) {
    case "tg-dm": {
      const from = take(tgUsers, "tg")
      telegram.userSends(tgToken, { from, text: `hello there ${m}` })
      return record(`tg:${from.id}`)
    }
    case "tg-spam":
      telegram.userSends(tgToken, { from: tgSpammer, text: `spam spam ${m}` })
      return record(`tg:${tgSpammer.id}`)
    case "tg-group":
    case "tg-unaddressed": {
      const from = take(tgUsers, "tg")
      const text = kind === "tg-group" ? `@${tgBot.username} what do you think ${m}` : `just chatting ${m}`
      const chat = tgGroups[Math.floor(random() * tgGroups.length)]!
      telegram.userSends(tgToken, { from, chat, text })
      return record(`tg:${chat.id}`)
    }
    case "dc-dm": {
      const user = take(dcUsers, "dc")
      const channelId = dcDms.get(user.id)!
      discord.userSays({ channelId, authorId: user.id, content: `hey ${m}` })
      return record(`dc:${channelId}`)
    }
    case "dc-tool": {
      const user = take(dcUsers, "dc")
      const a = Math.floor(random() * 1000)
      const b = Math.floor(random() * 1000)
      const clock = random() < 0.25
      const ask = clock ? "clock please" : `calc ${a}+${b}`
      // Most tool calls come by DM; one in five is a guild mention (the guild's conversation is shared).
      const inGuild = random() < 0.2
      const channelId = inGuild ? guildChannel() : dcDms.get(user.id)!
      discord.userSays({ channelId, authorId: user.id, content: `${inGuild ? `<@${dcBotId}> ` : ""}${ask} ${m}` })
      return record(`dc:${channelId}`, clock ? undefined : `= ${a + b}`)
    }
    case "dc-mention":
    case "dc-unaddressed": {
      const user = take(dcUsers, "dc")
      const content = kind === "dc-mention" ? `<@${dcBotId}> how are you ${m}` : `nice weather ${m}`
      const channelId = guildChannel()
      discord.userSays({ channelId, authorId: user.id, content })
      return record(`dc:${channelId}`)
    }
    case "cy-mention":
    case "cy-unaddressed": {
      const user = take(cyUsers, "cy")
      lobby.say(user, kind === "cy-mention" ? `cybot what is on ${m}` : `this film is long ${m}`)
      return record("cy:lobby")
    }
    case "cy-pm": {
      const user = take(cyUsers, "cy")
      lobby.pmTo(user, "cybot", `psst ${m}`)
      return record(`cy:pm:${user}`)
    }
    case "loop":
      loop.say("looper", `hello bots ${m}`)
      return record("cy:loop")
  }
}

const fullMix: ReadonlyArray<readonly [Kind, number]> = [
  ["tg-dm", 0.2],
  ["tg-group", 0.08],
  ["tg-unaddressed", 0.04],
  ["dc-dm", 0.16],
  ["dc-mention", 0.1],
  ["dc-tool", 0.1],
  ["dc-unaddressed", 0.04],
  ["cy-mention", 0.14],
  ["cy-pm", 0.1],
  ["cy-unaddressed", 0.04]
]
const mix = fullMix.filter(([kind]) => only === undefined || kind.startsWith(`${only}-`))
if (mix.length === 0) throw new Error(`--only ${only}: expected tg, dc or cy`)
const pick = (): Kind => {
  let r = random() * mix.reduce((sum, [, w]) => sum + w, 0)
  for (const [kind, weight] of mix) {
    r -= weight
    if (r < 0) return kind
  }
  return mix[0]![0]
}

// ---------------------------------------------------------------- reloads

const reloads = { plugin: 0, hup: 0, persona: 0 }
const reloadPlugin = () => {
  const name = reloads.plugin % 2 === 0 ? "calculator" : "clock"
  reloads.plugin++
  const text = pluginSources.get(name)!.replace('version: "1.0.0"', `version: "1.0.${reloads.plugin}"`)
  writeFileSync(join(dir, "plugins", name, "plugin.ts"), text)
}
const reloadPersona = () => {
  reloads.persona++
  const text = personas.cy!.replace("revision 0", `revision ${reloads.persona}`)
  writeFileSync(join(dir, "personalities", "cy", "persona.yaml"), text + memory)
}

// ---------------------------------------------------------------- RSS samples

interface Sample {
  /** Seconds since the load started. */
  readonly t: number
  readonly mb: number
  /** Threads of the runtime process (each plugin Worker is one). */
  readonly threads: number
  /** Anonymous memory (heaps) in MB: RSS minus mapped files. */
  readonly anon: number
}
const samples: Array<Sample> = []
const rssAtReady = rssOf(child.pid)
const sample = (elapsedMs: number): Sample => ({
  t: elapsedMs / 1000,
  mb: rssOf(child.pid),
  threads: statusOf(child.pid, "Threads"),
  anon: statusOf(child.pid, "RssAnon") / 1024
})

/** The runtime's `/metrics` text ("" when it does not answer). */
const scrapeMetrics = (): Promise<string> =>
  fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => ""
  )

/**
 * From a `/metrics` text: live actors by kind (`troupe_actors{kind,state}`) and the JS heap in use
 * (`troupe_js_heap_bytes{kind="used"}`: what RSS holds beyond it is native memory and allocator slack).
 */
const actorCounts = (text: string): string => {
  const byKind = new Map<string, number>()
  for (const match of text.matchAll(/^troupe_actors\{kind="([^"]+)",state="([^"]+)"\} (\d+)/gm)) {
    if (match[2] !== "stopped") byKind.set(match[1]!, (byKind.get(match[1]!) ?? 0) + Number(match[3]))
  }
  const heap = (kind: string) =>
    Number(new RegExp(`^troupe_js_heap_bytes\\{kind="${kind}"\\} (\\S+)`, "m").exec(text)?.[1]) / 1024 / 1024
  const actors = [...byKind].map(([kind, n]) => `${n} ${kind}`).join(", ") || "unknown"
  return `${actors}; JS heap ${fmt(heap("used"), 1)} MB, external ${fmt(heap("external"), 1)} MB`
}
let actorsInMiddle = "unknown"

/**
 * Least-squares slope of MB over time, in MB per hour, with its standard error (a short run's slope is mostly GC
 * noise: read it together with the error).
 */
const slopePerHour = (points: ReadonlyArray<Sample>) => {
  const n = points.length
  if (n < 3) return { slope: Number.NaN, error: Number.NaN }
  const mt = points.reduce((s, p) => s + p.t, 0) / n
  const mm = points.reduce((s, p) => s + p.mb, 0) / n
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.mb - mm), 0)
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0)
  if (den === 0) return { slope: Number.NaN, error: Number.NaN }
  const slope = num / den
  const residuals = points.reduce((s, p) => s + (p.mb - mm - slope * (p.t - mt)) ** 2, 0)
  return { slope: slope * 3600, error: Math.sqrt(residuals / (n - 2) / den) * 3600 }
}

// ---------------------------------------------------------------- the replies, from the fakes' records

interface BotLine {
  readonly where: string
  readonly text: string
  readonly at: number
  /** For the bot-loop room: which persona said it. */
  readonly by?: string
  /** Telegram: how often the message was edited. */
  readonly edits?: number
}

const tgChats = () => [...tgUsers.map((u) => u.id), tgSpammer.id, ...tgGroups.map((g) => g.id)]
const botLines = (): Array<BotLine> => {
  const lines: Array<BotLine> = []
  for (const id of tgChats()) {
    for (const m of telegram.chat(tgToken, id).all) {
      lines.push({ where: `tg:${id}`, text: m.text, at: m.sentAt, edits: m.editCount })
    }
  }
  for (const m of discord.sent) {
    if (m.authorId === dcBotId) lines.push({ where: `dc:${m.channelId}`, text: m.content, at: m.createdAt })
  }
  for (const m of lobby.chat) if (m.username === "cybot") lines.push({ where: "cy:lobby", text: m.msg, at: m.time })
  for (const m of lobby.pms) if (m.username === "cybot") lines.push({ where: `cy:pm:${m.to}`, text: m.msg, at: m.time })
  for (const m of loop.chat) {
    if (m.username !== "looper") lines.push({ where: "cy:loop", text: m.msg, at: m.time, by: m.username })
  }
  return lines
}
const markersIn = (text: string) => [...text.matchAll(/#m(\d+)(?!\d)/g)].map((match) => Number(match[1]))

/** Messages a reply is owed to: addressed, from a user who is not rate-limited, not the bot-loop room. */
const owed = (s: Sent) => s.kind !== "tg-spam" && s.kind !== "loop" && !s.kind.endsWith("-unaddressed")

const answeredMarkers = (lines: ReadonlyArray<BotLine>) => {
  const set = new Set<number>()
  for (const line of lines) if (line.where !== "cy:loop") for (const marker of markersIn(line.text)) set.add(marker)
  return set
}

// ---------------------------------------------------------------- run

const durationMs = minutes * 60_000
const loadStart = Date.now()
const tickMs = 50
let budget = 0
let spamBudget = 0
let nextReload = reloadEvery > 0 ? reloadEvery * 1000 : Number.POSITIVE_INFINITY
let nextHup = hupEvery > 0 ? hupEvery * 1000 : Number.POSITIVE_INFINITY
let nextPersona = personaEvery > 0 ? personaEvery * 1000 : Number.POSITIVE_INFINITY
let nextLoop = loopEvery > 0 ? 2000 : Number.POSITIVE_INFINITY
let nextSample = 0
let nextProgress = 10_000

log(
  `load: ${rate} msg/s + spammer ${spamRate}/s for ${minutes} min (users: tg ${tgUsers.length}, dc ${dcUsers.length}, cy ${cyUsers.length})`
)
let last = Date.now()
while (Date.now() - loadStart < durationMs && childExit === undefined) {
  const now = Date.now()
  const elapsed = now - loadStart
  budget += (rate * (now - last)) / 1000
  spamBudget += (spamRate * (now - last)) / 1000
  last = now
  for (; budget >= 1; budget--) send(pick())
  for (; spamBudget >= 1; spamBudget--) send("tg-spam")
  if (elapsed >= nextLoop) {
    send("loop")
    nextLoop += loopEvery * 1000
  }
  if (elapsed >= nextReload) {
    reloadPlugin()
    nextReload += reloadEvery * 1000
  }
  if (elapsed >= nextHup) {
    child.kill("SIGHUP")
    reloads.hup++
    nextHup += hupEvery * 1000
  }
  if (elapsed >= nextPersona) {
    reloadPersona()
    nextPersona += personaEvery * 1000
  }
  if (elapsed >= nextSample) {
    samples.push(sample(elapsed))
    nextSample += sampleSeconds * 1000
  }
  if (elapsed >= durationMs / 2 && actorsInMiddle === "unknown") actorsInMiddle = actorCounts(await scrapeMetrics())
  if (elapsed >= nextProgress) {
    const answered = answeredMarkers(botLines()).size
    log(
      `${Math.round(elapsed / 1000)} s: sent ${sent.length}, answered ${answered}, RSS ${fmt(samples.at(-1)?.mb ?? 0, 1)} MB, ${samples.at(-1)?.threads} threads`
    )
    nextProgress += 10_000
  }
  await Bun.sleep(Math.max(1, tickMs - (Date.now() - now)))
}
const loadMs = Date.now() - loadStart
samples.push(sample(loadMs))
const metricsAtEnd = await scrapeMetrics()
const actorsAtEnd = actorCounts(metricsAtEnd)
/** Messages the personas' reply policy shed (`decision="limited"`: rate limits, a full queue). */
const limitedByPolicy =
  metricsAtEnd === ""
    ? Number.NaN
    : [...metricsAtEnd.matchAll(/^troupe_policy_decisions_total\{[^}]*decision="limited"[^}]*\} (\S+)/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0
      )

// Grace: wait for the owed replies (and the bot loop) to settle, then a little longer for late duplicates.
const graceStart = Date.now()
const owedMarkers = sent.filter(owed).map((s) => s.marker)
while (Date.now() - graceStart < graceSeconds * 1000 && childExit === undefined) {
  const answered = answeredMarkers(botLines())
  if (owedMarkers.every((marker) => answered.has(marker))) break
  await Bun.sleep(250)
}
if (childExit === undefined) await Bun.sleep(3000)
const settledMs = Date.now() - graceStart
const rssEnd = rssOf(child.pid)

// ---------------------------------------------------------------- figures

const lines = botLines()
const byMarker = new Map<number, Array<BotLine>>()
for (const line of lines) {
  if (line.where === "cy:loop") continue
  for (const marker of new Set(markersIn(line.text))) {
    const list = byMarker.get(marker) ?? []
    list.push(line)
    byMarker.set(marker, list)
  }
}
const sentBy = new Map(sent.map((s) => [s.marker, s]))

let lost = 0
let duplicates = 0
let misrouted = 0
let unaddressedAnswered = 0
let toolOk = 0
let toolFailed = 0
const latencies: Array<number> = []
const lostExamples: Array<string> = []
const duplicateExamples: Array<string> = []
for (const s of sent) {
  if (s.kind === "loop") continue
  const replies = byMarker.get(s.marker) ?? []
  const here = replies.filter((line) => line.where === s.where)
  if (replies.length > here.length) {
    misrouted++
    duplicateExamples.push(`#m${s.marker} (${s.kind}) answered in ${replies.map((r) => r.where).join(", ")}`)
  }
  if (s.kind.endsWith("-unaddressed")) {
    if (replies.length > 0) unaddressedAnswered++
    continue
  }
  if (here.length > 1) {
    duplicates++
    if (duplicateExamples.length < 5)
      duplicateExamples.push(`#m${s.marker} (${s.kind}): ${here.map((r) => JSON.stringify(r.text)).join(" | ")}`)
  }
  if (s.kind === "tg-spam") continue
  if (here.length === 0) {
    lost++
    if (lostExamples.length < 5)
      lostExamples.push(`#m${s.marker} (${s.kind}, ${s.where}, sent at +${Math.round((s.at - loadStart) / 1000)} s)`)
    continue
  }
  latencies.push(Math.min(...here.map((r) => r.at)) - s.at)
  if (s.kind === "dc-tool") {
    const text = here[0]!.text
    const ok = s.expect === undefined ? /\[tool: .*\d{4}-\d\d-\d\dT/.test(text) : text.includes(s.expect)
    if (ok) toolOk++
    else toolFailed++
  }
}
// Replies outside the bot-loop room that carry no marker: cut short (a streamed message never finished) or made up.
const unmarked = lines.filter((line) => line.where !== "cy:loop" && markersIn(line.text).length === 0)

// The same reply text twice in one place (outside the bot-loop room, where each persona's lines are checked alone).
const textKeys = new Map<string, number>()
for (const line of lines) {
  const key = `${line.where}\u0000${line.by ?? ""}\u0000${line.text}`
  textKeys.set(key, (textKeys.get(key) ?? 0) + 1)
}
let sameText = 0
for (const [key, count] of textKeys) {
  if (count < 2) continue
  const markers = markersIn(key)
  // Already counted above when it carries a marker of one message outside the loop room.
  if (markers.length > 0 && !key.startsWith("cy:loop")) continue
  sameText += count - 1
  if (duplicateExamples.length < 8)
    duplicateExamples.push(`same text ${count}x: ${JSON.stringify(key.split("\u0000")[2])}`)
}
duplicates += sameText

const count = (kind: Kind) => sent.filter((s) => s.kind === kind).length
const answeredOf = (kind: Kind) =>
  sent.filter((s) => s.kind === kind && (byMarker.get(s.marker)?.length ?? 0) > 0).length

// The bot loop: lines per human line in the loop room.
const loopHumans = sent.filter((s) => s.kind === "loop").map((s) => s.at)
const loopBots = lines.filter((line) => line.where === "cy:loop").sort((a, b) => a.at - b.at)
const perHuman = loopHumans.map((at, i) => {
  const until = loopHumans[i + 1] ?? Number.POSITIVE_INFINITY
  return loopBots.filter((line) => line.at >= at && line.at < until).length
})
const botTurnsMax = 3
const loopBound = 2 * (1 + botTurnsMax)
const loopMax = Math.max(0, ...perHuman)
const loopUnbounded = loopMax > loopBound
const loopLastGap = loopBots.length === 0 ? Number.NaN : (Date.now() - loopBots.at(-1)!.at) / 1000

// RSS
const secondHalf = samples.filter((s) => s.t >= loadMs / 2000)
const rssStart = samples[0]?.mb ?? Number.NaN
const rssMiddle = secondHalf[0]?.mb ?? Number.NaN
const rssEndLoad = samples.at(-1)?.mb ?? Number.NaN
const rssMax = Math.max(...samples.map((s) => s.mb))
const slope = slopePerHour(secondHalf)
const slopeAll = slopePerHour(samples)

const logText = runtimeLog()
const logLines = logText.split("\n").filter(Boolean)
const errors = logLines.filter((l) => /level=error/.test(l))
const warnings = logLines.filter((l) => /level=warn/.test(l))
const pluginReloadsSeen = logLines.filter((l) => /plugin (calculator|clock) 1\.0\.\d+ reloaded/.test(l)).length

const totalAnswered = [...sentBy.values()].filter((s) => (byMarker.get(s.marker)?.length ?? 0) > 0).length
const sortedLatency = latencies.sort((a, b) => a - b)
const spamSent = count("tg-spam")
const spamAnswered = answeredOf("tg-spam")
const spamAllowed = 6 * Math.ceil(loadMs / 60_000 + graceSeconds / 60 + 1)

report(
  `soak (${how}${smol.length > 0 ? ", --smol" : ""}, ${fmt(loadMs / 60_000, 1)} min at ${rate} msg/s + ${spamRate}/s spam)`,
  [
    ["runtime ready", `${fmt(readyMs)} ms, RSS ${fmt(rssAtReady, 1)} MB at ready`],
    ["messages sent", `${fmt(sent.length)} (${fmt(sent.length / (loadMs / 1000), 1)}/s)`],
    [
      "answered",
      `${fmt(totalAnswered)} (owed ${fmt(owedMarkers.length)}, settled ${fmt(settledMs / 1000, 1)} s after the load)`
    ],
    [
      "  telegram",
      `DM ${answeredOf("tg-dm")}/${count("tg-dm")}, group mention ${answeredOf("tg-group")}/${count("tg-group")}`
    ],
    [
      "  discord",
      `DM ${answeredOf("dc-dm")}/${count("dc-dm")}, guild mention ${answeredOf("dc-mention")}/${count("dc-mention")}, tool ${answeredOf("dc-tool")}/${count("dc-tool")}`
    ],
    [
      "  cytube",
      `room mention ${answeredOf("cy-mention")}/${count("cy-mention")}, PM ${answeredOf("cy-pm")}/${count("cy-pm")}`
    ],
    ["tool calls", `${toolOk} with the tool's result, ${toolFailed} without (the model asked ${llmToolSteps} times)`],
    ["duplicates", `${duplicates}${sameText > 0 ? ` (${sameText} repeated texts)` : ""}  (must be 0)`],
    [
      "lost",
      `${lost}  (must be 0; the reply policy shed ${fmt(limitedByPolicy)} messages in all, the spammer's included)`
    ],
    ["misrouted", `${misrouted}  (must be 0)`],
    ["replies w/o marker", `${unmarked.length}  (cut short or unrelated; must be 0)`],
    ["rate-limited user", `${spamAnswered} of ${spamSent} answered, the rest limited (6/min allows <= ${spamAllowed})`],
    [
      "unaddressed lines",
      `${count("tg-unaddressed") + count("dc-unaddressed") + count("cy-unaddressed")} sent, ${unaddressedAnswered} answered (expected 0)`
    ],
    [
      "bot loop",
      `${loopHumans.length} human lines, ${loopBots.length} bot lines, at most ${loopMax} after one human line (bound ${loopBound}), last bot line ${fmt(loopLastGap, 1)} s before the end`
    ],
    [
      "reply latency",
      `p50 ${fmt(percentile(sortedLatency, 50))} ms, p99 ${fmt(percentile(sortedLatency, 99))} ms, max ${fmt(sortedLatency.at(-1) ?? 0)} ms`
    ],
    [
      "reloads",
      `${reloads.plugin} plugin file writes (${pluginReloadsSeen} reloads logged), ${reloads.hup} SIGHUP, ${reloads.persona} persona edits`
    ],
    [
      "RSS",
      `start ${fmt(rssStart, 1)} MB, middle ${fmt(rssMiddle, 1)} MB, end of load ${fmt(rssEndLoad, 1)} MB, after grace ${fmt(rssEnd, 1)} MB, max ${fmt(rssMax, 1)} MB`
    ],
    [
      "RSS slope",
      `${fmt(slope.slope, 1)} ± ${fmt(slope.error, 1)} MB/h over the second half (${secondHalf.length} samples; goal < 5), ${fmt(slopeAll.slope, 1)} MB/h over the whole load`
    ],
    [
      "threads",
      `${samples[0]?.threads} at start, ${secondHalf[0]?.threads} in the middle, ${samples.at(-1)?.threads} at the end of the load`
    ],
    [
      "anonymous memory",
      `start ${fmt(samples[0]?.anon ?? 0, 1)} MB, middle ${fmt(secondHalf[0]?.anon ?? 0, 1)} MB, end ${fmt(samples.at(-1)?.anon ?? 0, 1)} MB (RssAnon: heaps, not mapped files)`
    ],
    ["live actors", `middle: ${actorsInMiddle}`],
    ["", `end: ${actorsAtEnd}`],
    [
      "runtime log",
      `${logLines.length} lines, ${warnings.length} warnings, ${errors.length} errors${childExit === undefined ? "" : `; EXITED with ${childExit}`}`
    ]
  ]
)
if (lostExamples.length > 0) console.log(`  lost, e.g.: ${lostExamples.join("; ")}`)
if (duplicateExamples.length > 0) console.log(`  duplicated or misrouted, e.g.: ${duplicateExamples.join("; ")}`)
if (unmarked.length > 0) {
  console.log(
    `  replies without a marker, e.g.: ${unmarked
      .slice(0, 5)
      .map((l) => `${l.where} ${JSON.stringify(l.text)}${l.edits === undefined ? "" : ` (${l.edits} edits)`}`)
      .join("; ")}`
  )
}
for (const line of [...errors, ...warnings].slice(0, 8)) console.log(`  log: ${line.slice(0, 300)}`)

// ---------------------------------------------------------------- stop

const died = childExit !== undefined
child.kill("SIGTERM")
const exited = await Promise.race([child.exited, Bun.sleep(15_000).then(() => undefined)])
if (exited === undefined) child.kill("SIGKILL")
await Promise.all([telegram.stop(), discord.stop(), cytube.stop(), llm.stop()])
const failed = duplicates > 0 || lost > 0 || misrouted > 0 || unmarked.length > 0 || loopUnbounded || died
if (keep || failed) writeFileSync(join(dir, "sent.json"), JSON.stringify({ sent, lines }, null, 1))
if (keep || failed) console.log(`  project kept at ${dir} (runtime.log, runtime.log.err, data/troupe.db, sent.json)`)
else rmSync(dir, { recursive: true, force: true })
process.exit(failed ? 1 : 0)
