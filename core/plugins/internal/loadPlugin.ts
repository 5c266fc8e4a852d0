/**
 * Inside a plugin Worker: import `plugin.ts`, check its default export, decode its config and describe its tools.
 * Every failure becomes a `LoadFailure` naming the file and, where Bun tells us, the line.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname } from "node:path"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { isPlugin, isTool, type PluginDefinition, type ToolDefinition } from "../sdk.ts"
import { formatDecodeError } from "./decodeError.ts"
import { toJsonSchema } from "./jsonSchema.ts"
import type { LoadFailure, PluginInfo, ToolInfo } from "./protocol.ts"
import { parseTimeout } from "./timeout.ts"

/** Thrown by checks below; carries where the problem is. */
export class PluginProblem extends Error {
  constructor(
    message: string,
    readonly where: { readonly file?: string; readonly line?: number; readonly column?: number } = {}
  ) {
    super(message)
  }
}

interface BunPosition {
  readonly file?: string
  readonly line?: number
  readonly column?: number
}

const positionOf = (error: unknown): BunPosition | undefined => {
  const position = (error as { position?: BunPosition } | null)?.position
  return position && typeof position.line === "number" ? position : undefined
}

/** The first stack frame inside the plugin's folder: `at run (/x/plugins/p/plugin.ts:12:9)`. */
const frameIn = (stack: string | undefined, folder: string): BunPosition | undefined => {
  for (const match of (stack ?? "").matchAll(/(\/[^\s():]+):(\d+):(\d+)/g)) {
    if (match[1]!.startsWith(`${folder}/`)) return { file: match[1]!, line: Number(match[2]), column: Number(match[3]) }
  }
  return undefined
}

/** A ResolveMessage from `import()` carries no position, only the specifier and the importing file: find the line. */
const importLine = (error: unknown): BunPosition | undefined => {
  const { specifier, referrer } = (error ?? {}) as { specifier?: unknown; referrer?: unknown }
  if (typeof specifier !== "string" || typeof referrer !== "string" || !existsSync(referrer)) return undefined
  const lines = readFileSync(referrer, "utf8").split("\n")
  const index = lines.findIndex((line) => line.includes(`"${specifier}"`) || line.includes(`'${specifier}'`))
  return index < 0
    ? { file: referrer }
    : { file: referrer, line: index + 1, column: lines[index]!.indexOf(specifier) + 1 }
}

/** Turn whatever importing or setting up the plugin threw into a message with a file and line. */
export const describeLoadError = (error: unknown, file: string, phase: "import" | "setup"): LoadFailure => {
  if (error instanceof PluginProblem) return { file, ...error.where, message: error.message }
  // Syntax and resolution errors: Bun throws a BuildMessage / ResolveMessage, or an AggregateError of them.
  const messages: ReadonlyArray<unknown> =
    error instanceof AggregateError && Array.isArray(error.errors) && error.errors.length > 0 ? error.errors : [error]
  const first = messages[0]
  const position = positionOf(first) ?? importLine(first)
  if (position) {
    const more = messages.length > 1 ? ` (and ${messages.length - 1} more)` : ""
    return {
      file: position.file || file,
      ...(position.line === undefined ? {} : { line: position.line }),
      ...(position.column === undefined ? {} : { column: position.column }),
      message: `${(first as Error).message}${more}`
    }
  }
  const err = error instanceof Error ? error : new Error(String(error))
  const frame = frameIn(err.stack, dirname(file))
  const what = phase === "setup" ? "setup failed: " : ""
  const name = err.name && err.name !== "Error" ? `${err.name}: ` : ""
  return {
    file: frame?.file ?? file,
    line: frame?.line,
    column: frame?.column,
    message: `${what}${name}${err.message}`
  }
}

const toolName = /^[A-Za-z0-9_-]{1,64}$/

