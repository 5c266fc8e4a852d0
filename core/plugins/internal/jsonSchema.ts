/**
 * Tool parameters as the models want them: a plain JSON Schema object. Effect's `JSONSchema.make` adds `$schema` and
 * moves named schemas to `$defs` referenced by `$ref`; several providers reject or ignore those, so references are
 * inlined (siblings such as `description` kept) and both keys dropped. A recursive schema keeps an open `{}` where it
 * recurses.
 */
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const inline = (node: unknown, defs: Json, seen: ReadonlyArray<string>): unknown => {
  if (Array.isArray(node)) return node.map((item) => inline(item, defs, seen))
  if (!isObject(node)) return node
  const out: Json = {}
  const ref = typeof node.$ref === "string" ? /^#\/\$defs\/(.+)$/.exec(node.$ref)?.[1] : undefined
  if (ref !== undefined) {
    const name = decodeURIComponent(ref.replace(/~1/g, "/").replace(/~0/g, "~"))
    const target = defs[name]
    if (target !== undefined && !seen.includes(name)) Object.assign(out, inline(target, defs, [...seen, name]))
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" || key === "$schema" || key === "$defs") continue
    out[key] = inline(value, defs, seen)
  }
  return out
}

/** `Schema.Struct({})` means "any object" to Effect (`{ anyOf: [object, array] }`); to a model it is "no arguments". */
const isEmptyStruct = (ast: SchemaAST.AST): boolean =>
  SchemaAST.isTypeLiteral(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0

/** JSON Schema of the encoded side of `schema` (what the model sends), self-contained. */
export const toJsonSchema = (schema: Schema.Schema.Any): Json => {
  if (isEmptyStruct(SchemaAST.encodedAST(schema.ast)))
    return { type: "object", properties: {}, additionalProperties: false }
  const root = JSONSchema.make(schema as Schema.Schema<unknown, unknown, never>) as unknown as Json
  const defs = isObject(root.$defs) ? root.$defs : {}
  return inline(root, defs, []) as Json
}
