#!/usr/bin/env node
// bench/oscore.mjs — OSCORE (RFC 8613) message processing cost, without the network: one
// round trip is protect request (client) → unprotect request (server) → protect response
// (server) → unprotect response (client), 64-byte payloads both ways, with xscoap's
// modules/coap/oscore. Reported:
//   1. Node: round trips per second, portable AES-CCM (ccm.ts on @noble/ciphers' AES) next to
//      Node's native aes-128-ccm (hosts/node/oscore-crypto.ts), same process, same run;
//   2. Node: V8 heap bytes allocated per round trip (child process with --trace-gc: growth of
//      the used heap plus what every collection freed, 0.1 MB resolution per collection);
//   3. XS: operations per protect and per unprotect (xsnap-worker's deterministic `compute`
//      meter, marginal cost between N and 2N operations) and XS slots allocated per operation
//      (growth of the live slot count within one delivery, no collection in between).
// Usage: node bench/oscore.mjs [--seconds S] [--xs-ops N] [--json] [--no-xs]   (after a build)
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
	const i = args.indexOf(name);
	return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt("--seconds", 2);
const XS_OPS = opt("--xs-ops", 40);
const build = (p) => pathToFileURL(path.join(REPO, "build", p)).href;

// ---- the round trip, shared by the Node measurements (modules from build/)
async function makeRoundTrip(cryptoName) {
	const { SecurityContext } = await import(build("modules/coap/oscore/context.js"));
	const { Oscore } = await import(build("modules/coap/oscore/oscore.js"));
	const { RequestBinding } = await import(build("modules/coap/oscore/binding.js"));
	const { MessageView } = await import(build("modules/coap/wire/view.js"));
	const { MessageWriter } = await import(build("modules/coap/wire/writer.js"));
	const crypto = cryptoName === "native"
		? (await import(build("hosts/node/oscore-crypto.js"))).nodeCrypto
		: (await import(build("modules/coap/oscore/noble.js"))).nobleCrypto;
	const secret = new Uint8Array(16).map((_, i) => i + 1);
	const salt = Uint8Array.of(0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40);
	const client = new SecurityContext({ masterSecret: secret, masterSalt: salt, senderId: Uint8Array.of(1), recipientId: Uint8Array.of(2) }, crypto);
	const server = new SecurityContext({ masterSecret: secret, masterSalt: salt, senderId: Uint8Array.of(2), recipientId: Uint8Array.of(1) }, crypto);
	const co = new Oscore({ contexts: 1 }), so = new Oscore({ contexts: 1 });
	so.contexts.add(server);
	const cb = new RequestBinding(), sb = new RequestBinding();
	const payload = new Uint8Array(64).fill(0x61);
	const token = Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4);
	// The plain request and response, written once (an endpoint would write them per message).
	const req = new MessageWriter(new Uint8Array(1152));
	req.header(0, 2, 1, token, 0, 4).stringOption(11, "sensors").stringOption(11, "temp").uintOption(12, 42).payload(payload);
	const reqView = new MessageView(24);
	reqView.parse(req.buf, req.finish());
	const res = new MessageWriter(new Uint8Array(1152));
	res.header(2, 0x45, 1, token, 0, 4).uintOption(12, 42).payload(payload);
	const resView = new MessageView(24);
	resView.parse(res.buf, res.finish());
	const wire = new MessageWriter(new Uint8Array(1152));
	const plain = new MessageWriter(new Uint8Array(1152));
	const rx = new MessageView(24);
	return function roundTrip() {
		let n = co.protectRequest(reqView, client, wire, cb);
		rx.parse(wire.buf, n);
		n = so.unprotectRequest(rx, plain, sb);
		if (n < 0) throw new Error("unprotect request: " + n);
		n = so.protectResponse(resView, sb, wire);
		rx.parse(wire.buf, n);
		n = co.unprotectResponse(rx, cb, plain);
		if (n !== resView.length) throw new Error("unprotect response: " + n);
	};
}

async function rate(cryptoName, seconds) {
	const rt = await makeRoundTrip(cryptoName);
	for (let i = 0; i < 2000; i++) rt(); // warm-up
	let n = 0;
	const t0 = performance.now();
	let t = t0;
	while (t - t0 < seconds * 1000) {
		for (let i = 0; i < 200; i++) rt();
		n += 200;
		t = performance.now();
	}
	return n / ((t - t0) / 1000);
}

