import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { defaultRedactor, isSecretKey, Redaction, Redactor } from "../../core/log/Redactor.ts"

const telegramToken = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
const discordToken = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.xYz0123456789abcdefghijklmnopqrstuvw"

describe("Redactor built-in patterns", () => {
  const redactor = new Redactor()
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["a Telegram bot token", `token ${telegramToken} leaked`, "token [redacted] leaked"],
    [
      "a Telegram bot token inside an API URL",
      `GET https://api.telegram.org/bot${telegramToken}/getUpdates?offset=3`,
      "GET https://api.telegram.org/bot[redacted]/getUpdates?offset=3"
    ],
    ["an OpenAI key", "key sk-proj-Ab3dEf6hIj9kLm2nOp5q in use", "key [redacted] in use"],
    ["an Anthropic key", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345-AA", "[redacted]"],
    ["a Groq key", "GROQ=gsk_0123456789abcdefghijklmnopqrstuv", "GROQ=[redacted]"],
    ["a Perplexity key", "(pplx-0123456789abcdef0123456789abcdef)", "([redacted])"],
    ["a Bearer header", "Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"],
    ["a Bot header in JSON", '{"authorization":"Bot short-one"}', '{"authorization":"Bot [redacted]"}'],
    ["a lone bearer token", "sent Bearer eyJhbGciOiJIUzI1NiJ9xyz to it", "sent Bearer [redacted] to it"],
    [
      "query and assignment values",
      "https://h/x?token=abc123&page=2&key=zzz9 api_key=q1 password='hunter two' bot_token=xyz",
      "https://h/x?token=[redacted]&page=2&key=[redacted] api_key=[redacted] password=[redacted] bot_token=[redacted]"
    ],
    ["a JSON member", '{"apiKey": "abcdef", "max_tokens": 5}', '{"apiKey": "[redacted]", "max_tokens": 5}'],
    [
      "quoted values inside a quoted logfmt value",
      String.raw`msg="retry with password=\"a b\" and {\"bot_token\":\"x y\"}" n=1`,
      String.raw`msg="retry with password=[redacted] and {\"bot_token\":\"[redacted]\"}" n=1`
    ],
    ["a Discord bot token", `login ${discordToken} failed`, "login [redacted] failed"],
    ["a password in a URL", "postgres://troupe:s3cret@db:5432/troupe", "postgres://troupe:[redacted]@db:5432/troupe"]
  ]
  for (const [what, input, expected] of cases) {
    test(`redacts ${what}`, () => {
      expect(redactor.redact(input)).toBe(expected)
    })
  }

  test("leaves ordinary text with colons, numbers and token counts alone", () => {
    const ordinary = [
      "meet at 12:30 in room 42",
      "a:b and c:d, ratio 16:9, id 123456:abc",
      "telegram:chat:42 discord:channel:99 persona=sage",
      "max_tokens=100 tokens=5 token_count=3 tokenizer=cl100k usage.input_tokens: 12",
      "the task-management-dashboard-component renders",
      "see https://example.com/a/b?page=2&sort=desc#top",
      "some.module.name and v1.2.3 and file.test.ts",
      "Bot successfully started; bearer of good news",
      "1700000000000:1700000000001"
    ]
    for (const text of ordinary) expect(redactor.redact(text)).toBe(text)
  })
})

describe("Redactor registered secrets", () => {
  test("replaces every occurrence, inside longer text and URLs, also JSON-escaped or URL-encoded", () => {
    const redactor = new Redactor({ builtins: false })
    redactor.add("adm1n-t0ken")
    redactor.add('pa"ss\\word')
    redactor.add("with space/slash")
    expect(redactor.redact("x-adm1n-t0ken-y adm1n-t0ken")).toBe("x-[redacted]-y [redacted]")
    expect(redactor.redact("http://h/admin?t=adm1n-t0ken#x")).toBe("http://h/admin?t=[redacted]#x")
    expect(redactor.redact(JSON.stringify({ p: 'pa"ss\\word' }))).toBe('{"p":"[redacted]"}')
    expect(redactor.redact(`/a/${encodeURIComponent("with space/slash")}/b`)).toBe("/a/[redacted]/b")
  })

  test("ignores short values and escapes regex metacharacters", () => {
    const redactor = new Redactor({ builtins: false })
    redactor.add("abc")
    redactor.add("")
    redactor.add(undefined)
    redactor.add("a.b*c+d?(e)[f]$^|")
    expect(redactor.size).toBe(1)
    expect(redactor.redact("abc a.b*c+d?(e)[f]$^| axbbcxd")).toBe("abc [redacted] axbbcxd")
  })

  test("a secret added later is redacted from then on", () => {
    const redactor = new Redactor()
    expect(redactor.redact("hello opensesame")).toBe("hello opensesame")
    redactor.add("opensesame")
    expect(redactor.redact("hello opensesame")).toBe("hello [redacted]")
  })

  test("the longer of two overlapping secrets is replaced whole", () => {
    const redactor = new Redactor({ builtins: false })
    redactor.add("secret1")
    redactor.add("secret1-and-more")
    expect(redactor.redact("secret1-and-more secret1")).toBe("[redacted] [redacted]")
  })
})

