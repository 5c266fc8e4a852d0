/**
 * Markdown from the model turned into plain text, for platforms (CyTube) and personas (`style.strip_markdown`) that
 * show it raw: emphasis, headings, fences and inline code markers go; links keep their text and address; list
 * bullets and line structure stay.
 */

export const stripMarkdown = (text: string): string =>
  text
    // Fenced code: keep the code, drop the fences.
    .replace(/^ {0,3}(```+|~~~+)[^\n]*\n?/gm, "")
    // Images and links: ![alt](url) -> alt, [text](url) -> text (url) unless the text is the url.
    .replace(/!\[([^\]]*)\]\(([^)\s]+)[^)]*\)/g, "$1")
    .replace(/\[([^\]]+)\]\(([^)\s]+)[^)]*\)/g, (_, label: string, url: string) =>
      label === url || url.startsWith("mailto:") ? label : `${label} (${url})`
    )
    // Headings, block quotes and horizontal rules.
    .replace(/^ {0,3}#{1,6}\s+/gm, "")
    .replace(/^ {0,3}>\s?/gm, "")
    .replace(/^ {0,3}([-*_])( *\1){2,}\s*$/gm, "")
    // Bullets become a plain dash; numbered lists stay as they are.
    .replace(/^(\s*)[*+]\s+/gm, "$1- ")
    // Emphasis and inline code (word-bounded underscores only, so snake_case survives).
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "$2")
    .replace(/(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, "$1")
    .replace(/(?<!\w)_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1")
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "$1")
    .replace(/`([^`\n]+)`/g, "$1")
    .replace(/\n{3,}/g, "\n\n")
    .trim()

/** Collapse a text to one line (for platforms without line breaks in chat). */
export const oneLine = (text: string): string =>
  text
    .replace(/\s*\n+\s*/g, " ")
    .replace(/[ \t]{2,}/g, " ")
    .trim()
