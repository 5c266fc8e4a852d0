/**
 * The console channel behind `troupe chat PERSONA`: lines typed in the terminal go to the persona through the same
 * router and reply policy as every other channel; the answer streams back as it is written. `/reset` forgets the
 * conversation, `/quit` (or Ctrl-D) ends the chat.
 */
import { createInterface } from "node:readline"
import { Effect, Queue, Stream } from "effect"
import type { EventBusService } from "../../events/EventBus.ts"
import type { MessageReceived } from "../../events/Events.ts"
import { newCorrelationId } from "../../log/Correlation.ts"
import type { ChannelInstance, OutboundEvent } from "../Channel.ts"

export interface ConsoleIo {
  readonly lines: Stream.Stream<string>
  readonly write: (text: string) => void
}

/**
 * Standard input and output. Lines come through `node:readline` into a queue: closing it on shutdown never waits for
 * the terminal (an async iterator over stdin would wait for the next line before it lets go).
 */
export const stdio: ConsoleIo = {
  lines: Stream.unwrapScoped(
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<string | typeof endOfInput>()
      const reader = yield* Effect.acquireRelease(
        Effect.sync(() => createInterface({ input: process.stdin, terminal: false })),
        (reader) => Effect.sync(() => reader.close())
      )
      reader.on("line", (line) => queue.unsafeOffer(line))
      reader.on("close", () => queue.unsafeOffer(endOfInput))
      return Stream.fromQueue(queue).pipe(
        Stream.takeWhile((line): line is string => line !== endOfInput),
        Stream.map((line) => line as string)
      )
    })
  ),
  write: (text) => {
    process.stdout.write(text)
  }
}

const endOfInput: unique symbol = Symbol("end of input")

export const makeConsoleChannel = (
  persona: { readonly id: string; readonly title: () => string },
  receive: (message: MessageReceived) => Effect.Effect<void>,
  bus: EventBusService,
  io: ConsoleIo = stdio,
  user = { id: "local", name: process.env.USER ?? "you" }
) =>
  Effect.gen(function* () {
    const done = yield* Queue.unbounded<OutboundEvent | "unanswered">()
    // A message the persona decides not to answer (a duplicate, a limit) must not leave the prompt waiting.
    const unlisten = bus.listen(["PolicyDecision"], (event) => {
      if (event.channel !== "console" || event.decision === "answer") return
      io.write(`(not answered: ${event.reason})\n`)
      done.unsafeOffer("unanswered")
    })
    yield* Effect.addFinalizer(() => Effect.sync(unlisten))
    const started = Date.now()
    let count = 0
    const prompt = () => io.write("you> ")

    const instance: ChannelInstance = {
      id: "console",
      platform: "console",
      state: () => "ready",
      maxMessageLength: 1_000_000,
      attachments: false,
      context: () => undefined,
      openReply: () => {
        let printed = 0
        return {
          emit: (event) =>
            Effect.sync(() => {
              if (event._tag === "ReplyDelta") {
                if (event.reset && printed > 0) {
                  io.write("\n")
                  printed = 0
                }
                if (printed === 0) io.write(`${persona.title()}> `)
                io.write(event.text.slice(printed))
                printed = event.text.length
              } else if (event._tag === "ReplyCompleted" || event._tag === "ReplyFailed") {
                const text = event._tag === "ReplyCompleted" ? event.text : event.userText
                if (printed === 0) io.write(`${persona.title()}> ${text}`)
                else if (text.startsWith(text.slice(0, printed))) io.write(text.slice(printed))
                io.write("\n")
                done.unsafeOffer(event)
              }
            })
        }
      }
    }

    /** Read lines until /quit or end of input; resolves when the chat is over. */
    const run = Effect.gen(function* () {
      io.write(`Chatting with ${persona.title()} (/reset forgets, /quit ends)\n`)
      prompt()
      yield* io.lines.pipe(
        Stream.map((line) => line.trim()),
        Stream.takeWhile((line) => line !== "/quit" && line !== "/exit"),
        Stream.runForEach((line) =>
          Effect.gen(function* () {
            if (line.length === 0) return prompt()
            count++
            yield* Queue.takeAll(done)
            const command = /^\/(\w+)(?:\s+(.*))?$/.exec(line)
            yield* receive({
              _tag: "MessageReceived",
              at: Date.now(),
              correlationId: newCorrelationId(),
              persona: persona.id,
              channel: "console",
              platform: "console",
              messageId: `console/${started}/${count}`,
              chat: { id: `console-${user.id}`, kind: "dm" },
              author: { id: user.id, name: user.name, isBot: false },
              text: line,
              attachments: [],
              mentioned: false,
              replyToSelf: false,
              fromSelf: false,
              ...(command ? { command: { name: command[1]!.toLowerCase(), args: command[2] ?? "" } } : {})
            })
            yield* Queue.take(done)
            prompt()
          })
        )
      )
      io.write("\n")
    })
    return { instance, run }
  })
