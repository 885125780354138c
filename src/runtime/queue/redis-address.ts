/** Where the shard queue's Redis is, from `redis://HOST:PORT`, and whether it answers. */
import { Data, Effect } from "effect"
import { connect } from "node:net"

export interface RedisAddress {
  readonly host: string
  readonly port: number
  /** As the user wrote it, for messages. */
  readonly url: string
}

/** The queue cannot be used: a malformed address, or no Redis answering there. */
export class QueueUnavailable extends Data.TaggedError("QueueUnavailable")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

export const parseRedisUrl = (url: string): Effect.Effect<RedisAddress, QueueUnavailable> => {
  const malformed = new QueueUnavailable({ reason: `--queue ${url}: expected redis://HOST:PORT, e.g. redis://127.0.0.1:6379` })
  if (!URL.canParse(url)) return Effect.fail(malformed)
  const parsed = new URL(url)
  const port = parsed.port === "" ? 6379 : Number(parsed.port)
  if (parsed.protocol !== "redis:" || parsed.hostname === "" || !Number.isInteger(port)) return Effect.fail(malformed)
  return Effect.succeed({ host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port, url })
}

/** Sends PING and waits for an answer, at most `timeoutMs`. */
export const probeRedis = (address: RedisAddress, timeoutMs = 3000): Effect.Effect<void, QueueUnavailable> =>
  Effect.callback<void, QueueUnavailable>((resume) => {
    const socket = connect({ host: address.host, port: address.port })
    const fail = (why: string) => {
      socket.destroy()
      resume(Effect.fail(new QueueUnavailable({ reason: `cannot reach Redis at ${address.url} (${why}); start it, or check --queue` })))
    }
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs / 1000} s`))
    socket.on("error", (e) => fail(e.message))
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (data) => {
      socket.destroy()
      const reply = data.toString("utf8")
      // -NOAUTH and the like still mean that Redis is there.
      if (reply.startsWith("+") || reply.startsWith("-")) resume(Effect.void)
      else fail(`it answered '${reply.slice(0, 40).trim()}', which is not Redis`)
    })
    return Effect.sync(() => socket.destroy())
  })
