import { Schema } from "effect"
import { type PersonaDefinition, PersonaFile } from "../../core/persona/Persona.ts"

/** A persona definition from `persona.yaml`-shaped data (snake_case keys), with an echo-free instant provider default. */
export const personaOf = (encoded: Record<string, unknown> = {}, id = "sage"): PersonaDefinition => {
  const file = Schema.decodeUnknownSync(PersonaFile)({ model: { provider: "instant" }, ...encoded })
  return {
    ...file,
    id,
    title: file.displayName ?? id,
    systemPrompt: file.system ?? `You are ${id}.`,
    source: `personalities/${id}`,
    format: "folder"
  }
}
