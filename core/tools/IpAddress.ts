/**
 * IP addresses as bytes: parsing (every IPv4 spelling a URL parser accepts — `2130706433`, `0x7f000001`,
 * `0177.0.0.1`, `127.1` — and IPv6 with `::` and a trailing dotted quad), CIDR ranges, and the special-purpose
 * ranges an outbound request from a server must not reach (loopback, private, link-local, CGNAT, multicast, cloud
 * metadata …), including IPv4 addresses hidden inside IPv6 ones (`::ffff:127.0.0.1`, NAT64, 6to4).
 *
 * @example
 * const ip = parseIp("0x7f000001") // { family: 4, bytes: [127, 0, 0, 1] }
 * specialUse(ip!) // "loopback"
 */

export interface IpAddress {
  readonly family: 4 | 6
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array
}

export interface Cidr {
  readonly address: IpAddress
  readonly prefix: number
}

/** Why an address is not a public unicast one (`undefined`: it is). */
export type SpecialUse =
  | "cloud metadata"
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "carrier-grade NAT"
  | "multicast"
  | "broadcast"
  | "reserved"
  | "unique-local"
  | "site-local"
  | "documentation"
  | "benchmarking"
  | "IPv6 transition"

const v4 = (a: number, b: number, c: number, d: number): IpAddress => ({
  family: 4,
  bytes: Uint8Array.of(a, b, c, d)
})

/** One part of an IPv4 address as URL parsers read it: `0x1f` (hex), `017` (octal), `17` (decimal). */
const ipv4Number = (part: string): number | undefined => {
  if (part === "") return undefined
  let radix = 10
  let digits = part
  if (/^0x/i.test(part)) {
    radix = 16
    digits = part.slice(2)
  } else if (part.length > 1 && part.startsWith("0")) {
    radix = 8
    digits = part.slice(1)
  }
  if (digits === "") return 0
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/
  if (!valid.test(digits)) return undefined
  const value = Number.parseInt(digits, radix)
  return Number.isSafeInteger(value) ? value : Number.POSITIVE_INFINITY
}

/**
 * An IPv4 address in any form the WHATWG URL parser accepts (one to four parts, each decimal, octal or hex, the last
 * one filling the remaining bytes). `undefined` when the text is not an IPv4 address; `"invalid"` when it looks like
 * one (its last part is a number) but is out of range.
 */
export const parseIPv4 = (text: string): IpAddress | "invalid" | undefined => {
  const parts = text.split(".")
  if (parts.length > 1 && parts.at(-1) === "") parts.pop()
  if (parts.length === 0 || parts.length > 4) {
    return parts.length > 4 && ipv4Number(parts.at(-1)!) !== undefined ? "invalid" : undefined
  }
  const numbers = parts.map(ipv4Number)
  if (numbers.at(-1) === undefined) return undefined
  if (numbers.some((n) => n === undefined)) return "invalid"
  const values = numbers as Array<number>
  const last = values.pop()!
  if (values.some((n) => n > 255) || last >= 256 ** (4 - values.length)) return "invalid"
  let value = last
  for (const [i, n] of values.entries()) value += n * 256 ** (3 - i)
  return v4(
    Math.floor(value / 2 ** 24) % 256,
    Math.floor(value / 2 ** 16) % 256,
    Math.floor(value / 256) % 256,
    value % 256
  )
}

/** An IPv6 address (`::1`, `[::ffff:127.0.0.1]`, `2001:db8::1`). Zone ids (`%eth0`) are not accepted. */
export const parseIPv6 = (input: string): IpAddress | undefined => {
  const text = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input
  if (!text.includes(":") || text.includes("%")) return undefined
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string): Array<number> | undefined => {
    if (half === "") return []
    const out: Array<number> = []
    const pieces = half.split(":")
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const tail = /^\d{1,3}(\.\d{1,3}){3}$/.test(piece) ? parseIPv4(piece) : undefined
        if (!tail || tail === "invalid") return undefined
        out.push(tail.bytes[0]! * 256 + tail.bytes[1]!, tail.bytes[2]! * 256 + tail.bytes[3]!)
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(piece)) return undefined
        out.push(Number.parseInt(piece, 16))
      }
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (!head || !tail) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...Array.from({ length: missing }, () => 0), ...tail]
  const bytes = new Uint8Array(16)
  for (const [i, group] of all.entries()) {
    bytes[i * 2] = group >> 8
    bytes[i * 2 + 1] = group & 0xff
  }
  return { family: 6, bytes }
}

