/**
 * The runtime's bundle entry (`dist/troupe.js`, run by `bun start`): the CLI. It sits at the top of `core/` so the
 * bundle (with its bytecode) and the web page's assets share one folder — Bun looks for a bundled page's files next to the main
 * module, so the bundle must be run directly (`bun dist/troupe.js …`), not imported.
 */
import { run } from "./cli/main.ts"

export { main, run } from "./cli/main.ts"

if (import.meta.main) void run(process.argv.slice(2))
