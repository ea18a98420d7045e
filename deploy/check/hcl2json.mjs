// Parses every *.tf file of a directory with HashiCorp's HCL parser (the
// WebAssembly build in @cdktf/hcl2json) and writes each as JSON to OUT_DIR,
// for validate.py. A syntax error fails with the file, line and message.
//
// usage: node hcl2json.mjs TF_DIR OUT_DIR   (run from a directory whose
//        node_modules has @cdktf/hcl2json: NODE_PATH is honoured)
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.cwd(), "noop.js"));
const { parse } = require("@cdktf/hcl2json");

const [tfDir, outDir] = process.argv.slice(2);
if (!tfDir || !outDir) {
  console.error("usage: node hcl2json.mjs TF_DIR OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
let failed = 0;
const files = readdirSync(tfDir).filter((f) => f.endsWith(".tf")).sort();
for (const file of files) {
  try {
    const json = await parse(file, readFileSync(join(tfDir, file), "utf8"));
    writeFileSync(join(outDir, `${file}.json`), JSON.stringify(json, null, 1));
  } catch (err) {
    console.error(`${join(tfDir, file)}: ${String(err.message || err)}`);
    failed++;
  }
}
console.log(`hcl2json: ${files.length - failed} of ${files.length} files parsed`);
process.exit(failed ? 1 : 0);
