/**
 * The calculator's numbers: exact fractions of big integers (so 0.1 + 0.2 is exactly 0.3 and 1/3 stays 1/3), or
 * ordinary floating-point numbers once a function such as `sqrt` or `sin` has no exact answer.
 */

export type Num =
  | { readonly exact: true; readonly n: bigint; readonly d: bigint }
  | { readonly exact: false; readonly x: number }

/** A readable failure; the tool returns its message to the model. */
export class CalcError extends Error {}

/** Largest numerator or denominator kept, in bits (about 10,000 decimal digits). */
export const maxBits = 33_220

const abs = (v: bigint) => (v < 0n ? -v : v)

const gcd = (a: bigint, b: bigint): bigint => {
  let x = abs(a)
  let y = abs(b)
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

export const bitLength = (v: bigint): number => {
  if (v === 0n) return 0
  const hex = abs(v).toString(16)
  return hex.length * 4 - (4 - Number.parseInt(hex[0]!, 16).toString(2).length)
}

export const fraction = (n: bigint, d: bigint = 1n): Num => {
  if (d === 0n) throw new CalcError("division by zero")
  if (d < 0n) [n, d] = [-n, -d]
  const g = gcd(n, d)
  const out = g > 1n ? { n: n / g, d: d / g } : { n, d }
  if (bitLength(out.n) > maxBits || bitLength(out.d) > maxBits) {
    throw new CalcError("the result is too large (more than about 10,000 digits)")
  }
  return { exact: true, ...out }
}

export const float = (x: number): Num => {
  if (Number.isNaN(x)) throw new CalcError("the result is not a real number")
  if (!Number.isFinite(x)) throw new CalcError("the result is too large")
  return { exact: false, x }
}

/** `"12.5"`, `".5"`, `"1e-3"` as an exact fraction. */
export const parseDecimal = (text: string): Num => {
  const match = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text)
  if (!match) throw new CalcError(`not a number: ${text}`)
  const [, whole = "", part = "", exp = "0"] = match
  const exponent = Number(exp) - part.length
  if (Math.abs(exponent) > 10_000) throw new CalcError(`the exponent of ${text} is too large`)
  const digits = BigInt(`${whole}${part}` || "0")
  return exponent >= 0 ? fraction(digits * 10n ** BigInt(exponent)) : fraction(digits, 10n ** BigInt(-exponent))
}

export const toNumber = (v: Num): number => {
  if (!v.exact) return v.x
  const shift = BigInt(Math.max(0, Math.max(bitLength(v.n), bitLength(v.d)) - 1000))
  return Number(v.n >> shift) / Number(v.d >> shift)
}

export const isInteger = (v: Num): boolean => (v.exact ? v.d === 1n : Number.isInteger(v.x))

/** Apply an exact operation when both sides are exact, the floating one otherwise. */
const both =
  (
    exact: (a: { n: bigint; d: bigint }, b: { n: bigint; d: bigint }) => Num,
    inexact: (a: number, b: number) => number
  ) =>
  (a: Num, b: Num): Num =>
    a.exact && b.exact ? exact(a, b) : float(inexact(toNumber(a), toNumber(b)))

export const add = both(
  (a, b) => fraction(a.n * b.d + b.n * a.d, a.d * b.d),
  (a, b) => a + b
)
export const sub = both(
  (a, b) => fraction(a.n * b.d - b.n * a.d, a.d * b.d),
  (a, b) => a - b
)
export const mul = both(
  (a, b) => fraction(a.n * b.n, a.d * b.d),
  (a, b) => a * b
)
export const div = (a: Num, b: Num): Num => {
  if (b.exact ? b.n === 0n : b.x === 0) throw new CalcError("division by zero")
  return both(
    (x, y) => fraction(x.n * y.d, x.d * y.n),
    (x, y) => x / y
  )(a, b)
}
/** Remainder with the sign of the dividend (as in most programming languages): `-7 % 3` is `-1`. */
export const mod = (a: Num, b: Num): Num => {
  if (b.exact ? b.n === 0n : b.x === 0) throw new CalcError("division by zero (in %)")
  return both(
    (x, y) => {
      const q = (x.n * y.d) / (x.d * y.n) // truncated toward zero
      return fraction(x.n * y.d - q * y.n * x.d, x.d * y.d)
    },
    (x, y) => x % y
  )(a, b)
}

