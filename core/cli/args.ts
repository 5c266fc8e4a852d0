/** A tiny argv parser: positional words, `--flag`, `--key value` and `--key=value`. */
export interface Args {
  readonly positional: ReadonlyArray<string>
  readonly flags: Readonly<Record<string, string | true>>
}

export const parseArgs = (argv: ReadonlyArray<string>): Args => {
  const positional: Array<string> = []
  const flags: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (arg.startsWith("--")) {
      const [key, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined]
      if (value !== undefined) flags[key] = value
      else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("-") && valueFlags.has(key))
        flags[key] = argv[++i]!
      else flags[key] = true
    } else if (arg.startsWith("-") && arg.length > 1) {
      for (const letter of arg.slice(1)) flags[shortFlags[letter] ?? letter] = true
    } else {
      positional.push(arg)
    }
  }
  return { positional, flags }
}

/** Flags that take a value. */
const valueFlags = new Set(["config", "port", "persona", "out", "level"])
const shortFlags: Record<string, string> = { h: "help", f: "force", c: "config" }

export const flag = (args: Args, name: string): string | undefined => {
  const value = args.flags[name]
  return typeof value === "string" ? value : undefined
}
