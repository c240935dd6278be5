#!/usr/bin/env node
// XS-engine benchmark of the firmware example's request loop: the sensor device
// (examples/sensor/app.ts) on a device endpoint sized by the ESP32 config.coap, answering
// requests over the virtual network (sim/), all inside XS. Runs in `xsnap-worker` (built by
// @agoric/xsnap's install script), which reports per delivery XS's own figures: `compute`
// (XS operations metered in that delivery: deterministic, noise-free), `currentHeapCount`
// (slots in use after it) and `allocate` (bytes the machine has allocated for its heaps).
//
//   node bench/xs-device.mjs [--requests N] [--json]
//
// Three request sources: "echo" (the same datagrams to a bare socket that sends them back:
// the virtual network's own cost, the baseline), "raw" (pre-encoded CON GET datagrams from a
// bare socket to the device: raw minus echo is the device endpoint's work per request) and
// "endpoint" (a client Endpoint doing the same requests: both ends of the stack). Each runs N
// requests and 2N requests in separate deliveries; the difference / N is the marginal cost of
// one request, free of set-up cost. gc() before each slot count makes the counts live slots.
// Speaks the worker's netstring protocol itself (xsnap-worker.c): `e<script>` evaluates,
// `?<bytes>` calls globalThis.handleCommand; replies are `.<meter JSON>\1<bytes>` or `!<error>`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const json = args.includes("--json");
const nIndex = args.indexOf("--requests");
const N = nIndex >= 0 ? Number(args[nIndex + 1]) : 200;
if (!(Number.isInteger(N) && N > 0)) {
	console.error("usage: node bench/xs-device.mjs [--requests N] [--json]");
	process.exit(2);
}

function workerBinary() {
	if (process.env.XSNAP_WORKER) return process.env.XSNAP_WORKER;
	const pkg = dirname(createRequire(join(root, "package.json")).resolve("@agoric/xsnap/package.json"));
	const platform = { linux: "lin", darwin: "mac" }[process.platform];
	const bin = join(pkg, `xsnap-native/xsnap/build/bin/${platform}/release/xsnap-worker`);
	if (!existsSync(bin)) {
		console.error(`xs-device: ${bin} not found (it is built by @agoric/xsnap's install script: npm ci); or set XSNAP_WORKER`);
		process.exit(1);
	}
	return bin;
}

