#!/usr/bin/env node
// npm run firmware: the sensor example (examples/sensor) built with the Moddable SDK and run in
// its desktop simulator, headless, and checked over real UDP on loopback.
//
//   1. builds: mcconfig for the Linux simulator, release (-m) and debug (-d -m -t build), of
//      manifest.json and manifest_sht3x.json; any build warning about xscoap's modules fails;
//   2. the release build in mcsim under Xvfb: the checks of checks.mjs and malformed.mjs;
//   3. the debug build in mcsim under the SDK's xsbug-log: the same checks, plus XS's own
//      instruments: the heaps after a garbage collection (the machine stops at a breakpoint
//      in sampler.ts, which makes XS collect and report) at start, after 100 and after 1,000
//      GETs, and the stack peak of the whole run. Fails if chunk or slot use grows after the
//      first 100 requests, or if less than 30 % of the stack stays free;
//   4. the malformed datagrams answered as `xscoap device examples/sensor` answers them on Node;
//   5. the ESP32 build as far as it goes without ESP-IDF (esp32.mjs);
//   6. OSCORE (oscore.mjs): builds with config.sensor.oscore (a context, then false) and three
//      boots in mcsim: protected requests from xscoap's client and aiocoap's, the LED closed to
//      unprotected ones, the context kept in the SDK's Preference store across a reboot into the
//      plain build (Echo, Appendix B.1.2), and forgotten again.
// Not part of npm test: the SDK cannot be installed from the package registries.
//
//   npm run firmware [-- --no-release] [--no-esp32] [--no-sht3x] [--no-oscore] [--oscore-only] [--json FILE]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import dgram from "node:dgram";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mcconfig, simulatorBinary } from "./build.mjs";
import { Checks, findAiocoap, haveCoapClient } from "./checks.mjs";
import { runDebug, runRelease, startXvfb, waitFor } from "./device.mjs";
import { census } from "./census.mjs";
import { esp32Stage } from "./esp32.mjs";
import { compareRuns, runCases } from "./malformed.mjs";
import { PREFERENCES_FILE, clearXscoapPreferences, oscoreStage } from "./oscore.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const APP = join(REPO, "examples/sensor");
const NAME = "sensor";
const START_LINE = /xscoap sensor [^\n]*coap on UDP port (\d+)/;
/** The least free share of the stack accepted at the worst peak (issue 7, item 3). */
const STACK_HEADROOM = 0.3;

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
/** Only the OSCORE stage (and the one build it needs): for work on it. */
const oscoreOnly = flag("--oscore-only");
const jsonOut = argv.includes("--json") ? argv[argv.indexOf("--json") + 1] : join(REPO, "build/firmware/report.json");

// ------------------------------------------------------------------ preconditions
const moddable = process.env.MODDABLE;
const need = (() => {
	if (!moddable) return "npm run firmware needs the Moddable SDK (8.2 or later) with its Linux tools built: set MODDABLE to the SDK checkout (git clone https://github.com/Moddable-OpenSource/moddable; cd moddable/build/makefiles/lin && make; see README \"Firmware\")";
	if (!existsSync(join(moddable, "build/bin/lin/release/mcconfig")) || !existsSync(join(moddable, "build/bin/lin/release/mcsim"))) return "npm run firmware: no mcconfig/mcsim in $MODDABLE/build/bin/lin/release: build the SDK's tools (cd $MODDABLE/build/makefiles/lin && make)";
	if (!existsSync(join(moddable, "tools/xsbug-log/node_modules"))) return "npm run firmware: xsbug-log has no node_modules: cd $MODDABLE/tools/xsbug-log && npm install";
	if (spawnSync("Xvfb", ["-help"]).error) return "npm run firmware needs Xvfb to run the simulator headless: apt-get install -y xvfb xauth";
	if (!haveCoapClient()) return "npm run firmware needs libcoap's client: apt-get install -y libcoap3-bin";
	if (!existsSync(join(REPO, "node_modules/.bin/tsc"))) return "npm run firmware needs TypeScript from node_modules (npm ci): mcconfig runs tsc for the .ts modules";
	if (!existsSync(join(REPO, "build/hosts/node/ports.js"))) return "npm run firmware needs the Node build: npm run build";
	return null;
})();
if (need) {
	console.error(need);
	process.exit(2);
}

