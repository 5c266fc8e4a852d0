/**
 * `troupe check`: validate config.yaml, every persona and every plugin (each plugin is really loaded in its Worker)
 * and what they refer to: providers, tools. Prints one line per item; exits 1 when something is broken.
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import { ActorSystem } from "../../actor/ActorSystem.ts"
import { channelIdOf } from "../../channels/channelId.ts"
import { Config, type LoadedConfig } from "../../config/Config.ts"
import { EventBus, makeEventBus } from "../../events/EventBus.ts"
import type { EventOf } from "../../events/Events.ts"
import { LlmProviders } from "../../llm/Providers.ts"
import { Personas } from "../../persona/Personas.ts"
import { HostApi } from "../../plugins/HostApi.ts"
import { PluginHost } from "../../plugins/PluginHost.ts"
import { missingCredential } from "../../runtime/PersonaRunner.ts"
import { Tools } from "../../tools/Tools.ts"

const color = process.stdout.isTTY && !process.env.NO_COLOR
const mark = {
  ok: color ? "\x1b[32m✓\x1b[0m" : "ok",
  bad: color ? "\x1b[31m✗\x1b[0m" : "error",
  warn: color ? "\x1b[33m!\x1b[0m" : "warn"
}

export const checkReport = (loaded: LoadedConfig) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    let errors = 0
    const bus = makeEventBus()
    const failures: Array<EventOf<"PluginFailed"> | EventOf<"PersonaFailed">> = []
    bus.listen(["PluginFailed", "PersonaFailed"], (event) => failures.push(event))
    lines.push(`${mark.ok} ${loaded.file ? `config ${loaded.file}` : "no config.yaml: built-in defaults"}`)

    const services = PluginHost.layerConfig({ watch: false }).pipe(
      Layer.provideMerge(Layer.mergeAll(HostApi.layer, ActorSystem.layer, LlmProviders.layer)),
      Layer.provideMerge(Layer.mergeAll(Layer.succeed(EventBus, bus), Config.layerValue(loaded)))
    )
    yield* Effect.scoped(
      Effect.gen(function* () {
        const personas = yield* Personas
        const tools = yield* Tools
        const providers = yield* LlmProviders
        const host = yield* PluginHost
        const off = new Set<string>()
        for (const plugin of host.plugins()) {
          const what = plugin.tools.join(", ") || "no tools"
          if (plugin.enabled) lines.push(`${mark.ok} plugin ${plugin.name} ${plugin.version}: ${what}`)
          else {
            off.add(plugin.name)
            lines.push(`${mark.ok} plugin ${plugin.name} ${plugin.version}: ${what} (switched off in config.yaml)`)
          }
        }
        const usable = new Set(
          providers
            .status()
            .filter((p) => p.usable)
            .map((p) => p.name)
        )
        for (const persona of personas.list()) {
          lines.push(`${mark.ok} persona ${persona.id} (${persona.source})`)
          const chain = [persona.model.provider, ...persona.model.fallbacks.map((f) => f.provider)]
          const missing = chain.filter((name) => !usable.has(name))
          if (missing.length === chain.length) {
            lines.push(
              `  ${mark.warn} none of its providers is configured (${chain.join(", ")}): it answers through the echo development provider until one is`
            )
          } else if (missing.length > 0) {
            lines.push(`  ${mark.warn} providers not configured, skipped in its fallback chain: ${missing.join(", ")}`)
          }
          const unknownTools = persona.tools.filter((tool) => !tools.names().includes(tool))
          if (unknownTools.length > 0) lines.push(`  ${mark.warn} tools not loaded: ${unknownTools.join(", ")}`)
          const offTools = persona.tools
            .map((tool) => ({ tool, plugin: tools.pluginOf?.(tool) ?? tool }))
            .filter(({ plugin }) => off.has(plugin))
            .map(({ tool, plugin }) => `${tool} (plugins.${plugin})`)
          if (offTools.length > 0) {
            lines.push(`  ${mark.warn} tools switched off in config.yaml, not offered: ${offTools.join(", ")}`)
          }
          for (const section of persona.channels) {
            const missing = missingCredential(section)
            lines.push(`  · ${section.type} channel ${missing ? `off: ${missing}` : channelIdOf(section)}`)
          }
        }
      }).pipe(Effect.provide(services))
    )
    for (const failure of failures) {
      errors++
      const kind = failure._tag === "PluginFailed" ? `plugin ${failure.plugin}` : `persona ${failure.persona}`
      const where = failure.line === undefined ? failure.file : `${failure.file}:${failure.line}`
      lines.push(`${mark.bad} ${kind}: ${where}: ${failure.message}`)
    }
    return { lines, errors }
  })

export const runCheck = async (loaded: LoadedConfig) => {
  // The report says everything; the loaders' own log lines would only repeat it.
  const { lines, errors } = await Effect.runPromise(checkReport(loaded).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
  process.stdout.write(`${lines.join("\n")}\n`)
  if (errors > 0) {
    process.stdout.write(`\n${errors} problem${errors === 1 ? "" : "s"} found\n`)
    process.exit(1)
  }
  process.exit(0)
}
