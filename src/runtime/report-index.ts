import { cp, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { PipelineGraph } from "../dsl/graph.js"

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/**
 * Gathers the report files of every node of a run (each stored with its node's cached result, so a cached
 * node's plots come along too) into `runDir/report/NODE/`, and writes `report/README.md`, which shows them
 * in graph order: images inline, Markdown tables included.
 */
export const assembleReport = async (
  graph: PipelineGraph,
  completed: ReadonlyArray<{ readonly id: string; readonly dir: string }>,
  reportDir: string,
): Promise<string | undefined> => {
  const sections: string[] = []
  const tablesFirst = [...completed].sort(
    (a, b) => Number(graph.nodes.get(b.id)?.kind.kind === "metric") - Number(graph.nodes.get(a.id)?.kind.kind === "metric"),
  )
  for (const { id, dir } of tablesFirst) {
    const source = join(dir, "report")
    if (!(await exists(source))) continue
    await mkdir(reportDir, { recursive: true })
    await cp(source, join(reportDir, id), { recursive: true })
    const files = (await readdir(source)).sort()
    const lines = [`## ${id} (${graph.nodes.get(id)?.kind.kind})`, ""]
    for (const file of files.filter((f) => f.endsWith(".md"))) lines.push((await readFile(join(source, file), "utf8")).trim(), "")
    for (const file of files.filter((f) => f.endsWith(".png"))) lines.push(`![${id}: ${file}](${id}/${file})`, "")
    const others = files.filter((f) => !f.endsWith(".png") && !f.endsWith(".md"))
    if (others.length) lines.push(`Data: ${others.map((f) => `[${f}](${id}/${f})`).join(", ")}`, "")
    sections.push(lines.join("\n"))
  }
  if (sections.length === 0) return undefined
  const title = [`# ${graph.name}`, "", graph.description ?? "", ""].join("\n")
  await writeFile(join(reportDir, "README.md"), `${title}\n${sections.join("\n")}`)
  return reportDir
}
