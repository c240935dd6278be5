// npm run firmware, OSCORE stage (RFC 8613): the sensor example in mcsim with a security context
// provisioned from config.sensor.oscore into the SDK's Preference store, spoken to over real UDP
// by xscoap's client (--credentials) and, when its checkout and Python modules are found, by
// aiocoap-client. Three boots of the simulator:
//
//   1. a build whose manifest adds config.sensor.oscore: the LED answers only protected requests
//      (4.01 without), the sensors stay readable without OSCORE, a protected GET of /device
//      comes block-wise inside OSCORE, protected Observe, a wrong secret fails, aiocoap-client;
//      the context and the sequence mark are in the Preference file;
//   2. the plain build (examples/sensor/manifest.json, no key in it): the stored context is used
//      (a provisioned key survives a reboot and a firmware without it), the sequence number
//      continues above the stored mark, the first request is answered 4.01 + Echo (Appendix
//      B.1.2) and repeated by the client; then the round trip time of protected and plain GETs;
//   3. a build with "oscore": false: the context is forgotten, the LED is open again.
// Between 2 and 3, the debug build with the context under xsbug-log: stack peak and heaps with
// 500 protected GETs (the heaps after a garbage collection must not grow).
//
// The simulator's Preference module (modules/files/preference/lin/preference.js) keeps every
// app's preferences in one JSON file under the file root, /tmp/modpreferences.json; the stage
// removes the "xscoap" domain from it before and after (clearXscoapPreferences).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mcconfig, simulatorBinary } from "./build.mjs";
import { findAiocoap } from "./checks.mjs";
import { runDebug, runRelease, waitFor } from "./device.mjs";

/** Where the Linux simulator's Preference module keeps its file (config.file.root "/tmp/"). */
export const PREFERENCES_FILE = "/tmp/modpreferences.json";
const DOMAIN = "xscoap";

/** The device's side of the context (the server), and the client's (ids swapped). */
const DEVICE_SETTINGS = { "secret_hex": "7365637265742d6f662d7468652d6b6974", "salt_hex": "5a8c3e1f", "sender-id_hex": "5e", "recipient-id_hex": "c1" };
const CLIENT_SETTINGS = { "secret_hex": DEVICE_SETTINGS.secret_hex, "salt_hex": DEVICE_SETTINGS.salt_hex, "sender-id_hex": "c1", "recipient-id_hex": "5e" };
const WRONG_SETTINGS = { ...CLIENT_SETTINGS, "secret_hex": "00112233445566778899aabbccddeeff" };

/** Removes the xscoap domain from the simulator's preferences (a stale context would close the LED to the plain checks). */
export function clearXscoapPreferences() {
	if (!existsSync(PREFERENCES_FILE)) return;
	try {
		const all = JSON.parse(readFileSync(PREFERENCES_FILE, "utf8"));
		if (all && typeof all === "object" && DOMAIN in all) {
			delete all[DOMAIN];
			writeFileSync(PREFERENCES_FILE, JSON.stringify(all));
		}
	} catch {
		// not JSON: the Preference module starts over with an empty set too
	}
}

/** The xscoap domain of the simulator's preferences: key → bytes (the module stores ArrayBuffers as "1,2,3"). */
function storedPreferences() {
	try {
		const d = JSON.parse(readFileSync(PREFERENCES_FILE, "utf8"))[DOMAIN] ?? {};
		const out = {};
		for (const [k, v] of Object.entries(d)) out[k] = v && typeof v === "object" && typeof v.buffer === "string" ? (v.buffer === "" ? [] : v.buffer.split(",").map(Number)) : v;
		return out;
	} catch {
		return {};
	}
}

const ascii = (bytes) => (Array.isArray(bytes) ? String.fromCharCode(...bytes) : "");

/** Runs a command; resolves to { code, stdout, stderr }. */
function run(cmd, args, ms = 30000, env = process.env) {
	return new Promise((done) => {
		const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (d) => (stdout += d));
		child.stderr.on("data", (d) => (stderr += d));
		const timer = setTimeout(() => child.kill("SIGINT"), ms);
		child.on("error", (e) => {
			clearTimeout(timer);
			done({ code: -1, stdout, stderr: String(e) });
		});
		child.on("exit", (code) => {
			clearTimeout(timer);
			done({ code, stdout, stderr });
		});
	});
}

