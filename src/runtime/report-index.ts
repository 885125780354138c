import { readdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { PipelineGraph } from "../dsl/graph.js"

/**
 * Indexes the report files of the nodes of a run, copied from the store (each stored with its node's cached result,
 * so a cached node's plots come along too) into `reportDir/NODE/`: writes `reportDir/README.md`, which shows them
 * in graph order, images inline, Markdown tables included.
 */
export const assembleReport = async (
  graph: PipelineGraph,
  nodes: ReadonlyArray<string>,
  reportDir: string,
): Promise<string | undefined> => {
  const sections: string[] = []
  const tablesFirst = [...nodes].sort(
    (a, b) => Number(graph.nodes.get(b)?.kind.kind === "metric") - Number(graph.nodes.get(a)?.kind.kind === "metric"),
  )
  for (const id of tablesFirst) {
    const source = join(reportDir, id)
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
