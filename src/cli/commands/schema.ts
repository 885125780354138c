import { Effect } from "effect"
import { kindSchemaDocument, pipelineSchema } from "../../dsl/schema.js"
import { commonFlags, exitCodes, findKind, loadKinds } from "../context.js"
import type { Command } from "./command.js"

export const schema: Command = {
  name: "schema",
  summary: "print the JSON Schema of pipeline files, or of one kind's config",
  usage: "pipe schema [KIND]",
  maxArguments: 1,
  flags: commonFlags,
  details:
    "One self-contained document (draft-07) that accepts ${params.NAME} references where values go. Editors: put '# yaml-language-server: $schema=../schemas/pipeline.schema.json' at the top of a pipeline file.",
  run: (args) =>
    Effect.gen(function* () {
      const kinds = yield* loadKinds(args)
      const name = args.positional[0]
      const kind = name === undefined ? undefined : yield* findKind(kinds, name)
      process.stdout.write(`${JSON.stringify(kind ? kindSchemaDocument(kind) : pipelineSchema(kinds, "editor"), null, 2)}\n`)
      return exitCodes.ok
    }),
}
