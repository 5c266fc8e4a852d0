#!/usr/bin/env bun
/**
 * The `troupe` command: `start`, `dev`, `check`, `chat`, `new`, `import`, `export`. Run it as `bun run troupe …` or
 * `bun core/cli/main.ts …`.
 */
import { resolve } from "node:path"
import { Effect, Either } from "effect"
import { loadConfig } from "../config/Config.ts"
import { defaultRedactor } from "../log/Redactor.ts"
import { type Args, flag, parseArgs } from "./args.ts"
import { runStart } from "./commands/start.ts"

const usage = `troupe — LLM chat personas on Telegram, Discord and CyTube

Usage: bun run troupe <command> [options]

  start [--config F] [--dry-run] [--port N]   run every persona (Ctrl-C stops, SIGHUP reloads)
  dev   [--config F] [--dry-run]              start, watching personalities/ and plugins/, pretty logs
  check [--config F]                          validate config.yaml, every persona and plugin
  chat PERSONA [--config F]                   talk to a persona in the terminal
  new persona NAME | new plugin NAME          scaffold a working folder
  import FILE [--force]                       a Character Card V2 or ElizaOS JSON -> personalities/<name>/
  export [CONVERSATION] [--out FILE]          transcripts as JSONL
  help                                        this text
`

/** Print an error (never a secret) and exit 1. */
export const fail = (message: string): never => {
  process.stderr.write(`${defaultRedactor.redact(message)}\n`)
  process.exit(1)
}

const configOf = (args: Args) => {
  const file = flag(args, "config")
  return Effect.runPromise(Effect.either(loadConfig(file ? { file } : {}))).then((result) =>
    Either.isLeft(result) ? fail(result.left.message) : result.right
  )
}

export const main = async (argv: ReadonlyArray<string>) => {
  const args = parseArgs(argv)
  const [command, ...rest] = args.positional
  if (!command || command === "help" || args.flags.help) {
    process.stdout.write(usage)
    return
  }
  switch (command) {
    case "start":
    case "dev": {
      const loaded = await configOf(args)
      const port = flag(args, "port")
      return runStart(loaded, {
        dev: command === "dev",
        dryRun: args.flags["dry-run"] === true ? true : undefined,
        port: port === undefined ? undefined : Number(port)
      })
    }
    // The other commands load their code when they run: `start` (the one that must be quick) does not pay for them.
    case "check": {
      const { runCheck } = await import("./commands/check.ts")
      return runCheck(await configOf(args))
    }
    case "chat": {
      if (!rest[0]) return fail("usage: troupe chat PERSONA")
      const { runChat } = await import("./commands/chat.ts")
      return runChat(await configOf(args), rest[0])
    }
    case "new": {
      const loaded = await configOf(args)
      const { newPersona, newPlugin, ScaffoldError } = await import("./commands/new.ts")
      const [kind, name] = rest
      try {
        const dir =
          kind === "persona"
            ? newPersona(
                name,
                resolve(loaded.root, loaded.config.runtime.personalities),
                Object.keys(loaded.config.providers)[0]
              )
            : kind === "plugin"
              ? newPlugin(name, resolve(loaded.root, loaded.config.runtime.plugins))
              : fail("usage: troupe new persona NAME | troupe new plugin NAME")
        process.stdout.write(`created ${dir}\n`)
      } catch (error) {
        if (error instanceof ScaffoldError) fail(error.message)
        throw error
      }
      return
    }
    case "import": {
      const loaded = await configOf(args)
      if (!rest[0]) return fail("usage: troupe import FILE [--force]")
      const { importCharacter } = await import("../persona/import/Import.ts")
      const result = await Effect.runPromise(
        Effect.either(
          importCharacter(rest[0], resolve(loaded.root, loaded.config.runtime.personalities), {
            force: args.flags.force === true,
            providers: Object.keys(loaded.config.providers)
          })
        )
      )
      if (Either.isLeft(result)) return fail(result.left.message)
      process.stdout.write(`imported ${result.right.definition.title} into ${result.right.dir}\n`)
      return
    }
    case "export": {
      const { runExport } = await import("./commands/export.ts")
      return runExport(await configOf(args), rest[0], flag(args, "out"))
    }
    default:
      return fail(`unknown command "${command}"\n\n${usage}`)
  }
}

if (import.meta.main) void run(process.argv.slice(2))

/** `main`, with an unexpected error printed (redacted) instead of thrown. */
export async function run(argv: ReadonlyArray<string>) {
  await main(argv).catch((error: unknown) =>
    fail(error instanceof Error ? (error.stack ?? error.message) : String(error))
  )
}