// Child mode: allocation of N round trips under --trace-gc.
if (process.env.XSCOAP_OSCORE_ALLOC) {
	const rt = await makeRoundTrip(process.env.XSCOAP_OSCORE_ALLOC);
	const N = 100000;
	for (let i = 0; i < 5000; i++) rt();
	globalThis.gc();
	const m0 = process.memoryUsage().heapUsed;
	console.log("MEASURE-START");
	for (let i = 0; i < N; i++) rt();
	console.log("MEASURE-END");
	const m1 = process.memoryUsage().heapUsed;
	console.log(JSON.stringify({ roundTrips: N, heapGrowth: m1 - m0 }));
	process.exit(0);
}

function allocation(cryptoName) {
	const r = spawnSync(process.execPath, ["--expose-gc", "--trace-gc", fileURLToPath(import.meta.url)], {
		env: { ...process.env, XSCOAP_OSCORE_ALLOC: cryptoName }, encoding: "utf8", timeout: 300000,
	});
	const line = (r.stdout || "").split("\n").find((l) => l.startsWith("{"));
	if (r.status !== 0 || !line) throw new Error("allocation child failed: " + (r.stderr || r.stdout).slice(0, 600));
	const res = JSON.parse(line);
	const window = (r.stdout.split("MEASURE-START")[1] || "").split("MEASURE-END")[0];
	let freed = 0, gcs = 0;
	for (const m of window.matchAll(/(\d+(?:\.\d+)?) \((?:\d+(?:\.\d+)?)\) -> (\d+(?:\.\d+)?) \((?:\d+(?:\.\d+)?)\) MB/g)) {
		freed += (Number(m[1]) - Number(m[2])) * 1024 * 1024;
		gcs++;
	}
	return { bytesPerRoundTrip: (res.heapGrowth + freed) / res.roundTrips, collections: gcs };
}

// ---- XS: xsnap-worker, as bench/xs-device.mjs does
const XS_ENTRY = `
import { SecurityContext } from "./modules/coap/oscore/context.js";
import { Oscore } from "./modules/coap/oscore/oscore.js";
import { RequestBinding } from "./modules/coap/oscore/binding.js";
import { nobleCrypto } from "./modules/coap/oscore/noble.js";
import { BlockCcm } from "./modules/coap/oscore/ccm-block.js";
import { MessageView } from "./modules/coap/wire/view.js";
import { MessageWriter } from "./modules/coap/wire/writer.js";

const s = {};
// A stand-in for a host's native AES block (the Moddable host's crypt BlockCipher, C code that
// encrypts in place): an in-place keyed byte mixing in JavaScript that allocates nothing. NOT
// AES and not secure; with it the slots counted are those of xscoap's OSCORE code alone.
class StandInBlock {
	constructor(key) { this.key = Uint8Array.from(key); this.stateBytes = 16; }
	encryptBlock(b) {
		const k = this.key;
		for (let r = 0; r < 2; r++) for (let i = 0; i < 16; i++) b[i] = ((b[i] ^ k[i]) + b[(i + 15) & 15] + r) & 0xff;
	}
	wipe() { this.key.fill(0); }
}
const standInCrypto = { aead: (key) => new BlockCcm(new StandInBlock(key)), hkdf: nobleCrypto.hkdf };
function setup(variant) {
	const crypto = variant === "block" ? standInCrypto : nobleCrypto;
	const secret = new Uint8Array(16).map((_, i) => i + 1);
	s.client = new SecurityContext({ masterSecret: secret, senderId: Uint8Array.of(1), recipientId: Uint8Array.of(2) }, crypto);
	s.server = new SecurityContext({ masterSecret: secret, senderId: Uint8Array.of(2), recipientId: Uint8Array.of(1) }, crypto);
	s.co = new Oscore({ contexts: 1 });
	s.so = new Oscore({ contexts: 1 });
	s.so.contexts.add(s.server);
	s.cb = new RequestBinding();
	s.sb = new RequestBinding();
	const payload = new Uint8Array(64).fill(0x61);
	const token = Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4);
	const req = new MessageWriter(new Uint8Array(1152));
	req.header(0, 2, 1, token, 0, 4).stringOption(11, "sensors").stringOption(11, "temp").uintOption(12, 42).payload(payload);
	s.reqView = new MessageView(24);
	s.reqView.parse(req.buf, req.finish());
	const res = new MessageWriter(new Uint8Array(1152));
	res.header(2, 0x45, 1, token, 0, 4).uintOption(12, 42).payload(payload);
	s.resView = new MessageView(24);
	s.resView.parse(res.buf, res.finish());
	s.wire = new MessageWriter(new Uint8Array(1152));
	s.plain = new MessageWriter(new Uint8Array(1152));
	s.rx = new MessageView(24);
	s.bad = 0;
}
// stage 1: protect request; 2: + unprotect request; 3: + protect response; 4: + unprotect response
function run(stage, n) {
	for (let i = 0; i < n; i++) {
		let len = s.co.protectRequest(s.reqView, s.client, s.wire, s.cb);
		if (stage < 2) continue;
		s.rx.parse(s.wire.buf, len);
		len = s.so.unprotectRequest(s.rx, s.plain, s.sb);
		if (len < 0) s.bad++;
		if (stage < 3) continue;
		len = s.so.protectResponse(s.resView, s.sb, s.wire);
		if (stage < 4) continue;
		s.rx.parse(s.wire.buf, len);
		len = s.co.unprotectResponse(s.rx, s.cb, s.plain);
		if (len < 0) s.bad++;
	}
}
function reply(value) {
	const t = JSON.stringify(value);
	const b = new Uint8Array(t.length);
	for (let i = 0; i < t.length; i++) b[i] = t.charCodeAt(i);
	return b.buffer;
}
globalThis.handleCommand = (message) => {
	const bytes = new Uint8Array(message);
	let text = "";
	for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
	const [cmd, a, b] = text.split(" ");
	if (cmd === "setup") setup(a);
	else if (cmd === "gc") gc();
	else if (cmd === "run") run(Number(a), Number(b));
	else if (cmd === "bad") return reply({ bad: s.bad });
	return reply({});
};
`;

