/**
 * Child process of the kill -9 test: opens the store on the file named by argv[2] and appends messages forever, five
 * per group commit, printing the number of committed messages after each `commit` succeeds.
 */
import { Effect } from "effect"
import { Store } from "../../core/store/Store.ts"

const path = process.argv[2]
if (!path) throw new Error("usage: bun tests/store/writer-process.ts <database file>")

const program = Effect.gen(function* () {
  const store = yield* Store
  let committed = 0
  for (;;) {
    for (let i = 0; i < 5; i++) {
      yield* store.appendMessage({
        conversationId: `crash/test/${committed % 7}`,
        role: "user",
        content: `message ${committed + i} ${"x".repeat(200)}`,
        at: Date.now()
      })
    }
    yield* store.commit
    committed += 5
    process.stdout.write(`${committed}\n`)
  }
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Store.layer({ path })))).catch((error) => {
  console.error(error)
  process.exit(1)
})
