#!/usr/bin/env node
// Makes @tensorflow/tfjs-node(-gpu) usable without its install script (which downloads
// libtensorflow from Google storage): builds the N-API binding against the TensorFlow pip
// wheel, caches the finished package outside node_modules and installs it atomically.
import { spawn } from "node:child_process"
import fs from "node:fs"
import fsp from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const TFJS_VERSION = "4.22.0"
const DEFAULT_TF_VERSION = "2.21.0"
const BIG_LIBS = ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2"]
const HEADER_DIRS = ["tensorflow/c", "tensorflow/core/platform", "tsl/platform", "xla/tsl/c"]
const MIN_WHEEL_BYTES = 100e6
const USAGE = "usage: node scripts/setup-native.mjs [--gpu] [--force] [--no-cache] [--tf-version X] [--project DIR] [--help]"
const GPU_NOTE = (v = "<tf-version>") => `--gpu builds @tensorflow/tfjs-node-gpu against the 'tensorflow' wheel (the CUDA build).
  To run on the GPU it needs an NVIDIA driver plus the CUDA 12 and cuDNN 9 runtime libraries on the
  loader path: 'pip install tensorflow[and-cuda]==${v}' brings them as nvidia-* wheels; put
  their lib folders (site-packages/nvidia/*/lib) on LD_LIBRARY_PATH. For the exact CUDA/cuDNN
  versions and supported GPUs see tensorflow.org/install/pip. Without CUDA it runs on the CPU.`
const HELP = `${USAGE}

Builds @tensorflow/tfjs-node@${TFJS_VERSION} (or -gpu) against the TensorFlow pip wheel instead of its
install script's libtensorflow download, and installs it into <project>/node_modules. Linux x64 only.
Needs python3 + pip, unzip, make and a C++ compiler (Debian: apt-get install build-essential python3 unzip).

  --gpu            build @tensorflow/tfjs-node-gpu against the 'tensorflow' wheel (default:
                   @tensorflow/tfjs-node against 'tensorflow-cpu')
  --force          reinstall even if the package already loads (the cached build is reused)
  --no-cache       ignore the cached wheel and build: download and build again (implies --force)
  --tf-version X   TensorFlow wheel version (default ${DEFAULT_TF_VERSION})
  --project DIR    project whose node_modules gets the package (default: this repository)

Cache: $PIPE_NATIVE_CACHE or \${XDG_CACHE_HOME:-~/.cache}/dirac-pipe/native (wheel + built package).

${GPU_NOTE()}`

class Failure extends Error {}
const t0 = () => performance.now()
const secs = (start) => `${((performance.now() - start) / 1000).toFixed(1)} s`
const log = (line) => console.log(line)
const exists = (p) => {
  try {
    fs.lstatSync(p)
    return true
  } catch {
    return false
  }
}
const rm = (p) => fs.rmSync(p, { recursive: true, force: true })

// ---- abort handling: every step registers how to undo itself; Ctrl-C/kill/failure undoes all
const undoers = new Set()
let aborting = false
let child = null
function onAbort(fn) {
  undoers.add(fn)
  return () => undoers.delete(fn)
}
function undoAll() {
  for (const fn of [...undoers].reverse()) {
    try {
      fn()
    } catch (e) {
      console.error(`rollback step failed: ${e.message}`)
    }
  }
  undoers.clear()
}
async function abort(signal, code) {
  if (aborting) return
  aborting = true
  console.error(`\ninterrupted (${signal}): rolling back`)
  const c = child
  if (c && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(-c.pid, "SIGTERM")
    } catch {}
    const done = new Promise((r) => c.once("close", r))
    if (!(await Promise.race([done.then(() => true), new Promise((r) => setTimeout(r, 5000, false))]))) {
      try {
        process.kill(-c.pid, "SIGKILL")
      } catch {}
    }
  }
  undoAll()
  process.exit(code)
}
for (const [sig, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
])
  process.on(sig, () => abort(sig, code))

// npm run exports npm_config_local_prefix etc.; a nested npm would then install into the project.
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_(config_local_prefix|config_prefix|config_global|package_|lifecycle_|command)/i.test(k) && k !== "INIT_CWD",
  ),
)

/** Runs a command in its own process group; resolves {stdout, stderr}, or throws a Failure
 *  naming the command and its last stderr lines. */