/**
 * The stage. `plainSo`: the release mc.so of examples/sensor/manifest.json (already built).
 * Returns { results, rtt, preferences }; prints each result through `say` as it comes.
 */
export async function oscoreStage({ moddable, repo, app, out, coapPort, mcsim, display, plainSo, name, say, debug = true }) {
	const results = [];
	const record = (what, ok, detail = "") => {
		results.push({ name: what, ok, detail });
		say("    " + (ok ? "ok  " : "FAIL") + " " + what + (detail ? " — " + detail : ""));
		return ok;
	};
	const tmp = join(out, "oscore");
	rmSync(tmp, { recursive: true, force: true });
	mkdirSync(tmp, { recursive: true });
	const xscoap = (...args) => run(process.execPath, [join(repo, "bin/xscoap.js"), ...args]);
	const base = "coap://127.0.0.1:" + coapPort;

	// Variant manifests beside the example's: its manifest included, config.sensor.oscore added.
	const variant = (label, oscore, debug = false) => {
		const dir = join(tmp, label, name); // the app's name is its folder's
		mkdirSync(dir, { recursive: true });
		writeFileSync(join(dir, "manifest.json"), JSON.stringify({ include: [join(app, "manifest.json")], config: { sensor: { oscore } } }, null, 1));
		const o = join(tmp, label, "build");
		mkdirSync(o, { recursive: true });
		const args = [...(debug ? ["-d"] : []), "-m", "-p", "lin", "-t", "build"];
		const b = mcconfig({ moddable, repo, dir, args: [...args, "-o", o, "manifest.json", "coapPort=" + coapPort] });
		const so = simulatorBinary(o, debug, name);
		record("build with config.sensor.oscore = " + (oscore === false ? "false" : "a context") + " (mcconfig " + args.join(" ") + ")", b.ok && !!so && b.warnings.ours.length === 0, b.ok ? b.seconds.toFixed(0) + " s" + (b.warnings.ours.length ? "; warnings: " + b.warnings.ours.join(" | ") : "") : b.errors.slice(0, 3).join(" | "));
		return so;
	};
	const credentials = (label, settings) => {
		const dir = join(tmp, "ctx-" + label);
		mkdirSync(dir, { recursive: true });
		writeFileSync(join(dir, "settings.json"), JSON.stringify(settings));
		const file = join(tmp, label + ".json");
		writeFileSync(file, JSON.stringify({ [base + "/*"]: { oscore: { basedir: dir + "/" } } }));
		return file;
	};
	const client = credentials("client", CLIENT_SETTINGS);
	const wrong = credentials("wrong", WRONG_SETTINGS);
	// Its sequence numbers above the right client's, so that the device's replay window lets them
	// through (§7.4 is checked before decrypting) and decryption is what fails.
	writeFileSync(join(tmp, "ctx-wrong", "sequence.json"), JSON.stringify({ "next-to-send": 100000 }));
	const aiocoap = findAiocoap(repo);
	const python = process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
	// aiocoap's OSCORE transport imports lakers (EDHOC), which Debian does not ship: without it,
	// aiocoap-client silently sends unprotected. The shared tools' stand-ins cover that import.
	const stubs = [join(repo, "../shared/tools/aiocoap/pystubs"), "/work/shared/tools/aiocoap/pystubs"].find((d) => existsSync(d));
	const aioEnv = aiocoap ? { ...process.env, PYTHONPATH: [aiocoap, stubs, process.env.PYTHONPATH].filter(Boolean).join(":") } : null;
	const aioOk = aiocoap && spawnSync(python, ["-c", "import aiocoap.oscore, aiocoap.transports.oscore, cbor2, cryptography, filelock"], { env: aioEnv }).status === 0;

	const boot = async (so, label) => {
		const dev = await runRelease({ mcsim, so, display, startLine: /xscoap sensor [^\n]*coap on UDP port (\d+)/ });
		if (!dev.started) record(label + ": started", false, dev.out.text.slice(-400));
		else await waitFor(() => /xscoap sensor: OSCORE/.test(dev.out.text), 1000); // follows the start line when there is a context
		return dev;
	};
	const oscoreLine = (dev) => /xscoap sensor: OSCORE context from the store \(([^)]*)\), sender ID (\w+), recipient ID (\w+), sequence number from (\d+)( \(restored[^)]*\))?/.exec(dev.out.text);

	clearXscoapPreferences();
	const keySo = variant("key", DEVICE_SETTINGS);
	const forgetSo = variant("forget", false);
	const debugSo = debug ? variant("key", DEVICE_SETTINGS, true) : undefined;
	let rtt = null;
	let instruments = null;

	// ---- 1. provisioned from config.sensor.oscore
	if (keySo) {
		const dev = await boot(keySo, "boot 1");
		try {
			const line = oscoreLine(dev);
			record("boot 1: the context from config.sensor.oscore, native crypto (crypt), sender ID 5e", !!line && line[1] === "config.sensor.oscore" && line[2] === "5e" && !line[5], line ? line[0] : dev.out.text.slice(-300));
			const plainTemp = await xscoap("get", base + "/sensors/temperature");
			record("unprotected GET /sensors/temperature: 2.05 (the sensors need no OSCORE)", plainTemp.code === 0 && /^\d+\.\d\d$/.test(plainTemp.stdout), plainTemp.stdout + plainTemp.stderr.trim());
			const plainPut = await xscoap("put", base + "/actuators/led", "--payload", "1");
			record("unprotected PUT /actuators/led: 4.01 Unauthorized", plainPut.code === 1 && /4\.01 Unauthorized/.test(plainPut.stderr), plainPut.stderr.trim());
			const put = await xscoap("put", base + "/actuators/led", "--payload", "1", "--credentials", client, "-v");
			record("protected PUT /actuators/led (xscoap --credentials): 2.04, request and answer carry the OSCORE option", put.code === 0 && /^-> .* CON POST .*OSCORE:0x/m.test(put.stderr) && /^<- .* ACK 2\.04 Changed .*OSCORE:0x/m.test(put.stderr), put.code === 0 ? "exit 0" : put.stderr.trim().split("\n").pop());
			const get = await xscoap("get", base + "/actuators/led", "--credentials", client);
			record("protected GET /actuators/led: 1", get.code === 0 && get.stdout === "1", get.stdout + get.stderr.trim());
			const device = await xscoap("get", base + "/device", "--credentials", client, "-v");
			let parsed = false;
			try {
				parsed = typeof JSON.parse(device.stdout).name === "string";
			} catch {}
			const blocks = (device.stderr.match(/^<- .*OSCORE:0x/gm) ?? []).length;
			record("protected GET /device: the JSON description block-wise inside OSCORE (inner Block2)", device.code === 0 && parsed && blocks >= 2, blocks + " protected responses, " + device.stdout.length + " bytes");
			const obs = await xscoap("get", base + "/sensors/temperature", "--credentials", client, "--observe", "--count", "2", "--timeout", "20");
			const lines = obs.stdout.trim().split("\n").filter((l) => /^\d+\.\d\d$/.test(l));
			record("protected Observe /sensors/temperature: 2 notifications, then deregistered", obs.code === 0 && lines.length === 2, lines.join(" ") + (obs.code ? " " + obs.stderr.trim() : ""));
			const bad = await xscoap("put", base + "/actuators/led", "--payload", "0", "--credentials", wrong);
			record("a wrong secret: the device answers 4.00 Decryption failed unprotected (§8.2), a COAP_OSCORE error, no payload", bad.code === 1 && /COAP_OSCORE.*4\.00 Bad Request.*Decryption failed/.test(bad.stderr) && bad.stdout === "", bad.stderr.trim().split("\n")[0]);
			if (aioOk) {
				const aioFile = credentials("aiocoap", CLIENT_SETTINGS);
				// The same sender ID as xscoap's client above: aiocoap starts above its numbers (aiocoap's sequence.json).
				writeFileSync(join(tmp, "ctx-aiocoap", "sequence.json"), JSON.stringify({ "next-to-send": 50000, "received": { "index": 0, "bitfield": 0 } }));
				const a = await run(python, [join(aiocoap, "aiocoap-client"), "--credentials", aioFile, "-m", "PUT", "--payload", "0", base + "/actuators/led"], 30000, aioEnv);
				const b = await run(python, [join(aiocoap, "aiocoap-client"), "--credentials", aioFile, base + "/actuators/led"], 30000, aioEnv);
				record("aiocoap-client --credentials: protected PUT 0 then GET /actuators/led → 0", a.code === 0 && b.code === 0 && b.stdout.trim().endsWith("0"), (a.stdout + a.stderr + " | " + b.stdout + b.stderr).replace(/\s+/g, " ").trim().slice(0, 200));
			} else record("aiocoap-client --credentials: skipped (no aiocoap checkout with its OSCORE modules: AIOCOAP=DIR, PYTHON)", true, "skipped");
		} finally {
			await dev.stop();
		}
	}
	const p1 = storedPreferences();
	const seq1 = Number(ascii(p1["osc-seq"]));
	record("the Preference store holds the context (osc-ctx) and the sequence mark (osc-seq)", Array.isArray(p1["osc-ctx"]) && p1["osc-ctx"].length > 16 && Number.isInteger(seq1), PREFERENCES_FILE + ": osc-ctx " + (p1["osc-ctx"]?.length ?? 0) + " bytes, osc-seq " + JSON.stringify(ascii(p1["osc-seq"])));

	// ---- 2. the plain build: the stored context survives the reboot and the firmware without a key
	if (plainSo) {
		const dev = await boot(plainSo, "boot 2");
		try {
			const line = oscoreLine(dev);
			record("boot 2 (examples/sensor/manifest.json, no key in it): the stored context, its sequence number above the stored mark, replay window to recover", !!line && line[1] === "provisioned earlier" && !!line[5] && Number(line[4]) > seq1, line ? line[0] : dev.out.text.slice(-300));
			const get = await xscoap("get", base + "/actuators/led", "--credentials", client, "-v");
			const posts = (get.stderr.match(/^-> .* CON POST /gm) ?? []).length;
			record("first protected request after the reboot: 4.01 + Echo, repeated by the client (Appendix B.1.2), then 2.05 (the LED starts off)", get.code === 0 && get.stdout === "0" && posts === 2, posts + " requests sent; " + get.stdout + (get.code ? " " + get.stderr.trim().split("\n").pop() : ""));
			const plainPut = await xscoap("put", base + "/actuators/led", "--payload", "1");
			record("still 4.01 without OSCORE", plainPut.code === 1 && /4\.01/.test(plainPut.stderr), plainPut.stderr.trim());
			rtt = await roundTrips(repo, base, join(tmp, "ctx-client")).catch((e) => ({ ok: false, detail: String(e.message ?? e) }));
			record("200 protected GETs of /actuators/led and 200 unprotected of /sensors/temperature, one at a time (xscoap's Node client)", rtt.ok, rtt.detail);
		} finally {
			await dev.stop();
		}
	}
	const p2 = storedPreferences();
	const seq2 = Number(ascii(p2["osc-seq"]));
	record("the sequence mark grew across the reboot", seq2 > seq1, seq1 + " → " + seq2);

	// ---- the debug build under xsbug-log: stack and heaps with protected traffic
	if (debugSo) {
		const dev = await runDebug({ moddable, mcsim, so: debugSo, display, startLine: /xscoap sensor [^\n]*coap on UDP port (\d+)/ });
		try {
			if (!dev.started) record("debug build with a context started under xsbug-log", false, dev.out.text.slice(-400));
			else instruments = await debugRun(dev, repo, base, join(tmp, "ctx-client"), record);
		} finally {
			await dev.stop();
		}
	}

	// ---- 3. "oscore": false forgets the context
	if (forgetSo) {
		const dev = await boot(forgetSo, "boot 3");
		try {
			record("boot 3 (config.sensor.oscore false): no OSCORE context", dev.started && !oscoreLine(dev), dev.started ? "" : dev.out.text.slice(-200));
			const put = await xscoap("put", base + "/actuators/led", "--payload", "1");
			record("unprotected PUT /actuators/led: 2.04 again", put.code === 0, put.stderr.trim());
		} finally {
			await dev.stop();
		}
	}
	const p3 = storedPreferences();
	record("the stored context is gone", !p3["osc-ctx"] || p3["osc-ctx"].length === 0, "osc-ctx " + JSON.stringify(p3["osc-ctx"] ?? null));
	clearXscoapPreferences();
	return { results, rtt, instruments, preferences: { boot1: { seq: seq1, ctxBytes: p1["osc-ctx"]?.length ?? 0 }, boot2: { seq: seq2 } } };
}

