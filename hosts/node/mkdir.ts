/**
 * mkdir -p for the Node host, one level at a time. Node's own `mkdirSync(dir, { recursive: true })`
 * never returns where mkdir keeps failing with ENOENT under an existing parent (`/proc/x/y` on
 * Linux: Node 20 loops forever), and a bad `--state` or `--oscore-dir` must give an error, not a hang.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** Creates `dir` and its missing parents (each with `mode`); an existing directory is fine. Throws Node's error otherwise. */
export function makeDirectory(dir: string, mode = 0o777): void {
	try {
		mkdirSync(dir, { mode });
	} catch (e) {
		const code = (e as NodeJS.ErrnoException).code;
		if (code === "EEXIST") {
			if (!statSync(dir).isDirectory()) throw e;
			return;
		}
		const parent = dirname(dir);
		if (code !== "ENOENT" || parent === dir) throw e;
		makeDirectory(parent, mode);
		mkdirSync(dir, { mode });
	}
}