const MCSIM = join(moddable, "build/bin/lin/release/mcsim");
const report = { sdk: spawnSync("git", ["-C", moddable, "describe", "--tags", "--always"], { encoding: "utf8" }).stdout?.trim() || "unknown", builds: [], runs: [], esp32: [], oscore: null, failures: [] };
const failures = report.failures;
const fail = (what) => {
	failures.push(what);
	console.log("  FAIL " + what);
};
const say = (s = "") => console.log(s);
const kib = (b) => (b / 1024).toFixed(1) + " KiB";

/** A free UDP port above 20000 on 127.0.0.1 for the device (built into config as coapPort). */
async function freeUdpPort() {
	for (let i = 0; i < 50; i++) {
		const port = 20000 + Math.floor(Math.random() * 40000);
		const ok = await new Promise((r) => {
			const s = dgram.createSocket("udp4");
			s.once("error", () => r(false));
			s.bind(port, "0.0.0.0", () => s.close(() => r(true)));
		});
		if (ok) return port;
	}
	throw new Error("no free UDP port");
}

// ------------------------------------------------------------------ 1. builds
const coapPort = await freeUdpPort();
const OUT = join(REPO, "build/firmware");
say("npm run firmware: Moddable SDK " + report.sdk + " at " + moddable + "; device port " + coapPort);
say("");
say("1. Builds (mcconfig, Linux simulator)");
const variants = [{ manifest: "manifest.json", label: "sensor" }];
if (!flag("--no-sht3x") && !oscoreOnly) variants.push({ manifest: "manifest_sht3x.json", label: "sensor, SHT3x board" });
const binaries = {};
for (const v of variants) {
	for (const debug of oscoreOnly ? [false] : [false, true]) {
		const out = join(OUT, "lin", v.manifest.replace(".json", ""));
		mkdirSync(out, { recursive: true });
		// xscoap's modules are compiled and linked afresh every run (the SDK's C objects are
		// kept): tsc, xsc and xsl print their warnings only when they run.
		const tmp = join(out, "tmp/lin/mc", debug ? "debug" : "release", NAME);
		for (const d of ["modules/xscoap", "tsc"]) rmSync(join(tmp, d), { recursive: true, force: true });
		const args = debug ? ["-d", "-m", "-p", "lin", "-t", "build"] : ["-m", "-p", "lin", "-t", "build"];
		const b = mcconfig({ moddable, repo: REPO, dir: APP, args: [...args, "-o", out, v.manifest, "coapPort=" + coapPort] });
		const so = simulatorBinary(out, debug, NAME);
		const line = "mcconfig " + args.join(" ") + " " + v.manifest + ": " + (b.ok && so ? "built" : "FAILED") + " in " + b.seconds.toFixed(0) + " s; warnings: " + b.warnings.ours.length + " about xscoap, " + b.warnings.sdk.length + " about SDK modules";
		say("  " + line);
		for (const w of b.warnings.ours) say("    ours: " + w);
		for (const w of [...new Set(b.warnings.sdk)]) say("    SDK:  " + w);
		report.builds.push({ manifest: v.manifest, debug, ok: b.ok && !!so, seconds: b.seconds, warnings: b.warnings, errors: b.errors });
		if (!b.ok || !so) {
			fail("build " + v.manifest + (debug ? " (debug)" : "") + ": " + (b.errors.slice(0, 5).join(" | ") || b.output.trim().split("\n").slice(-5).join(" | ")));
			continue;
		}
		if (b.warnings.ours.length) fail("build " + v.manifest + (debug ? " (debug)" : "") + " warns about xscoap's modules");
		binaries[v.manifest + (debug ? ":debug" : ":release")] = so;
	}
}

