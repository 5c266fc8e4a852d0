/**
 * Where outbound HTTP from plugins may go. A URL's host is resolved here (DNS, every address) and refused when any
 * address is loopback, private, link-local, CGNAT, multicast, reserved, unique-local IPv6, an IPv4-in-IPv6 form of
 * one of those, or a cloud-metadata endpoint — unless the config allows it. The checked address is returned so the
 * caller connects to exactly that address (no second lookup a DNS rebinding attack could answer differently).
 *
 * @example
 * const guard = makeSsrfGuard({ allowHosts: ["127.0.0.1"] })
 * const target = await guard.check(new URL("http://example.com/")) // { hostname: "example.com", addresses: [...] }
 */
import { lookup } from "node:dns/promises"
import {
  type Cidr,
  formatIp,
  type IpAddress,
  inCidr,
  looksLikeIp,
  parseCidr,
  parseIp,
  type SpecialUse,
  specialUse
} from "./IpAddress.ts"

/** Resolves a host name to its addresses (default: the system resolver, `dns.lookup` with `all: true`). */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<{ readonly address: string }>>

export interface SsrfGuardOptions {
  /**
   * Destinations allowed even though they are not public: host names (`wiki.internal`, `*.corp.example`) — every
   * address such a name resolves to is accepted — and addresses or ranges (`127.0.0.1`, `10.1.0.0/16`, `::1`).
   * Cloud-metadata addresses are only reachable when listed here by address.
   */
  readonly allowHosts?: ReadonlyArray<string>
  /** Turn the address check off (metadata endpoints stay refused). For trusted networks only. Default false. */
  readonly allowPrivate?: boolean
  /** When set, only these host names (same patterns) and addresses may be reached at all. */
  readonly onlyHosts?: ReadonlyArray<string>
  /** Replaces DNS (tests map names to addresses with it). */
  readonly resolve?: Resolver
}

/** A destination that passed the check: the name as written and the addresses to connect to (IPv4 first). */
export interface CheckedTarget {
  readonly hostname: string
  readonly addresses: ReadonlyArray<IpAddress>
}

/** A refusal, with a message meant for the model and the log. */
export class SsrfRefused extends Error {
  override readonly name = "SsrfRefused"
}

/** Names of metadata services that must never be looked up (they resolve to link-local addresses anyway). */
const metadataNames = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "metadata.azure.internal",
  "instance-data",
  "instance-data.ec2.internal"
])

interface HostPatterns {
  readonly names: ReadonlyArray<string>
  readonly ranges: ReadonlyArray<Cidr>
}

const patterns = (entries: ReadonlyArray<string>): HostPatterns => {
  const names: Array<string> = []
  const ranges: Array<Cidr> = []
  for (const entry of entries) {
    const cidr = looksLikeIp(entry.replace(/^\[|\]$/g, "").split("/")[0]!)
      ? parseCidr(entry.replace(/^\[|\]$/g, ""))
      : undefined
    if (cidr) ranges.push(cidr)
    else names.push(normalizeName(entry))
  }
  return { names, ranges }
}

/** Lower case, no brackets, no trailing dot. */
export const normalizeName = (host: string): string =>
  host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")

const nameMatches = (name: string, pattern: string) =>
  pattern.startsWith("*.") ? name.endsWith(pattern.slice(1)) || name === pattern.slice(2) : name === pattern

const matches = (target: HostPatterns, name: string, ip: IpAddress | undefined) =>
  target.names.some((pattern) => nameMatches(name, pattern)) ||
  (ip !== undefined && target.ranges.some((range) => inCidr(ip, range)))

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true })

const article = (use: SpecialUse) => (/^[aeiou]/i.test(use) ? "an" : "a")

export interface SsrfGuard {
  /** Check a URL's destination; rejects with `SsrfRefused`. */
  readonly check: (url: URL) => Promise<CheckedTarget>
}

export const makeSsrfGuard = (options: SsrfGuardOptions = {}): SsrfGuard => {
  const allow = patterns(options.allowHosts ?? [])
  const only = options.onlyHosts ? patterns(options.onlyHosts) : undefined
  const resolve = options.resolve ?? systemResolver
  const hint = "(allow it with plugins.http_fetch.allow_hosts in config.yaml)"

  const judge = (hostname: string, address: IpAddress, nameAllowed: boolean) => {
    const use = specialUse(address)
    if (use === undefined) return
    const shown = formatIp(address)
    if (allow.ranges.some((range) => inCidr(address, range))) return
    if (use !== "cloud metadata" && (options.allowPrivate || nameAllowed)) return
    const via = hostname === shown ? shown : `${hostname} resolves to ${shown}, which`
    throw new SsrfRefused(`${via} is ${article(use)} ${use} address: refused ${hint}`)
  }

  return {
    check: async (url) => {
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new SsrfRefused(`${url.protocol} URLs are not allowed (only http and https)`)
      }
      if (url.username || url.password) throw new SsrfRefused("URLs with a user name or password are not allowed")
      const hostname = normalizeName(url.hostname)
      if (hostname === "") throw new SsrfRefused("the URL has no host")
      const literal = looksLikeIp(hostname) ? parseIp(hostname) : undefined
      if (looksLikeIp(hostname) && !literal) throw new SsrfRefused(`${hostname} is not a valid IP address`)
      if (only && !matches(only, hostname, literal)) throw new SsrfRefused(`${hostname} is not an allowed host`)
      const nameAllowed = literal === undefined && allow.names.some((pattern) => nameMatches(hostname, pattern))
      if (literal) {
        judge(hostname, literal, false)
        return { hostname, addresses: [literal] }
      }
      if (metadataNames.has(hostname) && !nameAllowed) {
        throw new SsrfRefused(`${hostname} is a cloud metadata service: refused`)
      }
      if (hostname === "localhost" || hostname.endsWith(".localhost")) {
        if (!nameAllowed) throw new SsrfRefused(`${hostname} is a loopback name: refused ${hint}`)
      }
      let answers: ReadonlyArray<{ readonly address: string }>
      try {
        answers = await resolve(hostname)
      } catch (error) {
        throw new SsrfRefused(
          `${hostname} could not be resolved (${(error as { code?: string }).code ?? (error as Error).message})`
        )
      }
      const addresses = answers.map((answer) => parseIp(answer.address))
      if (addresses.length === 0) throw new SsrfRefused(`${hostname} has no addresses`)
      // Every address is checked: a name with one public and one private address is refused, whichever a
      // connection would have picked.
      for (const [i, address] of addresses.entries()) {
        if (!address) throw new SsrfRefused(`${hostname} resolved to an unreadable address ${answers[i]!.address}`)
        judge(hostname, address, nameAllowed)
      }
      const checked = addresses as Array<IpAddress>
      return {
        hostname,
        addresses: [...checked.filter((a) => a.family === 4), ...checked.filter((a) => a.family === 6)]
      }
    }
  }
}
