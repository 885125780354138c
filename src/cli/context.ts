import { Effect } from "effect"
import { constants, existsSync } from "node:fs"
import { access, mkdir, readFile, stat } from "node:fs/promises"
import { dirname, join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { PipelineGraph } from "../dsl/graph.js"
import { loadPipeline } from "../dsl/load.js"
import { decodePipeline, maxPipelineBytes, tooLarge } from "../dsl/source.js"
import { InvalidInput } from "../runtime/errors.js"
import { builtinKinds } from "../nodes/index.js"
import type { NodeKind } from "../nodes/contract.js"
import { didYouMean } from "../dsl/suggest.js"
import { flag, flags, UsageError, type FlagSpec, type ParsedArgs } from "./args.js"

export const exitCodes = {
  ok: 0,
  failed: 1,
  invalid: 2,
  internal: 3,
  interrupted: 130,
} as const

export const commonFlags: ReadonlyArray<FlagSpec> = [
  { name: "cache-dir", value: "DIR", description: "cache folder (default: .pipe beside the project; env PIPE_CACHE_DIR)" },
  { name: "plugin", value: "FILE", repeatable: true, description: "a module exporting more node kinds (env PIPE_PLUGINS, ':'-separated)" },
  { name: "help", description: "show this help" },
]

export const pipelineFlags: ReadonlyArray<FlagSpec> = [
  { name: "set", value: "PATH=VALUE", repeatable: true, description: "override a value: params.steps=500, train.with.lr=2e-4" },
  ...commonFlags,
]

/** The project of a pipeline file: the nearest folder above it with package.json, .git or .pipe. */
const projectRoot = (start: string): string => {
  let dir = resolve(start)
  for (;;) {
    if (["package.json", ".git", ".pipe"].some((marker) => existsSync(join(dir, marker)))) return dir
    const parent = dirname(dir)
    if (parent === dir) return resolve(start)
    dir = parent
  }
}

export const cacheDir = (args: ParsedArgs, pipelineFile?: string): string =>
  resolve(
    flag(args, "cache-dir") ??
      process.env.PIPE_CACHE_DIR ??
      join(projectRoot(pipelineFile ? dirname(pipelineFile) : process.cwd()), ".pipe"),
  )

/** Makes sure a run can write its cache folder, before any work. */
export const writableCacheDir = (root: string): Effect.Effect<void, UsageError> =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(root, { recursive: true })
      if (!(await stat(root)).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" })
      await access(root, constants.W_OK)
    },
    catch: (e) => {
      const code = (e as NodeJS.ErrnoException).code
      const problem =
        code === "ENOTDIR" || code === "EEXIST"
          ? "is a file, or inside one"
          : code === "EACCES" || code === "EPERM" || code === "EROFS"
            ? "cannot be written"
            : `cannot be made (${(e as Error).message})`
      return new UsageError(`the cache folder ${root} ${problem}; name another with --cache-dir DIR or PIPE_CACHE_DIR`)
    },
  })

export const pluginPaths = (args: ParsedArgs): string[] => [
  ...(process.env.PIPE_PLUGINS ?? "").split(":").filter((p) => p.trim() !== ""),
  ...flags(args, "plugin"),
]

/** Imports plugin modules (each exports `kinds: NodeKind[]`). */
const loadPlugins = (paths: ReadonlyArray<string>): Effect.Effect<NodeKind[], UsageError> =>
  Effect.forEach(paths, (path) =>
    Effect.tryPromise({
      try: async () => {
        const module = (await import(pathToFileURL(resolve(path)).href)) as { kinds?: NodeKind[] }
        if (!Array.isArray(module.kinds)) throw new Error("it does not export `kinds` (an array of node kinds)")
        return module.kinds
      },
      catch: (cause) => new UsageError(`plugin ${path}: ${cause instanceof Error ? cause.message : String(cause)}`),
    }),
  ).pipe(Effect.map((lists) => lists.flat()))

/** The built-in node kinds and those of the plugins; a plugin's definition of a kind replaces an earlier one. */
/** The kind named `name`, or a usage error with the nearest names. */
export const findKind = (kinds: ReadonlyArray<NodeKind>, name: string): Effect.Effect<NodeKind, UsageError> => {
  const kind = kinds.find((k) => k.kind === name)
  if (kind) return Effect.succeed(kind)
  const names = kinds.map((k) => k.kind)
  return Effect.fail(new UsageError(`unknown node kind '${name}'${didYouMean(name, names)}`))
}

export const loadKinds = (args: ParsedArgs): Effect.Effect<NodeKind[], UsageError> =>
  loadPlugins(pluginPaths(args)).pipe(Effect.map((plugins) => [...new Map([...builtinKinds, ...plugins].map((k) => [k.kind, k])).values()]))

/** An override that did not come from `--set` (a sweep variant's value): its problems name `flag`. */
export interface ExtraOverride {
  readonly assignment: string
  readonly flag: string
}

/** Reads and checks a pipeline file named on the command line: a graph, or every problem in it. */
export const loadGraph = (
  args: ParsedArgs,
  kinds: ReadonlyArray<NodeKind>,
  extra: ReadonlyArray<ExtraOverride> = [],
): Effect.Effect<PipelineGraph, UsageError | InvalidInput> =>
  Effect.gen(function* () {
    const file = args.positional[0]
    if (!file) return yield* Effect.fail(new UsageError("missing the pipeline file, e.g. pipelines/quickstart-blur.yaml"))
    const shown = relative(process.cwd(), resolve(file)) || file
    const name = shown.startsWith("..") ? resolve(file) : shown
    const unreadable = (e: unknown) =>
      new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`)
    const size = yield* Effect.tryPromise({ try: () => stat(file).then((s) => s.size), catch: unreadable })
    if (size > maxPipelineBytes) return yield* Effect.fail(new InvalidInput({ diagnostics: [tooLarge(name, size)] }))
    const bytes = yield* Effect.tryPromise({ try: () => readFile(file), catch: unreadable })
    const decoded = decodePipeline(name, bytes)
    if ("diagnostic" in decoded) return yield* Effect.fail(new InvalidInput({ diagnostics: [decoded.diagnostic] }))
    const text = decoded.text
    const { graph, diagnostics } = loadPipeline(name, text, kinds, [...flags(args, "set"), ...extra.map((e) => e.assignment)])
    const rename = (text: string) => extra.reduce((t, e) => t.replaceAll(`--set ${e.assignment}`, e.flag), text)
    const named = diagnostics.map((d) => ({ ...d, where: rename(d.where), message: rename(d.message) }))
    if (!graph || diagnostics.length > 0) return yield* Effect.fail(new InvalidInput({ diagnostics: named }))
    return graph
  })