function run(cmd, args, { cwd, env = childEnv, timeoutMs = 0 } = {}) {
  const shown = [cmd, ...args].map((a) => (/[\s'"*$]/.test(a) ? `'${a}'` : a)).join(" ")
  return new Promise((resolve, reject) => {
    const out = [],
      err = []
    const c = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    child = c
    c.stdout.on("data", (d) => out.push(d))
    c.stderr.on("data", (d) => {
      err.push(d)
      if (err.length > 400) err.splice(0, 200)
    })
    let timedOut = false
    const timer =
      timeoutMs &&
      setTimeout(() => {
        timedOut = true
        try {
          process.kill(-c.pid, "SIGKILL")
        } catch {}
      }, timeoutMs)
    c.on("error", (e) => reject(new Failure(`cannot run ${cmd}: ${e.message}`)))
    c.on("close", (code, signal) => {
      clearTimeout(timer)
      child = null
      const stdout = Buffer.concat(out).toString(),
        stderr = Buffer.concat(err).toString()
      if (aborting) return reject(new Failure("aborted"))
      if (code === 0) return resolve({ stdout, stderr })
      const tail = (stderr.trim() || stdout.trim())
        .split("\n")
        .slice(-12)
        .map((l) => `    ${l}`)
        .join("\n")
      const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : signal ? `killed by ${signal}` : `exit ${code}`
      reject(Object.assign(new Failure(`command failed (${why}): ${shown}\n${tail}`), { code, signal, timedOut, stdout, stderr }))
    })
  })
}

function which(name) {
  return (process.env.PATH ?? "").split(path.delimiter).some((d) => d && exists(path.join(d, name)))
}

function pidAlive(pid) {
  if (pid === process.pid) return true
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("setup-native")
  } catch {
    return false
  }
}

// ---- install into node_modules: staging, swap, verify, keep or restore
const STAGE_RE = /^\.dirac-native-(staging|old|trash)-(\d+)(?:-(.+))?$/

/** Puts back what `old` records (a package dir, or a plain file meaning "there was none"). */
function restore(old, target, tag) {
  const trash = path.join(path.dirname(old), `.dirac-native-trash-${process.pid}-${tag}`)
  if (exists(target)) fs.renameSync(target, trash)
  if (fs.lstatSync(old).isDirectory()) fs.renameSync(old, target)
  else fs.unlinkSync(old)
  rm(trash)
}

function cleanNodeModules(nm) {
  for (const name of fs.readdirSync(nm)) {
    const m = STAGE_RE.exec(name)
    if (!m) continue
    const pid = Number(m[2])
    if (pidAlive(pid)) throw new Failure(`another setup-native run (pid ${pid}) is working in ${nm}; wait for it or stop it`)
    if (m[1] === "old") {
      const had = fs.lstatSync(path.join(nm, name)).isDirectory()
      restore(path.join(nm, name), path.join(nm, "@tensorflow", m[3]), "restore")
      log(`cleanup: ${had ? "restored" : "removed unverified"} node_modules/@tensorflow/${m[3]} (interrupted run, pid ${pid})`)
    } else {
      rm(path.join(nm, name))
      log(`cleanup: removed ${name} left by an interrupted run`)
    }
  }
}

function cleanCache(dir) {
  if (!exists(dir)) return
  for (const name of fs.readdirSync(dir)) {
    const m = /\.(tmp|old)-(\d+)$/.exec(name)
    if (m && !pidAlive(Number(m[2]))) rm(path.join(dir, name))
  }
}

/** Copies a package tree; the two big libraries are hard-linked when possible. */
async function copyPackage(src, dst) {
  const big = new Set(BIG_LIBS.map((f) => path.join(src, "deps", "lib", f)))
  await fsp.cp(src, dst, { recursive: true, verbatimSymlinks: true, filter: (p) => !big.has(p) })
  let linked = true
  for (const f of BIG_LIBS) {
    const [s, d] = [path.join(src, "deps", "lib", f), path.join(dst, "deps", "lib", f)]
    try {
      fs.linkSync(s, d)
    } catch {
      linked = false
      await fsp.copyFile(s, d)
    }
  }
  return linked
}

const VERIFY_JS = (pkg) => `
try {
  const tf = await import("@tensorflow/tfjs-core");
  await import(${JSON.stringify(pkg)});
  const tfjs = await import("@tensorflow/tfjs");
  if (!(await tf.setBackend("tensorflow")) || tfjs.getBackend() !== "tensorflow")
    throw new Error("backend 'tensorflow' not active in the project's tfjs-core (got " + tfjs.getBackend() + ")");
  const gradOn = async (backend) => {
    await tf.setBackend(backend);
    const x = tf.reshape(tf.sin(tf.range(0, 50)), [1, 5, 5, 2]);
    const w = tf.reshape(tf.cos(tf.range(0, 72)), [3, 3, 2, 4]);
    const g = tfjs.grad((v) => tf.sum(tf.square(tf.conv2d(v, w, 1, "same"))))(x);
    return g.data();
  };
  const [a, b] = [await gradOn("tensorflow"), await gradOn("cpu")];
  const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  if (!(diff < 1e-3)) throw new Error("conv2d gradient differs from the cpu backend by " + diff);
  console.log("ok");
} catch (e) { console.error(String(e?.message ?? e)); process.exit(1); }`

async function verify(project, pkg) {
  try {
    await run(process.execPath, ["--input-type=module", "-e", VERIFY_JS(pkg)], {
      cwd: project,
      env: { TF_ENABLE_ONEDNN_OPTS: "0", ...childEnv, TF_CPP_MIN_LOG_LEVEL: "2" },
      timeoutMs: 180_000,
    })
    return { ok: true }
  } catch (e) {
    if (aborting) throw e
    const how = e.timedOut ? "timed out" : e.signal ? `crashed with ${e.signal}` : `exited with ${e.code}`
    return {
      ok: false,
      why: e.stderr?.trim()
        ? e.stderr.trim().split("\n").slice(-6).join("\n    ")
        : e.stdout === undefined
          ? e.message
          : `loading it in node ${how}, without a message`,
    }
  }
}

async function install(entry, nm, project, pkg) {
  const start = t0()
  const target = path.join(nm, ...pkg.split("/"))
  const tag = path.basename(target)
  const staging = path.join(nm, `.dirac-native-staging-${process.pid}`)
  const old = path.join(nm, `.dirac-native-old-${process.pid}-${tag}`)
  rm(staging)
  const unstage = onAbort(() => rm(staging))
  const linked = await copyPackage(entry, staging)
  log(`staged: package copied in ${secs(start)} (libtensorflow ${linked ? "hard-linked" : "copied"})`)

  // From here to verification the swap is synchronous, so a signal sees either state, never half.
  fs.mkdirSync(path.dirname(target), { recursive: true })
  if (exists(target)) fs.renameSync(target, old)
  else fs.writeFileSync(old, "no previous package\n")
  fs.renameSync(staging, target)
  unstage()
  const unswap = onAbort(() => restore(old, target, tag))

  const vstart = t0()
  const v = await verify(project, pkg)
  unswap()
  if (!v.ok) {
    restore(old, target, tag)
    throw new Failure(`verification failed, previous state restored: ${v.why}\n    (a broken cached build? rerun with --force --no-cache)`)
  }
  const trash = path.join(nm, `.dirac-native-trash-${process.pid}-${tag}`)
  fs.renameSync(old, trash)
  rm(trash)
  log(`installed: ${path.relative(project, target)} (tensorflow backend verified, conv2d gradient ok; ${secs(vstart)})`)
}

// ---- build: wheel -> libtensorflow + headers; npm pack; npm install; node-gyp
async function ensureWheel(cacheDir, dist, tfVersion, noCache) {
  const dir = path.join(cacheDir, "wheels")
  fs.mkdirSync(dir, { recursive: true })
  const prefix = `${dist.replace(/-/g, "_")}-${tfVersion}-`
  const find = (d) =>
    fs
      .readdirSync(d)
      .filter((f) => f.startsWith(prefix) && f.endsWith(".whl"))
      .find((f) => fs.statSync(path.join(d, f)).size >= MIN_WHEEL_BYTES)
  const cached = !noCache && find(dir)
  if (cached) {
    log(`wheel: ${cached} (cached)`)
    return path.join(dir, cached)
  }
  const start = t0()
  const tmp = path.join(dir, `.tmp-${process.pid}`)
  rm(tmp)
  const undo = onAbort(() => rm(tmp))
  try {
    await run("python3", ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp, `${dist}==${tfVersion}`])
  } catch (e) {
    if (/No matching distribution|Could not find a version/i.test(e.stderr ?? "")) {
      const errs = e.stderr
        .split("\n")
        .filter((l) => l.startsWith("ERROR:"))
        .map((l) => `    ${l}`)
        .join("\n")
      throw new Failure(
        `wheel not found: pip has no ${dist}==${tfVersion} for this Python/platform\n    (python3 -m pip download ${dist}==${tfVersion})\n${errs}`,
      )
    }
    throw e
  }
  const got = find(tmp)
  if (!got) throw new Failure(`pip download of ${dist}==${tfVersion} produced no plausible wheel in ${tmp}`)
  rm(path.join(dir, got))
  fs.renameSync(path.join(tmp, got), path.join(dir, got))
  rm(tmp)
  undo()
  log(`wheel: ${got} (downloaded in ${secs(start)})`)
  return path.join(dir, got)
}

function checkTools() {
  const missing = [
    ["make", "make"],
    ["python3", "python3"],
    ["unzip", "unzip"],
  ]
    .filter(([bin]) => !which(bin))
    .map(([, n]) => n)
  if (!which("g++") && !which("c++")) missing.push("g++")
  if (missing.length) {
    throw new Failure(`missing tools: ${missing.join(", ")} (Debian/Ubuntu: apt-get install build-essential python3 unzip)`)
  }
  const nodedir = path.dirname(path.dirname(process.execPath))
  if (!exists(path.join(nodedir, "include", "node", "node_api.h"))) {
    throw new Failure(
      `Node headers not found: ${nodedir}/include/node/node_api.h is missing; use a Node.js install that ships its headers (nodejs.org tarballs, nvm, NodeSource packages)`,
    )
  }
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ]
  return { nodedir, nodeGyp: candidates.find((p) => p && exists(p)) }
}

