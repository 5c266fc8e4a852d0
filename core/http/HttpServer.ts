/**
 * The runtime's one `Bun.serve`: health (`/livez`, `/readyz`), `/metrics`, channel webhooks, the web playground and
 * dashboard. Routes are registered by the components that own them, for the lifetime of their scope.
 *
 * Bound to a loopback address without `admin_token`, everything is open. Bound anywhere else (which requires a token),
 * or whenever a token is set, routes marked `admin` need it (`Authorization: Bearer <token>` or the HttpOnly cookie set
 * by `POST /login`); without it they answer 401 and nothing else. Webhooks carry their own secrets and are not admin
 * routes.
 */
import { timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { HTMLBundle, Server, ServerWebSocket } from "bun"
import { Context, Data, Effect, Layer, type Scope } from "effect"
import { ActorSystem } from "../actor/ActorSystem.ts"
import { Health } from "./Health.ts"
import { loginPage } from "./loginPage.ts"

export interface RouteContext {
  readonly url: URL
  readonly server: Server<SocketData>
}

export interface Route {
  /** Exact path, or a prefix when `prefix` is set. */
  readonly path: string
  readonly prefix?: boolean
  readonly methods?: ReadonlyArray<string>
  /** Needs the admin token when the server is not bound to loopback. */
  readonly admin?: boolean
  readonly handler: (request: Request, context: RouteContext) => Response | Promise<Response>
}

export interface SocketHandlers<T> {
  readonly open?: (ws: ServerWebSocket<SocketData>, state: T) => void
  readonly message: (ws: ServerWebSocket<SocketData>, state: T, message: string | Buffer) => void
  readonly close?: (ws: ServerWebSocket<SocketData>, state: T, code: number, reason: string) => void
}

export interface SocketRoute<T> extends SocketHandlers<T> {
  readonly path: string
  readonly admin?: boolean
  /** Per-connection state, from the upgrade request. */
  readonly accept: (request: Request) => T
}

export interface SocketData {
  readonly route: SocketRoute<unknown>
  readonly state: unknown
}

export class HttpStartFailed extends Data.TaggedError("HttpStartFailed")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export interface HttpService {
  /** `http://host:port` as bound (the real port when 0 was asked for). */
  readonly url: string
  /** No admin token is needed (loopback without `admin_token`). */
  readonly open: boolean
  readonly addRoute: (route: Route) => Effect.Effect<void, never, Scope.Scope>
  readonly addSocket: <T>(route: SocketRoute<T>) => Effect.Effect<void, never, Scope.Scope>
  /** Serve a page through Bun's HTML imports (bundled on the fly). */
  readonly addPage: (path: string, page: HTMLBundle, admin?: boolean) => Effect.Effect<void, never, Scope.Scope>
  readonly isAuthorized: (request: Request) => boolean
}

export class Http extends Context.Tag("troupe/Http")<Http, HttpService>() {}

export interface HttpOptions {
  readonly host: string
  readonly port: number
  readonly adminToken?: string | undefined
  /** Prometheus text for `/metrics`. */
  readonly metrics?: () => string
}

const loopbackHosts = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])
export const isLoopback = (host: string) => loopbackHosts.has(host) || host.startsWith("127.")

const cookieName = "troupe_admin"

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const tokenOf = (request: Request): string | undefined => {
  const header = request.headers.get("authorization")
  if (header?.startsWith("Bearer ")) return header.slice(7).trim()
  const cookies = request.headers.get("cookie")
  if (!cookies) return undefined
  for (const part of cookies.split(";")) {
    const [name, ...value] = part.trim().split("=")
    if (name === cookieName) return decodeURIComponent(value.join("="))
  }
  return undefined
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body, null, 2), { status, headers: { "content-type": "application/json" } })

/** 401, with the login form for a browser asking for a page (the form posts the token to `/login`). */
const unauthorized = (request: Request) =>
  request.headers.get("accept")?.includes("text/html")
    ? new Response(loginPage(false), {
        status: 401,
        headers: { "content-type": "text/html", "www-authenticate": 'Bearer realm="troupe"' }
      })
    : new Response("401 unauthorized\n", { status: 401, headers: { "www-authenticate": 'Bearer realm="troupe"' } })