// ------------------------------------------------------------------ helpers for the runs
/** The full set of checks against a device on coapPort; returns the Checks object. */
async function checkDevice(label, checkpoint) {
	const c = new Checks({ port: coapPort, repo: REPO, checkpoint });
	await c.open();
	try {
		const malformed = await runCases(coapPort);
		for (const row of malformed) if (row.compare) c.record("bad input: " + row.name, row.error === null, row.error ?? "");
		c.malformed = malformed;
		await c.wellKnown();
		await c.sensors();
		await c.led();
		await c.observe();
		await c.blockwise("xscoap-sensor");
		c.seconds1000 = await c.thousand();
		await c.twoClients();
		c.record("IPv6 client: not offered by the simulator (its embedded:io/socket/udp opens an AF_INET socket, modules/io/socket/lin/udp.c)", true, "skipped");
		await c.alive();
	} catch (e) {
		c.record("checks ran to the end", false, e.stack ?? String(e));
	} finally {
		c.close();
	}
	say("  " + label + ":");
	for (const r of c.results) {
		say("    " + (r.ok ? "ok  " : "FAIL") + " " + r.name + (r.detail ? " — " + r.detail : ""));
		if (!r.ok) failures.push(label + ": " + r.name + (r.detail ? " — " + r.detail : ""));
	}
	return c;
}

/** `xscoap device examples/sensor` on Node (the reference for the malformed datagrams). */
async function nodeDevice() {
	const child = spawn(process.execPath, [join(REPO, "bin/xscoap.js"), "device", APP, "--bind", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
	let out = "";
	child.stdout.on("data", (d) => (out += d));
	child.stderr.on("data", (d) => (out += d));
	await waitFor(() => /listening on coap:\/\/127\.0\.0\.1:(\d+)\//.test(out), 10000);
	const port = Number(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1]);
	return { port, out: () => out, stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once("exit", r), child.kill("SIGTERM")))) };
}

function fmtSample(s) {
	if (!s) return "(no sample)";
	return "chunk " + s["Chunk used"] + " / " + s["Chunk available"] + " B, slot " + s["Slot used"] + " / " + s["Slot available"] + " B, keys " + s["Keys used"];
}

