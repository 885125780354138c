// Writes schemas/pipeline.schema.json and schemas/nodes/KIND.schema.json from the built-in kinds (run `npm run build` first).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { builtinKinds } from "../dist/nodes/index.js"
import { kindSchemaDocument, pipelineSchema } from "../dist/dsl/schema.js"

const root = new URL("../schemas/", import.meta.url)
const write = (path, schema) => writeFileSync(new URL(path, root), `${JSON.stringify(schema, null, 2)}\n`)

mkdirSync(new URL("nodes/", root), { recursive: true })
for (const file of readdirSync(new URL("nodes/", root))) rmSync(new URL(`nodes/${file}`, root))
write("pipeline.schema.json", pipelineSchema(builtinKinds, "editor"))
for (const kind of builtinKinds) write(`nodes/${kind.kind}.schema.json`, kindSchemaDocument(kind))
