/**
 * Readiness: every component (channels, the plugin host, …) reports its state here; `/readyz` is 200 once startup is
 * done and every component is ready (or deliberately disabled), 503 before that or while one is down.
 */
import { Context, Layer } from "effect"

export type ComponentState = "starting" | "ready" | "down" | "failed" | "disabled"

export interface ComponentHealth {
  readonly name: string
  readonly state: ComponentState
  readonly detail?: string
  readonly since: number
}

export interface HealthReport {
  readonly ready: boolean
  readonly started: boolean
  readonly components: ReadonlyArray<ComponentHealth>
}

export interface HealthService {
  readonly set: (name: string, state: ComponentState, detail?: string) => void
  readonly remove: (name: string) => void
  /** Startup finished (every configured persona, channel and plugin was started). */
  readonly markStarted: () => void
  readonly report: () => HealthReport
}

export const makeHealth = (): HealthService => {
  const components = new Map<string, ComponentHealth>()
  let started = false
  return {
    set: (name, state, detail) => {
      const previous = components.get(name)
      if (previous && previous.state === state && previous.detail === detail) return
      components.set(name, { name, state, since: Date.now(), ...(detail === undefined ? {} : { detail }) })
    },
    remove: (name) => {
      components.delete(name)
    },
    markStarted: () => {
      started = true
    },
    report: () => {
      const list = [...components.values()]
      return {
        started,
        ready: started && list.every((c) => c.state === "ready" || c.state === "disabled"),
        components: list
      }
    }
  }
}

export class Health extends Context.Tag("troupe/Health")<Health, HealthService>() {
  static readonly layer = Layer.sync(Health, makeHealth)
}
