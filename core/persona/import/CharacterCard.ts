/**
 * Character Card V2 (SillyTavern and friends): `{ spec: "chara_card_v2", spec_version: "2.0", data: {...} }`.
 * V3 cards (`chara_card_v3`) carry the same fields and load the same way; their extra fields are ignored.
 *
 * Mapping: `system_prompt` (with `{{original}}` dropped), then `# <name>` + `description`, `## Personality`,
 * `## Scenario` and `## Instructions` (`post_history_instructions`) make the system prompt; `mes_example` (blocks
 * separated by `<START>`) becomes the examples; `first_mes` the greeting; `creator_notes` the description shown to
 * people. `{{char}}` / `{{user}}` are replaced (see `macros.ts`). `alternate_greetings`, `tags`, `character_book` and
 * `extensions` are not used.
 */
import { Schema } from "effect"
import { parseExamples } from "../Examples.ts"
import { replaceMacros } from "../macros.ts"
import { type ImportedCharacter, intro, joinSections, section } from "./Character.ts"

const Text = Schema.optionalWith(Schema.String, { default: () => "" })
const rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const CharacterCardV2 = Schema.Struct(
  {
    spec: Schema.Literal("chara_card_v2", "chara_card_v3"),
    spec_version: Schema.String,
    data: Schema.Struct(
      {
        name: Schema.String.pipe(Schema.minLength(1)),
        description: Text,
        personality: Text,
        scenario: Text,
        first_mes: Text,
        mes_example: Text,
        creator_notes: Text,
        system_prompt: Text,
        post_history_instructions: Text,
        alternate_greetings: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
        tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
      },
      rest
    )
  },
  rest
)
export type CharacterCardV2 = typeof CharacterCardV2.Type

/** Whether parsed JSON says it is a character card. */
export const isCharacterCard = (json: unknown): boolean =>
  typeof json === "object" &&
  json !== null &&
  ((json as { spec?: unknown }).spec === "chara_card_v2" || (json as { spec?: unknown }).spec === "chara_card_v3")

export const fromCharacterCard = (card: CharacterCardV2): ImportedCharacter => {
  const { data } = card
  const name = data.name.trim()
  const text = (value: string) => replaceMacros(value, name).trim()
  const systemPrompt = joinSections([
    text(data.system_prompt.replace(/\{\{original\}\}/gi, "")),
    intro(name, text(data.description)),
    section("## Personality", text(data.personality)),
    section("## Scenario", text(data.scenario)),
    section("## Instructions", text(data.post_history_instructions))
  ])
  const examples = parseExamples(data.mes_example, { charName: name }).examples.map((example) => ({
    user: text(example.user),
    assistant: text(example.assistant)
  }))
  const notes =
    data.creator_notes
      .trim()
      .split(/\n\s*\n/)[0]
      ?.trim() ?? ""
  return {
    format: "character-card-v2",
    name,
    description: notes,
    systemPrompt,
    examples,
    greeting: data.first_mes.trim() === "" ? undefined : text(data.first_mes),
    provider: undefined
  }
}
