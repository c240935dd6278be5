// The ESP32 build as far as it goes without ESP-IDF and the Xtensa toolchain (neither can be
// installed from the registries these machines reach):
//   1. `mcconfig -m -p esp32 -t build` runs the manifest stage (module map, preloads, config,
//      creation; it writes the makefile under OUT/tmp/esp32/...), then stops: "$IDF_PATH not set".
//   2. The generated makefile is the SDK's make.esp32.mk fragment between the generated
//      variables and rules (tools/mcconfig.js copies it in verbatim). With that fragment swapped
//      for two rules, make runs what needs no ESP-IDF: tsc and xsc for every module, xsid, and
//      the XS linker (xsl) with the ESP32 build's preloads, strip and creation settings, which
//      preloads the modules and writes mc.xs.c (the linked XS machine as C), plus mcrez.
//   3. Compiling that C (and ESP-IDF, lwip, the SDK's C modules) needs xtensa-esp32-elf-gcc
//      and ESP-IDF's headers: not done here.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mcconfig, toolPath } from "./build.mjs";

const XS_ONLY = `# npm run firmware: the SDK's make.esp32.mk replaced by the steps that need no ESP-IDF
.PHONY: xs
xs: $(TMP_DIR)/mc.xs.c $(TMP_DIR)/mc.resources.c
$(TMP_DIR)/mc.xs.c: $(MODULES) $(MANIFEST)
	@echo "# xsl modules"
	xsl -b $(MODULES_DIR) -o $(TMP_DIR) $(PRELOADS) $(STRIPS) $(CREATION) $(MODULES)
$(TMP_DIR)/mc.resources.c: $(DATA) $(RESOURCES) $(MANIFEST)
	@echo "# mcrez resources"
	mcrez $(DATA) $(RESOURCES) -o $(TMP_DIR) -p esp32 -r mc.resources.c
MAKEFLAGS += --silent
`;

/**
 * Runs the ESP32 stages for the app in `dir` (manifest file `manifest`), debug or release,
 * into `out`. Returns { manifestStage, idfMessage, xs: { ok, output, warnings, errors }, mcXsBytes, summary }.
 */
export function esp32Stage({ moddable, repo, dir, manifest, debug, out, name }) {
	const env = { ...process.env };
	delete env.IDF_PATH; // the point: how far without it
	const args = [...(debug ? ["-d"] : []), "-m", "-p", "esp32", "-t", "build", "-o", out, manifest];
	// Compile and link xscoap's modules afresh, so that their warnings are printed every run.
	for (const d of ["modules/xscoap", "tsc", "mc.xs.c"]) rmSync(join(out, "tmp/esp32", debug ? "debug" : "release", name, d), { recursive: true, force: true });
	const m = mcconfig({ moddable, repo, dir, args });
	const idfMessage = /\$IDF_PATH not set[^\n]*/.exec(m.output)?.[0];
	const tmp = join(out, "tmp/esp32", debug ? "debug" : "release", name);
	const makefile = join(tmp, "makefile");
	const result = { manifestStage: existsSync(makefile), idfMessage, mcconfig: m, xs: null, mcXsBytes: 0, tmp };
	if (!result.manifestStage) return result;
	const fragment = readFileSync(join(moddable, "tools/mcconfig/make.esp32.mk"), "utf8");
	const text = readFileSync(makefile, "utf8");
	if (!text.includes(fragment)) {
		result.xs = { ok: false, output: "", warnings: { ours: [], sdk: [] }, errors: ["the generated makefile does not contain tools/mcconfig/make.esp32.mk verbatim (SDK changed?)"] };
		return result;
	}
	const xsMakefile = join(tmp, "makefile.xs");
	writeFileSync(xsMakefile, text.replace(fragment, XS_ONLY));
	const r = spawnSync("make", ["-f", xsMakefile, "xs"], { cwd: tmp, encoding: "utf8", env: { ...env, MODDABLE: moddable, PATH: toolPath(moddable, repo) }, maxBuffer: 64 * 1024 * 1024, timeout: 600000 });
	const output = (r.stdout ?? "") + (r.stderr ?? "");
	const ours = [];
	const sdk = [];
	const errors = [];
	for (const line of output.split("\n")) {
		if (/warning/i.test(line)) (/xscoap\//.test(line) || line.includes(repo) ? ours : sdk).push(line.trim());
		else if (/error/i.test(line)) errors.push(line.trim());
	}
	const mcxs = join(tmp, "mc.xs.c");
	result.mcXsBytes = existsSync(mcxs) ? readFileSync(mcxs).length : 0;
	result.xs = { ok: r.status === 0 && result.mcXsBytes > 0, output, warnings: { ours, sdk }, errors, linked: /### (\d+ instances[^\n]*)/.exec(output)?.[1] };
	return result;
}