const checkTool = (tool: unknown, index: number, file: string): ToolDefinition => {
  const where = `tools[${index}]`
  if (!isTool(tool)) throw new PluginProblem(`${where} is not a defineTool({...}) result`, { file })
  if (typeof tool.name !== "string" || !toolName.test(tool.name)) {
    throw new PluginProblem(`${where}: name must be 1-64 letters, digits, _ or -, got ${JSON.stringify(tool.name)}`)
  }
  if (typeof tool.description !== "string") throw new PluginProblem(`tool ${tool.name}: description must be text`)
  if (!Schema.isSchema(tool.parameters)) throw new PluginProblem(`tool ${tool.name}: parameters must be a Schema`)
  if (typeof tool.run !== "function") throw new PluginProblem(`tool ${tool.name}: run must be a function`)
  if (tool.timeout !== undefined && parseTimeout(tool.timeout) === undefined) {
    throw new PluginProblem(`tool ${tool.name}: timeout must be a duration such as "5 seconds", got ${tool.timeout}`)
  }
  return tool
}

const describeTool = (tool: ToolDefinition): ToolInfo => {
  let parameters: Record<string, unknown>
  try {
    parameters = toJsonSchema(tool.parameters)
  } catch (error) {
    throw new PluginProblem(
      `tool ${tool.name}: parameters cannot be described as JSON Schema: ${(error as Error).message}`
    )
  }
  if (parameters.type !== "object") throw new PluginProblem(`tool ${tool.name}: parameters must be a Schema.Struct`)
  return {
    name: tool.name,
    description: tool.description,
    parameters,
    timeoutMs: parseTimeout(tool.timeout),
    secret: Array.isArray(tool.secret) ? tool.secret.map(String) : []
  }
}

export interface Loaded {
  readonly plugin: PluginDefinition
  readonly tools: ReadonlyMap<string, ToolDefinition>
  readonly info: PluginInfo
  readonly config: unknown
}

/** Import and check `file`; decode `rawConfig` with the plugin's config schema. */
export const loadPlugin = async (file: string, pluginName: string, rawConfig: unknown): Promise<Loaded> => {
  const module = (await import(file)) as { default?: unknown }
  const plugin = module.default
  if (!isPlugin(plugin)) {
    const got = plugin === undefined ? "no default export" : `a default export of type ${typeof plugin}`
    throw new PluginProblem(`${file} must default-export definePlugin({...}) from core/plugins/sdk.ts (found ${got})`, {
      file
    })
  }
  if (typeof plugin.name !== "string" || typeof plugin.version !== "string") {
    throw new PluginProblem("definePlugin needs a name and a version (text)", { file })
  }
  if (!Array.isArray(plugin.tools)) throw new PluginProblem("definePlugin needs tools: [...]", { file })
  const tools = new Map<string, ToolDefinition>()
  for (const [index, candidate] of plugin.tools.entries()) {
    const tool = checkTool(candidate, index, file)
    if (tools.has(tool.name)) throw new PluginProblem(`tool ${tool.name} is defined twice`, { file })
    tools.set(tool.name, tool)
  }
  let config: unknown = rawConfig
  if (plugin.config !== undefined) {
    if (!Schema.isSchema(plugin.config)) throw new PluginProblem("definePlugin config must be a Schema", { file })
    const decoded = Schema.decodeUnknownEither(plugin.config as Schema.Schema<unknown, unknown, never>, {
      errors: "all",
      onExcessProperty: "error"
    })(rawConfig ?? {})
    if (Either.isLeft(decoded)) {
      throw new PluginProblem(`config.yaml ${formatDecodeError(decoded.left, ["plugins", pluginName])}`, {
        file: "config.yaml"
      })
    }
    config = decoded.right
  }
  const hooks = Object.entries(plugin.hooks ?? {})
    .filter(([, hook]) => typeof hook === "function")
    .map(([tag]) => tag)
  let enabled = true
  if (plugin.enabled !== undefined) {
    if (typeof plugin.enabled !== "function")
      throw new PluginProblem("definePlugin enabled must be a function", { file })
    enabled = plugin.enabled(config) !== false
  }
  const info: PluginInfo = {
    enabled,
    name: plugin.name,
    version: plugin.version,
    description: typeof plugin.description === "string" ? plugin.description : "",
    tools: [...tools.values()].map(describeTool),
    hooks
  }
  return { plugin, tools, info, config }
}
