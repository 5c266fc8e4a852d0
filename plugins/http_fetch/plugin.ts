/**
 * `http_fetch`: read a web page or an API for the model. HTML becomes readable text, JSON is pretty-printed, other
 * text is returned as it is, binary content is refused; everything is cut to `max_chars`.
 *
 * The request goes through `ctx.http.fetch`, i.e. through the host, which refuses private, loopback, link-local and
 * cloud-metadata destinations (after every redirect too) and pins the connection to the address it checked — see
 * core/tools/README.md. This plugin adds what is specific to the model: methods, body handling, text extraction.
 *
 * config.yaml (`plugins: { http_fetch: {...} }`):
 *   max_chars: 8000          # longest text returned to the model
 *   user_agent: "Troupe/1.0 (+https://github.com/…)"
 *   allow_hosts, allow_private, only_hosts, timeout, max_bytes, max_redirects: read by the host's guard (declared
 *   here too, so a typo in any of them is reported with its line)
 *
 * Persona options (`tool_options: { http_fetch: {...} }`):
 *   allow_post: true         # let this persona send POST requests (default: GET and HEAD only)
 *   max_chars: 4000          # a smaller cap for this persona
 */
import { definePlugin, defineTool, Schema } from "troupe/sdk"
import { htmlToText } from "./html.ts"

const Config = Schema.Struct({
  max_chars: Schema.optionalWith(Schema.Int.pipe(Schema.between(100, 200_000)), { default: () => 8000 }),
  user_agent: Schema.optionalWith(Schema.String, { default: () => "Troupe/0.1 (chat bot tool; +http_fetch)" }),
  // Read by the host's guard (core/tools/GuardedFetch.ts).
  allow_hosts: Schema.optional(Schema.Array(Schema.String)),
  allow_private: Schema.optional(Schema.Boolean),
  only_hosts: Schema.optional(Schema.Array(Schema.String)),
  timeout: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  max_bytes: Schema.optional(Schema.Int),
  max_redirects: Schema.optional(Schema.Int)
})
type Config = typeof Config.Type

const Options = Schema.Struct({
  allow_post: Schema.optional(Schema.Boolean),
  max_chars: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

const textTypes =
  /^(text\/|application\/(json|xml|xhtml\+xml|javascript|ecmascript|x-www-form-urlencoded|ld\+json|rss\+xml|atom\+xml|csv|yaml|x-yaml|toml|x-ndjson)|[^;]*\+(json|xml))/i

/** Mostly control characters, or a NUL: not text. */
const looksBinary = (bytes: Uint8Array) => {
  const sample = bytes.subarray(0, 4096)
  let control = 0
  for (const byte of sample) {
    if (byte === 0) return true
    if (byte < 9 || (byte > 13 && byte < 32)) control++
  }
  return sample.length > 0 && control / sample.length > 0.1
}

const decode = (bytes: Uint8Array, contentType: string) => {
  const charset = /charset\s*=\s*"?([\w-]+)/i.exec(contentType)?.[1] ?? "utf-8"
  try {
    return new TextDecoder(charset).decode(bytes)
  } catch {
    return new TextDecoder("utf-8").decode(bytes)
  }
}

const cut = (text: string, max: number) =>
  text.length <= max
    ? text
    : `${text.slice(0, max)}\n… [cut: ${(text.length - max).toLocaleString("en-US")} more characters]`

export default definePlugin({
  name: "http_fetch",
  version: "1.0.0",
  description: "Fetch a web page or API (GET/HEAD; POST when the persona allows it) as readable text",
  config: Config,
  tools: [
    defineTool({
      name: "http_fetch",
      description:
        "Fetch a public web page or API by URL and return its content as text (HTML converted to readable text, JSON " +
        "pretty-printed). Private and local network addresses are refused.",
      parameters: Schema.Struct({
        url: Schema.String.annotations({ description: "http:// or https:// URL" }),
        method: Schema.optionalWith(Schema.Literal("GET", "HEAD", "POST"), { default: () => "GET" as const }),
        body: Schema.optional(Schema.String.annotations({ description: "POST only: the request body" })),
        content_type: Schema.optional(
          Schema.String.annotations({ description: "POST only (default application/json)" })
        ),
        max_chars: Schema.optional(Schema.Int.pipe(Schema.positive()))
      }),
      timeout: "30 seconds",
      run: async ({ url, method, body, content_type, max_chars }, ctx) => {
        const config = ctx.config as Config
        const options = Schema.decodeUnknownSync(Options)(ctx.options ?? {})
        if (method === "POST" && !options.allow_post) {
          throw new Error("POST is not allowed for this persona (tool_options: { http_fetch: { allow_post: true } })")
        }
        if (body !== undefined && method !== "POST") throw new Error("a body can only be sent with POST")
        const limit = Math.min(
          max_chars ?? Number.POSITIVE_INFINITY,
          options.max_chars ?? config.max_chars,
          config.max_chars
        )
        const headers: Record<string, string> = {
          "user-agent": config.user_agent,
          accept: "text/html,application/xhtml+xml,application/json;q=0.9,text/plain;q=0.8,*/*;q=0.5"
        }
        if (method === "POST") headers["content-type"] = content_type ?? "application/json"
        // Errors of the host (refused address, timeout, too large) arrive as readable messages: let them through.
        const response = await ctx.http.fetch(url, { method, headers, body: body ?? null, signal: ctx.signal })
        const contentType = response.headers.get("content-type") ?? ""
        const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`
        const head = `URL: ${response.url || url}\nStatus: ${status}\nContent-Type: ${contentType || "(none)"}`
        if (method === "HEAD") {
          const length = response.headers.get("content-length")
          return `${head}${length ? `\nContent-Length: ${length}` : ""}`
        }
        const bytes = new Uint8Array(await response.arrayBuffer())
        const kind = contentType.split(";")[0]!.trim().toLowerCase()
        if ((kind && !textTypes.test(kind)) || looksBinary(bytes)) {
          const what = `${kind || "unknown type"}, ${bytes.length.toLocaleString("en-US")} bytes`
          throw new Error(`${response.url || url} is binary content (${what}): only text can be read`)
        }
        const raw = decode(bytes, contentType)
        let text = raw
        if (
          kind === "text/html" ||
          kind === "application/xhtml+xml" ||
          (!kind && /^\s*<(!doctype html|html)/i.test(raw))
        ) {
          text = htmlToText(raw, response.url || url)
        } else if (/json/.test(kind)) {
          try {
            text = JSON.stringify(JSON.parse(raw), null, 2)
          } catch {
            text = raw
          }
        }
        return `${head}\n\n${cut(text, limit)}`
      }
    })
  ]
})
