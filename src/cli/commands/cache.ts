import { Effect } from "effect"
import { readdir, rm, stat } from "node:fs/promises"
import { join } from "node:path"
import { makeArtifactStore, type Manifest } from "../../runtime/ArtifactStore.js"
import { cacheKey } from "../../runtime/cache-key.js"
import { leasedKeys, removeOrphans } from "../../runtime/leases.js"
import { loadRecordFile } from "../../runtime/run-record.js"
import { formatBytes } from "../../ui/format.js"
import { UsageError } from "../args.js"
import { commonFlags, exitCodes } from "../context.js"
import { storeChoice, storeFlags, storeReady } from "../store-option.js"
import type { Command } from "./command.js"

const sizeOf = (files: Record<string, { bytes: number }>) => Object.values(files).reduce((sum, f) => sum + f.bytes, 0)

const listDir = (path: string) => readdir(path).catch(() => [] as string[])

/**
 * The artifacts the latest runs use (all the variants of a sweep, when the latest run was one of them), and the nodes
 * whose shards wait for a merge. A pipeline whose record is damaged (or was set aside and not yet rebuilt by a run)
 * keeps every artifact it made, since which of them its latest run used is unknown.
 */
const keptKeys = async (root: string, manifests: ReadonlyArray<Manifest>) => {
  const keys = new Set<string>()
  const pending = new Set<string>()
  const unknown = new Set<string>()
  const files = await listDir(join(root, "records"))
  for (const file of files) {
    if (file.endsWith(".json.damaged") && !files.includes(file.slice(0, -".damaged".length))) unknown.add(file.slice(0, -".damaged".length))
    if (!file.endsWith(".json")) continue
    const { record, damaged } = await loadRecordFile(join(root, "records", file))
    for (const node of Object.values(record?.nodes ?? {})) keys.add(node.key)
    for (const key of record?.sweep?.keys ?? []) keys.add(key)
    for (const { key } of record?.pending ?? []) pending.add(key)
    if (damaged) unknown.add(file)
  }
  for (const m of manifests) if (unknown.has(`${m.pipeline}.json`)) keys.add(m.key)
  return { keys, pending }
}

/** A shard's entry carries its node's key material: the key of the node it is a part of (undefined for a node's own entry). */
const shardParent = (m: Manifest): string | undefined => {
  const parent = cacheKey(m.material)
  return parent === m.key ? undefined : parent
}

export const cache: Command = {
  name: "cache",
  summary: "list, verify or garbage-collect the cache",
  usage: "pipe cache ls|verify|gc [--cache-dir DIR | --store WHERE]",
  maxArguments: 1,
  flags: [
    { name: "checkpoints", description: "gc: also delete checkpoints of unfinished nodes" },
    { name: "dry-run", description: "gc: say what would be removed, and remove nothing" },
    ...storeFlags,
    ...commonFlags,
  ],
  details: [
    "ls      every stored artifact: key, pipeline, node, size, date",
    "verify  re-hash every artifact; corrupted ones are removed (they would be recomputed anyway); exit 1 if any",
    "gc      delete artifacts that neither the latest run of a pipeline nor a running one uses (shards: once merged), and what killed runs left",
    "        (on an s3:// store, which other machines share, only what interrupted writes left and the local read cache)",
  ].join("\n"),
  run: (args) =>
    Effect.gen(function* () {
      const choice = storeChoice(args)
      const root = choice.root
      const store = makeArtifactStore(choice.location, root, choice.s3)
      const shared = choice.location.kind === "s3"
      const action = args.positional[0]
      if (action !== "ls" && action !== "verify" && action !== "gc") {
        return yield* Effect.fail(
          new UsageError(action ? `unknown cache action '${action}': use ls, verify or gc` : "missing the action: pipe cache ls|verify|gc"),
        )
      }
      const found = yield* Effect.promise(() =>
        stat(root).then(
          (s) => (s.isDirectory() ? "folder" : "file"),
          () => "nothing",
        ),
      )
      if (found === "file") return yield* Effect.fail(new UsageError(`the cache folder ${root} is a file; name a folder with --cache-dir`))
      if (shared) yield* storeReady(store)
      else if (found === "nothing") {
        process.stdout.write(`${root}: no cache here (nothing to ${action === "ls" ? "list" : action})\n`)
        return exitCodes.ok
      }
      const manifests = yield* store.list
      if (action === "ls") {
        if (manifests.length === 0) process.stdout.write(`${shared ? store.location : root}: empty\n`)
        for (const m of [...manifests].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
          process.stdout.write(
            `${m.key.slice(0, 12)}  ${m.pipeline}/${m.node}  ${m.material.kind}  ${formatBytes(sizeOf(m.files))}  ${m.createdAt}\n`,
          )
        }
        return exitCodes.ok
      }
      if (action === "verify") {
        let bad = 0
        for (const m of manifests) {
          const problem = yield* store.verify(m.key).pipe(
            Effect.as(undefined),
            Effect.catch((e) => Effect.succeed(e.message)),
          )
          if (problem) {
            bad++
            yield* store.remove(m.key)
            process.stdout.write(`${m.pipeline}/${m.node}: ${problem}; removed, it will be recomputed\n`)
          }
        }
        process.stdout.write(`${manifests.length - bad} of ${manifests.length} artifacts intact\n`)
        return bad === 0 ? exitCodes.ok : exitCodes.failed
      }
      // gc
      const dryRun = args.flags.has("dry-run")
      const inUse = yield* Effect.promise(() => leasedKeys(root))
      // Other machines' runs use a shared store, and their records are not here: it keeps every entry.
      const kept = yield* Effect.promise(() => keptKeys(root, manifests))
      const keep = shared ? new Set(manifests.map((m) => m.key)) : new Set([...kept.keys, ...inUse])
      // Shards are kept until their node is merged, when a shard-index run left them or a live run uses their node.
      const stored = new Set(manifests.map((m) => m.key))
      const awaitsMerge = (m: Manifest) => {
        const parent = shardParent(m)
        return parent !== undefined && !stored.has(parent) && (kept.pending.has(parent) || inUse.has(parent))
      }
      let freed = 0
      let removed = 0
      for (const m of manifests) {
        if (keep.has(m.key) || awaitsMerge(m)) continue
        freed += sizeOf(m.files)
        removed++
        if (dryRun) process.stdout.write(`would remove ${m.key.slice(0, 12)}  ${m.pipeline}/${m.node}  ${formatBytes(sizeOf(m.files))}\n`)
        else yield* store.remove(m.key)
      }
      freed += yield* store.removeLeftovers(dryRun)
      yield* Effect.promise(async () => {
        freed += await removeOrphans(root, dryRun)
        if (!args.flags.has("checkpoints")) return
        for (const key of await listDir(join(root, "checkpoints"))) {
          if (inUse.has(key)) continue
          for (const name of await listDir(join(root, "checkpoints", key)))
            freed += (await stat(join(root, "checkpoints", key, name)).catch(() => ({ size: 0 }))).size
          if (!dryRun) await rm(join(root, "checkpoints", key), { recursive: true, force: true })
        }
      })
      const artifacts = `${removed} artifact${removed === 1 ? "" : "s"}`
      process.stdout.write(
        dryRun
          ? `would remove ${artifacts} and free ${formatBytes(freed)}; nothing was removed (--dry-run)\n`
          : `removed ${artifacts}, freed ${formatBytes(freed)}; kept ${manifests.length - removed}${shared ? ` (gc removes no entry from a shared ${store.location})` : ""}\n`,
      )
      return exitCodes.ok
    }),
}
