/** What the agent loop says when an answer was cut for length and it asks the model to go on. */
export const CONTINUE_PROMPT = "[Continue your previous answer exactly where it stopped. Do not repeat anything.]"
