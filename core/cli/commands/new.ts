/** `troupe new persona NAME` and `troupe new plugin NAME`: scaffold working folders. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"

export class ScaffoldError extends Error {
  readonly _tag = "ScaffoldError"
}

const validName = /^[a-z0-9][a-z0-9_-]*$/

const check = (kind: string, name: string | undefined, dir: string) => {
  if (!name) throw new ScaffoldError(`usage: troupe new ${kind} NAME`)
  if (!validName.test(name)) {
    throw new ScaffoldError(`"${name}" is not a valid ${kind} name: use lowercase letters, digits, - and _`)
  }
  const folder = join(dir, name)
  if (existsSync(folder)) throw new ScaffoldError(`${relative(process.cwd(), folder) || folder} already exists`)
  return folder
}

/** A persona that works at once: on the first configured provider, or the echo development provider. */
export const newPersona = (name: string | undefined, personalitiesDir: string, provider = "echo"): string => {
  const folder = check("persona", name, personalitiesDir)
  mkdirSync(folder, { recursive: true })
  const title = name!.replace(/[-_]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase())
  writeFileSync(
    join(folder, "persona.yaml"),
    `# ${title}: edit me. Every field is documented in the README (Personas).
display_name: ${title}
description: A new persona
language: en
greeting: Hi! I'm ${title}. Ask me anything.

model:
  provider: ${provider}          # a provider from config.yaml (openai, anthropic, groq, ollama, …)
  # model: gpt-4o-mini
  # fallbacks: [anthropic/claude-3-5-haiku-latest]
  temperature: 0.7

# channels:
#   - type: telegram
#     token: \${TELEGRAM_BOT_TOKEN:-}

reply:
  dms: true
  mentions: true
  # triggers: { "hello there": 0.5 }

tools: [clock, calculator]
`
  )
  writeFileSync(join(folder, "system.md"), `You are ${title}, a friendly assistant. Answer briefly and helpfully.\n`)
  writeFileSync(join(folder, "examples.md"), `user: Who are you?\nassistant: I'm ${title}. What can I do for you?\n`)
  return folder
}

export const newPlugin = (name: string | undefined, pluginsDir: string): string => {
  const folder = check("plugin", name, pluginsDir)
  mkdirSync(folder, { recursive: true })
  const tool = name!.replace(/-/g, "_")
  writeFileSync(
    join(folder, "plugin.ts"),
    `import { Schema } from "effect"
import { definePlugin, defineTool } from "troupe/sdk"

/**
 * ${name}: a tool plugin. It runs in its own Worker; edit and save, and \`troupe dev\` reloads it.
 * Enable it for a persona with \`tools: [${tool}]\` in its persona.yaml.
 */
export default definePlugin({
  name: "${name}",
  version: "0.1.0",
  tools: [
    defineTool({
      name: "${tool}",
      description: "Repeat a text a number of times (replace me with something useful)",
      parameters: Schema.Struct({
        text: Schema.String.annotations({ description: "What to repeat" }),
        times: Schema.optional(Schema.Int.pipe(Schema.between(1, 5))).annotations({ description: "How often, 1-5" })
      }),
      run: ({ text, times }) => Array.from({ length: times ?? 1 }, () => text).join(" ")
    })
  ]
})
`
  )
  return folder
}
