import { afterAll, describe, expect, test } from "bun:test"
import { Either } from "effect"
import { formatExamples, parseExamples } from "../../core/persona/Examples.ts"
import { replaceMacros } from "../../core/persona/macros.ts"
import { loadPersonaEntry, loadPersonaFolder, personaEntries } from "../../core/persona/PersonaLoader.ts"
import { tempDir } from "../support/tmp.ts"

const dirs: Array<{ cleanup: () => void }> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})

const folder = (files: Record<string, string>) => {
  const tmp = tempDir(files)
  dirs.push(tmp)
  return tmp
}

const keeperYaml = `display_name: Mara
description: Keeps the lighthouse
greeting: "Come in, {{user}}, before the fog eats you."
model:
  provider: groq
  model: llama-3.3-70b
tools: [clock]
`

const keeperExamples = `# Weather
user: How far can the light be seen?
assistant: Twenty-two nautical miles on a clear night.
On a night like this one, not past the harbour wall.

{{user}}: Do you ever get lonely?
{{char}}: The gulls keep me honest.

<START>
assistant: *The door creaks open.*
`

describe("persona folders", () => {
  test("persona.yaml + system.md + examples.md load into one definition", () => {
    const tmp = folder({
      "personalities/keeper/persona.yaml": keeperYaml,
      "personalities/keeper/system.md": "You are {{char}}, keeper of Gannet Rock.\nAnswer {{user}} briefly.\n",
      "personalities/keeper/examples.md": keeperExamples
    })
    const loaded = loadPersonaFolder(tmp.path("personalities/keeper"), { root: tmp.dir })
    expect(Either.isRight(loaded)).toBe(true)
    const persona = Either.getOrThrow(loaded)
    expect(persona).toMatchObject({
      id: "keeper",
      title: "Mara",
      description: "Keeps the lighthouse",
      systemPrompt: "You are Mara, keeper of Gannet Rock.\nAnswer the user briefly.",
      greeting: "Come in, friend, before the fog eats you.",
      format: "folder",
      source: tmp.path("personalities/keeper"),
      tools: ["clock"],
      language: "en",
      model: { provider: "groq", model: "llama-3.3-70b", maxTokens: 1024 }
    })
    expect(persona.examples).toEqual([
      {
        user: "How far can the light be seen?",
        assistant: "Twenty-two nautical miles on a clear night.\nOn a night like this one, not past the harbour wall."
      },
      { user: "Do you ever get lonely?", assistant: "The gulls keep me honest." },
      { user: "", assistant: "*The door creaks open.*" }
    ])
  })

  test("a broken persona.yaml, a prompt in two places and stray dialogue lines are reported with their line", () => {
    const tmp = folder({
      "personalities/broken/persona.yaml": "display_name: Broken\nmodel:\n  provider: groq\n  temperature: hot\n",
      "personalities/twice/persona.yaml": "model:\n  provider: echo\nsystem: You are twice.\n",
      "personalities/twice/system.md": "You are twice, again.",
      "personalities/stray/persona.yaml": "model: { provider: echo }\n",
      "personalities/stray/examples.md": "user: hi\nassistant: hello\n<START>\nthis line belongs to nobody\n",
      "personalities/Bad Name/persona.yaml": "model: { provider: echo }\n"
    })
    const problem = (entry: string) => {
      const result = loadPersonaEntry(tmp.path("personalities"), entry, { root: tmp.dir })
      if (!result || Either.isRight(result)) throw new Error(`${entry} loaded`)
      return result.left.issues[0]
    }
    expect(problem("broken")).toMatchObject({
      file: "personalities/broken/persona.yaml",
      line: 4,
      path: "model.temperature",
      message: 'expected a number, got "hot"'
    })
    expect(problem("twice")).toMatchObject({
      file: "personalities/twice/persona.yaml",
      line: 3,
      message: "the system prompt is in both persona.yaml (system:) and personalities/twice/system.md; keep one"
    })
    expect(problem("stray")).toMatchObject({
      file: "personalities/stray/examples.md",
      line: 4,
      message: "expected a line starting with user: or assistant:"
    })
    expect(problem("Bad Name")?.message).toContain('the folder name "Bad Name" is not a valid persona id')
    expect(personaEntries(tmp.path("personalities"))).toEqual(["Bad Name", "broken", "stray", "twice"])
  })

  test("examples written by formatExamples read back unchanged, even text that looks like a label", () => {
    const examples = [
      { user: "Tell me a dialogue.", assistant: "Here:\nuser: this line is part of the answer\n\n<START> too" },
      { user: "", assistant: "An opening line." },
      { user: "Two\nlines", assistant: "\\ a backslash" }
    ]
    const text = formatExamples(examples)
    expect(parseExamples(text)).toEqual({ examples, issues: [] })
  })

  test("{{char}} becomes the name, {{user}} becomes 'friend' when addressed and 'the user' otherwise", () => {
    expect(replaceMacros("Hello, {{user}}! I am {{char}}.", "Mara")).toBe("Hello, friend! I am Mara.")
    expect(replaceMacros("{{user}} rows out. <BOT> waits for <USER>.", "Mara")).toBe(
      "The user rows out. Mara waits for the user."
    )
  })
})
