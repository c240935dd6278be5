/**
 * The package as a user gets it: `npm pack` makes the tarball, a scratch project in a temp
 * directory installs it (from the local npm cache where it can, no other network than the npm
 * registry), and then:
 * - the install prints no warning (no EBADENGINE, no install scripts awaiting approval, no
 *   `prepare`), and brings no cbor-x (it is bundled into the CLI's output);
 * - `xscoap`, `xscoap/core`, `xscoap/node`, `xscoap/sim` and `xscoap/demo` import in ESM;
 * - every ```js and ```ts block of README.md runs as written (ts: typechecked in strict mode
 *   with moduleResolution nodenext and bundler, then compiled and run), exits by itself with
 *   status 0 and nothing on stderr, and prints what the ```output block after it shows;
 * - the installed `xscoap` command works from the scratch project: --version, `device
 *   examples/sensor` (found in the package), `sim` (a fleet of two on two worker threads), and
 *   CBOR shown as diagnostic notation.
 * Uses the build in build/ (npm test builds first; `npm run bundle` again, in case a bare `tsc`
 * replaced the bundled cbor.js): the tarball is packed with --ignore-scripts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child, ROOT, killAll, run } from "./helpers.js";

interface Snippet {
	lang: "js" | "ts";
	code: string;
	output: string | undefined;
	line: number;
}

/** The ```js and ```ts blocks of a Markdown text, each with the ```output block right after it (if any). */
export function readmeSnippets(markdown: string): Snippet[] {
	const blocks: { lang: string; code: string; line: number }[] = [];
	const lines = markdown.split("\n");
	for (let i = 0; i < lines.length; i++) {
		const m = /^```(\S*)\s*$/.exec(lines[i]!);
		if (!m || m[1] === "") continue;
		const start = i;
		const body: string[] = [];
		for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
		blocks.push({ lang: m[1]!, code: body.join("\n") + "\n", line: start + 1 });
	}
	const out: Snippet[] = [];
	for (let k = 0; k < blocks.length; k++) {
		const b = blocks[k]!;
		if (b.lang !== "js" && b.lang !== "ts") continue;
		const next = blocks[k + 1];
		out.push({ lang: b.lang, code: b.code, line: b.line, output: next?.lang === "output" ? next.code : undefined });
	}
	return out;
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");

describe("the npm package (npm pack, installed into a scratch project)", function () {
	this.timeout(180000);
	let tmp = "";
	let consumer = "";
	let tarball = "";
	let installOutput = "";
	let files: string[] = [];

	before(async () => {
		tmp = mkdtempSync(join(tmpdir(), "xscoap-pack-"));
		// cbor-x bundled into the CLI's output, as the build does (a bare `tsc` undoes it).
		const bundle = spawnSync(npm, ["run", "-s", "bundle"], { cwd: ROOT, encoding: "utf8" });
		assert.equal(bundle.status, 0, bundle.stderr);
		const pack = spawnSync(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: ROOT, encoding: "utf8" });
		assert.equal(pack.status, 0, pack.stderr);
		const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
		tarball = join(tmp, info[0]!.filename);
		files = info[0]!.files.map((f) => f.path);
		consumer = join(tmp, "consumer");
		mkdirSync(consumer);
		writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
		const types = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).devDependencies["@types/node"] as string;
		const install = spawnSync(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, "@types/node@" + types], { cwd: consumer, encoding: "utf8" });
		installOutput = install.stdout + install.stderr;
		assert.equal(install.status, 0, installOutput);
	});

	after(() => {
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	it("the tarball holds the built JavaScript, the .d.ts files, LICENSE, README and the firmware sources, no tests", () => {
		for (const f of ["LICENSE", "README.md", "package.json", "manifest.json", "bin/xscoap.js", "build/index.js", "build/index.d.ts", "build/modules/coap/index.d.ts", "build/hosts/node/index.d.ts", "build/sim/index.d.ts", "build/hosts/node/cli/cbor.js", "modules/coap/endpoint.ts", "hosts/moddable/udp.ts", "examples/sensor/manifest.json"]) {
			assert.ok(files.includes(f), f + " missing from the tarball");
		}
		assert.ok(!files.some((f) => f.startsWith("build/tests/") || f.startsWith("tests/")), "no tests in the tarball");
		const cbor = readFileSync(join(consumer, "node_modules/xscoap/build/hosts/node/cli/cbor.js"), "utf8");
		assert.doesNotMatch(cbor, /from\s+["']cbor-x["']/, "cbor-x is bundled, not imported");
	});

	it("installs without a warning, without cbor-x and without install scripts", () => {
		assert.doesNotMatch(installOutput, /warn|EBADENGINE|install-scripts|prepare/i, installOutput);
		const pkg = JSON.parse(readFileSync(join(consumer, "node_modules/xscoap/package.json"), "utf8")) as { dependencies?: Record<string, string>; scripts?: Record<string, string> };
		assert.ok(!("cbor-x" in (pkg.dependencies ?? {})));
		assert.ok(!("prepare" in (pkg.scripts ?? {})) && !("install" in (pkg.scripts ?? {})) && !("postinstall" in (pkg.scripts ?? {})));
		assert.ok(!existsSync(join(consumer, "node_modules/cbor-x")));
		assert.ok(!existsSync(join(consumer, "node_modules/cbor-extract")));
	});

	it("the root and every subpath import in ESM JavaScript", async () => {
		const script = [
			'import * as root from "xscoap";',
			'import * as core from "xscoap/core";',
			'import * as node from "xscoap/node";',
			'import * as sim from "xscoap/sim";',
			'import * as demo from "xscoap/demo";',
			"const ok = typeof root.Router === 'function' && typeof root.openEndpoint === 'function' && typeof root.CoapError === 'function' && root.Router === core.Router && root.openEndpoint === node.openEndpoint && typeof sim.VirtualNetwork === 'function' && typeof demo.demoRouter === 'function' && typeof node.FileServer === 'function';",
			"console.log(ok ? 'ok' : 'missing');",
		].join("\n");
		writeFileSync(join(consumer, "imports.mjs"), script);
		const r = await run(process.execPath, ["imports.mjs"], { cwd: consumer });
		assert.equal(r.stdout.trim(), "ok", r.stderr);
	});

	const snippets = readmeSnippets(readFileSync(join(ROOT, "README.md"), "utf8"));

	it("README.md has runnable JavaScript and TypeScript snippets", () => {
		assert.ok(snippets.some((s) => s.lang === "js"), "a ```js block");
		assert.ok(snippets.some((s) => s.lang === "ts"), "a ```ts block");
	});

	for (const [i, s] of snippets.entries()) {
		it("README.md line " + s.line + ": the ```" + s.lang + " block " + (s.lang === "ts" ? "typechecks (strict, nodenext and bundler), " : "") + "runs, exits 0" + (s.output !== undefined ? " and prints the ```output block" : ""), async () => {
			const name = "snippet" + i;
			let file = name + ".mjs";
			if (s.lang === "ts") {
				const dir = join(consumer, name);
				mkdirSync(dir, { recursive: true });
				writeFileSync(join(dir, "snippet.ts"), s.code);
				const base = { strict: true, target: "es2022", lib: ["es2022"], types: ["node"], skipLibCheck: false, noEmitOnError: true };
				writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { ...base, module: "nodenext", moduleResolution: "nodenext", outDir: "out" }, files: ["snippet.ts"] }));
				writeFileSync(join(dir, "tsconfig.bundler.json"), JSON.stringify({ compilerOptions: { ...base, module: "preserve", moduleResolution: "bundler", noEmit: true }, files: ["snippet.ts"] }));
				for (const config of ["tsconfig.json", "tsconfig.bundler.json"]) {
					const check = await run(process.execPath, [tsc, "-p", join(dir, config)], { cwd: dir, timeoutMs: 120000 });
					assert.equal(check.code, 0, config + ": " + check.stdout + check.stderr);
				}
				file = join(name, "out", "snippet.js");
			} else writeFileSync(join(consumer, file), s.code);
			const r = await run(process.execPath, [file], { cwd: consumer, timeoutMs: 30000 });
			assert.ok(!r.timedOut, "the snippet did not exit by itself (endpoints left open?)");
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stderr, "");
			if (s.output !== undefined) assert.equal(r.stdout, s.output);
		});
	}

	it("the installed xscoap command: --version, device examples/sensor from the package, sim, CBOR as diagnostic notation", async () => {
		const bin = join(consumer, "node_modules", ".bin", "xscoap");
		const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
		const v = await run(bin, ["--version"], { cwd: consumer });
		assert.equal(v.stdout, "xscoap " + version + "\n", v.stderr);
		const device = new Child(bin, ["device", "examples/sensor", "--bind", "127.0.0.1:0"], { cwd: consumer });
		try {
			const m = await device.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//);
			const t = await run(bin, ["get", "coap://127.0.0.1:" + m[1] + "/sensors/temperature"], { cwd: consumer });
			assert.equal(t.code, 0, t.stderr);
			assert.match(t.stdout, /\d/);
		} finally {
			await device.stop();
		}
		// The fleet simulation from the package: the example's manifests and the worker threads are in it.
		const base = 20000 + Math.floor(Math.random() * 10000);
		const sim = new Child(bin, ["sim", "--devices", "2", "--workers", "2", "--base-port", String(base)], { cwd: consumer });
		try {
			await sim.waitFor(/registered 2\/2 with /, 20000);
			sim.proc.kill("SIGINT");
			assert.equal((await sim.exited).code, 0, sim.stderr);
			assert.match(sim.stdout, /stopped: 2 devices, 2 deregistered/);
		} finally {
			await sim.stop();
		}
		const serve = new Child(bin, ["serve", "--bind", "127.0.0.1:0"], { cwd: consumer });
		try {
			const m = await serve.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//);
			writeFileSync(join(consumer, "p.cbor"), Buffer.from("a201616161624201ff", "hex"));
			const r = await run(bin, ["post", "coap://127.0.0.1:" + m[1] + "/echo", "-f", "p.cbor", "-t", "cbor", "--pretty"], { cwd: consumer });
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "{1: \"a\", \"b\": h'01ff'}\n");
		} finally {
			await serve.stop();
		}
	});
});
