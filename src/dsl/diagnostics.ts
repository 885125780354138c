/** A user-facing problem in a pipeline file: where it is, which document path, one line of message. */
export interface Diagnostic {
  /** `file:line:col`, or the command-line flag that introduced the value. */
  readonly where: string
  /** Dotted path in the document, e.g. `nodes.train.with.lr`. */
  readonly path: string
  readonly message: string
}

export const formatDiagnostic = (d: Diagnostic): string => (d.path ? `${d.where} ${d.path}: ${d.message}` : `${d.where} ${d.message}`)

export type DocPath = ReadonlyArray<string | number>

export const dotted = (path: DocPath): string => path.map(String).join(".")
