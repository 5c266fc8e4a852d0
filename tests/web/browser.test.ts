/**
 * The playground in a real browser: Debian's Chromium driven by playwright-core against the real runtime, with the
 * fake LLM server as its provider. Skipped, with a message saying why, when Chromium is not installed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Browser, chromium } from "playwright-core"
import { type FakeLlm, startFakeLlm } from "../fakes/llm/index.ts"
import { configFor, dicePlugin, personaFiles, startRuntime, type TestRuntime } from "./support.ts"

const executablePath = process.env.TROUPE_CHROMIUM ?? "/usr/bin/chromium"
const available = existsSync(executablePath)
if (!available) {
  console.log(
    `SKIPPED the browser test (tests/web/browser.test.ts): no Chromium at ${executablePath}. ` +
      "Install it with `apt-get install chromium` (.ci/run does) or point TROUPE_CHROMIUM at a Chromium binary."
  )
}

const artifacts = join(import.meta.dir, "..", "artifacts")

const launchOptions = {
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
  ]
}

let llm: FakeLlm | undefined
let troupe: TestRuntime | undefined
let browser: Browser | undefined

beforeAll(async () => {
  if (available) browser = await chromium.launch(launchOptions)
})

afterAll(async () => {
  await browser?.close()
  await troupe?.stop()
  await llm?.stop()
})

/** A page that records what goes wrong in it (errors, warnings, failed loads). */
const openPage = async (url: string) => {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } })
  const problems: Array<string> = []
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`console: ${message.text()}`)
  })
  await page.goto(url)
  await page.waitForSelector("#status[data-state=open]")
  return { page, problems }
}

test.skipIf(!available)(
  "chat with a persona in the browser: streamed reply, the conversation in the actor tree, a persona reload event",
  async () => {
    llm = await startFakeLlm()
    const answer = "Greetings from the fake model, dear browser friend"
    llm.onRequest((request) =>
      JSON.stringify(request.body.messages.at(-1)).includes("roll a die")
        ? { toolCalls: [{ name: "roll", arguments: { sides: 6 } }] }
        : { text: answer, chunks: 6, chunkDelayMs: 60 }
    )
    troupe = await startRuntime(
      { "config.yaml": configFor(llm.openaiBaseUrl), ...personaFiles("sage", { tools: ["roll"] }), ...dicePlugin },
      { watch: true }
    )
    const { page, problems } = await openPage(`${troupe.url}/`)
    expect(await page.isHidden("#notice")).toBe(true)

    // Choose the persona; its (empty) conversation opens.
    await page.click("button.persona[data-persona=sage]")
    await page.waitForSelector("button.persona.selected[data-persona=sage]")
    await page.waitForSelector("#say-text:not([disabled])")

    // Record every text the reply shows as it streams.
    await page.evaluate(() => {
      const seen: Array<string> = []
      ;(window as unknown as { seen: Array<string> }).seen = seen
      new MutationObserver(() => {
        const text = document.querySelector("#log .line.assistant .text")?.textContent
        if (text && seen.at(-1) !== text) seen.push(text)
      }).observe(document.getElementById("log")!, { subtree: true, childList: true, characterData: true })
    })
    await page.fill("#say-text", "hello from the browser")
    await page.press("#say-text", "Enter")
    await page.waitForSelector("#log .line.user >> text=hello from the browser")
    const reply = page.locator("#log .line.assistant:not(.streaming)")
    await reply.waitFor()
    expect(await reply.locator(".text").textContent()).toBe(answer)
    expect(await reply.locator(".meta").textContent()).toContain("openai/fake-model")
    const seen = await page.evaluate(() => (window as unknown as { seen: Array<string> }).seen)
    // It grew: several partial texts, each a prefix of the next, before the whole answer.
    expect(seen.length).toBeGreaterThanOrEqual(3)
    for (const [i, text] of seen.entries()) if (i > 0) expect(text.startsWith(seen[i - 1]!)).toBe(true)
    expect(seen.at(-1)).toBe(answer)
    expect(Number(await reply.getAttribute("data-deltas"))).toBeGreaterThanOrEqual(3)

    // The conversation appears in the live actor tree.
    const tab = await page.evaluate(() => sessionStorage.getItem("troupe.tab"))
    const node = page.locator(`#tree li[data-path="troupe/persona:sage/router/sage/web/${tab}"]`)
    await node.waitFor()
    expect(await node.getAttribute("data-kind")).toBe("conversation")
    expect(await node.locator(".state").first().textContent()).toBe("ready")

    // Editing system.md reloads the persona; the page shows the reload and the event.
    troupe.write("personalities/sage/system.md", "You are sage, edited while the page was open.\n")
    const reload = page.locator('#reloads li[data-type="PersonaLoaded"]')
    await reload.waitFor({ timeout: 5000 })
    expect(await reload.textContent()).toContain("persona sage")
    await page.waitForSelector('#events li[data-type="PersonaLoaded"]')

    // The next answer uses the edited prompt, and calls a tool: the call shows inline with its result and time.
    await page.fill("#say-text", "roll a die please")
    await page.press("#say-text", "Enter")
    const tool = page.locator("#log details.line.tool.ok")
    await tool.waitFor()
    expect(await tool.locator(".tool-name").textContent()).toBe("roll")
    expect(await tool.locator(".tool-args").textContent()).toBe('{"sides":6}')
    expect(await tool.locator(".tool-status").textContent()).toMatch(/^ok · \d+ ms$/)
    await tool.locator("summary").click()
    expect(await tool.locator(".tool-detail pre").last().textContent()).toBe("4")
    await page.locator("#log .line.assistant:not(.streaming)").nth(1).waitFor()
    expect(JSON.stringify(llm.requests.at(-1)?.body.messages)).toContain("edited while the page was open")

    mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: join(artifacts, "web-playground.png"), fullPage: true })

    // A reload of the tab comes back to the same conversation.
    await page.reload()
    await page.waitForSelector("button.persona.selected[data-persona=sage]")
    await page.waitForSelector("#log .line.user >> text=hello from the browser")
    expect(await page.locator("#log .line.assistant").count()).toBe(2)
    expect(await page.locator("#log details.line.tool.ok .tool-name").textContent()).toBe("roll")
    expect(problems).toEqual([])
    await page.close()
  },
  30_000
)

