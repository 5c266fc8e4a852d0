import type { State } from "./state.ts"
import type { AllowedMentions, Json, Pings, StoredMessage } from "./types.ts"

interface Parsed {
  readonly users: string[]
  readonly roles: string[]
  readonly everyone: boolean
  readonly here: boolean
}

const unique = (ids: Iterable<string>): string[] => [...new Set(ids)]

/** The mentions written in message text: `<@id>`, `<@!id>`, `<@&id>`, `@everyone`, `@here`. */
export const parseMentions = (content: string): Parsed => ({
  users: unique([...content.matchAll(/<@!?(\d{1,20})>/g)].map((m) => m[1]!)),
  roles: unique([...content.matchAll(/<@&(\d{1,20})>/g)].map((m) => m[1]!)),
  everyone: /@everyone/.test(content),
  here: /@here/.test(content)
})

/**
 * Checks `allowed_mentions` the way Discord does; returns the Invalid Form Body `errors` object, or null when valid.
 */
export const allowedMentionsErrors = (allowed: unknown): Json | null => {
  if (allowed === undefined || allowed === null) return null
  const fail = (code: string, message: string): Json => ({ allowed_mentions: { _errors: [{ code, message }] } })
  if (typeof allowed !== "object") return fail("MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
  const a = allowed as AllowedMentions
  for (const kind of a.parse ?? []) {
    if (kind !== "users" && kind !== "roles" && kind !== "everyone") {
      return fail("BASE_TYPE_CHOICES", `Value must be one of {'everyone', 'users', 'roles'}.`)
    }
  }
  for (const kind of ["users", "roles"] as const) {
    if (a.parse?.includes(kind) && (a[kind]?.length ?? 0) > 0) {
      return fail(
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
        `parse:["${kind}"] and ${kind}: [ids...] are mutually exclusive.`
      )
    }
    if ((a[kind]?.length ?? 0) > 100) return fail("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
  }
  return null
}

interface PingInput {
  readonly content: string
  readonly allowed: AllowedMentions | undefined
  readonly authorId: string
  readonly guildId: string | null
  /** Author of the message this one replies to, when the reply may ping them. */
  readonly repliedAuthorId: string | null
  /** For messages without `allowed_mentions`: whether the reply pings (users' clients ping by default). */
  readonly replyPingDefault: boolean
}

/**
 * Who one version of a message notifies, following Discord's rules: without `allowed_mentions` every mention in
 * the text counts (and a reply pings its author); with it, only the kinds in `parse` or the ids listed in
 * `users` / `roles` that also appear in the text, `@everyone` / `@here` only with `parse: ["everyone"]`, and the
 * replied-to author only with `replied_user: true`. Unknown users and roles notify nobody, the author never
 * notifies themself, and roles / everyone mean nothing outside a guild.
 */
export const pingsOf = (state: State, input: PingInput): Pings => {
  const parsed = parseMentions(input.content)
  const allowed = input.allowed
  const parse = allowed?.parse ?? []
  let users =
    allowed === undefined || parse.includes("users")
      ? parsed.users
      : parsed.users.filter((id) => allowed.users?.includes(id))
  let roles =
    allowed === undefined || parse.includes("roles")
      ? parsed.roles
      : parsed.roles.filter((id) => allowed.roles?.includes(id))
  const everyoneAllowed = allowed === undefined || parse.includes("everyone")
  const pingReply = allowed === undefined ? input.replyPingDefault : allowed.replied_user === true
  if (pingReply && input.repliedAuthorId) users = unique([...users, input.repliedAuthorId])
  users = users.filter((id) => id !== input.authorId && state.users.has(id))
  const guild = input.guildId ? state.guilds.get(input.guildId) : undefined
  roles = guild ? roles.filter((id) => guild.roles.some((role) => role.id === id)) : []
  const everyone = guild !== undefined && everyoneAllowed && parsed.everyone
  const here = guild !== undefined && everyoneAllowed && parsed.here
  return { users, roles, everyone, here, any: users.length > 0 || roles.length > 0 || everyone || here }
}

/**
 * Who a stored message would notify. Discord pushes notifications when a message is created, but an edit that adds
 * a mention still highlights it, so this is the union over the creation and every edit (each with the
 * `allowed_mentions` that accompanied it) — the conservative answer for "does this ever ping anyone?".
 */
export const wouldPing = (state: State, message: StoredMessage): Pings => {
  const replied = message.replyTo ? state.messages.get(message.replyTo) : undefined
  const versions =
    message.history.length > 0
      ? message.history
      : [{ content: message.content, allowedMentions: message.allowedMentions }]
  const all = versions.map((version) =>
    pingsOf(state, {
      content: version.content,
      allowed: version.allowedMentions,
      authorId: message.authorId,
      guildId: message.guildId,
      repliedAuthorId: replied?.authorId ?? null,
      replyPingDefault: message.byBot || message.replyPing
    })
  )
  const users = unique(all.flatMap((p) => p.users))
  const roles = unique(all.flatMap((p) => p.roles))
  const everyone = all.some((p) => p.everyone)
  const here = all.some((p) => p.here)
  return { users, roles, everyone, here, any: users.length > 0 || roles.length > 0 || everyone || here }
}
