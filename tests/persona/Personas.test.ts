import { afterAll, describe, expect, test } from "bun:test"
import { copyFileSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Queue } from "effect"
import { type PersonaChange, Personas } from "../../core/persona/Personas.ts"
import { PluginHost } from "../../core/plugins/PluginHost.ts"
import { expectNoWorkers, recordEvents, waitForEffect, withHost } from "../plugins/support.ts"
import { runLive } from "../support/effect.ts"
import { tempDir } from "../support/tmp.ts"

const dirs: Array<{ cleanup: () => void }> = []
afterAll(() => {
  for (const dir of dirs) dir.cleanup()
})

const yaml = (title: string, room = "lobby") => `display_name: ${title}
model:
  provider: echo
channels:
  - type: telegram
    token: "123456:abc"
  - type: cytube
    server: http://127.0.0.1:1
    room: ${room}
    username: ${title.toLowerCase()}
`

const setup = () => {
  const tmp = tempDir({
    "personalities/sage/persona.yaml": yaml("Sage"),
    "personalities/sage/system.md": "You are Sage.",
    "personalities/rothrock/persona.yaml": yaml("Rothrock"),
    "personalities/rothrock/system.md": "You are Rothrock."
  })
  dirs.push(tmp)
  return {
    tmp,
    options: { pluginsDir: tmp.path("plugins"), personalitiesDir: tmp.path("personalities"), root: tmp.dir }
  }
}

const take = (queue: Queue.Dequeue<PersonaChange>) =>
  Queue.take(queue).pipe(
    Effect.timeoutFail({ duration: "1 second", onTimeout: () => new Error("no persona change within a second") }),
    Effect.map((change) => ({ tag: change._tag, id: change.persona.id, channels: change.channelsChanged }))
  )

describe("persona registry", () => {
  test("a broken persona.yaml is reported with its line and the previous version keeps serving; others are untouched", async () => {
    const { tmp, options } = setup()
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          options,
          Effect.gen(function* () {
            const personas = yield* Personas
            const host = yield* PluginHost
            expect(personas.list().map((p) => p.id)).toEqual(["rothrock", "sage"])
            tmp.write("personalities/sage/persona.yaml", `${yaml("Sage II")}  - type: carrier-pigeon\n`)
            yield* host.reloadPersona("sage")
            expect(personas.get("sage")?.title).toBe("Sage")
            tmp.write("personalities/rothrock/system.md", "You are Rothrock, now grumpier.")
            yield* host.reloadAll()
            expect(personas.get("rothrock")?.systemPrompt).toBe("You are Rothrock, now grumpier.")
            expect(personas.get("sage")?.title).toBe("Sage")
          })
        )
        const failed = events.of("PersonaFailed")
        expect(failed.length).toBe(2)
        expect(failed[0]).toMatchObject({ persona: "sage", file: "personalities/sage/persona.yaml", line: 11 })
        expect(failed[0]?.message).toContain("channels.2")
        expect(events.of("PersonaLoaded").map((event) => event.persona)).toEqual(["rothrock", "sage", "rothrock"])
      })
    )
  })

  test("in watch mode personas are added, updated and removed as their folders change", async () => {
    const { tmp, options } = setup()
    const card = fileURLToPath(new URL("../fixtures/characters/lighthouse-keeper.json", import.meta.url))
    await runLive(
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* withHost(
          { ...options, watch: true, debounceMs: 50, defaultProvider: "groq" },
          Effect.gen(function* () {
            const personas = yield* Personas
            const { current, changes } = yield* personas.subscribe
            expect(current.map((p) => p.id).sort()).toEqual(["rothrock", "sage"])

            // The prompt changes: the registry returns the new one, no channel needs reconnecting.
            tmp.write("personalities/sage/system.md", "You are Sage, and you speak in riddles.")
            expect(yield* take(changes)).toEqual({ tag: "updated", id: "sage", channels: [] })
            expect(personas.get("sage")?.systemPrompt).toBe("You are Sage, and you speak in riddles.")

            // Only the CyTube section changes: only that channel reconnects.
            tmp.write("personalities/sage/persona.yaml", yaml("Sage", "cinema"))
            expect(yield* take(changes)).toEqual({ tag: "updated", id: "sage", channels: [1] })

            // A new folder starts a persona; a card dropped in loads too.
            tmp.write("personalities/wren/system.md", "You are Wren.")
            tmp.write("personalities/wren/persona.yaml", yaml("Wren"))
            expect(yield* take(changes)).toEqual({ tag: "added", id: "wren", channels: [0, 1] })
            copyFileSync(card, tmp.path("personalities/mara.json"))
            expect(yield* take(changes)).toEqual({ tag: "added", id: "mara", channels: [] })
            expect(personas.get("mara")).toMatchObject({ title: "Mara Quill", format: "character-card-v2" })

            // A removed folder stops its persona.
            rmSync(tmp.path("personalities/rothrock"), { recursive: true })
            expect(yield* take(changes)).toEqual({ tag: "removed", id: "rothrock", channels: [0, 1] })
            yield* waitForEffect(() => personas.get("rothrock") === undefined)
            expect(personas.list().map((p) => p.id)).toEqual(["mara", "sage", "wren"])
          })
        )
        expect(events.of("PersonaUnloaded")).toMatchObject([{ persona: "rothrock" }])
      })
    )
    await expectNoWorkers()
  })
})