/** Start the server for the lifetime of the scope. */
export const makeHttp = (
  options: HttpOptions
): Effect.Effect<HttpService, HttpStartFailed, Scope.Scope | Health | ActorSystem> =>
  Effect.gen(function* () {
    const health = yield* Health
    const actors = yield* ActorSystem
    const loopback = isLoopback(options.host)
    const adminToken = options.adminToken || undefined
    if (!loopback && !adminToken) {
      return yield* Effect.fail(
        new HttpStartFailed({
          reason: `http.host is ${options.host} (not loopback): set http.admin_token in config.yaml so the dashboard is not open to everyone`
        })
      )
    }
    const open = loopback && !adminToken
    const isAuthorized = (request: Request) => {
      if (open) return true
      const token = tokenOf(request)
      return token !== undefined && adminToken !== undefined && sameSecret(token, adminToken)
    }

    const routes = new Map<string, Route>()
    const prefixes: Array<Route> = []
    const sockets = new Map<string, SocketRoute<unknown>>()
    const pages: Record<string, HTMLBundle> = {}

    const builtins: Array<Route> = [
      { path: "/livez", handler: () => new Response("ok\n") },
      {
        path: "/readyz",
        handler: (request) => {
          const report = health.report()
          const status = report.ready ? 200 : 503
          // Details (component and actor names) only for those allowed to see the dashboard.
          if (!isAuthorized(request)) return json({ status: report.ready ? "ready" : "not ready" }, status)
          return json(
            {
              status: report.ready ? "ready" : "not ready",
              started: report.started,
              components: report.components,
              actors: actors.snapshot().map((a) => ({
                path: a.path,
                kind: a.kind,
                state: a.state,
                restarts: a.restarts,
                mailbox: a.mailbox
              }))
            },
            status
          )
        }
      },
      {
        path: "/metrics",
        admin: true,
        handler: () =>
          new Response(options.metrics?.() ?? "", {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" }
          })
      },
      {
        path: "/login",
        methods: ["GET", "POST"],
        handler: async (request) => {
          if (request.method === "GET")
            return new Response(loginPage(false), { headers: { "content-type": "text/html" } })
          const form = await request.formData().catch(() => undefined)
          const token = String(form?.get("token") ?? "")
          if (!adminToken || !sameSecret(token, adminToken)) {
            return new Response(loginPage(true), { status: 401, headers: { "content-type": "text/html" } })
          }
          return new Response(null, {
            status: 303,
            headers: {
              location: "/",
              "set-cookie": `${cookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`
            }
          })
        }
      }
    ]
    for (const route of builtins) routes.set(route.path, route)

    const find = (path: string) =>
      routes.get(path) ?? prefixes.find((route) => path === route.path || path.startsWith(`${route.path}/`))

    const fetch = async (request: Request, server: Server<SocketData>): Promise<Response | undefined> => {
      const url = new URL(request.url)
      const socket = sockets.get(url.pathname)
      if (socket && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        if (socket.admin && !isAuthorized(request)) return unauthorized(request)
        const state = socket.accept(request)
        return server.upgrade(request, { data: { route: socket, state } })
          ? undefined
          : new Response("websocket upgrade failed\n", { status: 400 })
      }
      const route = find(url.pathname)
      if (!route) return new Response("404 not found\n", { status: 404 })
      if (route.admin && !isAuthorized(request)) return unauthorized(request)
      if (route.methods && !route.methods.includes(request.method)) {
        return new Response("405 method not allowed\n", { status: 405, headers: { allow: route.methods.join(", ") } })
      }
      try {
        return await route.handler(request, { url, server })
      } catch (error) {
        console.error(`http handler ${route.path} failed`, error)
        return new Response("500 internal error\n", { status: 500 })
      }
    }

    // Pages are served by Bun's static routes (HTML imports); admin pages go through `fetch` for the auth check.
    const staticRoutes = () => pages
    const websocket = {
      open: (ws: ServerWebSocket<SocketData>) => ws.data.route.open?.(ws, ws.data.state),
      message: (ws: ServerWebSocket<SocketData>, message: string | Buffer) =>
        ws.data.route.message(ws, ws.data.state, message),
      close: (ws: ServerWebSocket<SocketData>, code: number, reason: string) =>
        ws.data.route.close?.(ws, ws.data.state, code, reason)
    }

    const server = yield* Effect.try({
      try: () =>
        Bun.serve<SocketData>({
          hostname: options.host,
          port: options.port,
          development: false,
          routes: staticRoutes(),
          fetch: fetch as never,
          websocket
        }),
      catch: (error) =>
        new HttpStartFailed({
          reason: `cannot listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`
        })
    })
    yield* Effect.addFinalizer(() => Effect.promise(() => server.stop(true)))
    const reload = () => server.reload({ routes: staticRoutes(), fetch: fetch as never, websocket })

    const host = options.host.includes(":") && !options.host.startsWith("[") ? `[${options.host}]` : options.host
    const service: HttpService = {
      url: `http://${host}:${server.port}`,
      open,
      isAuthorized,
      addRoute: (route) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            if (route.prefix) prefixes.push(route)
            else routes.set(route.path, route)
          }),
          () =>
            Effect.sync(() => {
              if (route.prefix) prefixes.splice(prefixes.indexOf(route), 1)
              else if (routes.get(route.path) === route) routes.delete(route.path)
            })
        ),
      addSocket: (route) =>
        Effect.acquireRelease(
          Effect.sync(() => sockets.set(route.path, route as SocketRoute<unknown>)),
          () => Effect.sync(() => sockets.delete(route.path))
        ),
      addPage: (path, page, admin = true) =>
        page.files
          ? // Prebuilt (the bundled runtime): served from the manifest, files read next to the bundle.
            Effect.forEach(prebuiltPage(page, path), (route) => service.addRoute({ ...route, admin }), {
              discard: true
            })
          : open || !admin
            ? Effect.acquireRelease(
                Effect.sync(() => {
                  pages[path] = page
                  reload()
                }),
                () =>
                  Effect.sync(() => {
                    delete pages[path]
                    reload()
                  })
              )
            : // With a token, Bun's static routes would skip the admin check: bundle once and serve through `fetch`.
              Effect.flatMap(
                Effect.promise(() => bundlePage(page, path)),
                (files) =>
                  Effect.forEach(files, (file) => service.addRoute({ ...file, admin: true }), { discard: true })
              )
    }
    return service
  })