describe("redactValue", () => {
  const redactor = new Redactor()
  redactor.add("hunter2-hunter2")

  test("deep-redacts strings in objects, arrays, maps and sets without touching the input", () => {
    const input = {
      persona: "sage",
      nested: [{ text: "pw hunter2-hunter2" }, new Set(["hunter2-hunter2"]), new Map([["k", "hunter2-hunter2"]])],
      count: 3
    }
    const output = redactor.redactValue(input) as typeof input
    expect(output).toEqual({
      persona: "sage",
      nested: [{ text: "pw [redacted]" }, new Set(["[redacted]"]), new Map([["k", "[redacted]"]])],
      count: 3
    })
    expect(input.nested[0]).toEqual({ text: "pw hunter2-hunter2" })
  })

  test("properties whose key looks secret are redacted whatever their value", () => {
    const output = redactor.redactValue({
      token: "plain",
      botToken: 12345678,
      api_key: "x",
      apiKey: { nested: true },
      Authorization: "Bot x",
      PASSWORD: "p",
      clientSecret: "s",
      missingToken: undefined,
      maxTokens: 256,
      tokenizer: "cl100k",
      tokens: 10
    })
    expect(output).toEqual({
      token: "[redacted]",
      botToken: "[redacted]",
      api_key: "[redacted]",
      apiKey: "[redacted]",
      Authorization: "[redacted]",
      PASSWORD: "[redacted]",
      clientSecret: "[redacted]",
      missingToken: undefined,
      maxTokens: 256,
      tokenizer: "cl100k",
      tokens: 10
    })
  })

  test("errors keep their class, with message, stack, cause and fields redacted", () => {
    class LoginFailed extends Error {
      readonly token = "abcdefgh"
      override readonly name = "LoginFailed"
    }
    const error = new LoginFailed(`login with ${telegramToken} failed`, { cause: new Error("hunter2-hunter2") })
    const output = redactor.redactValue({ error }) as { error: LoginFailed }
    expect(output.error).toBeInstanceOf(LoginFailed)
    expect(output.error.message).toBe("login with [redacted] failed")
    expect(output.error.stack).toContain("login with [redacted] failed")
    expect(output.error.stack).not.toContain(telegramToken)
    expect((output.error.cause as Error).message).toBe("[redacted]")
    expect(output.error.token).toBe("[redacted]")
    expect(error.message).toContain(telegramToken)
  })

  test("cycles are preserved instead of recursing forever", () => {
    const a: Record<string, unknown> = { text: "hunter2-hunter2" }
    a.self = a
    const output = redactor.redactValue(a) as Record<string, unknown>
    expect(output.text).toBe("[redacted]")
    expect(output.self).toBe(output)
  })

  test("isSecretKey", () => {
    for (const key of ["token", "bot_token", "accessToken", "x-api-key", "private_key", "set-cookie", "db_pass"])
      expect(isSecretKey(key)).toBe(true)
    for (const key of ["tokens", "max_tokens", "inputTokens", "tokenizer", "key", "monkey", "persona", "passage"])
      expect(isSecretKey(key)).toBe(false)
  })
})

describe("Redaction service", () => {
  test("layer gives a fresh redactor per runtime, layerGlobal the process-wide one", async () => {
    const fresh = await Effect.runPromise(Effect.provide(Redaction, Redaction.layer))
    const again = await Effect.runPromise(Effect.provide(Redaction, Redaction.layer))
    expect(fresh).toBeInstanceOf(Redactor)
    expect(fresh).not.toBe(again)
    expect(await Effect.runPromise(Effect.provide(Redaction, Redaction.layerGlobal))).toBe(defaultRedactor)
  })
})