test.skipIf(!available)(
  "without a provider the page says so, shows the config lines, and labels the echo answers",
  async () => {
    const bare = await startRuntime({ "config.yaml": configFor(undefined), ...personaFiles("sage") })
    try {
      if (bare.runtime.usableProviders.size > 0) return console.log("skipped: a local Ollama answered")
      const { page, problems } = await openPage(`${bare.url}/`)
      await page.waitForSelector("#notice:not([hidden])")
      expect(await page.locator("#notice strong").textContent()).toBe("No LLM provider is configured")
      expect(await page.locator("#notice pre.config").textContent()).toBe(
        "providers:\n  openai:\n    api_key: ${OPENAI_API_KEY}"
      )
      const shell = await page.locator("#notice pre.shell").textContent()
      expect(shell).toContain("export OPENAI_API_KEY")
      expect(shell).not.toContain("[redacted]")
      expect(await page.locator("button.persona[data-persona=sage] .badge.echo").textContent()).toBe("echo")
      await page.click("button.persona[data-persona=sage]")
      expect(await page.locator("#chat-title .echo-label").textContent()).toContain("echo development provider")
      await page.waitForSelector("#say-text:not([disabled])")
      await page.fill("#say-text", "is anyone there?")
      await page.press("#say-text", "Enter")
      const reply = page.locator("#log .line.assistant:not(.streaming)")
      await reply.waitFor()
      expect(await reply.locator(".text").textContent()).toBe("[echo] is anyone there?")
      expect(await reply.locator(".badge.echo").textContent()).toBe("echo provider")
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, "web-no-provider.png") })
      expect(problems).toEqual([])
      await page.close()
    } finally {
      await bare.stop()
    }
  },
  20_000
)
