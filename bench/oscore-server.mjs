#!/usr/bin/env node
// The server's requests per second over OSCORE (RFC 8613) next to plain CoAP, on loopback:
// `xscoap serve` (with --credentials for OSCORE) pinned to one CPU, and as load the xscoap
// client in a separate process (bench/oscore-load.mjs; the neutral generator coapbench cannot
// speak OSCORE) pinned to the other, GET /hello with WINDOW requests in flight. The server's CPU
// time during the measured seconds (from /proc/PID/stat) gives its cost per request, so the
// comparison holds even where the client, which does as much OSCORE work as the server, is the
// bottleneck. Each run starts a fresh server; medians over the repetitions.
//
//   node bench/oscore-server.mjs [--windows 1,16] [--reps 3] [--duration 4] [--warmup 1] [--json]
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clockTicks, cpuTicks, freePort, have } from "./server.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LOAD = path.join(REPO, "bench/oscore-load.mjs");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => {
	const s = a.filter(Number.isFinite).sort((x, y) => x - y);
	return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function credentialsFiles(dir, port) {
	const ctx = (name, s, r) => {
		const d = path.join(dir, name);
		mkdirSync(d, { recursive: true });
		writeFileSync(path.join(d, "settings.json"), JSON.stringify({ "sender-id_hex": s, "recipient-id_hex": r, secret_ascii: "bench secret 123", salt_hex: "9e7ca92223786340" }));
		return d;
	};
	const server = path.join(dir, "server.json");
	const client = path.join(dir, "client-" + port + ".json");
	writeFileSync(server, JSON.stringify({ ":bench": { oscore: { basedir: ctx("srv", "01", "02") } } }));
	writeFileSync(client, JSON.stringify({ ["coap://127.0.0.1:" + port + "/*"]: { oscore: { basedir: ctx("cli", "02", "01") } } }));
	return { server, client };
}

/** One run: a fresh server, the load generator; resolves { rps, srvCpuPct, srvUsPerReq, genUsPerReq, errors }. */
async function oneRun({ mode, window, duration, warmup, dir, pin, root }) {
	const port = await freePort();
	const files = mode === "oscore" ? credentialsFiles(dir, port) : null;
	const srvArgv = pin(1, [process.execPath, path.join(root, "bin/xscoap.js"), "serve", "--bind", "127.0.0.1:" + port, ...(files ? ["--credentials", files.server] : [])]);
	const srv = spawn(srvArgv[0], srvArgv.slice(1), { stdio: ["ignore", "pipe", "pipe"], cwd: REPO });
	let out = "";
	srv.stdout.on("data", (d) => (out += d));
	srv.stderr.on("data", (d) => (out += d));
	try {
		for (let i = 0; i < 100 && !/listening on/.test(out); i++) await sleep(100);
		if (!/listening on/.test(out)) throw new Error("server did not start: " + out);
		const genArgv = pin(0, [process.execPath, LOAD, "coap://127.0.0.1:" + port + "/hello", String(window), String(duration), String(warmup), ...(files ? [files.client] : [])]);
		const hz = clockTicks();
		const gen = spawn(genArgv[0], genArgv.slice(1), { stdio: ["ignore", "pipe", "pipe"], cwd: REPO, env: { ...process.env, XSCOAP_BUILD: path.join(root, "build") } });
		let genOut = "";
		gen.stdout.on("data", (d) => (genOut += d));
		gen.stderr.on("data", (d) => (genOut += d));
		await sleep(warmup * 1000);
		const c0 = cpuTicks(srv.pid);
		const t0 = performance.now();
		await sleep(duration * 1000);
		const c1 = cpuTicks(srv.pid);
		const wall = (performance.now() - t0) / 1000;
		const code = await new Promise((r) => gen.once("close", r));
		const line = genOut.split("\n").find((l) => l.startsWith("{"));
		if (code !== 0 || !line) throw new Error("load generator failed: " + genOut.slice(0, 500));
		const g = JSON.parse(line);
		const srvCpuPct = ((c1 - c0) / hz / wall) * 100;
		return { rps: g.rps, errors: g.errors, srvCpuPct, srvUsPerReq: ((srvCpuPct / 100) * 1e6) / g.rps, genUsPerReq: g.cpuUsPerRequest, argv: { server: srvArgv, generator: genArgv } };
	} finally {
		srv.kill("SIGTERM");
		await new Promise((r) => (srv.exitCode !== null ? r() : srv.once("exit", r)));
	}
}

