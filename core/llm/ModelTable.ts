/**
 * What we know about common models without asking the provider: context window (tokens) and whether they take images.
 * Unknown models get conservative defaults. `providers.<name>.models` in `config.yaml` overrides an entry, and a
 * persona's `context_window` / `vision` override both for its main model.
 */

export interface ModelInfo {
  /** Context window in tokens. */
  readonly contextWindow: number
  /** The model accepts images. */
  readonly vision: boolean
}

/** Per-model overrides as written under `providers.<name>.models`. */
export type ModelOverrides = Readonly<
  Record<string, { readonly contextWindow?: number | undefined; readonly vision?: boolean | undefined }>
>

/** What an unknown model is assumed to have. */
export const defaultModelInfo: ModelInfo = { contextWindow: 8_192, vision: false }

/**
 * Matched against the model id, lowercased, without any `vendor/` prefix (OpenRouter) or `:tag` suffix (Ollama).
 * First match wins, so specific entries come before general ones.
 */
const table: ReadonlyArray<readonly [RegExp, ModelInfo]> = [
  // OpenAI
  [/^gpt-4\.1/, { contextWindow: 1_047_576, vision: true }],
  [/^gpt-[56]/, { contextWindow: 400_000, vision: true }],
  [/^gpt-4o/, { contextWindow: 128_000, vision: true }],
  [/^chatgpt-4o/, { contextWindow: 128_000, vision: true }],
  [/^gpt-4-turbo|^gpt-4-\d{4}-preview|^gpt-4-vision/, { contextWindow: 128_000, vision: true }],
  [/^gpt-4-32k/, { contextWindow: 32_768, vision: false }],
  [/^gpt-4(?:-\d{4})?$/, { contextWindow: 8_192, vision: false }],
  [/^gpt-3\.5-turbo/, { contextWindow: 16_385, vision: false }],
  [/^gpt-oss/, { contextWindow: 131_072, vision: false }],
  [/^o1-mini|^o3-mini/, { contextWindow: 128_000, vision: false }],
  [/^o[1-9](?:-|$)/, { contextWindow: 200_000, vision: true }],
  // Anthropic
  [/^claude-(?:opus|sonnet|haiku)-4|^claude-(?:3-7|3-5|3)-/, { contextWindow: 200_000, vision: true }],
  [/^claude-/, { contextWindow: 200_000, vision: true }],
  // Meta Llama (Groq, Together, OpenRouter, Ollama spellings)
  [/^llama-?4|^meta-llama-4/, { contextWindow: 131_072, vision: true }],
  [/^llama-?3\.2.*vision|^llama-?3\.2-(?:11|90)b/, { contextWindow: 128_000, vision: true }],
  [/^llama-?3\.[123]|^meta-llama-3\.[123]|^llama-?3-(?:groq-)?\d+b-.*tool/, { contextWindow: 128_000, vision: false }],
  [/^llama-?3|^meta-llama-3/, { contextWindow: 8_192, vision: false }],
  [/^llava|^bakllava|^moondream|^minicpm-v/, { contextWindow: 4_096, vision: true }],
  // Mistral
  [/^mixtral-8x22b/, { contextWindow: 65_536, vision: false }],
  [/^mixtral/, { contextWindow: 32_768, vision: false }],
  [/^pixtral|^mistral-small-3\.[12]|^mistral-medium/, { contextWindow: 128_000, vision: true }],
  [/^mistral-(?:large|small|nemo)|^open-mistral-nemo/, { contextWindow: 128_000, vision: false }],
  [/^mistral/, { contextWindow: 32_768, vision: false }],
  // Perplexity
  [/^sonar-pro|^sonar-reasoning-pro/, { contextWindow: 200_000, vision: true }],
  [/^sonar/, { contextWindow: 127_072, vision: false }],
  // Google, Qwen, DeepSeek and friends
  [/^gemini/, { contextWindow: 1_000_000, vision: true }],
  [/^gemma-?3:1b/, { contextWindow: 32_768, vision: false }],
  [/^gemma-?3(?!n)/, { contextWindow: 128_000, vision: true }],
  [/^gemma/, { contextWindow: 8_192, vision: false }],
  [/^qwen.*vl/, { contextWindow: 32_768, vision: true }],
  [/^qwen-?3|^qwq/, { contextWindow: 32_768, vision: false }],
  [/^qwen/, { contextWindow: 32_768, vision: false }],
  [/^deepseek/, { contextWindow: 64_000, vision: false }],
  [/^phi-?4/, { contextWindow: 16_384, vision: false }],
  [/^phi-?3/, { contextWindow: 128_000, vision: false }],
  [/^kimi|^moonshot/, { contextWindow: 128_000, vision: false }],
  [/^grok-(?:2-)?vision|^grok-4/, { contextWindow: 128_000, vision: true }],
  [/^grok/, { contextWindow: 128_000, vision: false }],
  [/^command-r/, { contextWindow: 128_000, vision: false }]
]

/** `openai/gpt-4o` → `gpt-4o`, `llama3.2:3b` → `llama3.2`, lowercased. */
export const baseModelName = (model: string): string => {
  const lower = model.toLowerCase()
  const slash = lower.lastIndexOf("/")
  const name = slash >= 0 ? lower.slice(slash + 1) : lower
  const colon = name.indexOf(":")
  return colon > 0 ? name.slice(0, colon) : name
}

/** Facts from the built-in table (the default for unknown models). */
export const knownModel = (model: string): ModelInfo => {
  const name = baseModelName(model)
  // Ollama tags carry the size (`gemma3:1b`): keep it for the patterns that care.
  const tagged = model.toLowerCase().slice(model.lastIndexOf("/") + 1)
  for (const [pattern, info] of table) if (pattern.test(name) || pattern.test(tagged)) return info
  return defaultModelInfo
}

/**
 * Facts about `model`: the config overrides (exact id first, then the base name), over the table.
 *
 * @example
 * lookupModel("gpt-4o-mini").contextWindow // 128000
 * lookupModel("my-finetune", { "my-finetune": { contextWindow: 32000 } }).contextWindow // 32000
 */
export const lookupModel = (model: string, overrides?: ModelOverrides, cap?: number): ModelInfo => {
  const known = knownModel(model)
  const override = overrides?.[model] ?? overrides?.[baseModelName(model)]
  const contextWindow =
    override?.contextWindow ?? (cap === undefined ? known.contextWindow : Math.min(cap, known.contextWindow))
  return { contextWindow, vision: override?.vision ?? known.vision }
}
