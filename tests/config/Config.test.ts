import { afterEach, describe, expect, test } from "bun:test"
import { Effect, Either } from "effect"
import { loadConfig } from "../../core/config/Config.ts"
import { type InvalidFile, interpolate } from "../../core/config/Yaml.ts"
import { tempDir } from "../support/tmp.ts"

const dirs: Array<ReturnType<typeof tempDir>> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup()
})

const load = (files: Record<string, string>, env: Record<string, string> = {}, file?: string) => {
  const dir = tempDir(files)
  dirs.push(dir)
  return Effect.runPromise(Effect.either(loadConfig({ cwd: dir.dir, env, ...(file ? { file } : {}) })))
}

const problems = (result: Either.Either<unknown, InvalidFile>) => {
  if (Either.isRight(result)) throw new Error("expected the config to be refused")
  return result.left.issues.map((issue) => `${issue.line}:${issue.path}: ${issue.message}`)
}

describe("config.yaml", () => {
  test("several broken fields are reported together, each with its path and line", async () => {
    const result = await load({
      "config.yaml": [
        "http:",
        "  port: seventy",
        "  hots: 0.0.0.0",
        "providers:",
        "  groq:",
        "    api_kye: x",
        "    timeout: 5 parsecs",
        "log:",
        "  level: verbose"
      ].join("\n")
    })
    expect(problems(result)).toEqual([
      `2:http.port: expected a number, got "seventy"`,
      `3:http.hots: unknown key (did you mean "host"?)`,
      `6:providers.groq.api_kye: unknown key (did you mean "api_key"?)`,
      `7:providers.groq.timeout: expected a duration such as 500ms, 30s, 5m or 2h, got "5 parsecs"`,
      `9:log.level: expected one of "debug", "info", "warn", "error", got "verbose"`
    ])
    if (Either.isLeft(result)) {
      expect(result.left.message).toContain("config.yaml:2:9 http.port")
      expect(result.left.message).toStartWith("config.yaml: 5 problems")
    }
  })

  test("store.delivery_retention: a duration of at least an hour, a week by default", async () => {
    expect(problems(await load({ "config.yaml": "store:\n  delivery_retention: 10m\n" }))).toEqual([
      `2:store.delivery_retention: expected at least 1h (delivery records must outlive every persona's stale_after)`
    ])
    const fine = await load({ "config.yaml": "store:\n  delivery_retention: 2d\n" })
    expect(Either.getOrThrow(fine).config.store.deliveryRetention).toBe(2 * 24 * 3_600_000)
    const defaults = await load({ "config.yaml": "store: {}\n" })
    expect(Either.getOrThrow(defaults).config.store.deliveryRetention).toBe(7 * 24 * 3_600_000)
  })

  test("an unknown top-level section gets a suggestion", async () => {
    expect(problems(await load({ "config.yaml": "provders: {}\n" }))).toEqual([
      `1:provders: unknown key (did you mean "providers"?)`
    ])
  })

  test("environment variables are interpolated, with defaults, and typed like the YAML they replace", async () => {
    const result = await load(
      {
        "config.yaml": [
          "http:",
          "  port: ${PORT:-7171}",
          "  admin_token: ${ADMIN}",
          "providers:",
          "  groq:",
          "    api_key: ${GROQ_API_KEY:-}",
          "    base_url: 'http://${HOST:-localhost}:8080/$${literal}'"
        ].join("\n")
      },
      { ADMIN: "s3cret-token" }
    )
    if (Either.isLeft(result)) throw new Error(result.left.message)
    const { http, providers } = result.right.config
    expect(http.port).toBe(7171)
    expect(http.adminToken).toBe("s3cret-token")
    expect(providers.groq?.apiKey).toBe("")
    expect(providers.groq?.baseUrl).toBe("http://localhost:8080/${literal}")
  })

  test("a missing environment variable without a default names the field and the line", async () => {
    expect(
      problems(await load({ "config.yaml": "http:\n  host: 127.0.0.1\n  admin_token: ${ADMIN_TOKEN}\n" }))
    ).toEqual([
      "3:http.admin_token: environment variable ADMIN_TOKEN is not set (write ${ADMIN_TOKEN:-} to make it optional)"
    ])
  })

  test("falls back to config.example.yaml, then to the built-in defaults", async () => {
    const fromExample = await load({ "config.example.yaml": "http:\n  port: 8181\n" })
    expect(Either.getOrThrow(fromExample).config.http.port).toBe(8181)
    const defaults = Either.getOrThrow(await load({}))
    expect(defaults.file).toBeUndefined()
    expect(defaults.config.http).toEqual({ host: "127.0.0.1", port: 7070, web: true })
    expect(defaults.config.store.path).toBe("data/troupe.db")
  })

  test("YAML syntax errors are reported with their line", async () => {
    expect(problems(await load({ "config.yaml": "http:\n  port: 1\n\thost: x\n" }))).toEqual([
      "3:: Tabs are not allowed as indentation"
    ])
    expect(problems(await load({ "config.yaml": "http: {}\nlog: {}\nhttp: {}\n" }))).toEqual([
      "3:: Map keys must be unique"
    ])
  })

  test("an explicitly named file that does not exist is an error", async () => {
    expect(problems(await load({}, {}, "missing.yaml"))).toEqual(["undefined:: file not found"])
  })
})

describe("interpolate", () => {
  test("replaces variables, applies defaults, keeps $${ literal and reports what is missing", () => {
    expect(interpolate("a ${X} b ${Y:-why} c $${Z} ${W}", { X: "ex" })).toEqual({
      value: "a ex b why c ${Z} ",
      missing: ["W"]
    })
  })
})
