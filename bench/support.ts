/** Small helpers shared by the benchmarks: flags, figures and a uniform printout. */
import { heapStats } from "bun:jsc"

/** `--name value` from the command line, else the default. */
export const arg = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`)
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN
  return Number.isFinite(value) ? value : fallback
}

export const heapUsed = () => heapStats().heapSize

export const rssMb = () => process.memoryUsage().rss / 1024 / 1024

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

export const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** Print one benchmark's figures as aligned `name: value` lines. */
export const report = (title: string, rows: ReadonlyArray<readonly [string, string]>) => {
  const width = Math.max(...rows.map(([name]) => name.length))
  console.log(`\n== ${title} (bun ${Bun.version}, ${navigator.hardwareConcurrency} cores)`)
  for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`)
}
