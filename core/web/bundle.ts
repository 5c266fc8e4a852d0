/**
 * The page bundled once into memory, for serving through admin routes when an admin token is set (Bun's static HTML
 * routes would skip the token check).
 *
 * `Http.addPage` does the same, but on Bun 1.4 every output of an HTML entry point reports `loader: "html"`, so it
 * cannot tell the page from its scripts; outputs are told apart by their MIME type here.
 */
import type { HTMLBundle } from "bun"
import { Data, Effect } from "effect"

export class BundleFailed extends Data.TaggedError("BundleFailed")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export interface BundledFile {
  readonly path: string
  readonly type: string
  readonly body: ArrayBuffer
}

/** The page at `/`, its scripts and styles under `/assets/`. */
export const bundlePage = (page: HTMLBundle): Effect.Effect<ReadonlyArray<BundledFile>, BundleFailed> =>
  Effect.tryPromise({
    try: () => Bun.build({ entrypoints: [page.index], target: "browser", minify: true, publicPath: "/assets/" }),
    catch: (error) => new BundleFailed({ reason: `cannot bundle ${page.index}: ${String(error)}` })
  }).pipe(
    Effect.filterOrFail(
      (result) => result.success,
      (result) => new BundleFailed({ reason: `cannot bundle ${page.index}: ${result.logs.map(String).join("\n")}` })
    ),
    Effect.flatMap((result) =>
      Effect.promise(() =>
        Promise.all(
          result.outputs.map(async (output): Promise<BundledFile> => {
            const isPage = output.type.startsWith("text/html")
            const name = output.path.replace(/^\.\//, "")
            return { path: isPage ? "/" : `/assets/${name}`, type: output.type, body: await output.arrayBuffer() }
          })
        )
      )
    )
  )