/** The whole comparison; `log` gets progress lines. */
export async function oscoreServerBench({ windows = [1, 16], reps = 3, duration = 4, warmup = 1, log = () => {}, root = REPO, genCpu = 0, srvCpu = 1 } = {}) {
	const taskset = have("taskset");
	// The server on srvCpu, the generator on genCpu (oneRun asks for "1" and "0").
	const pin = (cpu, argv) => (taskset ? ["taskset", "-c", String(cpu === 1 ? srvCpu : genCpu), ...argv] : argv);
	const dir = mkdtempSync(path.join(tmpdir(), "xscoap-oscore-bench-"));
	const cells = {};
	let commands = null;
	try {
		for (let rep = 0; rep < reps; rep++) {
			for (const window of windows) {
				for (const mode of ["plain", "oscore"]) {
					const r = await oneRun({ mode, window, duration, warmup, dir, pin, root });
					commands ??= {};
					commands[mode] = r.argv;
					log(`  ${mode} window ${window} rep ${rep + 1}: ${Math.round(r.rps)} req/s, server ${r.srvCpuPct.toFixed(0)} % CPU, ${r.srvUsPerReq.toFixed(1)} µs/request`);
					(cells[mode + "/" + window] ??= []).push(r);
				}
			}
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
	const summary = {};
	for (const [k, runs] of Object.entries(cells)) {
		summary[k] = {
			rps: median(runs.map((r) => r.rps)),
			srvCpuPct: median(runs.map((r) => r.srvCpuPct)),
			srvUsPerReq: median(runs.map((r) => r.srvUsPerReq)),
			genUsPerReq: median(runs.map((r) => r.genUsPerReq)),
			errors: runs.reduce((n, r) => n + r.errors, 0),
		};
	}
	return { windows, reps, duration, warmup, taskset: taskset !== null, summary, commands };
}

/** Markdown for BENCHMARKS.md. */
export function oscoreServerTable(res) {
	const f = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "-");
	const lines = [
		"| window | plain req/s | OSCORE req/s | plain server µs/request | OSCORE server µs/request | server capacity OSCORE / plain |",
		"|---:|---:|---:|---:|---:|---:|",
	];
	for (const w of res.windows) {
		const p = res.summary["plain/" + w];
		const o = res.summary["oscore/" + w];
		lines.push(`| ${w} | ${f(p.rps)} (server ${p.srvCpuPct.toFixed(0)} % CPU) | ${f(o.rps)} (server ${o.srvCpuPct.toFixed(0)} % CPU) | ${p.srvUsPerReq.toFixed(1)} | ${o.srvUsPerReq.toFixed(1)} | ${(p.srvUsPerReq / o.srvUsPerReq).toFixed(2)} |`);
	}
	return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const args = process.argv.slice(2);
	const opt = (name, def) => {
		const i = args.indexOf(name);
		return i < 0 ? def : args[i + 1];
	};
	const res = await oscoreServerBench({
		windows: opt("--windows", "1,16").split(",").map(Number),
		reps: Number(opt("--reps", "3")),
		duration: Number(opt("--duration", "4")),
		warmup: Number(opt("--warmup", "1")),
		log: (l) => process.stderr.write(l + "\n"),
	});
	if (args.includes("--json")) console.log(JSON.stringify(res, null, 2));
	else {
		console.log("xscoap serve on loopback, GET /hello, load from the xscoap client in a separate process" + (res.taskset ? " (server on CPU 1, client on CPU 0)" : " (unpinned: no taskset)") + `, ${res.reps} fresh servers per cell, ${res.warmup} s warm-up + ${res.duration} s, medians`);
		console.log("");
		console.log(oscoreServerTable(res));
	}
}