// ------------------------------------------------------------------ 2. and 3. the runs
let xvfb;
let nodeReference;
// The device reads its OSCORE context from the simulator's Preference file at boot: one left
// there by an earlier run would close the LED to the plain checks.
clearXscoapPreferences();
try {
	xvfb = await startXvfb();
	say("");
	say("2. Runs in mcsim (Xvfb " + xvfb.display + ")");

	// The malformed datagrams on the Node host first: the answers every host must give.
	const node = oscoreOnly ? { port: -1, out: () => "", stop: async () => {} } : await nodeDevice();
	try {
		nodeReference = node.port > 0 ? await runCases(node.port) : null;
	} finally {
		await node.stop();
	}
	if (oscoreOnly) {
		// skipped with the other plain runs
	} else if (!nodeReference) fail("xscoap device examples/sensor did not start on Node: " + node.out());
	else {
		const bad = nodeReference.filter((r) => r.compare && r.error);
		say("  Node host (xscoap device examples/sensor): " + (nodeReference.filter((r) => r.compare).length - bad.length) + " bad-input cases answered as RFC 7252 asks" + (bad.length ? "; " + bad.length + " not: " + bad.map((r) => r.name + ": " + r.error).join("; ") : ""));
	}
	const sameAsNode = (label, c) => {
		if (!nodeReference || !c.malformed) return;
		const diffs = compareRuns(nodeReference, c.malformed);
		const n = c.malformed.filter((r) => r.compare).length;
		say("    " + (diffs.length ? "FAIL" : "ok  ") + " bad input answered as on Node, byte for byte (the MID of NON replies aside): " + (n - diffs.length) + " of " + n + " cases");
		for (const d of diffs) fail(label + ": answered differently from Node: " + d);
	};

	if (!flag("--no-release") && !oscoreOnly && binaries["manifest.json:release"]) {
		const dev = await runRelease({ mcsim: MCSIM, so: binaries["manifest.json:release"], display: xvfb.display, startLine: START_LINE });
		if (!dev.started) fail("release build did not start: " + dev.out.text.slice(-500));
		else {
			const c = await checkDevice("release build in mcsim", async () => {});
			sameAsNode("release build", c);
			if (!dev.alive()) fail("release build exited: " + dev.out.text.slice(-300));
			report.runs.push({ build: "release", results: c.results, seconds1000: c.seconds1000 });
		}
		await dev.stop();
	}

	if (binaries["manifest.json:debug"] && !oscoreOnly) {
		const dev = await runDebug({ moddable, mcsim: MCSIM, so: binaries["manifest.json:debug"], display: xvfb.display, startLine: START_LINE });
		if (!dev.started) fail("debug build did not start under xsbug-log: " + dev.out.text.slice(-500));
		else {
			const heaps = {};
			const marks = {};
			// A breakpoint on the sampler's sample() (sampler.ts): it is hit within a second; XS
			// collects garbage when the machine stops and reports the heaps after it.
			const measure = async (label) => {
				marks[label] = dev.samples.length;
				const s = await dev.sampleAtBreak("sample");
				heaps[label] = s;
				if (!s) fail("no instruments at the breakpoint (" + label + ")");
			};
			await dev.nextSample();
			await measure("at start");
			const c = await checkDevice("debug build in mcsim under xsbug-log", measure);
			sameAsNode("debug build", c);
			const after100 = heaps["after 100 GETs"];
			const after1000 = heaps["after 1,000 GETs"];
			const samples = dev.samples.filter((s) => s.machine !== "mcsim");
			const peak = Math.max(...samples.map((s) => s["Stack used"]));
			const stackSize = samples[samples.length - 1]?.["Stack available"] ?? 0;
			const gcs = samples.reduce((n, s) => n + (s["Garbage collections"] || 0), 0);
			const free = stackSize > 0 ? 1 - peak / stackSize : 0;
			// Collections while the GETs 101 to 1,000 were served (samples between the two checkpoints).
			const gcs900 = dev.samples.slice(marks["after 100 GETs"] ?? 0, marks["after 1,000 GETs"] ?? 0).filter((s) => s.machine !== "mcsim").reduce((n, s) => n + (s["Garbage collections"] || 0), 0);
			say("    XS instruments (after a garbage collection, at a breakpoint in sampler.ts):");
			for (const [k, s] of Object.entries(heaps)) say("      " + (k + ":").padEnd(18) + " " + fmtSample(s));
			say("      stack peak over the run: " + peak + " of " + stackSize + " bytes (" + peak / 32 + " of " + stackSize / 32 + " slots), " + (free * 100).toFixed(0) + " % free; " + gcs + " garbage collections in " + samples.length + " samples (one a second), " + gcs900 + " of them while GETs 101 to 1,000 were served");
			if (after100 && after1000) {
				if (after1000["Chunk used"] > after100["Chunk used"]) fail("chunk use grew after the first 100 requests: " + after100["Chunk used"] + " → " + after1000["Chunk used"] + " bytes");
				if (after1000["Slot used"] > after100["Slot used"]) fail("slot use grew after the first 100 requests: " + after100["Slot used"] + " → " + after1000["Slot used"] + " bytes");
			} else fail("instruments after 100 and 1,000 GETs missing");
			if (free < STACK_HEADROOM) fail("stack headroom " + (free * 100).toFixed(0) + " % < 30 % (peak " + peak + " of " + stackSize + " bytes): raise creation.stack in examples/sensor/manifest.json or make the path shallower");
			if (!dev.alive()) fail("debug build stopped: " + dev.out.text.slice(-400));
			report.runs.push({ build: "debug", results: c.results, heaps, stackPeak: peak, stackSize, gcs, gcs900, samples: samples.length, seconds1000: c.seconds1000 });
		}
		await dev.stop();
	}

	// What the SDK alone takes: the baseline app (same manifests and creation, one UDP socket).
	if (!flag("--no-baseline") && !oscoreOnly) {
		const out = join(OUT, "lin", "baseline");
		mkdirSync(out, { recursive: true });
		const b = mcconfig({ moddable, repo: REPO, dir: join(REPO, "tools/firmware/baseline"), args: ["-d", "-m", "-p", "lin", "-t", "build", "-o", out, "manifest.json", "coapPort=" + coapPort] });
		const so = simulatorBinary(out, true, "baseline");
		if (!b.ok || !so) fail("baseline build: " + b.errors.slice(0, 3).join(" | "));
		else {
			const dev = await runDebug({ moddable, mcsim: MCSIM, so, display: xvfb.display, startLine: /baseline \(no xscoap\)/ });
			await dev.nextSample();
			const s = dev.started ? await dev.sampleAtBreak("sample") : null;
			await dev.stop();
			report.baseline = s;
			say("  SDK baseline (tools/firmware/baseline: the same manifests and creation, one UDP socket, no xscoap), after a garbage collection: " + fmtSample(s));
		}
	}

	// Where the heaps go: the debug build stopped at start, then at each step of main.ts and of
	// the Endpoint's constructor (XS collects garbage and reports at every stop).
	if (!flag("--no-census") && !oscoreOnly) {
		const out = join(OUT, "lin", "census");
		mkdirSync(out, { recursive: true });
		const b = mcconfig({ moddable, repo: REPO, dir: APP, args: ["-d", "-m", "-p", "lin", "-t", "build", "-o", out, "manifest.json", "coapPort=" + coapPort, "startDelayMs=3000"] });
		const so = simulatorBinary(out, true, NAME);
		const rows = b.ok && so ? await census({ moddable, mcsim: MCSIM, so, display: xvfb.display, app: APP }) : Object.assign([], { note: "census build failed: " + b.errors.slice(0, 2).join(" | ") });
		report.census = rows;
		if (rows.note) say("  census: " + rows.note);
		if (rows.length) {
			say("  Where the heaps go (debug build, live after a garbage collection at each stop; slots of 32 bytes here, 16 on an ESP32):");
			for (const r of rows) say("    " + r.what.padEnd(72) + String(r.slots).padStart(5) + " slots " + String(r.chunks).padStart(7) + " B chunks");
		}
	}

	// The SHT3x build on the simulator: no sensor there, so the readings are 5.03 (a defined answer).
	if (binaries["manifest_sht3x.json:release"]) {
		const dev = await runRelease({ mcsim: MCSIM, so: binaries["manifest_sht3x.json:release"], display: xvfb.display, startLine: START_LINE });
		if (dev.started) {
			const c = new Checks({ port: coapPort, repo: REPO });
			await c.open();
			try {
				const t = await c.get("/sensors/temperature");
				const l = await c.get("/actuators/led");
				c.record("SHT3x build without a sensor (simulator): GET temperature → 5.03 with Max-Age 1, LED still served", t.codeText === "5.03" && t.maxAge === 1 && l.codeText === "2.05", t.codeText + ' "' + t.text() + '", LED ' + l.codeText);
			} catch (e) {
				c.record("SHT3x build answers", false, e.message);
			} finally {
				c.close();
			}
			say("  SHT3x build (release) in mcsim:");
			for (const r of c.results) {
				say("    " + (r.ok ? "ok  " : "FAIL") + " " + r.name + " — " + r.detail);
				if (!r.ok) failures.push("SHT3x: " + r.name);
			}
		} else fail("SHT3x release build did not start: " + dev.out.text.slice(-300));
		await dev.stop();
	}

	// OSCORE: the example with a provisioned security context (oscore.mjs).
	if (!flag("--no-oscore")) {
		say("");
		say("3. OSCORE (RFC 8613) in mcsim: config.sensor.oscore provisioned into the Preference store (" + PREFERENCES_FILE + ")");
		const o = await oscoreStage({ moddable, repo: REPO, app: APP, out: OUT, coapPort, mcsim: MCSIM, display: xvfb.display, plainSo: binaries["manifest.json:release"], name: NAME, say });
		for (const r of o.results) if (!r.ok) failures.push("OSCORE: " + r.name + (r.detail ? " — " + r.detail : ""));
		report.oscore = o;
	}
} finally {
	await xvfb?.stop();
}

