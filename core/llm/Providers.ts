/**
 * The LLM providers of a runtime, by the names personas use: every entry of `providers:` in `config.yaml`, plus the
 * presets that need no key (`ollama`, `echo`) even when the config does not mention them.
 *
 * @example
 * # config.yaml
 * providers:
 *   groq: { api_key: "${GROQ_API_KEY}" }           # a preset: base URL and API known
 *   claude: { preset: anthropic, api_key: "${ANTHROPIC_API_KEY}", default_model: claude-sonnet-5-5 }
 *   lab: { base_url: "http://10.0.0.5:8000/v1", default_model: qwen2.5-32b }   # any OpenAI-compatible server
 */
import { Context, Data, Effect, Layer } from "effect"
import { Config, type ProviderConfig, type ProviderPreset, providerPresets } from "../config/Config.ts"
import { makeAnthropicProvider } from "./AnthropicProvider.ts"
import { makeEchoProvider } from "./EchoProvider.ts"
import { makeOpenAiProvider } from "./OpenAiProvider.ts"
import type { LlmProvider } from "./Provider.ts"

interface Preset {
  readonly api: "openai" | "anthropic" | "echo"
  readonly baseUrl?: string
  /** Environment variable named in error messages; undefined when no key is needed. */
  readonly keyEnv?: string
  readonly defaultModel: string
  /** Context cap applied to every model of this provider unless `models:` says otherwise. */
  readonly contextCap?: number
}

/** Base URL, API and default model of each preset. */
export const presets: Readonly<Record<ProviderPreset, Preset>> = {
  openai: {
    api: "openai",
    baseUrl: "https://api.openai.com/v1",
    keyEnv: "OPENAI_API_KEY",
    defaultModel: "gpt-4o-mini"
  },
  anthropic: {
    api: "anthropic",
    baseUrl: "https://api.anthropic.com",
    keyEnv: "ANTHROPIC_API_KEY",
    defaultModel: "claude-sonnet-5-5"
  },
  groq: {
    api: "openai",
    baseUrl: "https://api.groq.com/openai/v1",
    keyEnv: "GROQ_API_KEY",
    defaultModel: "llama-3.3-70b-versatile"
  },
  // Ollama serves a small context (num_ctx) whatever the model can do; trimming assumes 4096 unless `models:` says more.
  ollama: { api: "openai", baseUrl: "http://127.0.0.1:11434/v1", defaultModel: "llama3.2", contextCap: 4_096 },
  openrouter: {
    api: "openai",
    baseUrl: "https://openrouter.ai/api/v1",
    keyEnv: "OPENROUTER_API_KEY",
    defaultModel: "openai/gpt-4o-mini"
  },
  perplexity: {
    api: "openai",
    baseUrl: "https://api.perplexity.ai",
    keyEnv: "PERPLEXITY_API_KEY",
    defaultModel: "sonar"
  },
  together: {
    api: "openai",
    baseUrl: "https://api.together.xyz/v1",
    keyEnv: "TOGETHER_API_KEY",
    defaultModel: "meta-llama/Llama-3.3-70B-Instruct-Turbo"
  },
  echo: { api: "echo", defaultModel: "echo" }
}

const isPreset = (name: string): name is ProviderPreset => (providerPresets as ReadonlyArray<string>).includes(name)

/** Presets a persona may use without any `providers:` entry. */
export const implicitPresets: ReadonlyArray<ProviderPreset> = ["ollama", "echo"]

/** A persona names a provider that is not configured (or is configured incompletely). */
export class ProviderNotConfigured extends Data.TaggedError("ProviderNotConfigured")<{
  readonly provider: string
  readonly reason: string
}> {
  override get message() {
    return this.reason
  }
}

/** One provider as the status page shows it. */
export interface ProviderStatus {
  readonly name: string
  readonly api: LlmProvider["api"] | undefined
  /** Listed under `providers:` in config.yaml (implicit presets are not). */
  readonly configured: boolean
  readonly needsKey: boolean
  readonly hasKey: boolean
  /** `get(name)` succeeds. */
  readonly usable: boolean
  /** Why it is not usable. */
  readonly problem?: string
  readonly baseUrl?: string
  readonly defaultModel?: string
}

export interface LlmProvidersService {
  /** The provider a persona names, or why it cannot be used (with the config line that fixes it). */
  readonly get: (name: string) => Effect.Effect<LlmProvider, ProviderNotConfigured>
  /** Every configured provider and every implicit preset, configured first, for the status page. */
  readonly status: () => ReadonlyArray<ProviderStatus>
  /** Whether a local Ollama answers `GET /api/tags` within `timeoutMs` (default 500). */
  readonly ollamaReachable: (timeoutMs?: number) => Effect.Effect<boolean>
}

interface Entry {
  readonly status: ProviderStatus
  readonly build?: () => LlmProvider
}

