/**
 * `xscoap sim` as a child process: a fleet of 20 simulated devices registered with
 * `xscoap rd`, found through the directory's lookup interface, read and observed with the
 * client, stopped with SIGINT (every device deregistered, nothing left running); the fleet's
 * own directory, worker threads, link impairment, and the errors a user meets (a busy port, a
 * bad option; --oscore has its own file, sim-oscore.test.ts).
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { openEndpoint } from "../../hosts/node/ports.js";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import type { ClientResponse } from "../../modules/coap/client/response.js";
import { linkParam, parseLinkFormat, type Link } from "../../modules/coap/rd/links.js";
import { Child, XSCOAP, interrupt, killAll, randomBase, startSim, xscoap } from "./helpers.js";

function links(text: string): Link[] {
	const l = parseLinkFormat(text);
	if (typeof l === "string") assert.fail("not link-format: " + l + ": " + text);
	return l;
}

describe("xscoap sim (device fleet simulation)", function () {
	this.timeout(60000);
	let client: Endpoint;

	before(async () => {
		client = await openEndpoint({ address: "127.0.0.1", limits: { clientExchanges: 32, maxBodySize: 1024 * 1024, blockTransfers: 2 } });
	});

	after(() => {
		client?.close();
		killAll();
	});

	it("--devices 20 with `xscoap rd`: found through the lookup, every temperature read, one observed; Ctrl-C deregisters them all", async () => {
		const rdChild = new Child(process.execPath, [XSCOAP, "rd", "--bind", "127.0.0.1:0", "-q"]);
		const rdPort = Number((await rdChild.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//))[1]);
		const rd = "coap://127.0.0.1:" + rdPort;
		try {
			const { child } = await startSim(["--devices", "20", "--rd", rd], 21, /registered 20\/20 with /);
			// The table names every device with its URI and resources.
			const rows = [...child.stdout.matchAll(/^ {2}(sensor-\d{3}) {2}(coap:\/\/127\.0\.0\.1:\d+) +(\/.*)$/gm)];
			assert.equal(rows.length, 20, child.stdout);
			assert.match(child.stdout, /npx xscoap get coap:\/\/127\.0\.0\.1:\d+\/sensors\/temperature\n/);
			assert.ok(child.stdout.indexOf("npx xscoap get '" + rd + "/rd-lookup/res?rt=temperature-c'") >= 0, "the external directory's lookup, discovered");
			// Discover the devices through the directory (endpoint lookup, paged, and resource lookup).
			const eps: Link[] = [];
			for (let page = 0; ; page++) {
				const r = await client.request({ uri: rd + "/rd-lookup/ep?et=xscoap-sensor&count=8&page=" + page });
				assert.equal(r.codeText, "2.05");
				const part = links(r.text());
				if (part.length === 0) break;
				eps.push(...part);
			}
			assert.deepEqual(
				eps.map((l) => linkParam(l, "ep")).sort(),
				rows.map((r) => r[1]).sort(),
			);
			for (const l of eps) assert.ok(rows.some((r) => r[1] === linkParam(l, "ep") && r[2] === linkParam(l, "base")), "base of " + linkParam(l, "ep"));
			const temps = links((await client.request({ uri: rd + "/rd-lookup/res?rt=temperature-c" })).text());
			assert.equal(temps.length, 20);
			// Read every device's temperature.
			const readings = await Promise.all(temps.map((l) => client.request({ uri: l.href })));
			for (const r of readings) {
				assert.equal(r.codeText, "2.05");
				const t = Number(r.text());
				assert.ok(t > 15 && t < 30, "temperature " + r.text());
			}
			// Observe one: notifications keep coming (the devices notify every second).
			const seen: ClientResponse[] = [];
			const obs = client.observe({ uri: temps[7]!.href }, (n) => seen.push(n));
			const until = performance.now() + 8000;
			while (seen.length < 3 && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
			await obs.cancel();
			assert.ok(seen.length >= 3, seen.length + " notifications");
			assert.ok(seen.every((n) => n.ok && /^\d+\.\d\d$/.test(n.text())));
			// Ctrl-C: every device deregisters, the process ends cleanly within a few seconds.
			const stop = await interrupt(child);
			assert.equal(stop.code, 0, child.stderr);
			assert.ok(stop.ms < 6000, "stopped in " + stop.ms + " ms");
			assert.match(child.stdout, /stopped: 20 devices, 20 deregistered/);
			assert.equal(child.stderr, "");
			const after = await client.request({ uri: rd + "/rd-lookup/ep" });
			assert.equal(after.codeText, "2.05");
			assert.equal(after.payload.length, 0, "no device left in the directory: " + after.text());
		} finally {
			await rdChild.stop();
		}
	});

	it("without --rd it starts its own directory on the base port (advertised with the RFC 9176 resource types); --workers 2 and an impaired link still register every device", async () => {
		const { child, base } = await startSim(["--devices", "6", "--workers", "2", "--loss", "0.1", "--delay", "5", "--duplicate", "0.1", "--seed", "7"], 7, /registered 6\/6 with /);
		try {
			assert.match(child.stdout, /2 worker threads, links impaired: loss 0\.1, delay 5 ms, duplicate 0\.1/);
			const rd = "coap://127.0.0.1:" + base;
			assert.match(child.stdout, new RegExp("resource directory: " + rd.replace(/\./g, "\\.") + " \\(started here"));
			const wkc = links((await client.request({ uri: rd + "/.well-known/core?rt=core.rd*" })).text());
			assert.deepEqual(wkc.map((l) => linkParam(l, "rt")).sort(), ["core.rd", "core.rd-lookup-ep", "core.rd-lookup-res"]);
			const eps = links((await client.request({ uri: rd + "/rd-lookup/ep" })).text());
			assert.deepEqual(
				eps.map((l) => linkParam(l, "base")).sort(),
				[1, 2, 3, 4, 5, 6].map((i) => "coap://127.0.0.1:" + (base + i)),
			);
		} finally {
			const stop = await interrupt(child);
			assert.equal(stop.code, 0, child.stderr);
		}
	});

	it("--seed makes the simulated values reproducible", async () => {
		const first = await startSim(["--devices", "2", "--seed", "42"], 3, /registered 2\/2/);
		const r1 = await client.request({ uri: "coap://127.0.0.1:" + (first.base + 2) + "/sensors/humidity" });
		await interrupt(first.child);
		const second = await startSim(["--devices", "2", "--seed", "42"], 3, /registered 2\/2/);
		const r2 = await client.request({ uri: "coap://127.0.0.1:" + (second.base + 2) + "/sensors/humidity" });
		await interrupt(second.child);
		const third = await startSim(["--devices", "2", "--seed", "43"], 3, /registered 2\/2/);
		const r3 = await client.request({ uri: "coap://127.0.0.1:" + (third.base + 2) + "/sensors/humidity" });
		await interrupt(third.child);
		// Humidity moves by less than 0.01 % in the seconds between the runs (15-minute period).
		assert.ok(Math.abs(Number(r1.text()) - Number(r2.text())) <= 0.02, r1.text() + " vs " + r2.text());
		assert.ok(Math.abs(Number(r1.text()) - Number(r3.text())) > 0.05, "another seed, other values: " + r1.text() + " vs " + r3.text());
	});

	it("a busy port in the devices' range is one clear error (exit 3), and nothing is left running", async () => {
		const s = dgram.createSocket("udp4");
		const base = randomBase(10);
		await new Promise<void>((resolve, reject) => {
			s.once("error", reject);
			s.bind({ port: base + 4, address: "127.0.0.1", exclusive: true }, resolve);
		});
		try {
			const r = await xscoap(["sim", "--devices", "8", "--base-port", String(base)], { timeoutMs: 15000 });
			assert.equal(r.code, 3, r.stderr);
			assert.equal(r.timedOut, false, "the process ended by itself");
			assert.equal(r.stderr, "error: cannot bind sensor-004 to 127.0.0.1:" + (base + 4) + ": the port is in use. The devices take ports " + (base + 1) + ".." + (base + 8) + ": choose a free range with --base-port\n");
			// The directory and the other devices released their ports.
			const probe = dgram.createSocket("udp4");
			await new Promise<void>((resolve, reject) => {
				probe.once("error", reject);
				probe.bind({ port: base, address: "127.0.0.1", exclusive: true }, resolve);
			});
			probe.close();
		} finally {
			s.close();
		}
	});

	it("a busy directory port says how to move it", async () => {
		const s = dgram.createSocket("udp4");
		await new Promise<void>((resolve) => s.bind({ port: 0, address: "127.0.0.1", exclusive: true }, resolve));
		try {
			const port = s.address().port;
			const r = await xscoap(["sim", "--base-port", String(port)]);
			assert.equal(r.code, 3);
			assert.match(r.stderr, /^error: cannot start the resource directory on 127\.0\.0\.1:\d+: the port is in use\. Use --base-port P .* or --rd URI/);
		} finally {
			s.close();
		}
	});

	it("bad options are one-line usage errors (exit 2)", async () => {
		const cases: [string[], RegExp][] = [
			[["--devices", "0"], /--devices takes a whole number 1\.\.20000, got "0"/],
			[["--devices", "many"], /--devices takes a whole number/],
			[["--workers", "0"], /--workers takes a whole number 1\.\.64/],
			[["--base-port", "65500", "--devices", "100"], /leaves no room for 100 devices/],
			[["--loss", "1.5"], /--loss takes a probability 0\.\.1, got "1\.5"/],
			[["--duplicate", "-0.1"], /--duplicate takes a probability/],
			[["--delay", "soon"], /--delay takes milliseconds/],
			[["--seed", "1.5"], /--seed takes a whole number/],
			[["--rd", "http://x"], /--rd: unsupported scheme http/],
			[["--rd", "coap://[::1]:5683"], /IPv4 address/],
			[["--rd", "coap://no-such-host.invalid"], /cannot resolve host/],
			[["--devices"], /--devices needs a value/],
			[["--bogus"], /unknown option --bogus/],
			[["extra"], /takes no arguments/],
		];
		for (const [args, re] of cases) {
			const r = await xscoap(["sim", ...args], { timeoutMs: 15000 });
			assert.equal(r.code, 2, args.join(" ") + ": " + r.stderr);
			assert.equal(r.stdout, "");
			assert.match(r.stderr, re);
			assert.match(r.stderr, /^error: [^\n]*\(xscoap --help shows the usage\)\n$/);
		}
	});
});
