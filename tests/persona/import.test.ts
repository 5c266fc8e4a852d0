import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Either } from "effect"
import { importCharacter } from "../../core/persona/import/Import.ts"
import type { PersonaDefinition } from "../../core/persona/Persona.ts"
import { loadCharacterFile, loadPersonaFolder } from "../../core/persona/PersonaLoader.ts"
import { tempDir } from "../support/tmp.ts"

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/characters/${name}`, import.meta.url))
const card = fixture("lighthouse-keeper.json")
const eliza = fixture("chess-coach.json")

const dirs: Array<{ cleanup: () => void }> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})
const folder = (files: Record<string, string> = {}) => {
  const tmp = tempDir(files)
  dirs.push(tmp)
  return tmp
}

const load = (file: string, options = {}): PersonaDefinition => Either.getOrThrow(loadCharacterFile(file, options))

/** The markdown headings of a system prompt. */
const headings = (prompt: string) => prompt.split("\n").filter((line) => line.startsWith("#"))

describe("character imports", () => {
  test("a Character Card V2 becomes a persona: prompt sections, examples from <START> blocks, greeting", () => {
    const persona = load(card, { defaultProvider: "groq" })
    expect(persona).toMatchObject({
      id: "lighthouse-keeper",
      title: "Mara Quill",
      format: "character-card-v2",
      description: "An original sample character written for Troupe's tests.",
      greeting:
        "*Mara Quill opens the door, lamp in hand.* You picked a poor evening for rowing, friend. Come in before the fog eats you.",
      model: { provider: "groq" }
    })
    expect(persona.systemPrompt).toStartWith(
      "Stay in character as Mara Quill. Keep answers short, two or three sentences.\n\n# Mara Quill\nMara Quill keeps the lighthouse"
    )
    expect(headings(persona.systemPrompt)).toEqual(["# Mara Quill", "## Personality", "## Scenario", "## Instructions"])
    expect(persona.systemPrompt).toContain("## Scenario\nThe user has rowed out to Gannet Rock")
    expect(persona.systemPrompt).not.toContain("{{")
    expect(persona.examples).toEqual([
      {
        user: "How far can the light be seen?",
        assistant: "Twenty-two nautical miles on a clear night.\nOn a night like this one, not past the harbour wall."
      },
      {
        user: "Do you ever get lonely out here?",
        assistant: "The gulls keep me honest, friend. And the radio, when it works."
      }
    ])
  })

  test("an ElizaOS character becomes a persona: bio, lore, adjectives, topics, style and knowledge as sections", () => {
    const persona = load(eliza, { defaultProvider: "groq", providers: ["groq", "anthropic"] })
    expect(persona).toMatchObject({
      id: "chess-coach",
      title: "Viktor Brandt",
      format: "eliza",
      model: { provider: "anthropic" }
    })
    expect(persona.greeting).toBeUndefined()
    expect(persona.systemPrompt).toStartWith(
      "Stay in character as Viktor Brandt, a chess coach. Keep answers short, two or three sentences.\n\n# Viktor Brandt\nViktor Brandt is a retired"
    )
    expect(headings(persona.systemPrompt)).toEqual([
      "# Viktor Brandt",
      "## Background",
      "## Personality",
      "## Topics",
      "## Style",
      "## Knowledge"
    ])
    expect(persona.systemPrompt).toContain("## Personality\nViktor Brandt is patient, exacting, wry.")
    expect(persona.systemPrompt).toContain("- asks the student what they were thinking")
    expect(persona.systemPrompt).not.toContain("short aphorisms")
    expect(persona.examples).toEqual([
      {
        user: "Should I learn openings first?",
        assistant: "Endgames first. An opening you understand beats ten you memorised."
      },
      {
        user: "I keep losing on time.",
        assistant: "Then we practise deciding, friend. Twenty minutes of blitz, no takebacks."
      }
    ])
    // A provider the file asks for but config.yaml does not have falls back to the default.
    expect(load(eliza, { defaultProvider: "groq", providers: ["groq"] }).model.provider).toBe("groq")
    expect(load(eliza).model.provider).toBe("echo")
  })

  test("the same character in both formats imports to an equivalent persona", () => {
    const tmp = folder({
      "ivy.card.json": JSON.stringify({
        spec: "chara_card_v2",
        spec_version: "2.0",
        data: {
          name: "Ivy",
          description: "{{char}} tends the city greenhouse.",
          personality: "Warm and exact.",
          first_mes: "Mind the ferns, {{user}}.",
          mes_example: "<START>\n{{user}}: What needs water?\n{{char}}: The ferns, {{user}}. Always the ferns."
        }
      }),
      "ivy.eliza.json": JSON.stringify({
        name: "Ivy",
        bio: "{{agentName}} tends the city greenhouse.",
        adjectives: ["warm", "exact"],
        messageExamples: [
          [
            { user: "{{user1}}", content: { text: "What needs water?" } },
            { user: "Ivy", content: { text: "The ferns, {{user1}}. Always the ferns." } }
          ]
        ]
      })
    })
    const fromCard = load(tmp.path("ivy.card.json"))
    const fromEliza = load(tmp.path("ivy.eliza.json"))
    expect(fromEliza.title).toBe(fromCard.title)
    expect(fromEliza.examples).toEqual(fromCard.examples)
    expect(fromCard.examples).toEqual([
      { user: "What needs water?", assistant: "The ferns, friend. Always the ferns." }
    ])
    const intro = "# Ivy\nIvy tends the city greenhouse."
    expect(fromCard.systemPrompt).toStartWith(intro)
    expect(fromEliza.systemPrompt).toStartWith(intro)
    expect(fromCard.systemPrompt).toContain("## Personality\nWarm and exact.")
    expect(fromEliza.systemPrompt).toContain("## Personality\nIvy is warm, exact.")
    expect(fromCard.greeting).toBe("Mind the ferns, friend.")
  })

  test("importCharacter writes a persona folder that loads back as the same persona, and keeps existing folders", async () => {
    const tmp = folder()
    const personalities = tmp.path("personalities")
    for (const file of [card, eliza]) {
      const { dir, definition } = await Effect.runPromise(
        importCharacter(file, personalities, { defaultProvider: "groq" })
      )
      expect(existsSync(`${dir}/system.md`) && existsSync(`${dir}/examples.md`)).toBe(true)
      const loaded = Either.getOrThrow(loadPersonaFolder(dir))
      expect(loaded.format).toBe("folder")
      for (const key of ["id", "title", "description", "systemPrompt", "examples", "greeting", "model"] as const) {
        expect(loaded[key]).toEqual(definition[key])
      }
    }
    expect(readFileSync(tmp.path("personalities/lighthouse-keeper/persona.yaml"), "utf8")).toStartWith(
      "# Imported from lighthouse-keeper.json (a Character Card V2) by `troupe import`."
    )
    const again = await Effect.runPromise(Effect.either(importCharacter(card, personalities)))
    expect(Either.isLeft(again) && again.left.message).toContain("lighthouse-keeper already exists (use --force")
    const forced = await Effect.runPromise(importCharacter(card, personalities, { force: true, id: "mara" }))
    expect(forced.dir).toEndWith("/personalities/mara")
  })

  test("broken character files are reported with their line", () => {
    const tmp = folder({
      "bad.json": '{\n  "spec": "chara_card_v2",\n  "spec_version": "2.0",\n  "data": {\n    "name": 42\n  }\n}\n',
      "syntax.json": '{\n  "name": "x",\n  "bio": [\n}\n',
      "other.json": '{ "hello": "world" }'
    })
    const issue = (name: string) => {
      const result = loadCharacterFile(tmp.path(name), { root: tmp.dir })
      if (Either.isRight(result)) throw new Error(`${name} loaded`)
      return result.left.issues[0]
    }
    expect(issue("bad.json")).toMatchObject({
      file: "bad.json",
      line: 5,
      path: "data.name",
      message: "expected string, got 42"
    })
    expect(issue("syntax.json")).toMatchObject({ file: "syntax.json", line: 4 })
    expect(issue("syntax.json")?.message).toStartWith("not valid JSON")
    expect(issue("other.json")?.message).toContain("not a Character Card V2")
  })
})
