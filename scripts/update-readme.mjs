// Regenerates README.md's node reference from the code (`pipe nodes --markdown`); test/readme.test.ts checks it.
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"

const env = { ...process.env }
delete env.PIPE_PLUGINS
const reference = execFileSync(process.execPath, ["bin/pipe.js", "nodes", "--markdown"], { encoding: "utf8", env })
const readme = readFileSync("README.md", "utf8")
const updated = readme.replace(/(<!-- nodes:start -->\n)[\s\S]*?(<!-- nodes:end -->)/, `$1${reference}$2`)
writeFileSync("README.md", updated)
