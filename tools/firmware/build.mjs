// mcconfig runs for npm run firmware: one build of a manifest for a platform, its output kept,
// and the warnings it printed sorted into xscoap's own (a failure) and the SDK's (reported).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** PATH for mcconfig: the SDK's tools, and tsc (TypeScript 7) from this repository's node_modules. */
export function toolPath(moddable, repo) {
	return [join(repo, "node_modules/.bin"), join(moddable, "build/bin/lin/release"), process.env.PATH ?? ""].join(delimiter);
}

/**
 * Runs mcconfig in `dir` (the app's folder) with `args`. Returns { ok, seconds, output,
 * warnings: { ours, sdk }, errors }. `### warning:` lines name the module they are about
 * (xsl's preload checks, documentation/xs/XS linker warnings.md); `warning:` lines from the C
 * compiler name a file. A warning is xscoap's when it names an xscoap module or a file of this
 * repository.
 */
export function mcconfig({ moddable, repo, dir, args, timeoutMs = 600000 }) {
	const started = Date.now();
	const r = spawnSync(join(moddable, "build/bin/lin/release/mcconfig"), args, {
		cwd: dir,
		encoding: "utf8",
		timeout: timeoutMs,
		env: { ...process.env, MODDABLE: moddable, PATH: toolPath(moddable, repo) },
		maxBuffer: 64 * 1024 * 1024,
	});
	const output = (r.stdout ?? "") + (r.stderr ?? "");
	const ours = [];
	const sdk = [];
	const errors = [];
	for (const line of output.split("\n")) {
		if (/^### warning:|\bwarning:/.test(line)) (/xscoap\/|\/examples\/sensor\/|\/hosts\/moddable\/|\/modules\/coap\//.test(line) || line.includes(repo) ? ours : sdk).push(line.trim());
		else if (/^### Error|error TS\d+|\berror:|\*\*\* \[/.test(line)) errors.push(line.trim());
	}
	return { ok: r.status === 0 && !r.error, status: r.status, seconds: (Date.now() - started) / 1000, output, warnings: { ours, sdk }, errors };
}

/** The mc.so an mcconfig -o OUT build for lin wrote (debug or release), or undefined. */
export function simulatorBinary(out, debug, name) {
	const p = join(out, "bin/lin/mc", debug ? "debug" : "release", name, "mc.so");
	return existsSync(p) ? p : undefined;
}
