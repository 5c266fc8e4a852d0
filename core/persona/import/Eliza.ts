/**
 * ElizaOS character files: `{ name, username?, system?, bio, lore, messageExamples, postExamples, style, topics,
 * adjectives, knowledge, settings, modelProvider? }`.
 *
 * Mapping: `system`, then `# <name>` + `bio`, `## Background` (`lore`), `## Personality` (`adjectives`), `## Topics`,
 * `## Style` (`style.all` + `style.chat`) and `## Knowledge` (text entries) make the system prompt;
 * `messageExamples` (each conversation an array of `{ user | name, content: { text } }`) become the examples, with
 * the character's own name (or `{{agentName}}`) marking its turns. `postExamples` and `style.post` are for social
 * posts, not chat, and are not used. `modelProvider` picks the provider when config.yaml has one of that name.
 */
import { Schema } from "effect"
import { replaceMacros } from "../macros.ts"
import type { Example } from "../Persona.ts"
import { type ImportedCharacter, intro, joinSections, section } from "./Character.ts"

const rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const Texts = Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })

const MessageExample = Schema.Struct(
  {
    user: Schema.optional(Schema.String),
    name: Schema.optional(Schema.String),
    content: Schema.Struct({ text: Schema.optionalWith(Schema.String, { default: () => "" }) }, rest)
  },
  rest
)

export const ElizaCharacter = Schema.Struct(
  {
    name: Schema.String.pipe(Schema.minLength(1)),
    username: Schema.optional(Schema.String),
    system: Schema.optional(Schema.String),
    bio: Schema.optionalWith(Schema.Union(Schema.String, Schema.Array(Schema.String)), { default: () => [] }),
    lore: Texts,
    messageExamples: Schema.optionalWith(Schema.Array(Schema.Array(MessageExample)), { default: () => [] }),
    postExamples: Texts,
    style: Schema.optionalWith(Schema.Struct({ all: Texts, chat: Texts, post: Texts }, rest), {
      default: () => ({ all: [], chat: [], post: [] })
    }),
    topics: Texts,
    adjectives: Texts,
    knowledge: Schema.optionalWith(Schema.Array(Schema.Union(Schema.String, rest)), { default: () => [] }),
    modelProvider: Schema.optional(Schema.String),
    settings: Schema.optional(rest)
  },
  rest
)
export type ElizaCharacter = typeof ElizaCharacter.Type

/** Whether parsed JSON looks like an ElizaOS character (a name and at least one of its typical fields). */
export const isElizaCharacter = (json: unknown): boolean => {
  if (typeof json !== "object" || json === null || "spec" in json) return false
  const record = json as Record<string, unknown>
  return (
    typeof record.name === "string" &&
    ["bio", "lore", "messageExamples", "style", "adjectives"].some((k) => k in record)
  )
}

const toCardMacros = (text: string) =>
  text.replace(/\{\{agentName\}\}/g, "{{char}}").replace(/\{\{(?:user|name)\d*\}\}/g, "{{user}}")

const examplesOf = (character: ElizaCharacter, text: (value: string) => string): ReadonlyArray<Example> => {
  const own = new Set(
    [character.name, character.username, "{{agentName}}", "{{char}}"].filter(Boolean).map((n) => n!.toLowerCase())
  )
  const examples: Array<Example> = []
  for (const conversation of character.messageExamples) {
    let user: string | undefined
    let assistant: string | undefined
    const flush = () => {
      if (assistant !== undefined) examples.push({ user: user ?? "", assistant })
      user = undefined
      assistant = undefined
    }
    for (const message of conversation) {
      const speaker = (message.name ?? message.user ?? "").toLowerCase()
      const said = text(message.content.text)
      if (said === "") continue
      if (own.has(speaker)) assistant = assistant === undefined ? said : `${assistant}\n${said}`
      else {
        if (assistant !== undefined) flush()
        user = user === undefined ? said : `${user}\n${said}`
      }
    }
    flush()
  }
  return examples
}

export const fromEliza = (character: ElizaCharacter): ImportedCharacter => {
  const name = character.name.trim()
  const text = (value: string) => replaceMacros(toCardMacros(value), name).trim()
  const list = (values: ReadonlyArray<string>) => values.map(text).filter((value) => value !== "")
  const bio = typeof character.bio === "string" ? text(character.bio) : list(character.bio).join(" ")
  const knowledge = list(character.knowledge.filter((item): item is string => typeof item === "string"))
  const adjectives = list(character.adjectives)
  const systemPrompt = joinSections([
    text(character.system ?? ""),
    intro(name, bio),
    section("## Background", list(character.lore)),
    section("## Personality", adjectives.length ? `${name} is ${adjectives.join(", ")}.` : ""),
    section("## Topics", list(character.topics)),
    section("## Style", [...list(character.style.all), ...list(character.style.chat)]),
    section("## Knowledge", knowledge)
  ])
  const firstBio = typeof character.bio === "string" ? character.bio : (character.bio[0] ?? "")
  return {
    format: "eliza",
    name,
    description: text(firstBio),
    systemPrompt,
    examples: examplesOf(character, text),
    greeting: undefined,
    provider: character.modelProvider
  }
}
