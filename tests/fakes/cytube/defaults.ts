/**
 * Static channel state CyTube sends every joiner: permissions (src/channel/permissions.js) and options
 * (src/channel/opts.js).
 */
import { type AntifloodParams, MIN_ANTIFLOOD } from "./limits.ts"

/** CyTube's `DEFAULT_PERMISSIONS` (src/channel/permissions.js), sent as `setPermissions`. */
export const DEFAULT_PERMISSIONS: Readonly<Record<string, number>> = Object.freeze({
  seeplaylist: -1,
  playlistadd: 1.5,
  playlistnext: 1.5,
  playlistmove: 1.5,
  playlistdelete: 2,
  playlistjump: 1.5,
  playlistaddlist: 1.5,
  oplaylistadd: -1,
  oplaylistnext: 1.5,
  oplaylistmove: 1.5,
  oplaylistdelete: 2,
  oplaylistjump: 1.5,
  oplaylistaddlist: 1.5,
  playlistaddcustom: 3,
  playlistaddrawfile: 2,
  playlistaddlive: 1.5,
  exceedmaxlength: 2,
  addnontemp: 2,
  settemp: 2,
  playlistshuffle: 2,
  playlistclear: 2,
  pollctl: 1.5,
  pollvote: -1,
  viewhiddenpoll: 1.5,
  voteskip: -1,
  viewvoteskip: 1.5,
  mute: 1.5,
  kick: 1.5,
  ban: 2,
  motdedit: 3,
  filteredit: 3,
  filterimport: 3,
  emoteedit: 3,
  emoteimport: 3,
  playlistlock: 2,
  leaderctl: 2,
  drink: 1.5,
  chat: 0,
  chatclear: 2,
  exceedmaxitems: 2,
  deletefromchannellib: 2,
  exceedmaxdurationperuser: 2
})

/** The `channelOpts` frame: CyTube's option defaults with this room's settings (the password itself is not sent). */
export const channelOpts = (room: {
  name: string
  antiflood: AntifloodParams
  linkify: boolean
  hasPassword: boolean
}) => ({
  allow_voteskip: true,
  voteskip_ratio: 0.5,
  afk_timeout: 600,
  pagetitle: room.name,
  maxlength: 0,
  externalcss: "",
  externaljs: "",
  chat_antiflood: room.antiflood !== MIN_ANTIFLOOD,
  chat_antiflood_params: room.antiflood === MIN_ANTIFLOOD ? { burst: 4, sustained: 1, cooldown: 4 } : room.antiflood,
  show_public: false,
  enable_link_regex: room.linkify,
  password: room.hasPassword,
  allow_dupes: false,
  torbanned: false,
  block_anonymous_users: false,
  allow_ascii_control: false,
  playlist_max_per_user: 0,
  new_user_chat_delay: 0,
  new_user_chat_link_delay: 0,
  playlist_max_duration_per_user: 0
})