function workerBinary() {
	if (process.env.XSNAP_WORKER) return process.env.XSNAP_WORKER;
	const pkg = path.dirname(createRequire(path.join(REPO, "package.json")).resolve("@agoric/xsnap/package.json"));
	const bin = path.join(pkg, `xsnap-native/xsnap/build/bin/${{ linux: "lin", darwin: "mac" }[process.platform]}/release/xsnap-worker`);
	return existsSync(bin) ? bin : null;
}

async function xsFigures(N, variant) {
	const bin = workerBinary();
	if (!bin) return { skipped: "xsnap-worker not built (npm ci builds it)" };
	const esbuild = await import("esbuild");
	const bundle = await esbuild.build({
		stdin: { contents: XS_ENTRY, resolveDir: REPO, loader: "ts", sourcefile: "oscore-xs-entry.ts" },
		bundle: true, write: false, format: "iife", platform: "neutral", target: "es2022", mainFields: ["module", "main"], logLevel: "warning",
	});
	const child = spawn(bin, ["oscore-bench", "-l", "2000000000"], { stdio: ["ignore", "inherit", "inherit", "pipe", "pipe"] });
	let buffer = Buffer.alloc(0);
	const waiting = [];
	child.stdio[4].on("data", (chunk) => {
		buffer = Buffer.concat([buffer, chunk]);
		for (;;) {
			const colon = buffer.indexOf(0x3a);
			if (colon < 0) return;
			const length = Number(buffer.subarray(0, colon).toString());
			if (buffer.length < colon + 2 + length) return;
			const m = buffer.subarray(colon + 1, colon + 1 + length);
			buffer = buffer.subarray(colon + 2 + length);
			waiting.shift()?.(m);
		}
	});
	const deliver = (payload) => {
		const body = Buffer.from(payload);
		child.stdio[3].write(Buffer.concat([Buffer.from(body.length + ":"), body, Buffer.from(",")]));
		return new Promise((done) => waiting.push(done)).then((m) => {
			if (m[0] === 0x21) throw new Error("XS: " + m.subarray(1).toString());
			const sep = m.indexOf(1);
			return { meter: JSON.parse(m.subarray(1, sep).toString()), reply: JSON.parse(m.subarray(sep + 1).toString() || "{}") };
		});
	};
	await deliver("e" + bundle.outputFiles[0].text);
	await deliver("?setup " + variant);
	await deliver("?run 4 5"); // warm-up
	const stage = {};
	for (const st of [1, 2, 3, 4]) {
		const one = await deliver(`?run ${st} ${N}`);
		const two = await deliver(`?run ${st} ${2 * N}`);
		// Slots: collect, then N operations in one delivery; the live count grows by what they allocated.
		const g = await deliver("?gc");
		const after = await deliver(`?run ${st} ${N}`);
		const g2 = await deliver("?gc");
		const after2 = await deliver(`?run ${st} ${2 * N}`);
		stage[st] = {
			compute: (two.meter.compute - one.meter.compute) / N,
			slots: (after.meter.currentHeapCount - g.meter.currentHeapCount) / N,
			slots2: (after2.meter.currentHeapCount - g2.meter.currentHeapCount) / (2 * N),
		};
	}
	// Retained: live slots after a collection, before and after 10N round trips (no growth = nothing kept).
	const before = (await deliver("?gc")).meter.currentHeapCount;
	await deliver(`?run 4 ${10 * N}`);
	const afterAll = (await deliver("?gc")).meter.currentHeapCount;
	const bad = (await deliver("?bad")).reply.bad;
	child.stdio[3].end();
	if (bad) throw new Error("XS: " + bad + " operations failed");
	const diff = (k, a, b) => stage[a][k] - (b ? stage[b][k] : 0);
	const ops = { protectRequest: [1, 0], unprotectRequest: [2, 1], protectResponse: [3, 2], unprotectResponse: [4, 3] };
	const out = { operations: N, liveSlotsBefore: before, liveSlotsAfter10N: afterAll };
	for (const [name, [a, b]] of Object.entries(ops)) out[name] = { compute: diff("compute", a, b), slots: diff("slots", a, b), slotsAt2N: diff("slots2", a, b) };
	return out;
}

