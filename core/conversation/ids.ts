/** Short random ids for turns and jobs: url-safe, 12 characters from a CSPRNG. */
const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

export const newTurnId = (length = 12): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  let id = ""
  for (const byte of bytes) id += alphabet[byte % alphabet.length]
  return id
}
