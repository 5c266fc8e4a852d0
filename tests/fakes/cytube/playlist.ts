/**
 * A room's playlist and what is playing, packed the way CyTube sends them (src/media.js, src/channel/playlist.js).
 */
import { formatDuration } from "./format.ts"

export interface MediaInput {
  readonly title: string
  readonly id: string
  /** CyTube media type: "yt", "vi", "dm", "sc", "tw", "fi", "cu" … */
  readonly type: string
  readonly seconds: number
  /** Default: -3 and paused for media with a duration (CyTube's lead-in), else 0. */
  readonly currentTime?: number
  readonly paused?: boolean
}

const packMedia = (media: MediaInput) => ({
  id: media.id,
  title: media.title.length > 100 ? `${media.title.slice(0, 97)}...` : media.title,
  seconds: media.seconds,
  duration: formatDuration(media.seconds),
  type: media.type,
  meta: {}
})

export interface PlaylistItem {
  readonly uid: number
  readonly media: ReturnType<typeof packMedia>
  readonly temp: boolean
  readonly queueby: string
}

export class Playlist {
  readonly items: PlaylistItem[] = []
  private current: { item: PlaylistItem; currentTime: number; paused: boolean } | undefined
  private nextUid = 0

  get currentUid(): number | undefined {
    return this.current?.item.uid
  }

  /** Append media; returns the `queue` frame. */
  queue(media: MediaInput): { item: PlaylistItem; after: number | "prepend" } {
    const item: PlaylistItem = { uid: this.nextUid++, media: packMedia(media), temp: true, queueby: "" }
    const after = this.items.at(-1)?.uid ?? "prepend"
    this.items.push(item)
    return { item, after }
  }

  /** Start playing a queued item. Without a time, media with a duration gets CyTube's 3 s paused lead-in. */
  play(uid: number, media: MediaInput): void {
    const item = this.items.find((i) => i.uid === uid)
    if (!item) return
    this.current = {
      item,
      currentTime: media.currentTime ?? (media.seconds > 0 ? -3 : 0),
      paused: media.paused ?? media.seconds > 0
    }
  }

  delete(uid: number): boolean {
    const index = this.items.findIndex((i) => i.uid === uid)
    if (index < 0) return false
    this.items.splice(index, 1)
    if (this.current?.item.uid === uid) this.current = undefined
    return true
  }

  seek(currentTime: number, paused: boolean): boolean {
    if (!this.current) return false
    this.current.currentTime = currentTime
    this.current.paused = paused
    return true
  }

  /** The `setPlaylistMeta` frame. */
  meta() {
    const rawTime = this.items.reduce((sum, i) => sum + i.media.seconds, 0)
    return { count: this.items.length, rawTime, time: formatDuration(rawTime) }
  }

  /** The `changeMedia` frame: the packed media plus `currentTime` and `paused`. */
  fullUpdate() {
    const current = this.current
    if (!current) return undefined
    return { ...current.item.media, currentTime: current.currentTime, paused: current.paused }
  }
}
