/** Discord's epoch (2015-01-01T00:00:00.000Z) in milliseconds. */
const DISCORD_EPOCH = 1420070400000n

let last = 0n

/**
 * A fresh, strictly increasing Discord snowflake (17–19 digits, timestamp in the top bits), so discord.js reads a
 * sensible `createdTimestamp` and @discordjs/rest recognises the id as a major parameter (it only does for 17–19 digits).
 */
export const snowflake = (at: number = Date.now()): string => {
  let id = (BigInt(at) - DISCORD_EPOCH) << 22n
  if (id <= last) id = last + 1n
  last = id
  return id.toString()
}

/** The creation time encoded in a snowflake. */
export const snowflakeTime = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH)