// The script evaluated inside XS. Imports TypeScript sources directly (esbuild compiles them).
const entry = `
import { VirtualNetwork } from "./sim/index.js";
import { Endpoint } from "./modules/coap/endpoint.js";
import { ESP32_DEVICE_CONFIG, deviceSettings } from "./modules/coap/device.js";
import { SensorApp } from "./examples/sensor/app.js";
import { SimulatedSensors } from "./examples/sensor/simulated.js";

const DEVICE = "10.0.0.2", CLIENT = "10.0.0.1", RAW = "10.0.0.3";
const state = { net: null, device: null, client: null, raw: null, answers: 0, bad: 0, result: "" };

function onEcho(count) {
	for (;;) {
		const d = this.read();
		if (d === undefined) return;
		const b = new Uint8Array(d);
		b[1] = 0x45;
		this.write(b, d.address, d.port);
	}
}

function onRaw(count) {
	for (;;) {
		const d = this.read();
		if (d === undefined) return;
		const b = new Uint8Array(d);
		if (b[1] === 0x45) state.answers++; else state.bad++;
	}
}

// CON GET /sensors/temperature, TKL 1: 41 01 <mid> 7a b7 "sensors" 0b "temperature"
const GET_TEMPERATURE = [0x41, 0x01, 0, 0, 0x7a, 0xb7, 0x73, 0x65, 0x6e, 0x73, 0x6f, 0x72, 0x73, 0x0b, 0x74, 0x65, 0x6d, 0x70, 0x65, 0x72, 0x61, 0x74, 0x75, 0x72, 0x65];

function setup() {
	const net = new VirtualNetwork({ seed: 1 });
	const ports = (h) => ({ udp: net.udpClass(h), clock: net.clock, random: net.random(h) });
	const board = new SimulatedSensors({ now: () => net.clock.now() });
	const settings = deviceSettings(ESP32_DEVICE_CONFIG);
	state.net = net;
	state.device = new Endpoint({ ports: ports(DEVICE), port: 5683, limits: settings.limits, router: new SensorApp(board, net.clock).router }); // not started: no sampling timer, so the network goes idle
	state.client = new Endpoint({ ports: ports(CLIENT) });
	const Raw = net.udpClass(RAW);
	state.raw = new Raw({ port: 40000, onReadable: onRaw });
	const Echo = net.udpClass(DEVICE);
	state.echo = new Echo({ port: 7, onReadable: onEcho });
	state.rawBytes = Uint8Array.from(GET_TEMPERATURE);
	state.mid = 0;
}

async function runRaw(n, port = 5683) {
	const b = state.rawBytes;
	for (let i = 0; i < n; i++) {
		state.mid = (state.mid + 1) & 0xffff;
		b[2] = state.mid >> 8;
		b[3] = state.mid & 0xff;
		state.raw.write(b, DEVICE, port);
		await state.net.runUntilIdle();
	}
}

async function runEndpoint(n) {
	for (let i = 0; i < n; i++) {
		const p = state.client.request({ uri: "coap://" + DEVICE + "/sensors/temperature" });
		await state.net.runUntilIdle();
		const res = await p;
		if (res.code === 0x45) state.answers++; else state.bad++;
	}
}

function reply(value) {
	const s = JSON.stringify(value);
	const b = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
	return b.buffer;
}

globalThis.handleCommand = (message) => {
	const bytes = new Uint8Array(message);
	let text = "";
	for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
	const [command, arg] = text.split(" ");
	if (command === "setup") setup();
	else if (command === "gc") gc();
	else if (command === "raw" || command === "endpoint" || command === "echo") {
		state.answers = state.bad = 0;
		const run = command === "raw" ? runRaw : command === "echo" ? (n) => runRaw(n, 7) : runEndpoint;
		run(Number(arg)).then(
			() => { state.result = JSON.stringify({ answers: state.answers, bad: state.bad, stats: state.device.stats }); },
			(e) => { state.result = JSON.stringify({ error: String(e) }); },
		);
	} else if (command === "result") return reply(JSON.parse(state.result));
	else if (command === "close") { state.client.close(); state.device.close(); state.raw.close(); state.echo.close(); }
	else throw new Error("unknown command " + command);
	return reply({});
};
`;

const bundle = await esbuild.build({
	stdin: { contents: entry, resolveDir: root, loader: "ts", sourcefile: "xs-device-entry.ts" },
	bundle: true, write: false, format: "iife", platform: "neutral", target: "es2022", mainFields: ["module", "main"], logLevel: "warning",
});
const script = bundle.outputFiles[0].text;

// ---- the worker and its protocol
const child = spawn(workerBinary(), ["xs-device", "-l", "2000000000"], { stdio: ["ignore", "inherit", "inherit", "pipe", "pipe"] });
let buffer = Buffer.alloc(0);
const waiting = [];
child.stdio[4].on("data", (chunk) => {
	buffer = Buffer.concat([buffer, chunk]);
	for (;;) {
		const colon = buffer.indexOf(0x3a);
		if (colon < 0) return;
		const length = Number(buffer.subarray(0, colon).toString());
		if (buffer.length < colon + 2 + length) return;
		const message = buffer.subarray(colon + 1, colon + 1 + length);
		buffer = buffer.subarray(colon + 2 + length);
		waiting.shift()?.(message);
	}
});
child.on("exit", (code) => {
	if (waiting.length) {
		console.error("xs-device: xsnap-worker exited with " + code);
		process.exit(1);
	}
});
function deliver(payload) {
	const body = Buffer.from(payload);
	child.stdio[3].write(Buffer.concat([Buffer.from(body.length + ":"), body, Buffer.from(",")]));
	return new Promise((done) => waiting.push(done)).then((m) => {
		if (m[0] === 0x21) throw new Error("XS: " + m.subarray(1).toString());
		const sep = m.indexOf(1);
		const meter = JSON.parse(m.subarray(1, sep).toString());
		const text = m.subarray(sep + 1).toString();
		return { meter, reply: text ? JSON.parse(text) : undefined };
	});
}
const command = (c) => deliver("?" + c);