export const negate = (v: Num): Num => (v.exact ? fraction(-v.n, v.d) : float(-v.x))

export const compare = (a: Num, b: Num): number => {
  if (a.exact && b.exact) {
    const diff = a.n * b.d - b.n * a.d
    return diff < 0n ? -1 : diff > 0n ? 1 : 0
  }
  return Math.sign(toNumber(a) - toNumber(b))
}

/** `base ** exponent`; an integer power of a fraction is exact. A result too large is refused before computing it. */
export const pow = (base: Num, exponent: Num): Num => {
  if (base.exact && exponent.exact && exponent.d === 1n) {
    const e = exponent.n
    if (base.n === 0n) {
      if (e < 0n) throw new CalcError("division by zero (0 to a negative power)")
      return fraction(e === 0n ? 1n : 0n)
    }
    if (abs(base.n) === 1n && base.d === 1n) return fraction(e % 2n === 0n ? 1n : base.n)
    const bits = Math.max(bitLength(base.n), bitLength(base.d))
    const estimate = Number(abs(e)) * (bits - 1)
    if (estimate > maxBits) {
      const log = Math.abs(Math.log10(Math.abs(toNumber(base))))
      const digits = Math.ceil(Number(abs(e)) * (Number.isFinite(log) ? log : bits * Math.LOG10E * Math.LN2))
      throw new CalcError(
        `exponent too large: the result would have about ${digits.toLocaleString("en-US")} digits (the limit is 10,000)`
      )
    }
    const k = abs(e)
    const up = fraction(base.n ** k, base.d ** k)
    return e < 0n ? div(fraction(1n), up) : up
  }
  const x = toNumber(base)
  const y = toNumber(exponent)
  if (x < 0 && !Number.isInteger(y)) throw new CalcError("a negative number to a fractional power is not a real number")
  if (x === 0 && y < 0) throw new CalcError("division by zero (0 to a negative power)")
  return float(x ** y)
}

/** Exact integer square root of a non-negative big integer, or `undefined` if it is not a perfect square. */
const exactSqrt = (v: bigint): bigint | undefined => {
  if (v < 2n) return v
  // Newton's method from a guess above the root: it decreases until it reaches floor(sqrt(v)).
  let x = 1n << BigInt((bitLength(v) >> 1) + 1)
  let y = (x + v / x) >> 1n
  while (y < x) {
    x = y
    y = (x + v / x) >> 1n
  }
  return x * x === v ? x : undefined
}

export const sqrt = (v: Num): Num => {
  if (compare(v, fraction(0n)) < 0) throw new CalcError("the square root of a negative number is not a real number")
  if (v.exact) {
    const n = exactSqrt(v.n)
    const d = exactSqrt(v.d)
    if (n !== undefined && d !== undefined) return fraction(n, d)
  }
  return float(Math.sqrt(toNumber(v)))
}

const floorDiv = (n: bigint, d: bigint) => (n >= 0n ? n / d : -((-n + d - 1n) / d))

export const floor = (v: Num): Num => (v.exact ? fraction(floorDiv(v.n, v.d)) : float(Math.floor(v.x)))
export const ceil = (v: Num): Num => (v.exact ? fraction(-floorDiv(-v.n, v.d)) : float(Math.ceil(v.x)))

/** Round half away from zero to `places` decimal places (default 0). */
export const round = (v: Num, places = 0): Num => {
  if (!Number.isInteger(places) || places < 0 || places > 100) {
    throw new CalcError("round(x, places): places must be a whole number from 0 to 100")
  }
  const scale = 10n ** BigInt(places)
  if (!v.exact) return float((Math.round(Math.abs(v.x) * Number(scale)) / Number(scale)) * Math.sign(v.x))
  const scaled = abs(v.n) * scale * 2n + v.d // (|x| * scale + 1/2) * 2d
  const rounded = scaled / (2n * v.d)
  return fraction(v.n < 0n ? -rounded : rounded, scale)
}

