/** The platform accounts of every running persona, so adapters can tell the runtime's own bots from humans. */
import type { BotAccounts } from "../channels/Channel.ts"

export const makeBotAccounts = (): BotAccounts => {
  const accounts = new Set<string>()
  const key = (platform: string, account: string) => `${platform}\u0000${account.toLowerCase()}`
  return {
    add: (platform, account) => {
      accounts.add(key(platform, account))
    },
    remove: (platform, account) => {
      accounts.delete(key(platform, account))
    },
    has: (platform, account) => accounts.has(key(platform, account))
  }
}
