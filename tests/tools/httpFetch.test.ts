import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { Effect, Either, Logger, LogLevel } from "effect"
import { HostApi, makeHostApi, type WireResponse } from "../../core/plugins/HostApi.ts"
import { type GuardedFetchOptions, guardedFetchHandler, registerGuardedFetch } from "../../core/tools/GuardedFetch.ts"
import { tempDir } from "../support/tmp.ts"
import { callTool, context, sharedBuiltins } from "./support.ts"

const page = `<!doctype html>
<html><head><title>Troupe &amp; friends</title><style>body { color: red }</style>
<script>var secret = "do not show"</script></head>
<body>
<nav><a href="/home">Home</a> | <a href="/about">About</a></nav>
<h1>Welcome</h1>
<p>Troupe runs <b>several</b> personas.<br>Second line.</p>
<ul><li>Telegram</li><li>Discord</li></ul>
<p>Read the <a href="/docs?page=1&amp;lang=en">documentation</a>.</p>
<script type="module">console.log("nor this")</script>
</body></html>`

/** Requests the test server saw, by path. */
const seen: Array<{ path: string; host: string | null; method: string; body: string }> = []
let server: Bun.Server<undefined>
let base = ""

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url)
      seen.push({
        path: url.pathname,
        host: request.headers.get("host"),
        method: request.method,
        body: await request.text()
      })
      switch (url.pathname) {
        case "/page":
          return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } })
        case "/data":
          return Response.json({ name: "sage", tools: ["clock", "notes"], nested: { ok: true } })
        case "/binary":
          return new Response(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), {
            headers: { "content-type": "image/png" }
          })
        case "/long":
          return new Response("abcdefghij".repeat(100), { headers: { "content-type": "text/plain" } })
        case "/big":
          return new Response("x".repeat(50_000), { headers: { "content-type": "text/plain" } })
        case "/slow":
          await Bun.sleep(2000)
          return new Response("late")
        case "/hop":
          return Response.redirect("/page", 302)
        case "/to-loopback":
          return Response.redirect(`http://127.0.0.1:${server.port}/secret`, 302)
        case "/to-name":
          return Response.redirect(`http://innocent.example:${server.port}/secret`, 302)
        case "/loop":
          return Response.redirect("/loop", 302)
        case "/submit":
          return Response.json({ received: request.method })
        default:
          return new Response("secret!", { status: 200 })
      }
    }
  })
  base = `http://127.0.0.1:${server.port}`
})
afterAll(() => server.stop(true))

const host = sharedBuiltins()

/** Names the tests use, and how often each was looked up. */
const lookups = new Map<string, number>()
const resolve = async (name: string) => {
  lookups.set(name, (lookups.get(name) ?? 0) + 1)
  const table: Record<string, string> = {
    "redirector.example": "127.0.0.1",
    "innocent.example": "127.0.0.1",
    "public.example": "127.0.0.1"
  }
  const address = table[name]
  if (!address) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" })
  return [{ address }]
}

/** Call http_fetch with the host's guard set up with `guard` (and the test resolver). */
const fetchWith = (guard: GuardedFetchOptions, args: Record<string, unknown>, options?: Record<string, unknown>) =>
  host.run(
    Effect.gen(function* () {
      const api = yield* HostApi
      yield* api.register("http.fetch", guardedFetchHandler({ resolve, ...guard }))
      return yield* callTool("http_fetch", args, context({ options }))
    })
  )

const local = { allowHosts: ["127.0.0.1"] }

