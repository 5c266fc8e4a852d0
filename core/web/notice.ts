/** What the page says when no LLM provider can answer, with the exact lines that fix it. */
import type { Notice } from "./Protocol.ts"

export const noProviderNotice: Notice = {
  title: "No LLM provider is configured",
  text:
    "No provider in config.yaml has what it needs, and no local Ollama answered at 127.0.0.1:11434. Until one does, " +
    "every persona answers through the echo development provider: it repeats your message, marked [echo], so the " +
    "whole pipeline (channels, router, conversations, tools) can still be tried. To use a real model, add these " +
    "lines to config.yaml (next to package.json), export the key (read keeps it out of your shell history), and restart Troupe:",
  config: "providers:\n  openai:\n    api_key: ${OPENAI_API_KEY}",
  // No `NAME=value` here: the redactor would (rightly) blank whatever follows `API_KEY=` on its way out.
  shell: "read -rs OPENAI_API_KEY && export OPENAI_API_KEY   # paste your key from platform.openai.com\nbun start",
  ollama:
    "Or, with no key at all: install Ollama, run `ollama pull llama3.2` and `ollama serve`, set " +
    "`model: { provider: ollama, model: llama3.2 }` in the persona's persona.yaml, and restart Troupe. " +
    "Other providers work the same way (anthropic with ANTHROPIC_API_KEY, groq with GROQ_API_KEY, openrouter, …); " +
    "a persona uses the provider its persona.yaml names under model: provider."
}
