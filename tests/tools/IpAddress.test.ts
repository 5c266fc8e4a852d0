import { describe, expect, test } from "bun:test"
import { formatIp, parseCidr, parseIPv4, parseIp, specialUse } from "../../core/tools/IpAddress.ts"
import { makeSsrfGuard } from "../../core/tools/SsrfGuard.ts"

const use = (text: string) => {
  const ip = parseIp(text)
  if (!ip) throw new Error(`not an address: ${text}`)
  return specialUse(ip)
}

describe("IP addresses", () => {
  test("every IPv4 spelling a URL parser accepts is read as the same address", () => {
    for (const spelling of [
      "127.0.0.1",
      "2130706433",
      "0x7f000001",
      "0177.0.0.1",
      "127.1",
      "0x7f.1",
      "127.0.0.1.",
      "0177.0.0x0.1"
    ]) {
      expect(formatIp(parseIp(spelling)!)).toBe("127.0.0.1")
    }
    expect(parseIPv4("256.1.1.1")).toBe("invalid")
    expect(parseIPv4("1.2.3.4.5")).toBe("invalid")
    expect(parseIPv4("example.com")).toBeUndefined()
    expect(parseIPv4("1.example")).toBeUndefined()
  })

  test("IPv6, with compression and an IPv4 tail", () => {
    expect(formatIp(parseIp("[::ffff:127.0.0.1]")!)).toBe("::ffff:7f00:1")
    expect(formatIp(parseIp("2001:0db8:0000:0000:0000:0000:0000:0001")!)).toBe("2001:db8::1")
    expect(formatIp(parseIp("fe80::1:0:0:1")!)).toBe("fe80::1:0:0:1")
    expect(parseIp("fe80::1%eth0")).toBeUndefined()
    expect(parseIp("1::2::3")).toBeUndefined()
    expect(parseIp("1:2:3:4:5:6:7:8:9")).toBeUndefined()
  })

  test("special-purpose ranges, also hidden inside IPv6", () => {
    expect(use("127.0.0.1")).toBe("loopback")
    expect(use("10.0.0.1")).toBe("private")
    expect(use("172.31.255.255")).toBe("private")
    expect(use("172.32.0.1")).toBeUndefined()
    expect(use("192.168.1.1")).toBe("private")
    expect(use("169.254.1.1")).toBe("link-local")
    expect(use("169.254.169.254")).toBe("cloud metadata")
    expect(use("100.64.0.1")).toBe("carrier-grade NAT")
    expect(use("100.100.100.200")).toBe("cloud metadata")
    expect(use("224.0.0.1")).toBe("multicast")
    expect(use("255.255.255.255")).toBe("broadcast")
    expect(use("0.0.0.0")).toBe("unspecified")
    expect(use("::")).toBe("unspecified")
    expect(use("::1")).toBe("loopback")
    expect(use("fe80::1")).toBe("link-local")
    expect(use("fc00::1")).toBe("unique-local")
    expect(use("fd00:ec2::254")).toBe("cloud metadata")
    expect(use("ff02::1")).toBe("multicast")
    expect(use("::ffff:127.0.0.1")).toBe("loopback")
    expect(use("::ffff:169.254.169.254")).toBe("cloud metadata")
    expect(use("::10.0.0.1")).toBe("private")
    expect(use("64:ff9b::10.0.0.1")).toBe("private")
    expect(use("2002:7f00:1::")).toBe("loopback")
    expect(use("8.8.8.8")).toBeUndefined()
    expect(use("2606:4700:4700::1111")).toBeUndefined()
    expect(use("::ffff:8.8.8.8")).toBeUndefined()
  })

  test("CIDR ranges", () => {
    expect(parseCidr("10.0.0.0/8")).toMatchObject({ prefix: 8 })
    expect(parseCidr("10.0.0.0/33")).toBeUndefined()
    expect(parseCidr("::1")).toMatchObject({ prefix: 128 })
  })
})

describe("SSRF guard", () => {
  const names: Record<string, Array<string>> = {
    "public.example": ["93.184.216.34"],
    "sneaky.example": ["93.184.216.34", "10.0.0.7"],
    "inside.example": ["127.0.0.1"],
    "wiki.internal": ["10.1.2.3"]
  }
  const resolve = async (host: string) => {
    const found = names[host]
    if (!found) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" })
    return found.map((address) => ({ address }))
  }
  const check = (url: string, options: Parameters<typeof makeSsrfGuard>[0] = {}) =>
    makeSsrfGuard({ resolve, ...options })
      .check(new URL(url))
      .then(
        (target) => target.addresses.map(formatIp).join(", "),
        (error: Error) => `refused: ${error.message}`
      )

  test("public names pass and are pinned to the address checked", async () => {
    expect(await check("https://public.example/page")).toBe("93.184.216.34")
  })

  test("a name is refused when any of its addresses is private", async () => {
    expect(await check("http://sneaky.example/")).toBe(
      "refused: sneaky.example resolves to 10.0.0.7, which is a private address: refused (allow it with plugins.http_fetch.allow_hosts in config.yaml)"
    )
    expect(await check("http://inside.example/")).toStartWith(
      "refused: inside.example resolves to 127.0.0.1, which is a loopback"
    )
  })

  test("literal addresses in any form, loopback names and metadata names are refused", async () => {
    for (const url of [
      "http://2130706433/",
      "http://0x7f000001/",
      "http://0177.0.0.1/",
      "http://127.1/",
      "http://[::ffff:127.0.0.1]/"
    ]) {
      expect(await check(url)).toStartWith("refused: ")
    }
    expect(await check("http://[::1]:8080/")).toStartWith("refused: ::1 is a loopback address")
    expect(await check("http://localhost./")).toStartWith("refused: localhost is a loopback name")
    expect(await check("http://metadata.google.internal/computeMetadata/v1/")).toBe(
      "refused: metadata.google.internal is a cloud metadata service: refused"
    )
    expect(await check("http://169.254.169.254/latest/meta-data/")).toStartWith(
      "refused: 169.254.169.254 is a cloud metadata address"
    )
    expect(await check("file:///etc/passwd")).toBe("refused: file: URLs are not allowed (only http and https)")
    expect(await check("http://user:pw@public.example/")).toBe(
      "refused: URLs with a user name or password are not allowed"
    )
    expect(await check("http://nowhere.example/")).toBe("refused: nowhere.example could not be resolved (ENOTFOUND)")
  })

  test("allow_hosts lets named hosts and ranges through; allow_private keeps metadata refused", async () => {
    expect(await check("http://127.0.0.1:9/", { allowHosts: ["127.0.0.1"] })).toBe("127.0.0.1")
    expect(await check("http://wiki.internal/", { allowHosts: ["*.internal"] })).toBe("10.1.2.3")
    expect(await check("http://10.9.9.9/", { allowHosts: ["10.0.0.0/8"] })).toBe("10.9.9.9")
    expect(await check("http://10.9.9.9/", { allowHosts: ["10.1.0.0/16"] })).toStartWith("refused: ")
    expect(await check("http://192.168.1.1/", { allowPrivate: true })).toBe("192.168.1.1")
    expect(await check("http://169.254.169.254/", { allowPrivate: true })).toStartWith("refused: ")
    expect(await check("http://169.254.169.254/", { allowHosts: ["169.254.169.254"] })).toBe("169.254.169.254")
    expect(await check("http://public.example/", { onlyHosts: ["*.wikipedia.org"] })).toBe(
      "refused: public.example is not an allowed host"
    )
  })
})
