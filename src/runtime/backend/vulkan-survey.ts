/**
 * What Vulkan could reach on Linux, read from the file system without loading
 * Dawn. Dawn writes warnings straight to stderr whenever it finds no adapter
 * (no libvulkan.so.1, no driver, no device), so `auto` asks Dawn only when
 * this survey says a GPU is plausible, and explicit `--backend webgpu` uses it
 * to explain what is missing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

export interface VulkanDriver {
  /** The ICD manifest (JSON). */
  readonly manifest: string
  /** `ICD.library_path` from the manifest. */
  readonly library: string
  /** lavapipe or SwiftShader: Vulkan emulated on the CPU. */
  readonly software: boolean
}

export interface VulkanSurvey {
  /** libvulkan.so.1 (the Vulkan loader, Debian package libvulkan1) can be found. */
  readonly loader: boolean
  readonly drivers: ReadonlyArray<VulkanDriver>
  /** /dev/dri/renderD* (Mesa and other DRM drivers) and /dev/nvidiaN. */
  readonly deviceNodes: ReadonlyArray<string>
}

const SOFTWARE_LIBRARY = /lvp|lavapipe|swiftshader/i

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

const envPaths = (name: string): string[] => (process.env[name] ?? "").split(":").filter(Boolean)

const loaderPresent = (): boolean => {
  const dirs = [
    ...envPaths("LD_LIBRARY_PATH"),
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib64",
    "/lib",
  ]
  if (dirs.some((d) => existsSync(join(d, "libvulkan.so.1")))) return true
  try {
    return readFileSync("/etc/ld.so.cache").includes("libvulkan.so.1")
  } catch {
    return false
  }
}

/** Manifest files where the Vulkan loader looks for them (VK_DRIVER_FILES / VK_ICD_FILENAMES replace the search). */
const manifestFiles = (): string[] => {
  const override = [...envPaths("VK_DRIVER_FILES"), ...envPaths("VK_ICD_FILENAMES")]
  if (override.length > 0) return override.flatMap((p) => (p.endsWith(".json") ? [p] : list(p).map((f) => join(p, f))))
  const config = envPaths("XDG_CONFIG_DIRS")
  const data = envPaths("XDG_DATA_DIRS")
  const roots = [
    ...(config.length > 0 ? config : ["/etc/xdg"]),
    "/etc",
    process.env.XDG_DATA_HOME ?? join(homedir(), ".local/share"),
    ...(data.length > 0 ? data : ["/usr/local/share", "/usr/share"]),
  ]
  return [...new Set(roots)].flatMap((root) => {
    const dir = join(root, "vulkan", "icd.d")
    return list(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => join(dir, f))
  })
}

const readDriver = (manifest: string): VulkanDriver | undefined => {
  try {
    const library = (JSON.parse(readFileSync(manifest, "utf8")) as { ICD?: { library_path?: unknown } }).ICD?.library_path
    if (typeof library !== "string") return undefined
    return { manifest, library, software: SOFTWARE_LIBRARY.test(library) }
  } catch {
    return undefined
  }
}

export const surveyVulkan = (): VulkanSurvey => ({
  loader: loaderPresent(),
  drivers: manifestFiles().flatMap((m) => readDriver(m) ?? []),
  deviceNodes: [
    ...list("/dev/dri")
      .filter((f) => f.startsWith("renderD"))
      .map((f) => `/dev/dri/${f}`),
    ...list("/dev")
      .filter((f) => /^nvidia\d+$/.test(f))
      .map((f) => `/dev/${f}`),
  ],
})

/**
 * True when a hardware Vulkan device is plausible: the loader, a device node,
 * and a hardware driver for it (an NVIDIA node needs NVIDIA's driver; Mesa
 * installs its Intel and AMD drivers everywhere, so they count only beside a
 * render node).
 */
export const hardwareVulkanLikely = (s: VulkanSurvey): boolean => {
  if (!s.loader) return false
  const hardware = s.drivers.filter((d) => !d.software)
  const nvidia = s.deviceNodes.some((n) => n.startsWith("/dev/nvidia")) && hardware.some((d) => /nvidia/i.test(d.library))
  const dri = s.deviceNodes.some((n) => n.startsWith("/dev/dri/")) && hardware.length > 0
  return nvidia || dri
}
