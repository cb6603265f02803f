// Builds agent_ui/vendor/jssip.js (the browser softphone's SIP stack) from the pinned
// node_modules, and agent_ui/vendor/jssip.LICENSES.txt beside it: the licence of every package
// that went into the bundle, read from the bundle's own list of inputs, so a dependency that
// JsSIP adds one day brings its notice along by itself.
//
// Run by scripts/setup after `npm ci`. The output is a build product (not committed): the
// desk loads it from its own origin, and nothing is downloaded when the page runs.

import { build } from "esbuild";
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = resolve(here, "../agent_ui/vendor");
const outfile = join(vendor, "jssip.js");
const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;

mkdirSync(vendor, { recursive: true });
const result = await build({
  entryPoints: [join(here, "entry.mjs")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15"],
  minify: true,
  legalComments: "none", // the notices go, whole, into the file beside the bundle
  metafile: true,
  logLevel: "warning",
  outfile,
});

/** The package folder (…/node_modules/<name> or …/node_modules/@scope/<name>) of an input. */
function packageDir(input) {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at < 0) return null;
  const length = parts[at + 1].startsWith("@") ? 3 : 2;
  return resolve(here, parts.slice(0, at + length).join("/"));
}

const packages = [...new Set(Object.keys(result.metafile.inputs).map(packageDir).filter(Boolean))].sort();
const notices = packages.map((dir) => {
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((name) => LICENSE_FILE.test(name));
  if (!file) throw new Error(`${meta.name}: no licence file to ship with the bundle`);
  const text = readFileSync(join(dir, file), "utf8").trim();
  return `${meta.name} ${meta.version} (${meta.license})\n${"-".repeat(72)}\n${text}\n`;
});
writeFileSync(
  join(vendor, "jssip.LICENSES.txt"),
  `The packages bundled into jssip.js, with their licences.\n\n${notices.join("\n")}`,
);
const size = readFileSync(outfile).length;
console.log(`agent_ui/vendor/jssip.js: ${Math.round(size / 1024)} KiB from ${packages.length} packages`);