/** Round trips one at a time from xscoap's Node client (library, one process): protected and plain, ms each. */
async function roundTrips(repo, base, contextDir) {
	const { openEndpoint } = await import(join(repo, "build/hosts/node/ports.js"));
	const { loadContextDirectory } = await import(join(repo, "build/hosts/node/credentials.js"));
	const { nobleCrypto } = await import(join(repo, "build/modules/coap/oscore/noble.js"));
	const ctx = loadContextDirectory(contextDir, nobleCrypto);
	const ep = await openEndpoint({ address: "127.0.0.1", oscore: { credentials: { [base + "/actuators/*"]: ctx } } });
	try {
		const time = async (path) => {
			const t0 = performance.now();
			let ok = 0;
			for (let i = 0; i < 200; i++) if ((await ep.request({ uri: base + path, timeoutMs: 20000 })).codeText === "2.05") ok++;
			return { ms: (performance.now() - t0) / 200, ok };
		};
		await time("/actuators/led"); // warm-up
		const protectedRt = await time("/actuators/led");
		const plainRt = await time("/sensors/temperature");
		return { ok: protectedRt.ok === 200 && plainRt.ok === 200, protectedMs: protectedRt.ms, plainMs: plainRt.ms, detail: "protected " + protectedRt.ms.toFixed(2) + " ms, unprotected " + plainRt.ms.toFixed(2) + " ms per round trip (release build in mcsim)" };
	} finally {
		ep.close();
	}
}

