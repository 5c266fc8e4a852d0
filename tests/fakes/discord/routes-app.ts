import { Errors } from "./errors.ts"
import type { Ctx } from "./messages.ts"
import { channelPayload, guildCreatePayload, memberPayload, rolePayload, userPayload } from "./payloads.ts"
import { ok, type RestRequest, type RestResult, type Route } from "./rest.ts"
import { commandRoutes } from "./routes-commands.ts"
import { interactionRoutes } from "./routes-interactions.ts"

const guildRoute = (pattern: string, build: (ctx: Ctx, req: RestRequest, guildId: string) => RestResult): Route => ({
  method: "GET",
  pattern,
  auth: true,
  handler: (ctx, req) => {
    const guild = ctx.state.guilds.get(req.params.guild ?? "")
    if (!guild) return Errors.unknownGuild()
    return ctx.state.isBotInGuild(req.bot.id, guild) ? build(ctx, req, guild.id) : Errors.missingAccess()
  }
})

export const appRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/gateway/bot",
    auth: true,
    handler: (ctx) =>
      ok({
        url: `${ctx.baseUrl().replace(/^http/, "ws")}/gateway`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 }
      })
  },
  {
    method: "GET",
    pattern: "/gateway",
    auth: false,
    handler: (ctx) => ok({ url: `${ctx.baseUrl().replace(/^http/, "ws")}/gateway` })
  },
  ...["/applications/@me", "/oauth2/applications/@me"].map(
    (pattern): Route => ({
      method: "GET",
      pattern,
      auth: true,
      handler: (ctx, req) =>
        ok({
          id: req.bot.applicationId,
          name: req.bot.username,
          icon: null,
          description: "",
          bot_public: true,
          bot_require_code_grant: false,
          flags: 0,
          verify_key: "0".repeat(64),
          team: null,
          bot: userPayload(ctx.state.requireUser(req.bot.id))
        })
    })
  ),
  ...commandRoutes("/applications/:app/commands"),
  ...commandRoutes("/applications/:app/guilds/:guild/commands"),
  ...interactionRoutes,
  guildRoute("/guilds/:guild", (ctx, req, id) => {
    const {
      members: _m,
      channels: _c,
      threads: _t,
      presences: _p,
      voice_states: _v,
      ...guild
    } = guildCreatePayload(ctx.state, ctx.state.guilds.get(id)!, req.bot.id)
    return ok(guild)
  }),
  guildRoute("/guilds/:guild/channels", (ctx, _req, id) =>
    ok(ctx.state.guildChannels(id).map((ch) => channelPayload(ctx.state, ch)))
  ),
  guildRoute("/guilds/:guild/roles", (ctx, _req, id) => ok(ctx.state.guilds.get(id)!.roles.map(rolePayload))),
  guildRoute("/guilds/:guild/members/:user", (ctx, req, id) => {
    const member = ctx.state.member(ctx.state.guilds.get(id)!, req.params.user ?? "")
    return member ? ok(memberPayload(ctx.state, member, true)) : Errors.unknownMember()
  })
]