// ------------------------------------------------------------------ 5. ESP32
if (!flag("--no-esp32") && !oscoreOnly) {
	say("");
	say("4. ESP32 (-p esp32) without ESP-IDF");
	for (const debug of [false, true]) {
		const out = join(OUT, "esp32");
		mkdirSync(out, { recursive: true });
		const r = esp32Stage({ moddable, repo: REPO, dir: APP, manifest: "manifest.json", debug, out, name: NAME });
		const mode = debug ? "debug" : "release";
		say("  mcconfig " + (debug ? "-d " : "") + "-m -p esp32 -t build: manifest stage " + (r.manifestStage ? "done (makefile written)" : "FAILED") + "; then: " + (r.idfMessage ?? "(no ESP-IDF message)"));
		if (r.xs) {
			say("  make (tsc, xsc, xsl, mcrez; the ESP-IDF fragment left out), " + mode + ": " + (r.xs.ok ? "mc.xs.c written (" + kib(r.mcXsBytes) + "), xsl: " + (r.xs.linked ?? "?") : "FAILED " + r.xs.errors.slice(0, 3).join(" | ")) + "; warnings: " + r.xs.warnings.ours.length + " about xscoap, " + r.xs.warnings.sdk.length + " about SDK modules");
			for (const w of r.xs.warnings.ours) say("    ours: " + w);
			for (const w of [...new Set(r.xs.warnings.sdk)]) say("    SDK:  " + w);
			if (!r.xs.ok) fail("ESP32 xsc/xsl stage (" + mode + ")");
			if (r.xs.warnings.ours.length) fail("ESP32 xsl warns about xscoap's modules (" + mode + ")");
		} else fail("ESP32 manifest stage (" + mode + ")");
		say("  not done: compiling mc.xs.c, the SDK's C modules and ESP-IDF, linking and flashing (xtensa-esp32-elf-gcc and ESP-IDF are not installable here)");
		report.esp32.push({ debug, manifestStage: r.manifestStage, idfMessage: r.idfMessage, xsOk: r.xs?.ok ?? false, mcXsBytes: r.mcXsBytes, linked: r.xs?.linked, warnings: r.xs?.warnings });
	}
}

// ------------------------------------------------------------------ summary
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, JSON.stringify(report, null, 1));
say("");
const debugRun = report.runs.find((r) => r.build === "debug");
if (debugRun) {
	say("Summary (debug build under xsbug-log, 64-bit simulator: 32-byte slots; an ESP32 has 16-byte slots):");
	for (const [k, s] of Object.entries(debugRun.heaps)) say("  " + (k + ":").padEnd(18) + " " + fmtSample(s));
	if (report.baseline) say("  SDK baseline:      " + fmtSample(report.baseline) + " (no xscoap)");
	say("  stack peak: " + debugRun.stackPeak + " of " + debugRun.stackSize + " bytes (" + debugRun.stackPeak / 32 + " of " + debugRun.stackSize / 32 + " slots, " + ((1 - debugRun.stackPeak / debugRun.stackSize) * 100).toFixed(0) + " % free); " + debugRun.gcs900 + " garbage collections while GETs 101 to 1,000 were served");
}
say("Report: " + jsonOut);
if (failures.length) {
	say("npm run firmware: FAILED (" + failures.length + "):");
	for (const f of failures) say("  - " + f);
	process.exit(1);
}
say("npm run firmware: all checks passed");