const keyHint = (name: string, preset: Preset | undefined) =>
  `providers: ${name}: api_key: \${${preset?.keyEnv ?? `${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_API_KEY`}}`

const resolve = (name: string, config: ProviderConfig | undefined): Entry => {
  const presetName = config?.preset ?? (isPreset(name) ? name : undefined)
  const preset = presetName === undefined ? undefined : presets[presetName]
  const configured = config !== undefined
  if (!configured && (presetName === undefined || !implicitPresets.includes(presetName))) {
    const reason = `provider ${name} is not configured: add ${keyHint(name, preset)} to config.yaml`
    return {
      status: {
        name,
        api: preset?.api,
        configured,
        needsKey: preset?.keyEnv !== undefined,
        hasKey: false,
        usable: false,
        problem: reason
      }
    }
  }
  const api = config?.api ?? preset?.api ?? (config?.baseUrl !== undefined ? "openai" : undefined)
  const baseUrl = config?.baseUrl ?? preset?.baseUrl
  const apiKey = config?.apiKey !== undefined && config.apiKey.trim() !== "" ? config.apiKey.trim() : undefined
  const needsKey = preset?.keyEnv !== undefined && config?.baseUrl === undefined
  const defaultModel = config?.defaultModel ?? preset?.defaultModel
  const base = { name, api, configured, needsKey, hasKey: apiKey !== undefined, ...(baseUrl ? { baseUrl } : {}) }
  const status = { ...base, ...(defaultModel === undefined ? {} : { defaultModel }) }
  const problem =
    api === undefined
      ? `provider ${name} in config.yaml needs a preset (${providerPresets.join(", ")}), an api or a base_url`
      : needsKey && apiKey === undefined
        ? `provider ${name} has no api_key: add ${keyHint(name, preset)} to config.yaml`
        : api !== "echo" && baseUrl === undefined
          ? `provider ${name} in config.yaml needs a base_url`
          : undefined
  if (problem !== undefined) return { status: { ...status, usable: false, problem } }
  const timeoutMs = config?.timeout ?? 60_000
  const maxRetries = config?.maxRetries ?? 2
  const models = config?.models
  const build = (): LlmProvider => {
    switch (api) {
      case "anthropic":
        return makeAnthropicProvider({
          name,
          baseUrl,
          apiKey,
          defaultModel,
          timeoutMs,
          maxRetries,
          headers: config?.headers,
          models
        })
      case "echo":
        return makeEchoProvider({ name, timeoutMs, maxRetries })
      default:
        return makeOpenAiProvider({
          name,
          baseUrl: baseUrl!,
          apiKey,
          defaultModel,
          timeoutMs,
          maxRetries,
          headers: config?.headers,
          models,
          contextCap: preset?.contextCap
        })
    }
  }
  return { status: { ...status, usable: true }, build }
}

const probeOllama = (baseUrl: string | undefined, timeoutMs: number): Effect.Effect<boolean> => {
  const root = (baseUrl ?? "http://127.0.0.1:11434/v1").replace(/\/+$/, "").replace(/\/v1$/, "")
  return Effect.tryPromise((signal) =>
    fetch(`${root}/api/tags`, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) }).then(
      async (response) => {
        await response.body?.cancel()
        return response.ok
      }
    )
  ).pipe(Effect.orElseSucceed(() => false))
}

/**
 * The service from `providers:` of `config.yaml`. Providers are built on first use and then reused.
 *
 * @example
 * const providers = makeLlmProviders(loaded.config.providers)
 */
export const makeLlmProviders = (config: Readonly<Record<string, ProviderConfig>>): LlmProvidersService => {
  const entries = new Map<string, Entry>()
  const built = new Map<string, LlmProvider>()
  const entry = (name: string): Entry => {
    let found = entries.get(name)
    if (found === undefined) {
      found = resolve(name, config[name])
      entries.set(name, found)
    }
    return found
  }
  const names = [...Object.keys(config), ...implicitPresets.filter((name) => config[name] === undefined)]
  return {
    get: (name) =>
      Effect.suspend(() => {
        const cached = built.get(name)
        if (cached !== undefined) return Effect.succeed(cached)
        const found = entry(name)
        if (found.build === undefined) {
          return Effect.fail(
            new ProviderNotConfigured({
              provider: name,
              reason: found.status.problem ?? `provider ${name} cannot be used`
            })
          )
        }
        const provider = found.build()
        built.set(name, provider)
        return Effect.succeed(provider)
      }),
    status: () => names.map((name) => entry(name).status),
    ollamaReachable: (timeoutMs = 500) => probeOllama(entry("ollama").status.baseUrl, timeoutMs)
  }
}

/** The service for tests: exactly these providers, by their `name`. */
export const makeTestProviders = (providers: ReadonlyArray<LlmProvider>): LlmProvidersService => {
  const byName = new Map(providers.map((provider) => [provider.name, provider]))
  return {
    get: (name) => {
      const provider = byName.get(name)
      return provider !== undefined
        ? Effect.succeed(provider)
        : Effect.fail(
            new ProviderNotConfigured({ provider: name, reason: `provider ${name} is not configured (test layer)` })
          )
    },
    status: () =>
      providers.map((provider) => ({
        name: provider.name,
        api: provider.api,
        configured: true,
        needsKey: false,
        hasKey: false,
        usable: true,
        ...(provider.defaultModel === undefined ? {} : { defaultModel: provider.defaultModel })
      })),
    ollamaReachable: () => Effect.succeed(false)
  }
}

export class LlmProviders extends Context.Tag("troupe/LlmProviders")<LlmProviders, LlmProvidersService>() {
  /** From the loaded `config.yaml`. */
  static readonly layer: Layer.Layer<LlmProviders, never, Config> = Layer.effect(
    LlmProviders,
    Effect.map(Config, (loaded) => makeLlmProviders(loaded.config.providers))
  )
  /** From a `providers:` section given directly. */
  static readonly layerConfig = (providers: Readonly<Record<string, ProviderConfig>>): Layer.Layer<LlmProviders> =>
    Layer.sync(LlmProviders, () => makeLlmProviders(providers))
  /** Exactly these providers (fakes, `makeInstantProvider`, SDK providers pointed at a fake server). */
  static readonly layerTest = (providers: ReadonlyArray<LlmProvider>): Layer.Layer<LlmProviders> =>
    Layer.succeed(LlmProviders, makeTestProviders(providers))
}