describe("http_fetch", () => {
  test("HTML comes back as readable text: title, headings, paragraphs, links; no scripts, styles or navigation", async () => {
    const outcome = await fetchWith(local, { url: `${base}/page` })
    expect(outcome.ok).toBe(true)
    expect(outcome.content).toBe(
      [
        `URL: ${base}/page`,
        "Status: 200 OK",
        "Content-Type: text/html; charset=utf-8",
        "",
        "Title: Troupe & friends",
        "",
        "# Welcome",
        "",
        "Troupe runs several personas.",
        "Second line.",
        "",
        "- Telegram",
        "- Discord",
        "",
        `Read the [documentation](${base}/docs?page=1&lang=en).`
      ].join("\n")
    )
  })

  test("JSON is pretty-printed; binary content is refused; long text is cut", async () => {
    const json = await fetchWith(local, { url: `${base}/data` })
    expect(json.content).toEndWith(
      '\n\n{\n  "name": "sage",\n  "tools": [\n    "clock",\n    "notes"\n  ],\n  "nested": {\n    "ok": true\n  }\n}'
    )
    expect(await fetchWith(local, { url: `${base}/binary` })).toMatchObject({
      ok: false,
      content: `${base}/binary is binary content (image/png, 8 bytes): only text can be read`
    })
    const cut = await fetchWith(local, { url: `${base}/long` }, { max_chars: 150 })
    expect(cut.content).toEndWith(`\n\n${"abcdefghij".repeat(15)}\n… [cut: 850 more characters]`)
    const head = await fetchWith(local, { url: `${base}/long`, method: "HEAD" })
    expect(head.content).toBe(`URL: ${base}/long\nStatus: 200 OK\nContent-Type: text/plain\nContent-Length: 1000`)
  })

  test("POST only for personas that allow it", async () => {
    const body = '{"q":1}'
    expect(await fetchWith(local, { url: `${base}/submit`, method: "POST", body })).toMatchObject({
      ok: false,
      content: "POST is not allowed for this persona (tool_options: { http_fetch: { allow_post: true } })"
    })
    const before = seen.length
    const posted = await fetchWith(local, { url: `${base}/submit`, method: "POST", body }, { allow_post: true })
    expect(posted.content).toContain('"received": "POST"')
    expect(seen.slice(before)).toEqual([{ path: "/submit", host: `127.0.0.1:${server.port}`, method: "POST", body }])
  })

  test("loopback, private, link-local and metadata addresses are refused in every spelling, before any request", async () => {
    const before = seen.length
    const refused = async (url: string) => {
      const outcome = await fetchWith({}, { url })
      expect(outcome.ok).toBe(false)
      return outcome.content
    }
    expect(await refused(`${base}/secret`)).toStartWith("127.0.0.1 is a loopback address: refused")
    expect(await refused("http://10.0.0.1/")).toStartWith("10.0.0.1 is a private address: refused")
    expect(await refused("http://169.254.169.254/latest/meta-data/")).toStartWith(
      "169.254.169.254 is a cloud metadata address: refused"
    )
    expect(await refused(`http://[::1]:${server.port}/secret`)).toStartWith("::1 is a loopback address")
    expect(await refused(`http://2130706433:${server.port}/secret`)).toStartWith("127.0.0.1 is a loopback address")
    expect(await refused(`http://0x7f000001:${server.port}/secret`)).toStartWith("127.0.0.1 is a loopback address")
    expect(await refused(`http://[::ffff:127.0.0.1]:${server.port}/secret`)).toStartWith("::ffff:7f00:1 is a loopback")
    expect(await refused(`http://public.example:${server.port}/secret`)).toStartWith(
      "public.example resolves to 127.0.0.1, which is a loopback address: refused"
    )
    expect(seen.length).toBe(before)
  })

  test("a public-looking name that redirects to loopback is refused at the redirect", async () => {
    // The redirector itself is allowed by name (it stands for a public site); where it sends us is checked anew.
    const guard = { allowHosts: ["redirector.example"] }
    const from = `http://redirector.example:${server.port}`
    const before = seen.length
    expect(await fetchWith(guard, { url: `${from}/to-loopback` })).toMatchObject({
      ok: false,
      content: "127.0.0.1 is a loopback address: refused (allow it with plugins.http_fetch.allow_hosts in config.yaml)"
    })
    expect(await fetchWith(guard, { url: `${from}/to-name` })).toMatchObject({
      ok: false,
      content:
        "innocent.example resolves to 127.0.0.1, which is a loopback address: refused (allow it with plugins.http_fetch.allow_hosts in config.yaml)"
    })
    expect(seen.slice(before).map((request) => request.path)).toEqual(["/to-loopback", "/to-name"])
    // A redirect within the allowed site is followed.
    const hop = await fetchWith(guard, { url: `${from}/hop` })
    expect(hop.content).toStartWith(`URL: ${from}/page\nStatus: 200 OK`)
    expect(await fetchWith(guard, { url: `${from}/loop` })).toMatchObject({
      ok: false,
      content: `redirector.example:${server.port}: more than 5 redirects`
    })
  })

  test("the connection goes to the address that was checked: one lookup per hop, the name kept in Host", async () => {
    lookups.clear()
    const before = seen.length
    const outcome = await fetchWith({ allowHosts: ["127.0.0.1"] }, { url: `http://public.example:${server.port}/hop` })
    expect(outcome.content).toStartWith(`URL: http://public.example:${server.port}/page\nStatus: 200 OK`)
    expect(lookups.get("public.example")).toBe(2)
    expect(seen.slice(before).map((request) => request.host)).toEqual([
      `public.example:${server.port}`,
      `public.example:${server.port}`
    ])
  })

  test("when a name has several addresses, the next checked one is tried if one cannot be reached", async () => {
    const twoAddresses = async () => [{ address: "127.0.0.2" }, { address: "127.0.0.1" }]
    const outcome = await fetchWith(
      { allowHosts: ["127.0.0.0/8"], resolve: twoAddresses },
      { url: `http://multi.example:${server.port}/data` }
    )
    expect(outcome.content).toStartWith(`URL: http://multi.example:${server.port}/data\nStatus: 200 OK`)
    // Nothing listens on 127.0.0.2: alone, it fails.
    const dead = await fetchWith(
      { allowHosts: ["127.0.0.0/8"], resolve: async () => [{ address: "127.0.0.2" }] },
      { url: `http://multi.example:${server.port}/data` }
    )
    expect(dead).toMatchObject({ ok: false, content: expect.stringContaining("ECONNREFUSED") })
  })

  test("timeouts and oversized responses are readable errors", async () => {
    expect(await fetchWith({ ...local, timeoutMs: 200 }, { url: `${base}/slow` })).toMatchObject({
      ok: false,
      content: `127.0.0.1:${server.port}: timed out`
    })
    expect(await fetchWith({ ...local, maxResponseBytes: 10_000 }, { url: `${base}/big` })).toMatchObject({
      ok: false,
      content: `127.0.0.1:${server.port}: the response is larger than 10000 bytes`
    })
  })
})