// ---- main
const figures = { payloadBytes: 64 };
figures.portable = { roundTripsPerSecond: await rate("portable", SECONDS) };
figures.native = { roundTripsPerSecond: await rate("native", SECONDS) };
figures.portable = { ...figures.portable, ...allocation("portable") };
figures.native = { ...figures.native, ...allocation("native") };
if (!args.includes("--no-xs")) {
	figures.xs = await xsFigures(XS_OPS, "noble");
	if (!figures.xs.skipped) figures.xsBlock = await xsFigures(XS_OPS, "block");
}

if (args.includes("--json")) {
	console.log(JSON.stringify(figures, null, 2));
} else {
	const f = (x) => Math.round(x).toLocaleString("en");
	console.log(`OSCORE round trip (protect request, unprotect request, protect response, unprotect response), 64-byte payloads, ${SECONDS} s per figure`);
	console.log("");
	console.log("| AEAD | round trips / s (Node) | V8 heap bytes allocated per round trip | collections in 100k round trips |");
	console.log("|---|---:|---:|---:|");
	console.log(`| portable AES-CCM (noble AES block) | ${f(figures.portable.roundTripsPerSecond)} | ${f(figures.portable.bytesPerRoundTrip)} | ${figures.portable.collections} |`);
	console.log(`| Node native aes-128-ccm | ${f(figures.native.roundTripsPerSecond)} | ${f(figures.native.bytesPerRoundTrip)} | ${figures.native.collections} |`);
	console.log("");
	console.log(`portable / native: ${(figures.portable.roundTripsPerSecond / figures.native.roundTripsPerSecond).toFixed(2)}x the round trips`);
	if (figures.xs?.skipped) console.log("XS: skipped: " + figures.xs.skipped);
	else if (figures.xs) {
		console.log("");
		console.log(`XS (xsnap-worker, portable AES-CCM), marginal cost over ${figures.xs.operations} and ${2 * figures.xs.operations} operations:`);
		console.log("");
		console.log("| operation | XS operations (compute) | XS slots allocated |");
		console.log("|---|---:|---:|");
		for (const k of ["protectRequest", "unprotectRequest", "protectResponse", "unprotectResponse"]) {
			const x = figures.xs[k];
			console.log(`| ${k} | ${f(x.compute)} | ${x.slots.toFixed(1)} (at 2N: ${x.slotsAt2N.toFixed(1)}) |`);
		}
		console.log("");
		console.log(`Live XS slots after a collection: ${figures.xs.liveSlotsBefore} before and ${figures.xs.liveSlotsAfter10N} after ${10 * figures.xs.operations} more round trips (the slots above are garbage: 5 per AES block, the result object of noble's block function).`);
		const xb = figures.xsBlock;
		console.log("");
		console.log("XS, the device's path: BlockCcm (ccm-block.ts) over an allocation-free stand-in for the host's native AES block (the Moddable host's crypt BlockCipher is C; the stand-in is NOT AES, its XS operations are not the device's):");
		console.log("");
		console.log("| operation | XS slots allocated |");
		console.log("|---|---:|");
		for (const k of ["protectRequest", "unprotectRequest", "protectResponse", "unprotectResponse"]) console.log(`| ${k} | ${xb[k].slots.toFixed(1)} (at 2N: ${xb[k].slotsAt2N.toFixed(1)}) |`);
		console.log("");
		console.log(`Live XS slots after a collection: ${xb.liveSlotsBefore} before and ${xb.liveSlotsAfter10N} after ${10 * xb.operations} more round trips (a fraction of a slot per operation that halves at 2N is a constant per batch, not per message).`);
	}
}