// ---- measurements
const figures = { engine: "xsnap-worker of @agoric/xsnap", requests: N };
await deliver("e" + script);
let r = await command("gc");
figures.slotsAfterLoad = r.meter.currentHeapCount;
await command("setup");
r = await command("gc");
figures.slotsAfterSetup = r.meter.currentHeapCount;
figures.allocateAfterSetup = r.meter.allocate;

for (const source of ["echo", "raw", "endpoint"]) {
	await command(source + " 1"); // warm-up: first-use allocations (dedup entries, caches)
	const one = await command(source + " " + N);
	const res1 = (await command("result")).reply;
	const two = await command(source + " " + 2 * N);
	const res2 = (await command("result")).reply;
	if (res1.error || res2.error || res1.bad || res2.bad || res1.answers !== N || res2.answers !== 2 * N) {
		console.error("xs-device: requests failed", res1, res2);
		process.exit(1);
	}
	// Slots allocated per request (garbage included): the live count right after 20 requests
	// without a collection in between, against the count after a gc() just before them.
	const clean = await command("gc");
	const few = await command(source + " 20");
	const slotsAllocatedPerRequest = (few.meter.currentHeapCount - clean.meter.currentHeapCount) / 20;
	r = await command("gc");
	figures[source] = {
		slotsAllocatedPerRequest,
		computePerRequest: (two.meter.compute - one.meter.compute) / N,
		computeFor: { [N]: one.meter.compute, [2 * N]: two.meter.compute },
		slotsAfterRun: r.meter.currentHeapCount,
		allocateAfterRun: r.meter.allocate,
		deviceStats: res2.stats,
	};
}
figures.deviceComputePerRequest = figures.raw.computePerRequest - figures.echo.computePerRequest;
figures.deviceSlotsPerRequest = figures.raw.slotsAllocatedPerRequest - figures.echo.slotsAllocatedPerRequest;
r = await command("gc");
figures.slotsAtEnd = r.meter.currentHeapCount;
await command("close");
child.stdio[3].end();

if (json) {
	process.stdout.write(JSON.stringify(figures, null, 2) + "\n");
} else {
	const lines = [
		`xs-device: sensor example on XS (${figures.engine}), ESP32 config.coap, ${N} and ${2 * N} requests per source`,
		`  live slots after loading the bundle:          ${figures.slotsAfterLoad}`,
		`  live slots after building device + client:    ${figures.slotsAfterSetup}  (+${figures.slotsAfterSetup - figures.slotsAfterLoad}: endpoints, router, sim)`,
		`  heap allocated by the machine:                ${figures.allocateAfterSetup} bytes (xsnap-worker's initial heaps)`,
	];
	const label = { echo: "raw datagrams -> echo socket (network baseline):", raw: "raw datagrams -> device endpoint:", endpoint: "client endpoint -> device endpoint:" };
	for (const source of ["echo", "raw", "endpoint"]) {
		const f = figures[source];
		const d = f.slotsAfterRun - figures.slotsAfterSetup;
		lines.push(`  ${label[source].padEnd(49)} ${f.computePerRequest.toFixed(0).padStart(6)} XS operations, ${f.slotsAllocatedPerRequest.toFixed(0).padStart(4)} slots allocated per request; live slots after gc: ${f.slotsAfterRun} (${d >= 0 ? "+" : ""}${d})`);
	}
	lines.push(`  device endpoint's own work per GET /sensors/temperature (raw - echo): ${figures.deviceComputePerRequest.toFixed(0)} XS operations, ${figures.deviceSlotsPerRequest.toFixed(0)} slots allocated`);
	lines.push(`  heap allocated by the machine after all runs: ${figures.endpoint.allocateAfterRun} bytes (${figures.endpoint.allocateAfterRun === figures.allocateAfterSetup ? "unchanged" : "grew"})`);
	lines.push("  (slot counts: XS slots, 16 bytes each on a 32-bit MCU; the preallocated buffers are chunks, see `node examples/budget.mjs`)");
	process.stdout.write(lines.join("\n") + "\n");
}
