import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { buildDist } from "../../core/cli/build.ts"
import { tempDir } from "../support/tmp.ts"

const root = join(import.meta.dir, "..", "..")
const dirs: Array<ReturnType<typeof tempDir>> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})

const freePort = () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}

describe("the bundled runtime (what bun start runs)", () => {
  test("starts from another folder, serves the web page with its assets, is ready, and answers", async () => {
    const out = tempDir()
    const project = tempDir({
      "config.yaml": "providers: {}\nlog: { level: warn }\n",
      "personalities/sage/persona.yaml": "display_name: Sage\nmodel: { provider: echo }\n"
    })
    dirs.push(out, project)
    const entry = await buildDist(root, out.path("dist"))
    const port = freePort()
    const child = Bun.spawn(["bun", entry, "start", "--port", String(port)], {
      cwd: project.dir,
      stdout: "ignore",
      stderr: "pipe"
    })
    try {
      const base = `http://127.0.0.1:${port}`
      let ready = false
      for (let i = 0; i < 200 && !ready; i++) {
        ready = await fetch(`${base}/readyz`).then(
          (r) => r.status === 200,
          () => false
        )
        if (!ready) await Bun.sleep(50)
      }
      expect(ready).toBe(true)
      const page = await fetch(`${base}/`)
      expect(page.status).toBe(200)
      const html = await page.text()
      const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map(
        (m) => new URL(m[1]!, `${base}/`).pathname
      )
      expect(assets.length).toBeGreaterThanOrEqual(2)
      for (const asset of assets) expect((await fetch(`${base}${asset}`)).status).toBe(200)

      // A chat over the playground's socket goes through the bundled router and the echo provider.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
      const frames: Array<{ _tag: string; text?: string }> = []
      ws.onmessage = (event) => frames.push(JSON.parse(String(event.data)))
      await new Promise((resolve) => (ws.onopen = resolve))
      ws.send(JSON.stringify({ _tag: "Hello", tab: "tab-bundle-test" }))
      ws.send(JSON.stringify({ _tag: "Select", persona: "sage" }))
      ws.send(JSON.stringify({ _tag: "Say", text: "hello from the bundle" }))
      for (let i = 0; i < 100 && !frames.some((f) => f._tag === "ReplyCompleted"); i++) await Bun.sleep(50)
      expect(frames.find((f) => f._tag === "ReplyCompleted")?.text).toBe("[echo] hello from the bundle")
      ws.close()
    } finally {
      child.kill("SIGTERM")
      expect(await child.exited).toBe(0)
    }
  }, 30_000)
})