/**
 * The debug build with a context under xsbug-log: 100 protected GETs, then the heaps after a
 * garbage collection (breakpoint in sampler.ts), 400 more, the heaps again: they must not grow;
 * the stack peak of the whole run must leave 30 % free (as the plain run's).
 */
async function debugRun(dev, repo, base, contextDir, record) {
	const { openEndpoint } = await import(join(repo, "build/hosts/node/ports.js"));
	const { loadContextDirectory } = await import(join(repo, "build/hosts/node/credentials.js"));
	const { nobleCrypto } = await import(join(repo, "build/modules/coap/oscore/noble.js"));
	const ep = await openEndpoint({ address: "127.0.0.1", oscore: { credentials: { [base + "/*"]: loadContextDirectory(contextDir, nobleCrypto) } } });
	const heaps = {};
	try {
		const gets = async (n) => {
			let ok = 0;
			for (let i = 0; i < n; i++) if ((await ep.request({ uri: base + (i % 2 ? "/actuators/led" : "/sensors/temperature"), timeoutMs: 20000 })).codeText === "2.05") ok++;
			return ok;
		};
		const put = await ep.request({ uri: base + "/actuators/led", method: "PUT", payload: "1", timeoutMs: 20000 });
		const device = await ep.request({ uri: base + "/device", timeoutMs: 20000 });
		let ok = put.codeText === "2.04" && device.codeText === "2.05";
		ok = (await gets(100)) === 100 && ok;
		heaps.after100 = await dev.sampleAtBreak("sample");
		ok = (await gets(400)) === 400 && ok;
		heaps.after500 = await dev.sampleAtBreak("sample");
		record("debug build with a context: a protected PUT, GET /device (block-wise) and 500 protected GETs answered", ok);
	} catch (e) {
		record("debug build with a context: protected requests", false, String(e.message ?? e));
	} finally {
		ep.close();
	}
	const samples = dev.samples.filter((s) => s.machine !== "mcsim");
	const peak = Math.max(...samples.map((s) => s["Stack used"]));
	const size = samples[samples.length - 1]?.["Stack available"] ?? 0;
	const free = size > 0 ? 1 - peak / size : 0;
	record("stack peak with OSCORE traffic leaves at least 30 % free", free >= 0.3, peak + " of " + size + " bytes, " + (free * 100).toFixed(0) + " % free");
	const a = heaps.after100;
	const b = heaps.after500;
	const fmt = (s) => (s ? "chunk " + s["Chunk used"] + " B, slot " + s["Slot used"] + " B" : "(none)");
	record("heaps after a garbage collection do not grow from 100 to 500 protected GETs", !!a && !!b && b["Chunk used"] <= a["Chunk used"] && b["Slot used"] <= a["Slot used"], "after 100: " + fmt(a) + "; after 500: " + fmt(b));
	return { stackPeak: peak, stackSize: size, heaps };
}
