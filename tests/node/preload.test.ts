// Firmware readiness checks that need the file system (Node only):
// - preload safety: no module Moddable preloads (modules/, hosts/moddable/, examples/) creates
//   mutable state at top level (tests/node/preload-check.ts), proved on negative fixtures;
// - the root manifest.json maps every module folder and preloads every module by exact name,
//   and its config.coap is the ESP32 profile of modules/coap/device.ts, within 24 KiB;
// - the examples' manifests include the root one and name files that exist;
// - the README's memory table is what examples/budget.mjs computes;
// - `xscoap device examples/sensor` runs the firmware example's app on the Node host;
// - hosts/moddable, bundled with fakes of the SDK modules it imports (time, timer,
//   embedded:io/socket/udp, preference, mc/config), folds Time.ticks across the wrap, keeps
//   its one Timer alive, and carries an Endpoint's requests and responses.
import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { DEVICE_BUDGET_BYTES, ESP32_DEVICE_CONFIG, deviceBudget, deviceSettings } from "../../modules/coap/device.js";
import { openEndpoint } from "../../hosts/node/ports.js";
import { checkSource, checkTree, formatViolations, type Allowance } from "./preload-check.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const FIXTURES = join(ROOT, "tests/node/fixtures/preload");

/** Folders whose modules a firmware build preloads. */
const PRELOADED = ["modules", "hosts/moddable", "examples"];

/**
 * Accepted exceptions in files this check cannot annotate (owned elsewhere). Each names why
 * it is safe; prefer a `// preload-safe: <reason>` comment in the file itself.
 */
const ALLOW: readonly Allowance[] = [
	{
		file: "modules/coap/endpoint.ts",
		match: "`WELL_KNOWN[]`",
		reason: "the pre-encoded /.well-known/core segments are only compared, never written (reads of a preloaded typed array work)",
	},
];

/** Lines of a fixture marked with the EXPECT marker. */
function expectedLines(src: string): number[] {
	const lines: number[] = [];
	src.split("\n").forEach((l, i) => {
		if (/\/\/ EXPECT\s*$/.test(l)) lines.push(i + 1);
	});
	return lines;
}

function uniqueLines(v: readonly { line: number }[]): number[] {
	return [...new Set(v.map((x) => x.line))].sort((a, b) => a - b);
}

function tsModules(dir: string): string[] {
	const out: string[] = [];
	for (const name of readdirSync(join(ROOT, dir)).sort()) {
		const rel = dir + "/" + name;
		if (statSync(join(ROOT, rel)).isDirectory()) out.push(...tsModules(rel));
		else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(rel);
	}
	return out;
}

interface Manifest {
	include?: string | string[];
	creation?: { main?: string; stack?: number };
	config?: Record<string, unknown>;
	modules?: Record<string, string | string[]>;
	preload?: string[];
	platforms?: Record<string, unknown>;
}

/**
 * Portable modules that are not part of the firmware: the OSCORE interop test tools
 * (modules/plugtest/: the resources and checks of `xscoap plugtest-server`/`plugtest-client`).
 * They are still scanned for preload safety, like everything under modules/.
 */
const NOT_IN_FIRMWARE = ["modules/plugtest/"];

/**
 * Firmware modules that are mapped but must not be preloaded, each with why: the adapters over
 * noble import @noble/hashes and @noble/ciphers, which write module-level scratch buffers (SHA-256's
 * message schedule, HKDF's counter); preloaded, those would be frozen into flash and the first
 * key derivation would throw (DESIGN.md "Preloaded modules freeze"). They load at run time.
 */
const NOT_PRELOADED: Readonly<Record<string, string>> = Object.freeze({
	"modules/coap/oscore/noble.ts": "imports @noble/hashes (module-level scratch state)",
	"modules/coap/oscore/ccm.ts": "imports @noble/ciphers (loaded with noble.ts at run time, not preloaded)",
	"hosts/moddable/oscore-crypto.ts": "imports the SDK's crypt module, which an app that uses OSCORE includes ($(MODDABLE)/modules/crypt/digest/manifest.json) and then may preload it (examples/sensor does)",
});

function firmwareModules(dir: string): string[] {
	return tsModules(dir).filter((f) => !NOT_IN_FIRMWARE.some((d) => f.startsWith(d)));
}

function readManifest(rel: string): Manifest {
	return JSON.parse(readFileSync(join(ROOT, rel), "utf8")) as Manifest;
}