/** A self-signed certificate for `pinned.test`, made with openssl when it is installed. */
const certificate = () => {
  const openssl = Bun.which("openssl")
  if (!openssl) return undefined
  const dir = tempDir()
  try {
    const made = Bun.spawnSync([
      openssl,
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      dir.path("key.pem"),
      "-out",
      dir.path("cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=pinned.test",
      "-addext",
      "subjectAltName=DNS:pinned.test"
    ])
    if (made.exitCode !== 0) return undefined
    return { cert: readFileSync(dir.path("cert.pem"), "utf8"), key: readFileSync(dir.path("key.pem"), "utf8") }
  } finally {
    dir.cleanup()
  }
}

describe("the runtime's http.fetch", () => {
  test("is set up from plugins.http_fetch in config.yaml; a malformed section falls back to the strict defaults", async () => {
    const get = async (raw: unknown, path: string) => {
      const api = makeHostApi()
      const errors: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel === LogLevel.Error) errors.push(String(message))
      })
      await Effect.runPromise(
        registerGuardedFetch(raw).pipe(
          Effect.provideService(HostApi, api),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
      )
      const request = { url: `${base}${path}`, method: "GET", headers: [], body: null }
      const answer = await Effect.runPromise(
        Effect.either(api.call("http.fetch", context(), request, { plugin: "test", tool: undefined }))
      )
      return {
        errors,
        answer: Either.isRight(answer) ? (answer.right as WireResponse).status : answer.left.message
      }
    }
    expect(await get({ allow_hosts: ["127.0.0.1"], max_bytes: 5000 }, "/data")).toEqual({ errors: [], answer: 200 })
    expect(await get({ allow_hosts: ["127.0.0.1"], max_bytes: 100 }, "/long")).toEqual({
      errors: [],
      answer: `127.0.0.1:${server.port}: the response is larger than 100 bytes`
    })
    const malformed = await get({ allow_hosts: "127.0.0.1" }, "/data")
    expect(malformed.answer).toStartWith("127.0.0.1 is a loopback address: refused")
    expect(malformed.errors).toEqual([
      'config.yaml plugins.http_fetch.allow_hosts: expected ReadonlyArray<string>, got "127.0.0.1": outbound HTTP uses the default guard (no private addresses)'
    ])
  })
})

describe("http_fetch over https", () => {
  const tls = certificate()
  if (!tls) console.warn("http_fetch https pinning test SKIPPED: openssl is not installed to make a test certificate")
  test.skipIf(!tls)("https is pinned too: the address checked, the certificate verified against the name", async () => {
    const secure = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: tls!,
      fetch: (request) =>
        new Response(`host ${request.headers.get("host")}`, { headers: { "content-type": "text/plain" } })
    })
    try {
      // Trust the test certificate; everything else is the guard's own request.
      const trusting: typeof fetch = Object.assign(
        (input: string | URL | Request, init?: RequestInit) =>
          fetch(input, {
            ...init,
            tls: { ...(init as { tls?: object } | undefined)?.tls, ca: tls!.cert }
          } as RequestInit),
        { preconnect: fetch.preconnect }
      )
      const pinned = (name: string) =>
        fetchWith(
          { allowHosts: ["127.0.0.1"], fetch: trusting, resolve: async () => [{ address: "127.0.0.1" }] },
          { url: `https://${name}:${secure.port}/` }
        )
      expect((await pinned("pinned.test")).content).toEndWith(`\n\nhost pinned.test:${secure.port}`)
      // The same server under another name: the certificate does not match, so nothing is read.
      const other = await pinned("other.test")
      expect(other.ok).toBe(false)
      expect(other.content).toContain("ERR_TLS_CERT_ALTNAME_INVALID")
    } finally {
      secure.stop(true)
    }
  })
})