export const layer = (options: HttpOptions) => Layer.scoped(Http, makeHttp(options))

/**
 * A page bundled ahead of time (`bun build`, see core/cli/build.ts): its manifest lists the files, which sit next to
 * the bundle (the main module). Bun would look for them in the current directory instead, so they are served here.
 */
const prebuiltPage = (page: HTMLBundle, path: string): ReadonlyArray<Route> => {
  const base = dirname(Bun.main)
  return (page.files ?? []).map((file) => {
    const isPage = file.loader === "html" && file.path === page.index
    const body = readFileSync(join(base, file.path))
    const headers = { ...(file.headers as Record<string, string>) }
    return {
      path: isPage ? path : `/${file.path.replace(/^\.\//, "")}`,
      handler: () => new Response(body, { headers })
    }
  })
}

/**
 * Build an HTML import into files served from memory: the page at `path`, its assets under `<path>/assets/`.
 * (Bun 1.4 reports `loader: "html"` for every output of an HTML entry point, so the page is told apart by its type.)
 */
const bundlePage = async (page: HTMLBundle, path: string): Promise<ReadonlyArray<Route>> => {
  const base = path.endsWith("/") ? path : `${path}/`
  const result = await Bun.build({
    entrypoints: [page.index],
    target: "browser",
    minify: true,
    publicPath: `${base}assets/`
  })
  if (!result.success) throw new AggregateError(result.logs, `cannot bundle ${page.index}`)
  return Promise.all(
    result.outputs.map(async (output) => {
      const body = await output.arrayBuffer()
      const isPage = output.type.startsWith("text/html")
      const name = output.path.replace(/^\.\//, "")
      return {
        path: isPage ? path : `${base}assets/${name}`,
        handler: () => new Response(body, { headers: { "content-type": output.type } })
      }
    })
  )
}