describe("preload safety (Moddable preloads modules into flash: no mutable top-level state)", function () {
	it("modules/, hosts/moddable/ and examples/ create no mutable state at top level", () => {
		const { files, violations } = checkTree(ROOT, PRELOADED, ALLOW);
		assert.ok(files >= 30, "scanned " + files + " files");
		assert.equal(violations.length, 0, "top-level state that breaks once preloaded:\n" + formatViolations(violations));
	});

	it("the negative fixture: every construct marked EXPECT is reported at its line, nothing else", () => {
		const src = readFileSync(join(FIXTURES, "unsafe.ts.fixture"), "utf8");
		const v = checkSource(src, "unsafe.ts");
		const expected = expectedLines(src);
		assert.ok(expected.length >= 30);
		assert.deepEqual(uniqueLines(v), expected, formatViolations(v));
		for (const x of v) assert.match(formatViolations([x]), /^unsafe\.ts:\d+: \S/);
	});

	it("the positive fixture (strings, comments, templates, regexes, types, classes, functions) reports nothing", () => {
		const src = readFileSync(join(FIXTURES, "safe.ts.fixture"), "utf8");
		const v = checkSource(src, "safe.ts");
		assert.equal(v.length, 0, formatViolations(v));
	});

	it("checkTree reports a temporary module's top-level state as file:line, and skips .d.ts and main.ts", () => {
		const dir = mkdtempSync(join(tmpdir(), "xscoap-preload-"));
		try {
			mkdirSync(join(dir, "lib/sub"), { recursive: true });
			writeFileSync(join(dir, "lib/ok.ts"), "export const A = 1;\nexport function f(): number[] { return [A]; }\n");
			writeFileSync(join(dir, "lib/sub/bad.ts"), "// a counter\nexport const LIMIT = 4;\nlet count = 0;\nexport function next(): number { return ++count; }\nconst buf = new Uint8Array(LIMIT);\n");
			writeFileSync(join(dir, "lib/sub/types.d.ts"), "declare let anything: number;\n");
			writeFileSync(join(dir, "lib/main.ts"), "let started = Date.now();\n");
			const { files, violations } = checkTree(dir, ["lib"]);
			assert.equal(files, 2);
			assert.deepEqual(
				violations.map((x) => x.file + ":" + x.line),
				[join("lib", "sub", "bad.ts") + ":3", join("lib", "sub", "bad.ts") + ":5"],
			);
			const allowed = checkTree(dir, ["lib"], [{ file: join("lib", "sub", "bad.ts"), match: "`buf`", reason: "test" }]);
			assert.equal(allowed.violations.length, 1);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it("`// preload-safe: <reason>` on the line or the line above suppresses a report; a bare marker does not", () => {
		assert.equal(checkSource("const a = new Uint8Array(1); // preload-safe: read only\n", "x").length, 0);
		assert.equal(checkSource("// preload-safe: read only\nconst a = new Uint8Array(1);\n", "x").length, 0);
		assert.equal(checkSource("const a = new Uint8Array(1); // preload-safe:\n", "x").length, 1);
		assert.equal(checkSource("// preload-safe: far away\n\nconst a = new Uint8Array(1);\n", "x").length, 1);
	});

	it("code the scanner cannot read is reported, not passed (unterminated string, unbalanced brackets)", () => {
		assert.match(formatViolations(checkSource('const a = "open;\n', "x.ts")), /^x\.ts:1: cannot scan: unterminated string/);
		assert.match(formatViolations(checkSource("export function f() {\n  return 1;\n", "x.ts")), /cannot scan: unclosed \{ on line 1/);
	});

	it("scans every TypeScript file of the repository without a scanner error (robustness)", () => {
		const { files, violations } = checkTree(ROOT, ["modules", "hosts", "sim", "tests", "examples"]);
		assert.ok(files > 40);
		const errors = violations.filter((v) => v.message.startsWith("cannot scan"));
		assert.equal(errors.length, 0, formatViolations(errors));
	});
});

describe("firmware manifests", function () {
	const root = readManifest("manifest.json");

	it("the root manifest includes the ECMA-419 IO manifest and Preference, and reads its capacities from config.coap", () => {
		const includes = ([] as string[]).concat(root.include ?? []);
		assert.ok(includes.includes("$(MODDABLE)/modules/io/manifest.json"));
		assert.ok(includes.includes("$(MODDABLE)/modules/files/preference/manifest.json"));
		// Every capacity is written out in the manifest, with the ESP32 profile's value.
		const coap = (root.config?.coap ?? {}) as Record<string, unknown>;
		const profile = ESP32_DEVICE_CONFIG as unknown as Record<string, number>;
		const wrong = Object.keys(profile).filter((k) => coap[k] !== profile[k]).map((k) => `"${k}": ${profile[k]}`);
		assert.deepEqual(wrong, [], "manifest.json config.coap must carry ESP32_DEVICE_CONFIG (modules/coap/device.ts):\n" + wrong.join(",\n"));
		assert.deepEqual(Object.keys(coap).filter((k) => !(k in profile) && k !== "multicast"), [], "unknown keys in config.coap");
		const budget = deviceBudget(deviceSettings(root.config?.coap as Record<string, number>));
		assert.ok(budget.total < DEVICE_BUDGET_BYTES, "config.coap costs " + budget.total + " bytes");
	});

	it("one xscoap/<path>/* line per module folder (the wildcard does not recurse), hosts/moddable included", () => {
		const folders = new Set<string>();
		for (const f of [...firmwareModules("modules"), ...tsModules("hosts/moddable")]) folders.add(f.slice(0, f.lastIndexOf("/")));
		const expected: Record<string, string> = {};
		for (const d of [...folders].sort()) expected["xscoap/" + d + "/*"] = "./" + d + "/*";
		const missing = Object.keys(expected).filter((k) => root.modules?.[k] !== expected[k]);
		assert.deepEqual(missing, [], "add to manifest.json modules:\n" + missing.map((k) => `"${k}": "${expected[k]}",`).join("\n"));
		for (const [name, path] of Object.entries(root.modules ?? {})) {
			if (name === "~") continue; // exclusions: files the wildcards would otherwise turn into modules
			assert.ok(name.startsWith("xscoap/") && typeof path === "string" && path === "./" + name.slice(7), name + " must mirror its repository path");
			assert.ok(existsSync(join(ROOT, (path as string).slice(2, -2))), path + " exists");
		}
	});

	it("every module is preloaded by its exact name (.ts modules do not match preload wildcards), and every preload exists", () => {
		const modules = [...firmwareModules("modules"), ...tsModules("hosts/moddable")].filter((f) => !(f in NOT_PRELOADED)).map((f) => "xscoap/" + f.slice(0, -3));
		// hosts/moddable/store is preloaded on the devices only: on the simulators the SDK's
		// Preference is JavaScript that reads its file when loaded, so preloading it would freeze
		// the build machine's preferences into the image (xsl: "Preference.#cache: not frozen").
		const STORE = "xscoap/hosts/moddable/store";
		for (const p of ["esp32", "esp", "pico"]) assert.deepEqual((root.platforms?.[p] as Manifest | undefined)?.preload, [STORE], p);
		for (const p of ["lin", "mac", "win"]) assert.equal((root.platforms?.[p] as Manifest | undefined)?.preload, undefined, p);
		const preload = [...(root.preload ?? []), STORE];
		const missing = modules.filter((m) => !preload.includes(m));
		assert.deepEqual(missing, [], "add to manifest.json preload:\n" + missing.map((m) => `"${m}",`).join("\n"));
		const stale = preload.filter((p) => !modules.includes(p));
		assert.deepEqual(stale, [], "preloads without a module");
		assert.ok(!preload.some((p) => p.includes("*")), "no wildcards in preload");
	});

	it("no preloaded module imports noble (directly, or through noble.ts / ccm.ts): noble's module state stays out of flash", () => {
		const preloaded = [...firmwareModules("modules"), ...tsModules("hosts/moddable")].filter((f) => !(f in NOT_PRELOADED));
		const offenders: string[] = [];
		for (const f of preloaded) {
			const src = readFileSync(join(ROOT, f), "utf8");
			for (const m of src.matchAll(/^\s*import\s[^;]*?from\s+"([^"]+)"/gm)) {
				const spec = m[1]!;
				if (/^import\s+type\s/.test(m[0].trim())) continue;
				if (spec.startsWith("@noble/") || /\/(noble|ccm)\.js$/.test(spec)) offenders.push(f + " imports " + spec);
			}
		}
		assert.deepEqual(offenders, []);
		for (const f of Object.keys(NOT_PRELOADED)) assert.ok(existsSync(join(ROOT, f)), f + " exists");
	});

	it("hosts/moddable is selected for every platform, the simulators included", () => {
		// The module map is common to all platforms; `platforms` only warns on untested ones.
		assert.equal(root.modules?.["xscoap/hosts/moddable/*"], "./hosts/moddable/*");
		for (const p of ["esp32", "lin", "mac", "win"]) assert.ok(root.platforms?.[p] !== undefined, p);
		const fallback = root.platforms?.["..."] as { error?: string } | undefined;
		assert.equal(fallback?.error, undefined, "no platform is refused");
	});

	for (const file of ["examples/sensor/manifest.json", "examples/sensor/manifest_sht3x.json"]) {
		it(file + " includes the root manifest, names existing files and starts its main module un-preloaded", () => {
			const m = readManifest(file);
			const dir = file.slice(0, file.lastIndexOf("/"));
			assert.ok(([] as string[]).concat(m.include ?? []).includes("../../manifest.json"));
			const main = m.creation?.main;
			assert.equal(main, "xscoap/" + dir + "/main");
			for (const [name, path] of Object.entries(m.modules ?? {})) {
				const base = join(ROOT, dir, path as string);
				if (existsSync(base + ".d.ts")) continue; // types for an SDK module (mcconfig maps its name to them for tsc)
				assert.ok(name.startsWith("xscoap/" + dir + "/"), name + " sits under xscoap/" + dir);
				assert.ok(existsSync(base + ".ts"), relative(ROOT, base) + ".ts exists");
			}
			const includes = ([] as string[]).concat(m.include ?? []);
			assert.equal(includes[0], "$(MODDABLE)/examples/manifest_base.json", "an app includes manifest_base.json (it defines $(MODULES) and the platform's device manifest)");
			assert.ok(includes.includes("$(MODDABLE)/examples/manifest_net.json"), "manifest_net.json: Wi-Fi set-up (ssid=, password=) on the devices");
			const stack = m.creation?.stack;
			assert.ok(typeof stack === "number" && stack >= 384, "creation.stack is set (measured by npm run firmware)");
			assert.ok(m.modules?.[main!] !== undefined, "the main module is in the build");
			assert.ok(!(m.preload ?? []).includes(main!), "main is not preloaded: its body starts the device");
			for (const p of m.preload ?? []) {
				if (p.startsWith("xscoap/" + dir + "/")) {
					assert.ok(m.modules?.[p] !== undefined, p + " is a module of the example");
					continue;
				}
				// A module of the root manifest that it leaves un-preloaded because it needs an SDK
				// module the root does not include: the example includes it and may preload it.
				const file = p.slice("xscoap/".length) + ".ts";
				assert.ok(file in NOT_PRELOADED && existsSync(join(ROOT, file)), p + " is a module of the example or one the root manifest maps but does not preload");
				if (file === "hosts/moddable/oscore-crypto.ts") assert.ok(includes.includes("$(MODDABLE)/modules/crypt/digest/manifest.json"), "the example includes the SDK's crypt module for " + p);
			}
		});
	}
});

describe("README firmware section", function () {
	it("the memory table is what `node examples/budget.mjs` computes from the code and config.coap", () => {
		const table = execFileSync(process.execPath, [join(ROOT, "examples/budget.mjs")], { encoding: "utf8" });
		const readme = readFileSync(join(ROOT, "README.md"), "utf8");
		const m = /<!-- budget-table:begin -->\n([\s\S]*?)<!-- budget-table:end -->/.exec(readme);
		assert.ok(m, "README.md has the budget-table markers");
		assert.equal(m[1], table, "README.md's table is stale: paste the output of `node examples/budget.mjs`");
	});
});

/** Starts `xscoap device DIR` on an ephemeral loopback port; `port` resolves once it listens. */
function startDevice(dir: string): { child: ReturnType<typeof spawn>; output: () => string; exited: Promise<number | null>; port: Promise<number> } {
	const child = spawn(process.execPath, [join(ROOT, "bin/xscoap.js"), "device", dir, "--bind", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
	let out = "";
	child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
	const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
	const listening = /listening on coap:\/\/127\.0\.0\.1:(\d+)\//;
	const port = (async () => {
		for (let i = 0; i < 100 && !listening.test(out); i++) await new Promise((r) => setTimeout(r, 50));
		const p = Number(listening.exec(out)?.[1]);
		assert.ok(p > 0, "started: " + out);
		return p;
	})();
	return { child, output: () => out, exited, port };
}

describe("xscoap device examples/sensor (the firmware example on the Node host)", function () {
	this.timeout(20000);

	it("serves the sensors and the LED over real UDP, prints LED changes, exits 0 on SIGTERM", async () => {
		const { child, output, exited, port: started } = startDevice(join(ROOT, "examples/sensor"));
		const client = await openEndpoint({ address: "127.0.0.1" });
		try {
			const port = await started;
			const uri = (path: string) => "coap://127.0.0.1:" + port + path;
			const t = await client.request({ uri: uri("/sensors/temperature") });
			assert.equal(t.codeText, "2.05");
			assert.match(t.text(), /^\d+\.\d\d$/);
			assert.equal((await client.request({ method: "PUT", uri: uri("/actuators/led"), payload: "on" })).codeText, "2.04");
			assert.equal((await client.request({ uri: uri("/actuators/led") })).text(), "1");
			assert.equal((await client.request({ method: "PUT", uri: uri("/actuators/led"), payload: "blink" })).codeText, "4.00");
			assert.match((await client.request({ uri: uri("/.well-known/core") })).text(), /<\/sensors\/humidity>/);
			for (let i = 0; i < 40 && output().indexOf("LED on") < 0; i++) await new Promise((r) => setTimeout(r, 25));
			assert.match(output(), /\nLED on\n/);
		} finally {
			client.close();
			child.kill("SIGTERM");
		}
		assert.equal(await exited, 0);
	});

	it("samples on the Node host too: an observer of /sensors/temperature is notified at least once per Max-Age (config.sensor from the manifest)", async () => {
		// A copy of the example's manifest with a short Max-Age and sampling period (the device
		// command finds the app by the directory's name and reads config from its manifest).
		const dir = join(mkdtempSync(join(tmpdir(), "xscoap-device-")), "sensor");
		mkdirSync(dir);
		const m = readManifest("examples/sensor/manifest.json") as Manifest & { config: { sensor: Record<string, unknown> } };
		m.include = [join(ROOT, "manifest.json")];
		m.config.sensor = { ...m.config.sensor, sampleMs: 100, maxAge: 1, step: 50 };
		writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
		const { child, exited, port: started } = startDevice(dir);
		const client = await openEndpoint({ address: "127.0.0.1" });
		try {
			const port = await started;
			const seqs: number[] = [];
			const obs = client.observe({ uri: "coap://127.0.0.1:" + port + "/sensors/temperature" }, (n) => seqs.push(n.optionUint(6)));
			// step 50 °C: no change is notified, so every notification after the first is a Max-Age refresh (every 0.9 s).
			for (let i = 0; i < 200 && seqs.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
			assert.ok(seqs.length >= 3, "notifications: " + JSON.stringify(seqs));
			assert.ok(seqs[1]! > seqs[0]! && seqs[2]! > seqs[1]!, "fresher each time: " + JSON.stringify(seqs));
			await obs.cancel();
			const d = JSON.parse((await client.request({ uri: "coap://127.0.0.1:" + port + "/device" })).text()) as { software: string; sampling: { periodMs: number; maxAgeSeconds: number } };
			assert.match(d.software, /Node\.js/);
			assert.deepEqual([d.sampling.periodMs, d.sampling.maxAgeSeconds], [100, 1]);
		} finally {
			client.close();
			child.kill("SIGTERM");
			rmSync(dirname(dir), { recursive: true, force: true });
		}
		assert.equal(await exited, 0);
	});

	it("an unknown example directory is a usage error (exit 2)", () => {
		assert.throws(() => execFileSync(process.execPath, [join(ROOT, "bin/xscoap.js"), "device", join(ROOT, "examples/none")], { stdio: "pipe" }), (e: { status?: number }) => e.status === 2);
	});
});

/** What the fakes of the SDK modules record; the bundle reads it from globalThis.__xscoapFake. */
interface FakeTimer {
	callback: (t: FakeTimer) => void;
	/** Absolute fake-ms of the next firing, or -1 when unscheduled. */
	due: number;
	repeat: number;
	cleared: boolean;
}

class FakeSdk {
	ticks = 0x7fffff00; // just below the signed 32-bit wrap
	readonly timers: FakeTimer[] = [];
	readonly sockets: FakeSocket[] = [];
	readonly prefs: Record<string, unknown> = {};
	config: Record<string, unknown> = {};
	readonly Time = {
		get ticks(): number {
			return fake.ticks;
		},
		delta(start: number, end: number): number {
			return (end - start) | 0; // signed 32-bit difference, as on an MCU
		},
	};
	readonly Timer = {
		set(callback: (t: FakeTimer) => void, interval = 0, repeat = 0): FakeTimer {
			const t: FakeTimer = { callback, due: fake.ticks + interval, repeat, cleared: false };
			fake.timers.push(t);
			return t;
		},
		schedule(t: FakeTimer, interval?: number, repeat = 0): void {
			if (t.cleared) throw new Error("schedule of a cleared timer");
			t.due = interval === undefined ? -1 : fake.ticks + interval;
			t.repeat = interval === undefined ? t.repeat : repeat;
		},
		clear(t: FakeTimer): void {
			t.cleared = true;
		},
	};
	readonly Preference = {
		get: (d: string, k: string) => fake.prefs[d + "/" + k],
		set: (d: string, k: string, v: unknown) => {
			fake.prefs[d + "/" + k] = v;
		},
	};
	/** Advances ticks (wrapping like a signed 32-bit counter) and fires due timers, as Moddable does. */
	advance(ms: number): void {
		const end = this.ticks + ms;
		for (;;) {
			let next: FakeTimer | undefined;
			for (const t of this.timers) if (!t.cleared && t.due >= 0 && t.due <= end && (next === undefined || t.due < next.due)) next = t;
			if (next === undefined) break;
			this.ticks = next.due;
			next.due = next.repeat > 0 ? next.due + next.repeat : -1; // before the callback, which may reschedule
			next.callback(next);
			if (next.repeat === 0 && next.due < 0) next.cleared = true; // "a timer whose repeat is 0 ... is cleared"
		}
		this.ticks = end;
	}
}

class FakeSocket {
	readonly options: Record<string, unknown>;
	readonly target: unknown;
	readonly queue: (ArrayBuffer & { address: string; port: number })[] = [];
	readonly sent: { bytes: number[]; address: string; port: number; view: boolean }[] = [];
	readonly groups: string[] = [];
	closed = false;
	constructor(options: Record<string, unknown>) {
		this.options = options;
		this.target = options.target; // builtinInitializeTarget
		fake.sockets.push(this);
	}
	read(): (ArrayBuffer & { address: string; port: number }) | undefined {
		return this.queue.shift();
	}
	write(buffer: ArrayBufferView, address: string, port: number): void {
		const b = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
		this.sent.push({ bytes: Array.from(b), address, port, view: ArrayBuffer.isView(buffer) });
	}
	add(group: string): void {
		this.groups.push(group);
	}
	remove(group: string): void {
		this.groups.splice(this.groups.indexOf(group), 1);
	}
	close(): void {
		this.closed = true;
	}
	/** Queues a datagram and calls onReadable with this socket as `this`, as udpDeliver does. */
	deliver(bytes: number[], address: string, port: number): void {
		const d = Object.assign(Uint8Array.from(bytes).buffer, { address, port });
		this.queue.push(d);
		(this.options.onReadable as (this: FakeSocket, n: number) => void).call(this, this.queue.length);
	}
}

const fake = new FakeSdk();

/**
 * The SDK's `crypt` BlockCipher and Digest as modCrypt.c behaves (whole ArrayBuffers in and
 * out; encrypt reads its input before writing, so in place works), over node:crypto. Counts the
 * blocks and every ArrayBuffer that encrypt allocates (none when a result buffer is given).
 */
class FakeBlockCipher {
	static blocks = 0;
	static allocated = 0;
	readonly #key: Buffer;
	constructor(name: string, key: ArrayBuffer) {
		assert.equal(name, "AES");
		assert.ok(key instanceof ArrayBuffer, "the key is an ArrayBuffer");
		this.#key = Buffer.from(new Uint8Array(key).slice());
	}
	encrypt(data: ArrayBuffer, result?: ArrayBuffer): ArrayBuffer {
		assert.ok(data instanceof ArrayBuffer && data.byteLength >= 16, "data is a whole ArrayBuffer of a block");
		const c = createCipheriv("aes-128-ecb", this.#key, null).setAutoPadding(false);
		const out = c.update(new Uint8Array(data, 0, 16));
		FakeBlockCipher.blocks++;
		if (result === undefined) {
			FakeBlockCipher.allocated++;
			result = new ArrayBuffer(16);
		}
		new Uint8Array(result).set(out);
		return result;
	}
}

class FakeDigest {
	#parts: Buffer[] = [];
	constructor(name: string) {
		assert.equal(name, "SHA256");
	}
	write(data: ArrayBuffer | ArrayBufferView): void {
		this.#parts.push(Buffer.from(ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)));
	}
	close(): ArrayBuffer {
		const d = createHash("sha256").update(Buffer.concat(this.#parts)).digest();
		this.#parts = [];
		return d.buffer.slice(d.byteOffset, d.byteOffset + d.length);
	}
	reset(): void {
		this.#parts = [];
	}
}

describe("hosts/moddable against fakes of the SDK modules", function () {
	this.timeout(20000);
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	let host: any;

	before(async () => {
		(globalThis as { __xscoapFake?: unknown }).__xscoapFake = { fake, FakeSocket, FakeBlockCipher, FakeDigest };
		const SDK: Record<string, string> = {
			time: "export default __xscoapFake.fake.Time;",
			timer: "export default __xscoapFake.fake.Timer;",
			"embedded:io/socket/udp": "export default __xscoapFake.FakeSocket;",
			preference: "export default __xscoapFake.fake.Preference;",
			"mc/config": "export default new Proxy({}, { get: (_, k) => __xscoapFake.fake.config[k] });",
			crypt: "export const BlockCipher = __xscoapFake.FakeBlockCipher; export const Digest = __xscoapFake.FakeDigest;",
		};
		const result = await esbuild.build({
			stdin: {
				contents: [
					'export * from "./hosts/moddable/clock.ts";',
					'export * from "./hosts/moddable/udp.ts";',
					'export * from "./hosts/moddable/random.ts";',
					'export * from "./hosts/moddable/store.ts";',
					'export * from "./hosts/moddable/driver.ts";',
					'export * from "./hosts/moddable/device.ts";',
					'export * from "./hosts/moddable/oscore-crypto.ts";',
					'export { SensorApp } from "./examples/sensor/app.ts";',
				].join("\n"),
				resolveDir: ROOT,
				loader: "ts",
			},
			bundle: true,
			write: false,
			format: "esm",
			platform: "neutral",
			logLevel: "silent",
			plugins: [
				{
					name: "fake-moddable-sdk",
					setup(build) {
						build.onResolve({ filter: /^(time|timer|preference|mc\/config|crypt|embedded:io\/socket\/udp)$/ }, (a) => ({ path: a.path, namespace: "sdk" }));
						build.onLoad({ filter: /.*/, namespace: "sdk" }, (a) => ({ contents: SDK[a.path]!, loader: "js" }));
					},
				},
			],
		});
		const dir = mkdtempSync(join(tmpdir(), "xscoap-moddable-"));
		const file = join(dir, "host.mjs");
		writeFileSync(file, result.outputFiles[0]!.text);
		host = await import(pathToFileURL(file).href);
		rmSync(dir, { recursive: true, force: true });
	});

	it("the clock folds Time.ticks across the signed 32-bit wrap into monotonic milliseconds", () => {
		fake.ticks = 0x7fffff00;
		const clock = new host.ModdableClock();
		assert.equal(clock.now(), 0);
		const saved = 0x7fffff00 + 300; // past 2^31 - 1: an MCU reads a negative number
		fake.ticks = saved | 0;
		assert.ok(fake.ticks < 0, "ticks wrapped to " + fake.ticks);
		assert.equal(clock.now(), 300);
		fake.ticks = (saved + 1000) | 0;
		assert.equal(clock.now(), 1300);
		fake.ticks = saved + 1000; // continue unwrapped below (the fake timer uses plain numbers)
	});

	it("one Timer per port timer: armed with Timer.schedule, parked (never cleared) when idle, fires once per deadline", () => {
		const clock = new host.ModdableClock();
		const calls: number[] = [];
		const before = fake.timers.length;
		const timer = clock.createTimer(function (this: { id: number }) {
			calls.push(clock.now());
		}, { id: 1 });
		assert.equal(fake.timers.length, before + 1, "Timer.set once");
		const t = fake.timers[fake.timers.length - 1]!;
		assert.ok(t.repeat > 0, "created parked with a repeat");
		const start = clock.now();
		timer.schedule(start + 500);
		fake.advance(499);
		assert.deepEqual(calls, []);
		fake.advance(1);
		assert.deepEqual(calls, [start + 500]);
		fake.advance(10000);
		assert.deepEqual(calls.length, 1, "no second call without a new schedule");
		assert.equal(t.cleared, false, "still alive");
		assert.ok(t.repeat > 0);
		// Re-armed from inside its own callback (what the endpoint does): fires again.
		let hits = 0;
		const again = clock.createTimer(() => {
			hits++;
			if (hits < 3) again.schedule(clock.now() + 10);
		}, null);
		again.schedule(clock.now() + 10);
		fake.advance(100);
		assert.equal(hits, 3);
		assert.equal(fake.timers[fake.timers.length - 1]!.cleared, false);
		again.close();
		// Armed, then unscheduled: parked, not cleared.
		timer.schedule(clock.now() + 100);
		timer.unschedule();
		fake.advance(host.PARK_MS + 10);
		assert.equal(calls.length, 1, "a parked wake-up calls nothing");
		assert.equal(t.cleared, false);
		// A deadline beyond PARK_MS is reached in two wake-ups.
		const far = clock.now() + host.PARK_MS + 1000;
		timer.schedule(far);
		fake.advance(host.PARK_MS + 999);
		assert.equal(calls.length, 1);
		fake.advance(1);
		assert.equal(calls.length, 2);
		assert.equal(calls[1], far);
		timer.close();
		assert.equal(t.cleared, true);
		assert.throws(() => timer.schedule(0), TypeError);
		timer.close(); // twice is harmless
	});

	it("udpPort: the SDK socket itself reaches the endpoint; multicast groups joined; bad settings rejected", () => {
		const Udp = host.udpPort({ multicast: ["224.0.1.187"], timeToLive: 4 });
		const s = new Udp({ port: 5683, address: "0.0.0.0", target: "T", onReadable() {} });
		assert.ok(s instanceof FakeSocket, "no wrapper object");
		assert.deepEqual(s.groups, ["224.0.1.187"]);
		assert.equal(s.options.timeToLive, 4);
		assert.equal(s.options.port, 5683);
		assert.equal("address" in s.options, false, "lwip binds all interfaces: address is not passed");
		assert.equal(s.target, "T");
		assert.throws(() => host.udpPort({ multicast: ["ff02::fd"] }), RangeError);
		assert.throws(() => host.udpPort({ timeToLive: 0 }), RangeError);
		class NoMulticast extends FakeSocket {
			declare add: never;
		}
		Object.defineProperty(NoMulticast.prototype, "add", { value: undefined });
		const Plain = host.udpPort({ multicast: ["224.0.1.187"] }, NoMulticast);
		assert.throws(() => new Plain({ port: 1, onReadable() {} }), /multicast/);
		assert.equal(fake.sockets[fake.sockets.length - 1]!.closed, true, "closed again when the group cannot be joined");
	});

	it("deviceEndpoint: config.coap limits and the coapPort override; a GET answered through the fake socket", () => {
		fake.config = { coap: { port: 5683, maxMessageSize: 512, clientExchanges: 1 }, coapPort: "5690", coapMulticast: "224.0.1.187" };
		assert.equal(host.buildSettings().port, 5690);
		const leds: boolean[] = [];
		const ports = host.devicePorts();
		const app = new host.SensorApp({ readTemperature: () => 21.25, readHumidity: () => 40, writeLed: (on: boolean) => leds.push(on) }, ports.clock);
		const ep = host.deviceEndpoint({ ports, router: app.router });
		assert.equal(ep.limits.maxMessageSize, 512);
		assert.equal(ep.limits.clientExchanges, 1);
		const s = fake.sockets[fake.sockets.length - 1]!;
		assert.equal(s.options.port, 5690);
		assert.deepEqual(s.groups, ["224.0.1.187"]);
		assert.equal(s.target, ep, "the endpoint is the socket's target");
		// CON GET /sensors/temperature, MID 0x1234, token 0x7a
		s.deliver([0x41, 0x01, 0x12, 0x34, 0x7a, 0xb7, ...Buffer.from("sensors"), 0x0b, ...Buffer.from("temperature")], "192.0.2.7", 40000);
		assert.equal(s.sent.length, 1);
		const r = s.sent[0]!;
		assert.equal(r.address, "192.0.2.7");
		assert.equal(r.port, 40000);
		assert.ok(r.view, "written as a view of the endpoint's buffer, not a copy");
		assert.deepEqual(r.bytes.slice(0, 5), [0x61, 0x45, 0x12, 0x34, 0x7a], "piggybacked ACK 2.05, same MID and token");
		assert.equal(Buffer.from(r.bytes.slice(r.bytes.indexOf(0xff) + 1)).toString(), "21.25");
		ep.close();
		app.close();
		assert.equal(s.closed, true);
		fake.config = {};
	});

	it("moddableCrypto (native AES block and SHA-256 of `crypt`): RFC 8613 Appendix C keys and every protected message byte for byte, as nobleCrypto; no ArrayBuffer allocated per block", async () => {
		const { RFC8613_VECTORS } = await import(pathToFileURL(join(ROOT, "build/tests/portable/oscore/rfc8613-vectors.js")).href);
		const { SecurityContext } = await import(pathToFileURL(join(ROOT, "build/modules/coap/oscore/context.js")).href);
		const { Oscore } = await import(pathToFileURL(join(ROOT, "build/modules/coap/oscore/oscore.js")).href);
		const { RequestBinding } = await import(pathToFileURL(join(ROOT, "build/modules/coap/oscore/binding.js")).href);
		const { MessageView } = await import(pathToFileURL(join(ROOT, "build/modules/coap/wire/view.js")).href);
		const { MessageWriter } = await import(pathToFileURL(join(ROOT, "build/modules/coap/wire/writer.js")).href);
		const hex = (t: string | null) => (t === null ? null : Uint8Array.from(Buffer.from(t, "hex")));
		const probe = (aead: { seal(n: Uint8Array, a: Uint8Array, al: number, b: Uint8Array, o: number, l: number): number }) => {
			const b = new Uint8Array(24).fill(0x5a);
			aead.seal(new Uint8Array(13), new Uint8Array(0), 0, b, 0, 16);
			return Buffer.from(b).toString("hex");
		};
		const { nobleCrypto } = await import(pathToFileURL(join(ROOT, "build/modules/coap/oscore/noble.js")).href);
		const params = (v: Record<string, string | null>) => ({ masterSecret: hex(v.master_secret)!, masterSalt: hex(v.master_salt), idContext: hex(v.id_context), senderId: hex(v.sender_id)!, recipientId: hex(v.recipient_id)! });
		for (const [name, v] of Object.entries(RFC8613_VECTORS.contexts as Record<string, Record<string, string | null>>)) {
			const ctx = new SecurityContext(params(v), host.moddableCrypto);
			assert.equal(Buffer.from(ctx.commonIv).toString("hex"), v.common_iv, name + ": Common IV");
			assert.equal(probe(ctx.sender), probe(nobleCrypto.aead(hex(v.sender_key)!)), name + ": Sender Key");
			assert.equal(probe(ctx.recipient), probe(nobleCrypto.aead(hex(v.recipient_key)!)), name + ": Recipient Key");
		}
		let checked = 0;
		const allocatedBefore = FakeBlockCipher.allocated;
		for (const m of RFC8613_VECTORS.messages as { name: string; context: string; sender_sequence_number?: number; unprotected: string; protected: string; request_piv?: string }[]) {
			if (m.request_piv !== undefined) continue; // requests only: responses need their request's binding
			const v = (RFC8613_VECTORS.contexts as Record<string, Record<string, string | null>>)[m.context]!;
			const ctx = new SecurityContext({ ...params(v), senderSequenceNumber: m.sender_sequence_number ?? 0 }, host.moddableCrypto);
			const view = new MessageView(32);
			const plain = hex(m.unprotected)!;
			view.parse(plain, plain.length);
			const out = new MessageWriter(new Uint8Array(256));
			const n = new Oscore({ contexts: 1 }).protectRequest(view, ctx, out, new RequestBinding());
			assert.equal(Buffer.from(out.buf.subarray(0, n)).toString("hex"), m.protected, m.name);
			checked++;
		}
		assert.ok(checked >= 2, "protected requests checked: " + checked);
		assert.equal(FakeBlockCipher.allocated, allocatedBefore, "every block encrypted into BlockCcm's own buffer");
		assert.ok(FakeBlockCipher.blocks > 20, "blocks: " + FakeBlockCipher.blocks);
	});

	it("deviceRandom fills every byte; preferenceStore keeps bytes in the Preference domain", () => {
		const out = new Uint8Array(33);
		host.deviceRandom(out);
		const distinct = new Set(out);
		assert.ok(distinct.size > 8, "random bytes");
		const store = host.preferenceStore("oscore");
		store.write("seq", Uint8Array.of(9, 8, 7), 3);
		assert.ok(fake.prefs["oscore/seq"] instanceof ArrayBuffer);
		const into = new Uint8Array(4);
		assert.equal(store.read("seq", into), 3);
		assert.deepEqual(Array.from(into), [9, 8, 7, 0]);
	});
});
