import { describe, expect, test } from "bun:test"
import { callTool, context, sharedBuiltins } from "./support.ts"

const host = sharedBuiltins()

/** What the model reads for `expression`. */
const calc = (expression: string, extra: Record<string, unknown> = {}) =>
  host.run(callTool("calculator", { expression, ...extra }, context()))

describe("calculator", () => {
  test("decimal arithmetic is exact: 0.1 + 0.2 is 0.3", async () => {
    expect(await calc("0.1 + 0.2")).toMatchObject({ ok: true, content: "0.1 + 0.2 = 0.3" })
    expect(await calc("0.1 * 3 - 0.3")).toMatchObject({ ok: true, content: "0.1 * 3 - 0.3 = 0" })
    expect(await calc("10/4")).toMatchObject({ ok: true, content: "10/4 = 2.5" })
    expect(await calc("12345678901234567890 * 98765432109876543210")).toMatchObject({
      content: "12345678901234567890 * 98765432109876543210 = 1219326311370217952237463801111263526900"
    })
  })

  test("fractions that do not end are shown to 20 significant digits, with the exact fraction", async () => {
    expect(await calc("1/3")).toMatchObject({ ok: true, content: "1/3 ≈ 0.33333333333333333333 (exactly 1/3)" })
    expect(await calc("2/3", { digits: 5 })).toMatchObject({ content: "2/3 ≈ 0.66667 (exactly 2/3)" })
    expect(await calc("1/3 * 3")).toMatchObject({ content: "1/3 * 3 = 1" })
  })

  test("powers: ** (or ^) binds tighter than unary minus and groups to the right", async () => {
    expect(await calc("2**10")).toMatchObject({ ok: true, content: "2**10 = 1024" })
    expect(await calc("2^10")).toMatchObject({ content: "2^10 = 1024" })
    expect(await calc("-3**2")).toMatchObject({ content: "-3**2 = -9" })
    expect(await calc("(-3)**2")).toMatchObject({ content: "(-3)**2 = 9" })
    expect(await calc("2**3**2")).toMatchObject({ content: "2**3**2 = 512" })
    expect(await calc("2**-2")).toMatchObject({ content: "2**-2 = 0.25" })
    expect(await calc("2**0.5")).toMatchObject({ content: "2**0.5 ≈ 1.414213562373095" })
  })

  test("huge exponents are refused before anything is computed", async () => {
    const started = Date.now()
    expect(await calc("10**1000000")).toMatchObject({
      ok: false,
      content: "exponent too large: the result would have about 1,000,000 digits (the limit is 10,000)"
    })
    expect(await calc("2**100000")).toMatchObject({ ok: false })
    expect(Date.now() - started).toBeLessThan(1000)
    // Large but sane results are allowed, shortened for the model.
    expect(await calc("2**20000")).toMatchObject({
      ok: true,
      content: "2**20000 ≈ 3.9802768403379665924e+6020 (6,021 characters in full)"
    })
  })

  test("syntax errors name the position", async () => {
    expect(await calc("(1 + 2))")).toMatchObject({ ok: false, content: "unexpected ')' at position 8" })
    expect(await calc("1 + ")).toMatchObject({ ok: false, content: "unexpected end of expression" })
    expect(await calc("(1 + 2")).toMatchObject({ ok: false, content: "missing ')' at the end of the expression" })
    expect(await calc("3 # 4")).toMatchObject({ ok: false, content: "unexpected '#' at position 3" })
    expect(await calc("2 pi")).toMatchObject({ ok: false, content: "unexpected 'pi' at position 3" })
    expect(await calc("foo(1)")).toMatchObject({ ok: false, content: "unknown function 'foo' at position 1" })
    expect(await calc("x + 1")).toMatchObject({ ok: false, content: "unknown name 'x' at position 1" })
  })

  test("division by zero is a readable error", async () => {
    expect(await calc("1/0")).toMatchObject({ ok: false, content: "division by zero" })
    expect(await calc("5 % (2 - 2)")).toMatchObject({ ok: false, content: "division by zero (in %)" })
    expect(await calc("0**-1")).toMatchObject({ ok: false, content: "division by zero (0 to a negative power)" })
  })

  test("expressions longer than 500 characters are refused", async () => {
    const long = `${"1+".repeat(250)}1`
    expect(await calc(long)).toMatchObject({
      ok: false,
      content: "the expression is too long (501 characters; the limit is 500)"
    })
  })

  test("functions and constants", async () => {
    expect(await calc("sqrt(16/9)")).toMatchObject({ content: "sqrt(16/9) ≈ 1.3333333333333333333 (exactly 4/3)" })
    expect(await calc("sqrt(2)")).toMatchObject({ content: "sqrt(2) ≈ 1.414213562373095" })
    expect(await calc("sqrt(-1)")).toMatchObject({
      ok: false,
      content: "the square root of a negative number is not a real number"
    })
    expect(await calc("round(2.5) + round(-2.5)")).toMatchObject({ content: "round(2.5) + round(-2.5) = 0" })
    expect(await calc("round(1/3, 4)")).toMatchObject({ content: "round(1/3, 4) = 0.3333" })
    expect(await calc("floor(-2.5) * ceil(2.1) + abs(-1)")).toMatchObject({
      content: "floor(-2.5) * ceil(2.1) + abs(-1) = -8"
    })
    expect(await calc("min(3, 1/2, 2) + max(1, 7)")).toMatchObject({ content: "min(3, 1/2, 2) + max(1, 7) = 7.5" })
    expect(await calc("-7 % 3")).toMatchObject({ content: "-7 % 3 = -1" })
    expect(await calc("log(1000) + ln(e)")).toMatchObject({ content: "log(1000) + ln(e) ≈ 4" })
    expect(await calc("log(8, 2)")).toMatchObject({ content: "log(8, 2) ≈ 3" })
    expect(await calc("cos(pi)")).toMatchObject({ content: "cos(pi) ≈ -1" })
    expect(await calc("ln(0)")).toMatchObject({ ok: false, content: "ln(0) is not defined" })
    expect(await calc("round(1, 2, 3)")).toMatchObject({ ok: false, content: "round takes 1 or 2 arguments, got 3" })
  })

  test("a missing expression is an argument error", async () => {
    expect(await host.run(callTool("calculator", {}, context()))).toMatchObject({
      ok: false,
      content: "invalid arguments: expression: is required"
    })
  })
})
