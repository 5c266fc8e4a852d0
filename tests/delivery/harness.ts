/**
 * Fault-injection harness: the real runtime as a child process (`bun core/cli/main.ts start`) on a temporary project,
 * talking to the fake platforms and the fake LLM that run in the test process. A test kills, restarts and reloads the
 * child and asserts on what the fake servers recorded — what a user would have seen.
 */
import { Database } from "bun:sqlite"
import { join } from "node:path"
import { type FakeLlm, startFakeLlm } from "../fakes/llm/index.ts"
import { tempDir } from "../support/tmp.ts"

const root = join(import.meta.dir, "..", "..")
const main = join(root, "core", "cli", "main.ts")

/** Children still running: killed if the test process exits first (a test that timed out never reaches `finally`). */
const live = new Set<ReturnType<typeof Bun.spawn>>()
process.once("exit", () => {
  for (const proc of live) proc.kill("SIGKILL")
})

/** Poll `predicate` (every 10 ms) until it returns something truthy; throws with `label` after `timeoutMs`. */
export const waitUntil = async <T>(
  label: string,
  predicate: () => T | undefined | null | false,
  timeoutMs = 15_000
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`)
    await Bun.sleep(10)
  }
}

/**
 * A long reply of numbered sentences (`S01 …`, `S02 …`), so every part of it is recognisable and a part posted twice
 * shows up as a marker seen twice.
 */
export const longReply = (sentences: number, tag: string): string =>
  Array.from(
    { length: sentences },
    (_, i) => `S${String(i + 1).padStart(2, "0")} ${tag} says the streamed part ${i + 1} is here.`
  ).join(" ")

/** The sentence markers of a reply (`S01`, `S02`, …). */
export const markersOf = (text: string): Array<string> => [...text.matchAll(/S\d\d /g)].map((m) => m[0])

/** A running `troupe start` child process with its log lines. */
export class TroupeProcess {
  readonly lines: Array<string> = []
  url = ""
  private readonly pumps: Array<Promise<void>> = []

  constructor(
    readonly label: string,
    readonly proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>
  ) {
    this.pumps.push(this.pump(proc.stdout), this.pump(proc.stderr))
  }

  private async pump(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder()
    let rest = ""
    for await (const bytes of stream) {
      rest += decoder.decode(bytes, { stream: true })
      const parts = rest.split("\n")
      rest = parts.pop() ?? ""
      this.lines.push(...parts)
    }
    if (rest !== "") this.lines.push(rest)
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** Log lines matching `pattern`. */
  logged(pattern: RegExp): Array<string> {
    return this.lines.filter((line) => pattern.test(line))
  }

  waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    return waitUntil(`log line ${pattern}`, () => this.lines.find((line) => pattern.test(line)), timeoutMs)
  }

  /** Wait until `/readyz` answers 200 (every channel connected). */
  async ready(timeoutMs = 20_000): Promise<void> {
    const line = await this.waitForLog(/Troupe is up at http:\/\/[\d.:]+/, timeoutMs)
    this.url = /(http:\/\/[\d.]+:\d+)/.exec(line)?.[1] ?? ""
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (!this.alive) throw new Error(`${this.label} exited before it was ready`)
      const ok = await fetch(`${this.url}/readyz`).then(
        (response) => response.status === 200,
        () => false
      )
      if (ok) return
      if (Date.now() > deadline) throw new Error(`${this.label}: /readyz never answered 200`)
      await Bun.sleep(25)
    }
  }

  /** `kill -9`: no finalizer runs, nothing buffered is flushed. */
  async crash(): Promise<void> {
    this.proc.kill("SIGKILL")
    await this.proc.exited
    await Promise.all(this.pumps)
  }

  /** SIGTERM, then SIGKILL if it does not exit within 10 s. */
  async stop(): Promise<void> {
    if (!this.alive) return
    this.proc.kill("SIGTERM")
    const exited = await Promise.race([this.proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)])
    if (!exited) await this.crash()
  }
}

export interface ProjectOptions {
  /** persona.yaml of the one persona (`personalities/<persona>/`). */
  readonly persona: string
  readonly personaId?: string
  readonly system?: string
}

/**
 * One test's world: a temporary project, the fake LLM, the children it started and the fakes to stop. `run` kills
 * every child and stops everything whatever happens, and prints the children's logs when the body fails.
 */
export class Scenario {
  readonly children: Array<TroupeProcess> = []
  private readonly cleanups: Array<() => unknown> = []
  readonly project = tempDir()

  private constructor(readonly llm: FakeLlm) {}

  /** How many user messages of the model's latest request contain `text` (a message answered again: exactly one). */
  timesInLastRequest(text: string): number {
    const last = this.llm.requests.at(-1)
    return last === undefined ? 0 : userTextsOf(last.body).filter((t) => t.includes(text)).length
  }

  static async run(body: (scenario: Scenario) => Promise<void>): Promise<void> {
    const scenario = new Scenario(await startFakeLlm())
    try {
      await body(scenario)
    } catch (error) {
      for (const child of scenario.children) {
        process.stderr.write(`\n----- ${child.label} log -----\n${child.lines.join("\n")}\n`)
      }
      throw error
    } finally {
      for (const child of scenario.children) if (child.alive) await child.crash()
      for (const cleanup of scenario.cleanups.reverse()) await cleanup()
      await scenario.llm.stop()
      scenario.project.cleanup()
    }
  }

  /** Run `cleanup` when the scenario ends (fakes to stop). */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup)
  }

  /** Write config.yaml (the fake LLM as the `openai` provider) and the persona's folder. */
  setup(options: ProjectOptions): void {
    const id = options.personaId ?? "sage"
    this.writeConfig()
    this.project.write(`personalities/${id}/persona.yaml`, options.persona)
    this.project.write(`personalities/${id}/system.md`, options.system ?? "You are Sage, version one.")
  }

  /** config.yaml, with `extra` lines appended (e.g. a `store:` section). */
  writeConfig(extra: ReadonlyArray<string> = []): void {
    this.project.write(
      "config.yaml",
      [
        "http: { web: false }",
        "log: { level: info, format: logfmt }",
        "providers:",
        `  openai: { api_key: test, base_url: "${this.llm.openaiBaseUrl}", max_retries: 0, timeout: 20s }`,
        ...extra,
        ""
      ].join("\n")
    )
  }

  /** The outbox as the runtime left it in its SQLite file (`data/troupe.db`), by key. */
  outbox(): Array<{ key: string; chunk: number; status: string; platformId: string | null }> {
    return this.query("SELECT key, chunk, status, platform_id AS platformId FROM outbox ORDER BY key")
  }

  /** The inbound records (every message the runtime decided to answer) with their status. */
  inbound(): Array<{ messageId: string; status: string }> {
    return this.query("SELECT message_id AS messageId, status FROM inbound ORDER BY at")
  }

  private query<T>(sql: string): Array<T> {
    const db = new Database(this.project.path("data/troupe.db"))
    try {
      return db.query(sql).all() as Array<T>
    } finally {
      db.close()
    }
  }

  /** Start `troupe start` (or `dev`) on the project and wait until every channel is ready. */
  async start(command: "start" | "dev" = "start"): Promise<TroupeProcess> {
    const proc = Bun.spawn(["bun", main, command, "--port", "0"], {
      cwd: this.project.dir,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1" }
    })
    live.add(proc)
    void proc.exited.then(() => live.delete(proc))
    const child = new TroupeProcess(`troupe #${this.children.length + 1}`, proc)
    this.children.push(child)
    await child.ready()
    return child
  }
}

/** The system prompt of a recorded OpenAI request. */
export const systemOf = (body: { messages?: Array<{ role: string; content: unknown }> }): string =>
  (body.messages ?? [])
    .filter((m) => m.role === "system")
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
    .join("\n")

/** The user texts of a recorded OpenAI request. */
const userTextsOf = (body: { messages?: Array<{ role: string; content: unknown }> }): Array<string> =>
  (body.messages ?? [])
    .filter((m) => m.role === "user")
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
