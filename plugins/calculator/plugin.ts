/**
 * `calculator`: exact arithmetic for the model, which is bad at it. `+ - * /` are exact (fractions of big integers),
 * so `0.1 + 0.2` is `0.3` and `1/3` is shown as `≈ 0.33333333333333333333 (exactly 1/3)`. Functions without exact
 * answers (`sqrt(2)`, `sin`, `ln` …) fall back to floating point and are marked `≈`.
 *
 * Operators: `+ - * / % **` (`^` also means power), parentheses, unary minus. `**` binds tighter than unary minus:
 * `-3**2` is `-9`. Functions: sqrt, abs, round(x[, places]), floor, ceil, min, max, ln, log (base 10, or
 * log(x, base)), log2, exp, sin, cos, tan (radians). Constants: pi, e.
 *
 * A copyable example of a plugin with no host services at all: parse, compute, return text, throw readable errors.
 */
import { definePlugin, defineTool, Schema } from "troupe/sdk"
import * as N from "./number.ts"
import { type Node, parse } from "./parse.ts"

const maxLength = 500

const constants: Record<string, () => N.Num> = {
  pi: () => N.float(Math.PI),
  e: () => N.float(Math.E)
}

const unaryFloat =
  (name: string, f: (x: number) => number, domain?: (x: number) => boolean) => (args: Array<N.Num>) => {
    const x = N.toNumber(args[0]!)
    if (domain && !domain(x)) throw new N.CalcError(`${name}(${x}) is not defined`)
    return N.float(f(x))
  }

/** Each function with its allowed argument counts. */
const functions: Record<
  string,
  { readonly arity: readonly [number, number]; readonly run: (args: Array<N.Num>) => N.Num }
> = {
  sqrt: { arity: [1, 1], run: ([x]) => N.sqrt(x!) },
  abs: { arity: [1, 1], run: ([x]) => (N.compare(x!, N.fraction(0n)) < 0 ? N.negate(x!) : x!) },
  round: {
    arity: [1, 2],
    run: ([x, places]) => N.round(x!, places === undefined ? 0 : N.toNumber(places))
  },
  floor: { arity: [1, 1], run: ([x]) => N.floor(x!) },
  ceil: { arity: [1, 1], run: ([x]) => N.ceil(x!) },
  min: { arity: [1, 100], run: (args) => args.reduce((a, b) => (N.compare(b, a) < 0 ? b : a)) },
  max: { arity: [1, 100], run: (args) => args.reduce((a, b) => (N.compare(b, a) > 0 ? b : a)) },
  ln: { arity: [1, 1], run: unaryFloat("ln", Math.log, (x) => x > 0) },
  log: {
    arity: [1, 2],
    run: (args) => {
      const x = N.toNumber(args[0]!)
      const base = args[1] === undefined ? 10 : N.toNumber(args[1])
      if (x <= 0 || base <= 0 || base === 1)
        throw new N.CalcError("log is only defined for positive numbers and bases other than 1")
      return N.float(Math.log(x) / Math.log(base))
    }
  },
  log2: { arity: [1, 1], run: unaryFloat("log2", Math.log2, (x) => x > 0) },
  exp: { arity: [1, 1], run: unaryFloat("exp", Math.exp) },
  sin: { arity: [1, 1], run: unaryFloat("sin", Math.sin) },
  cos: { arity: [1, 1], run: unaryFloat("cos", Math.cos) },
  tan: { arity: [1, 1], run: unaryFloat("tan", Math.tan) }
}

const binary: Record<string, (a: N.Num, b: N.Num) => N.Num> = {
  "+": N.add,
  "-": N.sub,
  "*": N.mul,
  "/": N.div,
  "%": N.mod,
  "**": N.pow
}

const evaluate = (node: Node): N.Num => {
  switch (node.kind) {
    case "number":
      return N.parseDecimal(node.text)
    case "name": {
      const constant = constants[node.name]
      if (!constant) {
        const hint = functions[node.name] ? ` (call it: ${node.name}(…))` : ""
        throw new N.CalcError(`unknown name '${node.name}' at position ${node.pos}${hint}`)
      }
      return constant()
    }
    case "call": {
      const fn = functions[node.name]
      if (!fn) throw new N.CalcError(`unknown function '${node.name}' at position ${node.pos}`)
      const [least, most] = fn.arity
      if (node.args.length < least || node.args.length > most) {
        const wanted = least === most ? `${least}` : most >= 100 ? `at least ${least}` : `${least} or ${most}`
        throw new N.CalcError(
          `${node.name} takes ${wanted} argument${most === 1 || (least === 1 && most >= 100) ? "" : "s"}, got ${node.args.length}`
        )
      }
      return fn.run(node.args.map(evaluate))
    }
    case "negate":
      return N.negate(evaluate(node.arg))
    case "binary":
      return binary[node.op]!(evaluate(node.left), evaluate(node.right))
  }
}

/** The calculation as the model reads it, e.g. `0.1 + 0.2 = 0.3`. Throws `CalcError` with a readable message. */
export const calculate = (expression: string, digits = 20): string => {
  const trimmed = expression.trim()
  if (trimmed === "") throw new N.CalcError("the expression is empty")
  if (trimmed.length > maxLength) {
    throw new N.CalcError(`the expression is too long (${trimmed.length} characters; the limit is ${maxLength})`)
  }
  const value = evaluate(parse(trimmed))
  const shown = N.format(value, digits)
  return `${trimmed} ${shown.startsWith("≈") ? "" : "= "}${shown}`
}

export default definePlugin({
  name: "calculator",
  version: "1.0.0",
  description: "Exact decimal arithmetic and common math functions",
  tools: [
    defineTool({
      name: "calculator",
      description:
        "Evaluate an arithmetic expression exactly. Use it for any calculation instead of computing in your head. " +
        "Operators: + - * / % ** (or ^), parentheses. Functions: sqrt, abs, round(x, places), floor, ceil, min, max, " +
        "ln, log (base 10 or log(x, base)), log2, exp, sin, cos, tan (radians). Constants: pi, e.",
      parameters: Schema.Struct({
        expression: Schema.String.annotations({ description: "e.g. (12.5 + 7.25) * 3 / 4, or sqrt(2) * pi" }),
        digits: Schema.optional(
          Schema.Int.pipe(Schema.between(1, 100)).annotations({
            description: "significant digits for results that do not end (default 20)"
          })
        )
      }),
      run: ({ expression, digits }) => calculate(expression, digits)
    })
  ]
})
