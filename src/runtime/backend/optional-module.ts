/** Imports a package that may be absent, bypassing the TypeScript resolver (which would require it). */
export const importOptional = (specifier: string): Promise<unknown> => import(specifier)

/** The first line of an error's message: loaders append long diagnostics below it. */
export const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0]!