/** An IPv4 or IPv6 address in any accepted spelling; `undefined` for host names (and malformed addresses). */
export const parseIp = (text: string): IpAddress | undefined => {
  const v6 = parseIPv6(text)
  if (v6) return v6
  const ip = parseIPv4(text)
  return ip === "invalid" ? undefined : ip
}

/** Whether the text is meant as an IP address (so it must never be looked up as a name). */
export const looksLikeIp = (text: string): boolean => text.includes(":") || parseIPv4(text) !== undefined

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export const formatIp = (ip: IpAddress): string => {
  if (ip.family === 4) return [...ip.bytes].join(".")
  const groups = Array.from({ length: 8 }, (_, i) => ip.bytes[i * 2]! * 256 + ip.bytes[i * 2 + 1]!)
  let best = { start: -1, length: 0 }
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best.start < 0) return hex.join(":")
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`
}

/** The host part of a URL for this address (`[::1]` for IPv6). */
export const urlHost = (ip: IpAddress): string => (ip.family === 6 ? `[${formatIp(ip)}]` : formatIp(ip))

/** `10.0.0.0/8`, `fc00::/7`, or a single address (a full-length prefix). */
export const parseCidr = (text: string): Cidr | undefined => {
  const [addressText, prefixText, ...rest] = text.trim().split("/")
  if (rest.length > 0 || addressText === undefined) return undefined
  const address = parseIp(addressText)
  if (!address) return undefined
  const bits = address.bytes.length * 8
  if (prefixText === undefined) return { address, prefix: bits }
  if (!/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  return prefix <= bits ? { address, prefix } : undefined
}

export const inCidr = (ip: IpAddress, cidr: Cidr): boolean => {
  if (ip.family !== cidr.address.family) return false
  for (let bit = 0; bit < cidr.prefix; bit += 8) {
    const byte = bit >> 3
    const width = Math.min(8, cidr.prefix - bit)
    const mask = (0xff << (8 - width)) & 0xff
    if ((ip.bytes[byte]! & mask) !== (cidr.address.bytes[byte]! & mask)) return false
  }
  return true
}

const ranges = (entries: ReadonlyArray<readonly [string, SpecialUse]>) =>
  entries.map(([text, use]) => ({ cidr: parseCidr(text)!, use }))

/** Cloud instance-metadata endpoints (AWS, GCP, Azure, ECS/EKS, Alibaba …): refused even with `allow_private`. */
const metadata = ranges([
  ["169.254.169.254", "cloud metadata"],
  ["169.254.170.2", "cloud metadata"],
  ["169.254.170.23", "cloud metadata"],
  ["100.100.100.200", "cloud metadata"],
  ["fd00:ec2::254", "cloud metadata"],
  ["fd00:ec2::23", "cloud metadata"]
])

const ipv4Special = ranges([
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrier-grade NAT"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"],
  ["192.0.2.0/24", "documentation"],
  ["192.88.99.0/24", "IPv6 transition"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved"]
])

const ipv6Special = ranges([
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["100::/64", "reserved"],
  ["64:ff9b:1::/48", "IPv6 transition"],
  ["2001::/32", "IPv6 transition"],
  ["2001:db8::/32", "documentation"],
  ["2001:2::/48", "benchmarking"],
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local"],
  ["ff00::/8", "multicast"]
])

/** IPv4 carried inside an IPv6 address: mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4. */
export const embeddedIPv4 = (ip: IpAddress): IpAddress | undefined => {
  if (ip.family !== 6) return undefined
  const b = ip.bytes
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0)
  const last4 = () => v4(b[12]!, b[13]!, b[14]!, b[15]!)
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return last4()
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && b[15] === 1)) return last4()
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return last4()
  if (b[0] === 0x20 && b[1] === 0x02) return v4(b[2]!, b[3]!, b[4]!, b[5]!)
  return undefined
}

/**
 * Why the address must not be reached from a server (`undefined` for ordinary public unicast addresses). IPv4
 * addresses inside IPv6 ones are judged by their IPv4 part.
 */
export const specialUse = (ip: IpAddress): SpecialUse | undefined => {
  const inner = embeddedIPv4(ip)
  if (inner) return specialUse(inner)
  for (const { cidr, use } of metadata) if (inCidr(ip, cidr)) return use
  for (const { cidr, use } of ip.family === 4 ? ipv4Special : ipv6Special) if (inCidr(ip, cidr)) return use
  return undefined
}
