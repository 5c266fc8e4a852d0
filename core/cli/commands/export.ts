/** `troupe export [CONVERSATION] [--out FILE]`: transcripts as JSONL (one message a line). */
import { writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect } from "effect"
import type { LoadedConfig } from "../../config/Config.ts"
import { Store } from "../../store/Store.ts"

export const runExport = async (loaded: LoadedConfig, conversationId: string | undefined, out: string | undefined) => {
  const path = resolve(loaded.root, loaded.config.store.path)
  const jsonl = await Effect.runPromise(
    Effect.scoped(Effect.flatMap(Store, (store) => store.exportJsonl(conversationId))).pipe(
      Effect.provide(Store.layer({ path })),
      Effect.orDie
    )
  )
  if (out) {
    writeFileSync(out, jsonl)
    process.stderr.write(`wrote ${jsonl.split("\n").filter(Boolean).length} messages to ${out}\n`)
  } else {
    process.stdout.write(jsonl)
  }
}
