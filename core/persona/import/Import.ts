/**
 * `troupe import FILE`: turn a Character Card V2 or ElizaOS character into a persona folder (`persona.yaml`,
 * `system.md`, `examples.md`) that can then be edited by hand.
 *
 * @example
 * const { dir } = yield* importCharacter("cards/mara.json", "personalities", { defaultProvider: "groq" })
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { Data, Effect, Either } from "effect"
import { stringify } from "yaml"
import type { InvalidFile } from "../../config/Yaml.ts"
import { formatExamples } from "../Examples.ts"
import type { PersonaDefinition } from "../Persona.ts"
import { displayPath, loadCharacterFile, type PersonaLoadOptions } from "../PersonaLoader.ts"

export class PersonaExists extends Data.TaggedError("PersonaExists")<{ readonly dir: string }> {
  override get message() {
    return `${this.dir} already exists (use --force to replace its persona.yaml, system.md and examples.md)`
  }
}

const formats: Record<PersonaDefinition["format"], string> = {
  folder: "a persona folder",
  "character-card-v2": "a Character Card V2",
  eliza: "an ElizaOS character"
}

/** `${` would be read back as an environment variable by persona.yaml's interpolation. */
const literal = (text: string) => text.replaceAll("${", "$${")

const personaYaml = (definition: PersonaDefinition): string => {
  const data: Record<string, unknown> = {
    name: definition.id,
    display_name: literal(definition.title),
    description: literal(definition.description)
  }
  if (definition.language !== "en") data.language = definition.language
  if (typeof definition.greeting === "string") data.greeting = literal(definition.greeting)
  else if (definition.greeting) {
    data.greeting = Object.fromEntries(Object.entries(definition.greeting).map(([k, v]) => [k, literal(v)]))
  }
  data.model = definition.model.model
    ? { provider: definition.model.provider, model: definition.model.model }
    : { provider: definition.model.provider }
  if (definition.tools.length > 0) data.tools = definition.tools
  const source = basename(definition.source)
  return [
    `# Imported from ${source} (${formats[definition.format]}) by \`troupe import\`.`,
    "# The system prompt is in system.md, sample dialogue in examples.md.",
    stringify(data, { lineWidth: 0 }).trimEnd(),
    "# Put the persona on a platform, e.g.:",
    "# channels:",
    "#   - type: telegram",
    "#     token: ${MY_BOT_TOKEN}",
    "channels: []",
    ""
  ].join("\n")
}

/** Write `definition` as a persona folder: `persona.yaml`, `system.md` and (when there are examples) `examples.md`. */
export const writePersonaFolder = (dir: string, definition: PersonaDefinition): void => {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "system.md"), `${definition.systemPrompt.trim()}\n`)
  const examples = join(dir, "examples.md")
  if (definition.examples.length > 0) writeFileSync(examples, formatExamples(definition.examples))
  else rmSync(examples, { force: true })
  // persona.yaml last: a watching runtime sees a complete folder.
  writeFileSync(join(dir, "persona.yaml"), personaYaml(definition))
}

export interface ImportOptions extends PersonaLoadOptions {
  /** Replace the files of an existing folder. */
  readonly force?: boolean
  /** Folder (and persona id) to create; default: from the file name. */
  readonly id?: string
}

/** Read a character file and write it as `personalitiesDir/<id>/`. Refuses an existing folder unless `force`. */
export const importCharacter = (
  file: string,
  personalitiesDir: string,
  options: ImportOptions = {}
): Effect.Effect<{ readonly dir: string; readonly definition: PersonaDefinition }, InvalidFile | PersonaExists> =>
  Effect.suspend((): Effect.Effect<{ dir: string; definition: PersonaDefinition }, InvalidFile | PersonaExists> => {
    const loaded = loadCharacterFile(file, options)
    if (Either.isLeft(loaded)) return Effect.fail(loaded.left)
    const definition = options.id ? { ...loaded.right, id: options.id, name: options.id } : loaded.right
    const dir = join(personalitiesDir, definition.id)
    if (existsSync(dir) && !options.force)
      return Effect.fail(new PersonaExists({ dir: displayPath(dir, options.root) }))
    return Effect.as(
      Effect.sync(() => writePersonaFolder(dir, definition)),
      { dir, definition }
    )
  })