/** Longest exact result written out in full; longer ones are shown in scientific notation. */
const maxShown = 1000

/**
 * Text for the model: integers and terminating decimals in full, anything else to `digits` significant digits
 * marked with `≈` (an exact fraction is added when it is short). Results longer than 1,000 characters are shown in
 * scientific notation.
 */
export const format = (v: Num, digits = 20): string => {
  if (!v.exact) {
    const text = Number.isInteger(v.x) && Math.abs(v.x) < 1e21 ? String(v.x) : String(Number(v.x.toPrecision(16)))
    return `≈ ${text}`
  }
  let d = v.d
  while (d % 2n === 0n) d /= 2n
  while (d % 5n === 0n) d /= 5n
  const full = d === 1n ? decimal(v.n, v.d) : approximate(v, digits)
  if (full.length > maxShown)
    return `≈ ${scientific(v, digits)} (${full.length.toLocaleString("en-US")} characters in full)`
  if (d === 1n) return full
  const fractionText = `${v.n}/${v.d}`
  return fractionText.length <= 40 ? `≈ ${full} (exactly ${fractionText})` : `≈ ${full}`
}

/** `1.2345e+678`, rounded to `digits` significant digits. */
const scientific = (v: { n: bigint; d: bigint }, digits: number): string => {
  const a = abs(v.n)
  if (a === 0n) return "0"
  const atLeast = (k: number) => (k >= 0 ? a >= v.d * 10n ** BigInt(k) : a * 10n ** BigInt(-k) >= v.d)
  let k = a.toString().length - v.d.toString().length
  if (!atLeast(k)) k--
  const shift = digits - 1 - k
  const [num, den] = shift >= 0 ? [a * 10n ** BigInt(shift), v.d] : [a, v.d * 10n ** BigInt(-shift)]
  let mantissa = (num * 2n + den) / (2n * den)
  if (mantissa.toString().length > digits) {
    mantissa /= 10n
    k++
  }
  const text = mantissa.toString()
  const fractionDigits = text.slice(1).replace(/0+$/, "")
  return `${v.n < 0n ? "-" : ""}${text[0]}${fractionDigits ? `.${fractionDigits}` : ""}e${k >= 0 ? "+" : ""}${k}`
}

/** A fraction whose denominator is 2^a·5^b, written out in full. */
const decimal = (n: bigint, d: bigint): string => {
  let places = 0
  let scaled = abs(n)
  let den = d
  while (den !== 1n) {
    scaled *= 10n
    places++
    const g = gcd(scaled, den)
    scaled /= g
    den /= g
  }
  const text = scaled.toString().padStart(places + 1, "0")
  const whole = places === 0 ? text : `${text.slice(0, -places)}.${text.slice(-places)}`
  return n < 0n ? `-${whole}` : whole
}

const approximate = (v: { n: bigint; d: bigint }, digits: number): string => {
  const negative = v.n < 0n
  const n = abs(v.n)
  const whole = n / v.d
  const wholeDigits = whole === 0n ? 0 : whole.toString().length
  // Significant digits: leading zeros after the point of a small number do not count.
  let places = Math.max(digits - wholeDigits, 0)
  if (whole === 0n) {
    let probe = n * 10n
    while (probe < v.d && places < 10_000) {
      probe *= 10n
      places++
    }
  }
  const scaled = (n * 10n ** BigInt(places) * 2n + v.d) / (2n * v.d)
  const text = scaled.toString().padStart(places + 1, "0")
  const body = places === 0 ? text : `${text.slice(0, -places)}.${text.slice(-places)}`.replace(/\.?0+$/, "")
  return negative ? `-${body}` : body
}
