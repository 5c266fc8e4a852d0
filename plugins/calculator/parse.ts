/**
 * The calculator's own tokenizer and parser (no `eval`, no `Function`): an expression becomes a small tree.
 *
 * Precedence, loosest first: `+ -`, then `* / %`, then unary `-`/`+`, then `**` (also written `^`), which groups to
 * the right and binds tighter than unary minus, as in mathematics and Python: `-3**2` is `-9`, `2**3**2` is `512`,
 * `2**-1` is `0.5`. Positions in error messages count characters from 1.
 */
import { CalcError } from "./number.ts"

export type Node =
  | { readonly kind: "number"; readonly text: string; readonly pos: number }
  | { readonly kind: "name"; readonly name: string; readonly pos: number }
  | { readonly kind: "call"; readonly name: string; readonly args: ReadonlyArray<Node>; readonly pos: number }
  | { readonly kind: "negate"; readonly arg: Node; readonly pos: number }
  | { readonly kind: "binary"; readonly op: string; readonly left: Node; readonly right: Node; readonly pos: number }

interface Token {
  readonly type: "number" | "name" | "op" | "end"
  readonly text: string
  readonly pos: number
}

/** Other ways people write operators. */
const aliases: Record<string, string> = { "×": "*", "·": "*", "÷": "/", "−": "-", "^": "**" }

const tokenize = (input: string): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < input.length) {
    const c = input[i]!
    const pos = i + 1
    if (/\s/.test(c)) {
      i++
      continue
    }
    const number = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(input.slice(i))
    if (number) {
      tokens.push({ type: "number", text: number[0], pos })
      i += number[0].length
      continue
    }
    const name = /^[a-z_][a-z0-9_]*/i.exec(input.slice(i))
    if (name) {
      tokens.push({ type: "name", text: name[0].toLowerCase(), pos })
      i += name[0].length
      continue
    }
    if (input.startsWith("**", i)) {
      tokens.push({ type: "op", text: "**", pos })
      i += 2
      continue
    }
    if ("+-*/%(),".includes(c) || c in aliases) {
      tokens.push({ type: "op", text: aliases[c] ?? c, pos })
      i++
      continue
    }
    throw new CalcError(`unexpected '${c}' at position ${pos}`)
  }
  tokens.push({ type: "end", text: "", pos: input.length + 1 })
  return tokens
}

export const parse = (input: string): Node => {
  const tokens = tokenize(input)
  let at = 0
  const peek = () => tokens[at]!
  const next = () => tokens[at++]!
  const unexpected = (token: Token): never => {
    throw new CalcError(
      token.type === "end" ? "unexpected end of expression" : `unexpected '${token.text}' at position ${token.pos}`
    )
  }
  const expect = (text: string) => {
    const token = next()
    if (token.text !== text || token.type !== "op") {
      if (token.type === "end") throw new CalcError(`missing '${text}' at the end of the expression`)
      unexpected(token)
    }
  }
  const isOp = (...ops: Array<string>) => peek().type === "op" && ops.includes(peek().text)

  const sum = (): Node => {
    let left = product()
    while (isOp("+", "-")) {
      const op = next()
      left = { kind: "binary", op: op.text, left, right: product(), pos: op.pos }
    }
    return left
  }
  const product = (): Node => {
    let left = unary()
    while (isOp("*", "/", "%")) {
      const op = next()
      left = { kind: "binary", op: op.text, left, right: unary(), pos: op.pos }
    }
    return left
  }
  const unary = (): Node => {
    if (isOp("-")) {
      const op = next()
      return { kind: "negate", arg: unary(), pos: op.pos }
    }
    if (isOp("+")) {
      next()
      return unary()
    }
    return power()
  }
  const power = (): Node => {
    const base = primary()
    if (!isOp("**")) return base
    const op = next()
    // The exponent may carry its own sign (`2**-1`) and groups to the right (`2**3**2` = 2**9).
    return { kind: "binary", op: "**", left: base, right: unary(), pos: op.pos }
  }
  const primary = (): Node => {
    const token = next()
    if (token.type === "number") return { kind: "number", text: token.text, pos: token.pos }
    if (token.type === "name") {
      if (!isOp("(")) return { kind: "name", name: token.text, pos: token.pos }
      next()
      const args: Array<Node> = []
      if (!isOp(")")) {
        args.push(sum())
        while (isOp(",")) {
          next()
          args.push(sum())
        }
      }
      expect(")")
      return { kind: "call", name: token.text, args, pos: token.pos }
    }
    if (token.type === "op" && token.text === "(") {
      const inner = sum()
      expect(")")
      return inner
    }
    return unexpected(token)
  }

  const tree = sum()
  if (peek().type !== "end") unexpected(peek())
  return tree
}
