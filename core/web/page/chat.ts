/**
 * The playground's chat: the persona picker, the conversation log (user lines, streamed replies, tool calls inline)
 * and the input. Events of other conversations of this tab (another persona picked meanwhile) are ignored.
 */
import type { TroupeEvent } from "../../events/Events.ts"
import type { HistoryMessage, PersonaInfo, ServerMessageOf } from "../Protocol.ts"
import { atBottom, byId, clock, duration, h, replace, stickToBottom } from "./dom.ts"

type Event<T extends TroupeEvent["_tag"]> = Extract<TroupeEvent, { readonly _tag: T }>

export interface ChatOptions {
  readonly select: (persona: string) => void
  readonly say: (text: string) => void
}

export const makeChat = (options: ChatOptions) => {
  const log = byId("log")
  const form = byId<HTMLFormElement>("say")
  const input = byId<HTMLTextAreaElement>("say-text")
  const picker = byId("personas")
  const header = byId("chat-title")
  let personas: ReadonlyArray<PersonaInfo> = []
  let current: { persona: string; conversationId: string } | undefined
  const replies = new Map<string, HTMLElement>()
  const tools = new Map<string, HTMLElement>()
  let typing: HTMLElement | undefined

  const add = (node: HTMLElement) => {
    const bottom = atBottom(log)
    if (typing && node !== typing) log.insertBefore(node, typing)
    else log.append(node)
    stickToBottom(log, bottom)
    return node
  }

  const note = (text: string, kind = "note") => add(h("div", { class: `line ${kind}` }, text))

  const stopTyping = () => {
    typing?.remove()
    typing = undefined
  }

  const bubble = (role: "user" | "assistant", text: string, at?: number) =>
    h(
      "div",
      { class: `line ${role}` },
      h("div", { class: "text" }, text),
      at === undefined ? undefined : h("div", { class: "meta" }, clock(at))
    )

  const replyFor = (turnId: string) => {
    let element = replies.get(turnId)
    if (!element) {
      element = add(h("div", { class: "line assistant streaming", "data-turn": turnId, "data-deltas": 0 }))
      element.append(h("div", { class: "text" }))
      replies.set(turnId, element)
    }
    return element
  }

  const setText = (element: HTMLElement, text: string) => {
    const bottom = atBottom(log)
    const target = element.querySelector(".text")
    if (target) target.textContent = text
    stickToBottom(log, bottom)
  }

  const toolCard = (id: string, name: string, args: string, at?: number) => {
    const card = h(
      "details",
      { class: "line tool running", "data-call": id },
      h(
        "summary",
        {},
        h("span", { class: "tool-name" }, name),
        h("code", { class: "tool-args" }, args.length > 120 ? `${args.slice(0, 117)}…` : args),
        h("span", { class: "tool-status" }, "running…"),
        at === undefined ? undefined : h("span", { class: "meta" }, clock(at))
      ),
      h("div", { class: "tool-detail" }, h("div", { class: "label" }, "arguments"), h("pre", {}, args))
    )
    tools.set(id, card)
    return add(card)
  }

  const toolDone = (id: string, ok: boolean, result: string, durationMs?: number) => {
    const card = tools.get(id)
    if (!card) return
    card.classList.remove("running")
    card.classList.add(ok ? "ok" : "failed")
    const status = card.querySelector(".tool-status")
    if (status)
      status.textContent = `${ok ? "ok" : "failed"}${durationMs === undefined ? "" : ` · ${duration(durationMs)}`}`
    card
      .querySelector(".tool-detail")
      ?.append(h("div", { class: "label" }, ok ? "result" : "error"), h("pre", {}, result))
  }

  const renderPicker = () => {
    replace(
      picker,
      personas.length === 0 ? h("p", { class: "empty" }, "No persona is running. Add one under personalities/.") : null,
      personas.map((persona) =>
        h(
          "button",
          {
            type: "button",
            class: `persona${current?.persona === persona.id ? " selected" : ""}`,
            "data-persona": persona.id,
            title: persona.problem ?? persona.description,
            onclick: () => options.select(persona.id)
          },
          h("strong", {}, persona.title),
          persona.echo ? h("span", { class: "badge echo" }, "echo") : null,
          persona.description ? h("small", {}, persona.description) : null
        )
      )
    )
  }

  const renderHeader = () => {
    const persona = personas.find((p) => p.id === current?.persona)
    if (!persona) return replace(header, "Pick a persona to chat with")
    replace(
      header,
      h("strong", {}, persona.title),
      h("span", { class: "meta" }, ` ${persona.provider}${persona.model ? `/${persona.model}` : ""}`),
      persona.echo
        ? h(
            "div",
            { class: "echo-label" },
            "Answers through the echo development provider (it repeats your message): ",
            persona.problem ?? "no LLM provider can answer."
          )
        : null
    )
  }

  const renderHistory = (messages: ReadonlyArray<HistoryMessage>) => {
    for (const message of messages) {
      if (message.role === "user") add(bubble("user", message.text, message.at))
      else if (message.role === "assistant") {
        if (message.text) add(bubble("assistant", message.text, message.at))
        for (const call of message.toolCalls ?? []) toolCard(call.id, call.name, call.arguments, message.at)
      } else if (message.toolCallId) {
        toolDone(message.toolCallId, message.ok ?? true, message.text, message.durationMs)
      }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault()
    const text = input.value.trim()
    if (!text || !current) return
    input.value = ""
    if (text === "/reset") {
      log.replaceChildren()
      replies.clear()
      tools.clear()
      note("— conversation reset —", "divider")
    }
    add(bubble("user", text, Date.now()))
    options.say(text)
  })
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault()
      form.requestSubmit()
    }
  })

  const mine = (event: { readonly conversationId: string }) => event.conversationId === current?.conversationId

  return {
    /** A line from the page itself (not connected, a refused message). */
    notice: (text: string, kind: "note" | "error" = "note") => note(text, kind),
    personas: (list: ReadonlyArray<PersonaInfo>) => {
      personas = list
      renderPicker()
      renderHeader()
    },
    history: (message: ServerMessageOf<"History">) => {
      current = { persona: message.persona, conversationId: message.conversationId }
      log.replaceChildren()
      replies.clear()
      tools.clear()
      typing = undefined
      renderPicker()
      renderHeader()
      renderHistory(message.messages)
      input.disabled = false
      input.focus()
    },
    event: (event: TroupeEvent) => {
      if (!("conversationId" in event) || !mine(event)) return
      switch (event._tag) {
        case "Typing":
          if (!typing) {
            typing = h("div", { class: "line typing" }, "typing…")
            add(typing)
          }
          return
        case "ReplyDelta": {
          stopTyping()
          const element = replyFor(event.turnId)
          element.dataset.deltas = String(Number(element.dataset.deltas ?? 0) + 1)
          if (event.reset) element.classList.add("restarted")
          return setText(element, event.text)
        }
        case "ReplyCompleted":
          return completed(event)
        case "ReplyFailed": {
          stopTyping()
          const element = replyFor(event.turnId)
          element.classList.remove("streaming")
          element.classList.add("failed")
          element.title = event.error
          setText(element, event.userText)
          element.append(h("div", { class: "meta" }, `failed: ${event.error}`))
          return
        }
        case "ToolCalled":
          toolCard(event.callId, event.tool, event.arguments, event.at)
          return
        case "ToolResult":
          return toolDone(event.callId, event.ok, event.result, event.durationMs)
        case "PolicyDecision":
          stopTyping()
          note(`not answered: ${event.reason}`)
          return
        case "LlmAttemptFailed":
          note(
            `${event.provider}/${event.model} failed (${event.reason})${event.next === "give_up" ? "" : `; ${event.next === "retry" ? "retrying" : "falling back"}`}`
          )
          return
      }
    }
  }

  function completed(event: Event<"ReplyCompleted">) {
    stopTyping()
    const element = replyFor(event.turnId)
    element.classList.remove("streaming")
    setText(element, event.text)
    const tokens =
      event.usage.input + event.usage.output > 0 ? ` · ${event.usage.input}→${event.usage.output} tokens` : ""
    const echo = event.provider === "echo" ? h("span", { class: "badge echo" }, "echo provider") : null
    element.append(
      h(
        "div",
        { class: "meta" },
        `${clock(event.at)} · ${event.provider}/${event.model} · ${duration(event.durationMs)}${tokens} `,
        echo
      )
    )
  }
}
