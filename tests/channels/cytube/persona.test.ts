import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { parse } from "yaml"
import { decodeYaml } from "../../../core/config/Yaml.ts"
import { PersonaFile } from "../../../core/persona/Persona.ts"
import { runLive } from "../../support/effect.ts"
import { personaLayer, runPersona } from "../../support/runtime.ts"
import { channelIdFor, channelIn, cytubeSection, fakeCytube, waitLines } from "./harness.ts"

const folder = join(import.meta.dir, "../../../personalities/rothrock")
const yamlText = readFileSync(join(folder, "persona.yaml"), "utf8")

describe("the rothrock example persona", () => {
  test("decodes on a fresh machine (no CYTUBE_* set: the channel has no room and stays off)", () => {
    const decoded = decodeYaml(PersonaFile, yamlText, "persona.yaml", { env: {} })
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    const persona = decoded.right
    expect(persona.model.provider).toBe("openai")
    expect(persona.model.fallbacks.length).toBeGreaterThan(0)
    expect(persona.reply.triggers).toEqual({ "kung fu": 0.3, roundhouse: 0.5, rothrock: 1 })
    const [section] = persona.channels
    expect(section).toMatchObject({ type: "cytube", server: "", room: "", username: "rothrock", password: "" })
  })

  test("joins a room from CYTUBE_SERVER / CYTUBE_CHANNEL and answers when named", () =>
    runLive(
      Effect.gen(function* () {
        const cy = yield* fakeCytube()
        cy.addRoom("movienight", { users: [{ name: "alice" }] })
        const encoded = parse(
          yamlText
            .replace("${CYTUBE_SERVER:-}", cy.url)
            .replace("${CYTUBE_CHANNEL:-}", "movienight")
            .replace("${CYTUBE_USERNAME:-rothrock}", "rothrock")
            .replace("${CYTUBE_PASSWORD:-}", `""`)
        ) as Record<string, unknown>
        // The model is swapped for the in-process one; everything else is the file as written.
        const persona = { ...encoded, model: { provider: "instant" } }
        const fast = cytubeSection(cy, { room: "movienight" })
        const section = { ...(encoded.channels as Array<Record<string, unknown>>)[0], reconnect: fast.reconnect }
        const runtime = yield* runPersona({ ...persona, channels: [section] }, { id: "rothrock" })
        yield* channelIn(runtime, channelIdFor({ ...persona, channels: [section] }))
        cy.room("movienight").say("alice", "Rothrock, what's your favourite fight?")
        const [line] = yield* waitLines(cy, "rothrock", 1, 3000, "movienight")
        expect(line?.rawMsg).toContain("favourite fight")
      }).pipe(Effect.provide(personaLayer()))
    ))
})
