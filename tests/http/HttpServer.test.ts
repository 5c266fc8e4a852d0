import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import * as Actor from "../../core/actor/Actor.ts"
import { Health } from "../../core/http/Health.ts"
import { makeHttp } from "../../core/http/HttpServer.ts"
import { runLive } from "../support/effect.ts"

const withHealth = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Health.layer)

describe("HttpServer", () => {
  test("/livez answers at once and /readyz flips from 503 to 200 when every component is up", () =>
    runLive(
      withHealth(
        Effect.gen(function* () {
          const health = yield* Health
          const http = yield* makeHttp({ host: "127.0.0.1", port: 0 })
          const root = yield* Actor.root()
          yield* root.spawn(
            { id: "worker", kind: "channel" },
            Effect.succeed((_: string) => Effect.void)
          )
          expect((yield* Effect.promise(() => fetch(`${http.url}/livez`))).status).toBe(200)
          health.set("channel telegram:1", "starting")
          const before = yield* Effect.promise(() => fetch(`${http.url}/readyz`))
          expect(before.status).toBe(503)
          health.markStarted()
          expect((yield* Effect.promise(() => fetch(`${http.url}/readyz`))).status).toBe(503)
          health.set("channel telegram:1", "ready")
          health.set("channel discord:2", "disabled", "no token")
          const after = yield* Effect.promise(() => fetch(`${http.url}/readyz`))
          expect(after.status).toBe(200)
          const body = (yield* Effect.promise(() => after.json())) as {
            status: string
            components: Array<{ name: string; state: string }>
            actors: Array<{ path: string; state: string }>
          }
          expect(body.status).toBe("ready")
          expect(body.components.map((c) => `${c.name}=${c.state}`)).toEqual([
            "channel telegram:1=ready",
            "channel discord:2=disabled"
          ])
          expect(body.actors).toContainEqual(expect.objectContaining({ path: "troupe/worker", state: "ready" }))
        })
      )
    ))

  test("/metrics serves the Prometheus text", () =>
    runLive(
      withHealth(
        Effect.gen(function* () {
          const http = yield* makeHttp({ host: "127.0.0.1", port: 0, metrics: () => "# TYPE up gauge\nup 1\n" })
          const response = yield* Effect.promise(() => fetch(`${http.url}/metrics`))
          expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4")
          expect(yield* Effect.promise(() => response.text())).toBe("# TYPE up gauge\nup 1\n")
        })
      )
    ))

  test("with an admin token, admin routes answer 401 without it and work with the header or the login cookie", () =>
    runLive(
      withHealth(
        Effect.gen(function* () {
          const token = "a-long-admin-token-123"
          const http = yield* makeHttp({ host: "127.0.0.1", port: 0, adminToken: token, metrics: () => "up 1\n" })
          yield* http.addRoute({ path: "/api/secret", admin: true, handler: () => new Response("the actor tree") })
          yield* http.addRoute({ path: "/hook", handler: () => new Response("webhook") })
          const get = (path: string, headers: Record<string, string> = {}) =>
            Effect.promise(() => fetch(`${http.url}${path}`, { headers, redirect: "manual" }))

          for (const path of ["/api/secret", "/metrics"]) {
            const denied = yield* get(path)
            expect(denied.status).toBe(401)
            expect(yield* Effect.promise(() => denied.text())).not.toContain("actor tree")
            expect((yield* get(path, { authorization: "Bearer wrong" })).status).toBe(401)
            expect((yield* get(path, { authorization: `Bearer ${token}` })).status).toBe(200)
          }
          // A browser asking for a page gets the login form with its 401.
          const page = yield* get("/api/secret", { accept: "text/html" })
          expect(page.status).toBe(401)
          expect(yield* Effect.promise(() => page.text())).toContain('action="/login"')
          // Webhooks carry their own secret and stay reachable.
          expect((yield* get("/hook")).status).toBe(200)
          // /readyz says only ready or not to strangers.
          const readyz = yield* get("/readyz")
          expect(Object.keys((yield* Effect.promise(() => readyz.json())) as object)).toEqual(["status"])

          const badLogin = yield* Effect.promise(() =>
            fetch(`${http.url}/login`, {
              method: "POST",
              body: new URLSearchParams({ token: "nope" }),
              redirect: "manual"
            })
          )
          expect(badLogin.status).toBe(401)
          const login = yield* Effect.promise(() =>
            fetch(`${http.url}/login`, { method: "POST", body: new URLSearchParams({ token }), redirect: "manual" })
          )
          expect(login.status).toBe(303)
          const cookie = login.headers.get("set-cookie") ?? ""
          expect(cookie).toContain("HttpOnly")
          const withCookie = yield* get("/api/secret", { cookie: cookie.split(";")[0]! })
          expect(yield* Effect.promise(() => withCookie.text())).toBe("the actor tree")
        })
      )
    ))

  test("refuses to bind a non-loopback address without an admin token", async () => {
    const result = await runLive(withHealth(Effect.either(makeHttp({ host: "0.0.0.0", port: 0 }))))
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") expect(result.left.message).toContain("http.admin_token")
  })

  test("routes registered in a scope are removed when it closes", () =>
    runLive(
      withHealth(
        Effect.gen(function* () {
          const http = yield* makeHttp({ host: "127.0.0.1", port: 0 })
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* http.addRoute({ path: "/telegram/1", handler: () => new Response("hi") })
              expect((yield* Effect.promise(() => fetch(`${http.url}/telegram/1`))).status).toBe(200)
            })
          )
          expect((yield* Effect.promise(() => fetch(`${http.url}/telegram/1`))).status).toBe(404)
        })
      )
    ))
})
