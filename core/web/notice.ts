/** What the page says when no LLM provider can answer, with the exact lines that fix it. */
import type { ProviderStatus } from "../llm/Providers.ts"
import { presets } from "../llm/Providers.ts"
import type { Notice } from "./Protocol.ts"

const envOf = (name: string) => (presets as Readonly<Record<string, { readonly keyEnv?: string }>>)[name]?.keyEnv

/**
 * The notice for a runtime where no provider can answer. Providers the config lists without their key (e.g. those of
 * config.example.yaml, read from the environment) are named with the variable to export.
 */
export const noProviderNotice = (providers: ReadonlyArray<ProviderStatus>): Notice => {
  const keyless = providers
    .filter((p) => p.configured && p.needsKey && !p.hasKey)
    .flatMap((p) => {
      const env = envOf(p.name)
      return env === undefined ? [] : [{ name: p.name, env }]
    })
  const env = keyless[0]?.env ?? "OPENAI_API_KEY"
  const listed =
    keyless.length === 0
      ? ""
      : ` Your config lists ${keyless.map((k) => k.name).join(", ")} without a key: export ${keyless
          .map((k) => k.env)
          .join(" or ")} and restart Troupe.`
  return {
    title: "No LLM provider is configured",
    text:
      "No provider in the config has what it needs, and no local Ollama answered at 127.0.0.1:11434. Until one " +
      "does, every persona answers through the echo development provider: it repeats your message, marked [echo], " +
      `so the whole pipeline (channels, router, conversations, tools) can still be tried.${listed} In your own ` +
      "config.yaml (next to package.json) a provider takes these lines; export the key (read keeps it out of your " +
      "shell history) and restart Troupe:",
    config: "providers:\n  openai:\n    api_key: ${OPENAI_API_KEY}",
    // No `NAME=value` here: the redactor would (rightly) blank whatever follows `API_KEY=` on its way out.
    shell: `read -rs ${env} && export ${env}   # paste your key\nbun start`,
    ollama:
      "Or, with no key at all: install Ollama, run `ollama pull llama3.2` and `ollama serve`, set " +
      "`model: { provider: ollama, model: llama3.2 }` in the persona's persona.yaml, and restart Troupe. " +
      "Other providers work the same way (anthropic with ANTHROPIC_API_KEY, groq with GROQ_API_KEY, openrouter, …); " +
      "a persona uses the provider its persona.yaml names under model: provider."
  }
}
