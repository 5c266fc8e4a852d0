/**
 * Loading personas from `personalities/`:
 *
 * - a folder `personalities/<name>/` with `persona.yaml` (decoded by `PersonaFile`), an optional `system.md` (the
 *   system prompt; otherwise `system:` in the yaml, never both) and an optional `examples.md` (sample dialogue, the
 *   format is in `Examples.ts`; otherwise `examples:` in the yaml, never both);
 * - a `.json` file directly in `personalities/`: a Character Card V2 or an ElizaOS character (see `import/`).
 *
 * Every problem comes back as an `InvalidFile` naming the file and line. Reading is synchronous: these are small files
 * read on start and on reload.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { basename, isAbsolute, join, relative } from "node:path"
import { Either } from "effect"
import { decodeYaml, type Env, type FileIssue, InvalidFile } from "../config/Yaml.ts"
import { parseExamples } from "./Examples.ts"
import { type CharacterOptions, slug, toDefinition } from "./import/Character.ts"
import { CharacterCardV2, fromCharacterCard, isCharacterCard } from "./import/CharacterCard.ts"
import { ElizaCharacter, fromEliza, isElizaCharacter } from "./import/Eliza.ts"
import { decodeJson, parseJsonText } from "./import/json.ts"
import { replaceMacros } from "./macros.ts"
import { type Localized, type PersonaDefinition, PersonaFile } from "./Persona.ts"

export interface PersonaLoadOptions extends CharacterOptions {
  /** For `${VAR}` in persona.yaml (default: the process environment). */
  readonly env?: Env
  /** File names in messages are shown relative to this directory (default: the current directory). */
  readonly root?: string
}

const idPattern = /^[a-z0-9][a-z0-9_-]*$/i

/** How a path is shown in messages and events. */
export const displayPath = (path: string, root = process.cwd()): string => {
  const rel = relative(root, path)
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel
}

const fail = (file: string, message: string, line?: number, path = "") =>
  Either.left(
    new InvalidFile({ file, issues: [{ file, line, column: line === undefined ? undefined : 1, path, message }] })
  )

const lineOfKey = (text: string, key: string): number | undefined => {
  const index = text.split(/\r?\n/).findIndex((line) => new RegExp(`^${key}\\s*:`).test(line))
  return index < 0 ? undefined : index + 1
}

const localized = (value: Localized | undefined, name: string): Localized | undefined => {
  if (value === undefined) return undefined
  if (typeof value === "string") return replaceMacros(value, name)
  return Object.fromEntries(Object.entries(value).map(([lang, text]) => [lang, replaceMacros(text, name)]))
}

const readText = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : undefined)

/** Load `dir` (a persona folder). */
export const loadPersonaFolder = (
  dir: string,
  options: PersonaLoadOptions = {}
): Either.Either<PersonaDefinition, InvalidFile> => {
  const show = (path: string) => displayPath(path, options.root)
  const yamlPath = join(dir, "persona.yaml")
  const yamlText = readText(yamlPath)
  if (yamlText === undefined) return fail(show(yamlPath), "persona.yaml is missing")
  const decoded = decodeYaml(PersonaFile, yamlText, yamlPath, {
    env: options.env ?? process.env,
    displayName: show(yamlPath)
  })
  if (Either.isLeft(decoded)) return Either.left(decoded.left)
  const file = decoded.right
  const id = file.name ?? basename(dir)
  if (!idPattern.test(id)) {
    return fail(
      show(yamlPath),
      `the folder name "${id}" is not a valid persona id; add name: (letters, digits, - and _)`
    )
  }
  const title = file.displayName ?? file.name ?? id

  const systemPath = join(dir, "system.md")
  const systemText = readText(systemPath)
  if (systemText !== undefined && file.system !== undefined) {
    const message = `the system prompt is in both persona.yaml (system:) and ${show(systemPath)}; keep one`
    return fail(show(yamlPath), message, lineOfKey(yamlText, "system"), "system")
  }

  const examplesPath = join(dir, "examples.md")
  const examplesText = readText(examplesPath)
  let examples = file.examples
  if (examplesText !== undefined) {
    if (file.examples.length > 0) {
      const message = `examples are in both persona.yaml (examples:) and ${show(examplesPath)}; keep one`
      return fail(show(yamlPath), message, lineOfKey(yamlText, "examples"), "examples")
    }
    const parsed = parseExamples(examplesText, { charName: title })
    if (parsed.issues.length > 0) {
      const where = show(examplesPath)
      const issues: Array<FileIssue> = parsed.issues.map((issue) => ({
        file: where,
        line: issue.line,
        column: 1,
        path: "",
        message: issue.message
      }))
      return Either.left(new InvalidFile({ file: where, issues }))
    }
    examples = parsed.examples
  }

  const text = (value: string) => replaceMacros(value, title)
  return Either.right({
    ...file,
    examples: examples.map((example) => ({ user: text(example.user), assistant: text(example.assistant) })),
    greeting: localized(file.greeting, title),
    id,
    title,
    systemPrompt: text((systemText ?? file.system ?? "").trim()),
    source: dir,
    format: "folder"
  })
}

/** Load a Character Card V2 or ElizaOS character JSON file as a persona (id: the file name, as a slug). */
export const loadCharacterFile = (
  path: string,
  options: PersonaLoadOptions = {}
): Either.Either<PersonaDefinition, InvalidFile> => {
  const shown = displayPath(path, options.root)
  const text = readText(path)
  if (text === undefined) return fail(shown, "file not found")
  const parsed = parseJsonText(text, shown)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const id = slug(basename(path).replace(/\.json$/i, ""))
  const json = parsed.right
  if (isCharacterCard(json)) {
    return Either.map(decodeJson(CharacterCardV2, json, text, shown), (card) =>
      toDefinition(fromCharacterCard(card), id, path, options)
    )
  }
  if (isElizaCharacter(json)) {
    return Either.map(decodeJson(ElizaCharacter, json, text, shown), (character) =>
      toDefinition(fromEliza(character), id, path, options)
    )
  }
  return fail(shown, 'not a Character Card V2 (spec: "chara_card_v2") or an ElizaOS character (name, bio, …)', 1)
}

/** Entries of `personalities/` that can hold a persona: folders and `.json` files, hidden and `_` ones left out. */
export const personaEntries = (dir: string): ReadonlyArray<string> => {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith(".") && !entry.name.startsWith("_"))
    .filter((entry) => entry.isDirectory() || (entry.isFile() && entry.name.toLowerCase().endsWith(".json")))
    .map((entry) => entry.name)
    .sort()
}

/**
 * Load one entry of `personalities/`. `undefined` when the entry is gone, empty, or not a folder or `.json` file, so
 * the caller unloads the persona it held.
 */
export const loadPersonaEntry = (
  dir: string,
  entry: string,
  options: PersonaLoadOptions = {}
): Either.Either<PersonaDefinition, InvalidFile> | undefined => {
  if (entry.startsWith(".") || entry.startsWith("_")) return undefined
  const path = join(dir, entry)
  const stat = statSync(path, { throwIfNoEntry: false })
  if (!stat) return undefined
  // An empty folder is one being created: not a persona yet, and not an error either.
  if (stat.isDirectory()) return readdirSync(path).length === 0 ? undefined : loadPersonaFolder(path, options)
  if (stat.isFile() && entry.toLowerCase().endsWith(".json")) return loadCharacterFile(path, options)
  return undefined
}
