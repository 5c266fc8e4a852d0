/**
 * What both importers produce before it becomes a persona: the parts of a character in Troupe's terms. A Character
 * Card V2 and an ElizaOS character of the same person map to the same shape, so they load as equivalent personas.
 */
import { Schema } from "effect"
import type { Example, PersonaDefinition } from "../Persona.ts"
import { PersonaFile } from "../Persona.ts"

export interface ImportedCharacter {
  readonly format: "character-card-v2" | "eliza"
  /** The character's name, shown to users. */
  readonly name: string
  /** A one-line summary for people (not sent to the model). */
  readonly description: string
  /** Assembled from the character's parts, with markdown headings. */
  readonly systemPrompt: string
  readonly examples: ReadonlyArray<Example>
  readonly greeting: string | undefined
  /** A provider the file asks for, if any. */
  readonly provider: string | undefined
}

export interface CharacterOptions {
  /** Provider for imported characters (e.g. the first one in config.yaml); default `echo`. */
  readonly defaultProvider?: string
  /** Configured provider names: a provider the file asks for is used only when it is one of these. */
  readonly providers?: ReadonlyArray<string>
}

/** A markdown section, or nothing when the body is empty. */
export const section = (heading: string, body: string | ReadonlyArray<string> | undefined): string => {
  const text = typeof body === "string" ? body.trim() : (body ?? []).map((line) => `- ${line.trim()}`).join("\n")
  return text === "" || text === "-" ? "" : `${heading}\n${text}`
}

/** `# <name>` with the character's summary under it. */
export const intro = (name: string, summary: string) =>
  summary.trim() === "" ? `# ${name}` : `# ${name}\n${summary.trim()}`

export const joinSections = (parts: ReadonlyArray<string>) =>
  parts
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .join("\n\n")

/** A stable id from a file or character name: `Mara the Keeper.json` -> `mara-the-keeper`. */
export const slug = (text: string): string =>
  text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|[-_]+$/g, "") || "persona"

export const toDefinition = (
  character: ImportedCharacter,
  id: string,
  source: string,
  options: CharacterOptions = {}
): PersonaDefinition => {
  const provider =
    character.provider && options.providers?.includes(character.provider)
      ? character.provider
      : (options.defaultProvider ?? "echo")
  const file = Schema.decodeUnknownSync(PersonaFile)({
    name: id,
    display_name: character.name,
    description: character.description,
    examples: character.examples,
    ...(character.greeting ? { greeting: character.greeting } : {}),
    model: { provider }
  })
  return { ...file, id, title: character.name, systemPrompt: character.systemPrompt, source, format: character.format }
}
