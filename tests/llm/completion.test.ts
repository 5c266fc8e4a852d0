import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { eventsCompletion, sdkCompletion } from "../../core/llm/internal/completion.ts"
import type { StreamEvent } from "../../core/llm/Provider.ts"

const finished: StreamEvent = {
  _tag: "Finished",
  finishReason: "stop",
  usage: { input: 3, output: 4 },
  toolCalls: []
}
const texts = (events: ReadonlyArray<StreamEvent | undefined>) =>
  events.map((event) => (event === undefined ? "-" : event._tag === "TextDelta" ? event.text : "end"))

describe("completion readers", () => {
  test("an SDK completion hands over what is buffered through poll, and waits through next for the rest", async () => {
    // Two bursts of chunks: the second comes only once the test lets it.
    let release = () => {}
    const later = new Promise<void>((resolve) => {
      release = resolve
    })
    async function* chunks() {
      yield "a"
      yield "b"
      yield "c"
      await later
      yield "d"
    }
    const completion = sdkCompletion<string>({
      provider: "test",
      model: "m",
      timeoutMs: 5_000,
      secrets: [],
      open: async () => chunks(),
      reader: () => ({ read: (chunk, emit) => emit({ _tag: "TextDelta", text: chunk }), finish: () => finished })
    })
    const seen: Array<StreamEvent | undefined> = []
    // Nothing before the first `next` starts the request.
    seen.push(completion.poll?.())
    seen.push(await Effect.runPromise(completion.next))
    await Bun.sleep(5)
    seen.push(completion.poll?.(), completion.poll?.(), completion.poll?.())
    release()
    seen.push(await Effect.runPromise(completion.next))
    seen.push(await Effect.runPromise(completion.next))
    expect(texts(seen)).toEqual(["-", "a", "b", "c", "-", "d", "end"])
  })

  test("an in-process completion gives every event through poll or next, in order, once", async () => {
    const events: Array<StreamEvent> = [{ _tag: "TextDelta", text: "x" }, { _tag: "TextDelta", text: "y" }, finished]
    const completion = eventsCompletion(events)
    const first = await Effect.runPromise(completion.next)
    expect(texts([first, completion.poll?.(), completion.poll?.(), completion.poll?.()])).toEqual([
      "x",
      "y",
      "end",
      "-"
    ])
  })
})
