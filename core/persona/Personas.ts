/**
 * The registry of loaded personas. The runtime starts a persona actor for each one and follows `changes`: `added`
 * starts one, `removed` stops it, `updated` swaps the definition in (the next message of every conversation uses it)
 * and reconnects only the channels listed in `channelsChanged`.
 *
 * `makePersonaDirectory` keeps the registry in step with `personalities/`: each entry (a folder or a `.json` file) is
 * (re)loaded on its own, transactionally — a broken file leaves the previous version serving and publishes
 * `PersonaFailed` with the file and line.
 */
import { join } from "node:path"
import { Clock, Context, Effect, Either, Queue, type Scope, Stream } from "effect"
import { formatIssue, InvalidFile } from "../config/Yaml.ts"
import { EventBus } from "../events/EventBus.ts"
import type { PersonaDefinition } from "./Persona.ts"
import { displayPath, loadPersonaEntry, type PersonaLoadOptions, personaEntries } from "./PersonaLoader.ts"

export interface PersonaChange {
  readonly _tag: "added" | "updated" | "removed"
  /** The new definition (for `removed`, the last one). */
  readonly persona: PersonaDefinition
  /** The definition it replaces (`updated`). */
  readonly previous?: PersonaDefinition
  /**
   * Indexes in `persona.channels` whose settings differ from the previous definition (every index for `added`; for
   * `removed`, every index of the last one). An index past the end of the new list is a channel that was removed.
   */
  readonly channelsChanged: ReadonlyArray<number>
}

export interface PersonasService {
  readonly get: (id: string) => PersonaDefinition | undefined
  /** Loaded personas, by id. */
  readonly list: () => ReadonlyArray<PersonaDefinition>
  /** Changes from now on. */
  readonly changes: Stream.Stream<PersonaChange>
  /** The current personas and every change after them, with nothing lost in between. */
  readonly subscribe: Effect.Effect<
    { readonly current: ReadonlyArray<PersonaDefinition>; readonly changes: Queue.Dequeue<PersonaChange> },
    never,
    Scope.Scope
  >
}

export class Personas extends Context.Tag("troupe/Personas")<Personas, PersonasService>() {}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

export const channelsChanged = (
  previous: PersonaDefinition | undefined,
  next: PersonaDefinition
): ReadonlyArray<number> => {
  const before = previous?.channels ?? []
  const count = Math.max(before.length, next.channels.length)
  return Array.from({ length: count }, (_, i) => i).filter((i) => !same(before[i], next.channels[i]))
}

export interface PersonaDirectory {
  readonly service: PersonasService
  /** (Re)load one entry of the folder (a folder or `.json` name); a missing entry unloads its persona. */
  readonly reload: (entry: string) => Effect.Effect<void>
  /** Reload every entry, and unload personas whose entry is gone. */
  readonly reloadAll: Effect.Effect<void>
}

export const makePersonaDirectory = (
  dir: string,
  options: PersonaLoadOptions = {}
): Effect.Effect<PersonaDirectory, never, EventBus> =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const byEntry = new Map<string, PersonaDefinition>()
    const byId = new Map<string, PersonaDefinition>()
    const listeners = new Set<(change: PersonaChange) => void>()
    const emit = (change: PersonaChange) => {
      for (const listener of listeners) listener(change)
    }

    const failed = (entry: string, error: InvalidFile, persona: string) =>
      Effect.gen(function* () {
        const first = error.issues[0]
        const message = error.issues
          .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
          .join("; ")
        yield* bus.publish({
          _tag: "PersonaFailed",
          at: yield* Clock.currentTimeMillis,
          persona,
          file: first?.file ?? error.file,
          ...(first?.line === undefined ? {} : { line: first.line }),
          ...(first?.column === undefined ? {} : { column: first.column }),
          message
        })
        const kept = byEntry.has(entry) ? "; the previous version keeps serving" : ""
        yield* Effect.logWarning(
          `persona ${persona} not loaded${kept}\n${error.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`
        )
      })

    const unload = (entry: string) =>
      Effect.gen(function* () {
        const old = byEntry.get(entry)
        if (!old) return
        byEntry.delete(entry)
        byId.delete(old.id)
        emit({ _tag: "removed", persona: old, channelsChanged: old.channels.map((_, i) => i) })
        yield* bus.publish({ _tag: "PersonaUnloaded", at: yield* Clock.currentTimeMillis, persona: old.id })
        yield* Effect.logInfo(`persona ${old.id} unloaded`)
      })

    const reload = (entry: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const result = loadPersonaEntry(dir, entry, options)
        if (result === undefined) return yield* unload(entry)
        const fallbackId = entry.replace(/\.json$/i, "")
        if (Either.isLeft(result)) return yield* failed(entry, result.left, byEntry.get(entry)?.id ?? fallbackId)
        const next = result.right
        const previous = byEntry.get(entry)
        const owner = byId.get(next.id)
        if (owner && owner !== previous) {
          const file = displayPath(join(dir, entry), options.root)
          const message = `persona id "${next.id}" is already used by ${displayPath(owner.source, options.root)}`
          const issue = { file, line: undefined, column: undefined, path: "name", message }
          return yield* failed(entry, new InvalidFile({ file, issues: [issue] }), next.id)
        }
        if (previous && previous.id !== next.id) yield* unload(entry)
        const replaced = byEntry.get(entry)
        byEntry.set(entry, next)
        byId.set(next.id, next)
        const now = yield* Clock.currentTimeMillis
        const file = displayPath(
          next.format === "folder" ? join(next.source, "persona.yaml") : next.source,
          options.root
        )
        yield* bus.publish({ _tag: "PersonaLoaded", at: now, persona: next.id, file, durationMs: now - started })
        if (!replaced) emit({ _tag: "added", persona: next, channelsChanged: next.channels.map((_, i) => i) })
        else if (!same(replaced, next)) {
          emit({ _tag: "updated", persona: next, previous: replaced, channelsChanged: channelsChanged(replaced, next) })
        }
        yield* Effect.logInfo(`persona ${next.id} ${replaced ? "reloaded" : "loaded"} from ${file}`)
      }).pipe(
        Effect.catchAllDefect((defect) => Effect.logError(`persona ${entry}: loading failed unexpectedly`, defect))
      )

    const reloadAll = Effect.suspend(() => {
      const entries = new Set([...personaEntries(dir), ...byEntry.keys()])
      return Effect.forEach([...entries].sort(), reload, { discard: true })
    })

    const subscribe = Effect.acquireRelease(
      Effect.flatMap(Queue.unbounded<PersonaChange>(), (queue) =>
        Effect.sync(() => {
          const listener = (change: PersonaChange) => void queue.unsafeOffer(change)
          listeners.add(listener)
          return { current: [...byId.values()], changes: queue as Queue.Dequeue<PersonaChange>, listener, queue }
        })
      ),
      ({ listener, queue }) =>
        Effect.zipRight(
          Effect.sync(() => listeners.delete(listener)),
          Queue.shutdown(queue)
        )
    ).pipe(Effect.map(({ current, changes }) => ({ current, changes })))

    const service: PersonasService = {
      get: (id) => byId.get(id),
      list: () => [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)),
      changes: Stream.unwrapScoped(Effect.map(subscribe, ({ changes }) => Stream.fromQueue(changes))),
      subscribe
    }
    return { service, reload, reloadAll }
  })