async function build(entry, { pkg, dist, tfVersion, cacheDir, noCache }) {
  const tools = checkTools()
  const wheel = await ensureWheel(cacheDir, dist, tfVersion, noCache)
  const tmp = `${entry}.tmp-${process.pid}`
  rm(tmp)
  fs.mkdirSync(tmp, { recursive: true })
  const undo = onAbort(() => rm(tmp))

  let start = t0()
  const patterns = [...BIG_LIBS.map((f) => `tensorflow/${f}`), ...HEADER_DIRS.map((d) => `tensorflow/include/${d}/*`)]
  const unz = await run("unzip", ["-q", "-o", wheel, ...patterns, "-d", path.join(tmp, "wheel")]).catch((e) => {
    if (e.code === 11) return e
    throw e
  }) // 11: some pattern matched nothing
  const tfDir = path.join(tmp, "wheel", "tensorflow")
  for (const need of [...BIG_LIBS, "include/tensorflow/c/c_api.h"]) {
    if (!exists(path.join(tfDir, need)))
      throw new Failure(`wheel ${path.basename(wheel)} has no tensorflow/${need}${unz.stderr ? `\n    ${unz.stderr.trim()}` : ""}`)
  }
  log(`extract: libtensorflow + headers in ${secs(start)}`)

  start = t0()
  const { stdout } = await run("npm", ["pack", `${pkg}@${TFJS_VERSION}`, "--json", "--pack-destination", tmp], { cwd: tmp })
  const tgz = path.join(tmp, JSON.parse(stdout)[0].filename)
  await run("tar", ["xzf", tgz, "-C", tmp])
  const dir = path.join(tmp, "package")
  rm(path.join(dir, "deps"))
  fs.mkdirSync(path.join(dir, "deps", "lib"), { recursive: true })
  fs.renameSync(path.join(tfDir, "include"), path.join(dir, "deps", "include"))
  for (const f of BIG_LIBS) fs.renameSync(path.join(tfDir, f), path.join(dir, "deps", "lib", f))
  for (const [link, to] of [
    ["libtensorflow.so.2", "libtensorflow_cc.so.2"],
    ["libtensorflow.so", "libtensorflow.so.2"],
    ["libtensorflow_framework.so", "libtensorflow_framework.so.2"],
  ])
    fs.symlinkSync(to, path.join(dir, "deps", "lib", link))

  // A nested @tensorflow/tfjs would register the backend into a second tfjs-core; use the project's.
  const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
  delete pj.dependencies?.["@tensorflow/tfjs"]
  delete pj.scripts
  delete pj.devDependencies
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pj, null, 2)}\n`)
  await run("npm", ["install", "--omit=dev", "--ignore-scripts", "--no-package-lock", "--no-audit", "--no-fund"], { cwd: dir })
  log(`package: ${pkg}@${TFJS_VERSION} fetched and its dependencies installed in ${secs(start)}`)

  start = t0()
  if (!tools.nodeGyp) {
    const { stdout: root } = await run("npm", ["root", "-g"])
    tools.nodeGyp = path.join(root.trim(), "npm", "node_modules", "node-gyp", "bin", "node-gyp.js")
    if (!exists(tools.nodeGyp)) throw new Failure(`node-gyp not found (looked for ${tools.nodeGyp}); reinstall npm`)
  }
  await run(
    process.execPath,
    [
      tools.nodeGyp,
      "rebuild",
      `--nodedir=${tools.nodedir}`,
      "--module_name=tfjs_binding",
      `--module_path=${path.join(dir, "lib", "napi-v8")}`,
      "--napi_build_version=8",
    ],
    { cwd: dir },
  )
  rm(path.join(dir, "build"))
  if (!exists(path.join(dir, "lib", "napi-v8", "tfjs_binding.node")))
    throw new Failure("node-gyp succeeded but lib/napi-v8/tfjs_binding.node is missing")
  log(`binding: built in ${secs(start)}`)

  if (exists(entry)) fs.renameSync(entry, `${entry}.old-${process.pid}`)
  fs.renameSync(dir, entry)
  rm(`${entry}.old-${process.pid}`)
  rm(tmp)
  undo()
}

const isComplete = (entry) =>
  exists(path.join(entry, "lib", "napi-v8", "tfjs_binding.node")) && BIG_LIBS.every((f) => exists(path.join(entry, "deps", "lib", f)))

async function main() {
  let opts
  try {
    opts = parseArgs({
      options: {
        gpu: { type: "boolean" },
        force: { type: "boolean" },
        "no-cache": { type: "boolean" },
        help: { type: "boolean" },
        "tf-version": { type: "string", default: DEFAULT_TF_VERSION },
        project: { type: "string", default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..") },
      },
    }).values
  } catch (e) {
    console.error(`${e.message.split("\n")[0].replace(/\.$/, "")}; ${USAGE}`)
    return 2
  }
  if (opts.help) {
    log(HELP)
    return 0
  }
  const tfVersion = opts["tf-version"]
  if (!/^\d+\.\d+(\.\d+)?([a-z]+\d*)?$/.test(tfVersion)) {
    console.error(`bad --tf-version '${tfVersion}'; ${USAGE}`)
    return 2
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Failure(
      `this route only supports Linux x64 (this is ${process.platform}-${process.arch}); ` +
        `use the plain online install instead: npm install @tensorflow/tfjs-node@${TFJS_VERSION} (it downloads libtensorflow itself)`,
    )
  }
  const pkg = opts.gpu ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node"
  const dist = opts.gpu ? "tensorflow" : "tensorflow-cpu"
  const project = path.resolve(opts.project)
  const nm = path.join(project, "node_modules")
  if (!["tfjs", "tfjs-core"].every((p) => exists(path.join(nm, "@tensorflow", p, "package.json")))) {
    throw new Failure(`${nm} lacks @tensorflow/tfjs and @tensorflow/tfjs-core; run npm install (or npm ci) first`)
  }
  if (opts.gpu) log(GPU_NOTE(tfVersion))
  cleanNodeModules(nm)

  const target = path.join(nm, ...pkg.split("/"))
  if (!opts.force && !opts["no-cache"] && exists(target)) {
    const start = t0()
    const v = await verify(project, pkg)
    if (v.ok) {
      log(
        `already working: ${path.relative(project, target)} (tensorflow backend verified in ${secs(start)}); nothing to do (--force reinstalls)`,
      )
      return 0
    }
    log(`existing ${path.relative(project, target)} does not work (${v.why.split("\n")[0]}); reinstalling`)
  }

  const cacheDir =
    process.env.PIPE_NATIVE_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "dirac-pipe", "native")
  const packages = path.join(cacheDir, "packages")
  fs.mkdirSync(packages, { recursive: true })
  cleanCache(packages)
  cleanCache(path.join(cacheDir, "wheels"))
  const key = `${pkg.split("/")[1]}-${TFJS_VERSION}-tf${tfVersion}-node-abi${process.versions.modules}-${process.platform}-${process.arch}`
  const entry = path.join(packages, key)
  if (!opts["no-cache"] && isComplete(entry)) log(`package: ${key} (cached)`)
  else await build(entry, { pkg, dist, tfVersion, cacheDir, noCache: opts["no-cache"] })
  await install(entry, nm, project, pkg)
  log(`done in ${secs(started)}`)
  return 0
}

const started = t0()
main().then(
  (code) => {
    process.exitCode = code
  },
  (e) => {
    if (aborting) return
    undoAll()
    console.error(`setup-native: ${e instanceof Failure ? e.message : `unexpected error: ${e?.message ?? e}`}`)
    process.exitCode = 1
  },
)
