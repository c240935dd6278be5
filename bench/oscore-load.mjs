#!/usr/bin/env node
// Load generator for bench/oscore-server.mjs: an xscoap client endpoint (the neutral generator
// coapbench cannot speak OSCORE) keeping WINDOW GET requests in flight to URI for SECONDS after
// WARMUP seconds, protected with the credentials file when one is given. Prints one JSON line:
// { requests, errors, seconds, rps, cpuUsPerRequest }.
//
//   node bench/oscore-load.mjs URI WINDOW SECONDS WARMUP [CREDENTIALS]
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// XSCOAP_BUILD: another build/ directory (bench/run.mjs runs from a snapshot of it).
const { openEndpoint, loadCredentials, nobleCrypto } = await import(path.join(process.env.XSCOAP_BUILD ?? path.join(REPO, "build"), "hosts/node/index.js"));

const [uri, windowArg, secondsArg, warmArg, credentials] = process.argv.slice(2);
const window = Number(windowArg);
const seconds = Number(secondsArg);
const warm = Number(warmArg);
if (!uri || !(window >= 1) || !(seconds > 0) || !(warm >= 0)) {
	console.error("usage: node bench/oscore-load.mjs URI WINDOW SECONDS WARMUP [CREDENTIALS]");
	process.exit(2);
}
const creds = credentials ? loadCredentials(credentials, nobleCrypto) : null;
const ep = await openEndpoint({
	limits: { clientExchanges: window, serverExchanges: 0, observers: 0, dedupEntries: 256, oscoreContexts: creds ? creds.contexts.length : 1 },
	tuning: { nstart: window }, // RFC 7252 §4.7 lets a client raise NSTART when it knows the server takes it
	oscore: creds ? { credentials: creds.client } : undefined,
});
let counting = false;
let requests = 0;
let errors = 0;
let stop = false;
async function worker() {
	while (!stop) {
		try {
			const r = await ep.request({ uri, timeoutMs: 5000 });
			if (r.code !== 0x45) throw new Error("got " + r.codeName);
			if (counting) requests++;
		} catch (e) {
			if (counting) errors++;
			if (errors > 1000) throw e;
		}
	}
}
const workers = [];
for (let i = 0; i < window; i++) workers.push(worker());
await new Promise((r) => setTimeout(r, warm * 1000));
counting = true;
const c0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
stop = true;
await Promise.allSettled(workers);
ep.close();
console.log(JSON.stringify({ requests, errors, seconds: elapsed, rps: requests / elapsed, cpuUsPerRequest: requests > 0 ? (cpu.user + cpu.system) / requests : null }));
