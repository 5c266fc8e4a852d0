/** Schema building blocks shared by `config.yaml` and `persona.yaml`. */
import { Duration, Either, Schema } from "effect"
import { Type as ParseResultType } from "effect/ParseResult"

/**
 * A duration written as `500ms`, `10s`, `5m`, `2h`, `1d` or a number of milliseconds; decoded to milliseconds.
 *
 * @example
 * timeout: 30s
 */
export const Millis = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (input, _options, ast) => {
    if (typeof input === "number") {
      return input >= 0
        ? Either.right(input)
        : Either.left(new ParseResultType(ast, input, "expected a duration such as 30s, got a negative number"))
    }
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input)
    if (!match) {
      return Either.left(
        new ParseResultType(ast, input, `expected a duration such as 500ms, 30s, 5m or 2h, got "${input}"`)
      )
    }
    const unit = { ms: "millis", s: "seconds", m: "minutes", h: "hours", d: "days" }[match[2] as "ms"] as Duration.Unit
    return Either.right(Duration.toMillis(Duration.decode(`${Number(match[1])} ${unit}`)))
  },
  encode: (millis) => Either.right(millis)
}).annotations({ identifier: "Duration", description: "a duration such as 500ms, 30s, 5m or 2h" })

/** A TCP port; 0 picks any free port (the chosen one is logged). */
export const Port = Schema.Int.pipe(Schema.between(0, 65535)).annotations({
  message: () => "expected a port number between 0 and 65535"
})

export const Probability = Schema.Number.pipe(Schema.between(0, 1)).annotations({
  message: () => "expected a probability between 0 and 1"
})

export const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())
export const PositiveInt = Schema.Int.pipe(Schema.positive())

/** A required field whose YAML key is `key` (snake_case) while the decoded field is camelCase. */
export const field = <S extends Schema.Schema.Any>(key: string, schema: S) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

/** An optional field with a default, read from the YAML key `key`. */
export const withDefault = <S extends Schema.Schema.Any>(key: string, schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value as never }).pipe(Schema.fromKey(key))

/** An optional field without a default, read from the YAML key `key`. */
export const optionalField = <S extends Schema.Schema.Any>(key: string, schema: S) =>
  Schema.optional(schema).pipe(Schema.fromKey(key))
