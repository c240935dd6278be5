// bench/block2.mjs — a 64 KiB Block2 transfer on loopback (RFC 7959): xscoap client and
// server against node-coap client and server, each pair in one process. Reports time per
// transfer (median) and V8 heap bytes allocated per transfer: the child process runs with
// --trace-gc, and the allocation over N transfers is the growth of the used heap plus what
// every garbage collection in between freed (each "A -> B MB" line of the trace; 0.1 MB
// resolution per collection). ArrayBuffer memory outside the V8 heap (datagram buffers) is
// not in this figure.
// Usage: node bench/block2.mjs [--transfers N] [--json]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const N = Number(args[args.indexOf("--transfers") + 1] || 0) || 100;
const BODY = 64 * 1024;

if (process.env.XSCOAP_BLOCK2_CHILD) {
	await child(process.env.XSCOAP_BLOCK2_CHILD);
} else {
	const results = [];
	for (const impl of ["xscoap", "node-coap"]) {
		const r = spawnSync(process.execPath, ["--expose-gc", "--trace-gc", fileURLToPath(import.meta.url), "--transfers", String(N)], {
			env: { ...process.env, XSCOAP_BLOCK2_CHILD: impl },
			encoding: "utf8",
			timeout: 120000,
		});
		const line = (r.stdout || "").split("\n").find((l) => l.startsWith("{"));
		if (r.status !== 0 || !line) {
			console.error(`block2: ${impl} failed (status ${r.status}): ${(r.stderr || r.stdout || "").slice(0, 800)}`);
			process.exit(1);
		}
		const res = JSON.parse(line);
		const window = (r.stdout.split("MEASURE-START")[1] || "").split("MEASURE-END")[0];
		let freed = 0;
		let gcs = 0;
		for (const m of window.matchAll(/(\d+(?:\.\d+)?) \((?:\d+(?:\.\d+)?)\) -> (\d+(?:\.\d+)?) \((?:\d+(?:\.\d+)?)\) MB/g)) {
			freed += (Number(m[1]) - Number(m[2])) * 1024 * 1024;
			gcs++;
		}
		res.gcs = gcs;
		res.allocPerTransfer = (res.heapGrowth + freed) / res.transfers;
		results.push(res);
	}
	if (args.includes("--json")) console.log(JSON.stringify(results));
	else {
		console.log(`Block2 transfer of ${BODY} bytes on loopback, ${N} transfers per implementation (client and server in one process)`);
		console.log("");
		console.log("| implementation | blocks | time per transfer (median) | V8 heap bytes allocated per transfer | collections during the run |");
		console.log("|---|---:|---:|---:|---:|");
		for (const r of results) console.log(`| ${r.impl} | ${r.blocks} | ${r.msMedian.toFixed(2)} ms | ${Math.round(r.allocPerTransfer).toLocaleString("en")} | ${r.gcs} |`);
		const [x, n] = results;
		console.log("");
		console.log(`xscoap / node-coap: time ${(x.msMedian / n.msMedian).toFixed(2)}x, bytes allocated ${(x.allocPerTransfer / n.allocPerTransfer).toFixed(2)}x`);
	}
}

async function child(impl) {
	const body = Buffer.alloc(BODY);
	for (let i = 0; i < BODY; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
	const pair = impl === "xscoap" ? await xscoapPair(body) : await nodeCoapPair(body);
	// Warm up (JIT), checking the transfers are byte-exact.
	for (let i = 0; i < 5; i++) {
		const got = await pair.transfer();
		if (Buffer.compare(Buffer.from(got), body) !== 0) throw new Error(impl + ": body differs");
	}
	const times = [];
	globalThis.gc();
	globalThis.gc();
	const m0 = process.memoryUsage();
	console.log("MEASURE-START");
	for (let i = 0; i < N; i++) {
		const t0 = process.hrtime.bigint();
		await pair.transfer();
		times.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	const m1 = process.memoryUsage();
	console.log("MEASURE-END");
	times.sort((a, b) => a - b);
	console.log(JSON.stringify({ impl, transfers: N, blocks: pair.blocks, msMedian: times[times.length >> 1], heapGrowth: m1.heapUsed - m0.heapUsed }));
	await pair.close();
	process.exit(0);
}

async function xscoapPair(body) {
	const { openEndpoint } = await import(path.join(here, "../build/hosts/node/ports.js"));
	const { Router } = await import(path.join(here, "../build/modules/coap/server/router.js"));
	const router = new Router();
	router.add("/big", { get: (_q, res) => res.send(0x45, body, 42) });
	const limits = { maxBodySize: BODY, blockTransfers: 2 };
	const server = await openEndpoint({ address: "127.0.0.1", port: 0, router, limits });
	const client = await openEndpoint({ address: "127.0.0.1", limits });
	return {
		blocks: BODY / 1024,
		transfer: async () => (await client.request({ address: "127.0.0.1", port: server.port, path: "/big" })).payload,
		close: async () => {
			client.close();
			server.close();
		},
	};
}

async function nodeCoapPair(body) {
	const coap = (await import("coap")).default;
	const server = coap.createServer();
	server.on("request", (req, res) => {
		res.setOption("Content-Format", "application/octet-stream");
		res.end(body);
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	const port = server._sock.address().port;
	const agent = new coap.Agent({ type: "udp4" });
	return {
		blocks: BODY / 1024,
		transfer: () =>
			new Promise((resolve, reject) => {
				const req = coap.request({ hostname: "127.0.0.1", port, pathname: "/big", agent });
				req.on("response", (res) => resolve(res.payload));
				req.on("error", reject);
				req.end();
			}),
		close: async () => {
			agent.close?.();
			server.close();
		},
	};
}
