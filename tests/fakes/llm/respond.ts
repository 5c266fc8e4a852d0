const encoder = new TextEncoder()

/**
 * Default pause between a cut stream's last chunk and the reset. Bun's fetch drops body bytes it has received but
 * the app has not read yet when the connection dies, so the client needs a moment to read the chunks first.
 */
const DEFAULT_CUT_DELAY_MS = 20

/**
 * Wait `ms`, or less when any signal aborts. Resolves `true` when the full time passed, `false` when aborted;
 * either way no timer or listener is left behind.
 */
export const sleep = (ms: number, signals: readonly AbortSignal[]): Promise<boolean> =>
  new Promise((resolve) => {
    if (signals.some((signal) => signal.aborted)) return resolve(false)
    const finish = (completed: boolean) => {
      clearTimeout(timer)
      for (const signal of signals) signal.removeEventListener("abort", onAbort)
      resolve(completed)
    }
    const onAbort = () => finish(false)
    const timer = setTimeout(() => finish(true), ms)
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true })
  })

export interface PiecesOptions {
  /** Send only the first `cutAt` pieces, then reset the connection. Omit to send all and end normally. */
  readonly cutAt?: number | undefined
  /** Pause before the reset (default `DEFAULT_CUT_DELAY_MS`). */
  readonly cutDelayMs?: number | undefined
  readonly chunkDelayMs: number
  /** Abort pending waits: the request's signal (client gone) and the server's (stopping). */
  readonly signals: readonly AbortSignal[]
  readonly status?: number
  readonly headers: Record<string, string>
}

/**
 * A response whose body is `pieces` in order. Without delays or a cut it is one string body (no timers, no
 * stream machinery), which keeps the fake cheap enough for benchmarks.
 */
export const piecesResponse = (pieces: readonly string[], options: PiecesOptions): Response => {
  const { cutAt, chunkDelayMs, headers } = options
  const status = options.status ?? 200
  if (cutAt === undefined && chunkDelayMs <= 0) return new Response(pieces.join(""), { status, headers })

  const limit = cutAt ?? pieces.length
  const local = new AbortController()
  const signals = [...options.signals, local.signal]
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= limit) {
        if (cutAt === undefined) return controller.close()
        await sleep(options.cutDelayMs ?? DEFAULT_CUT_DELAY_MS, signals)
        // Erroring a response body makes Bun reset the connection: the client sees ECONNRESET mid-body.
        return controller.error(undefined)
      }
      if (chunkDelayMs <= 0) {
        controller.enqueue(encoder.encode(pieces.slice(0, limit).join("")))
        sent = limit
        return
      }
      if (sent > 0 && !(await sleep(chunkDelayMs, signals))) return controller.error(undefined)
      controller.enqueue(encoder.encode(pieces[sent++]!))
    },
    cancel() {
      local.abort()
    }
  })
  return new Response(body, { status, headers })
}
