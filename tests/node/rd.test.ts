/**
 * `xscoap rd` as a child process on real UDP: registration and lookups read by libcoap's
 * coap-client-notls and by xscoap's client, the store file (registrations survive a restart,
 * written atomically, a corrupt store is refused and left alone), a busy port, usage errors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dgram from "node:dgram";
import { openEndpoint } from "../../hosts/node/ports.js";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import { linkParam, parseLinkFormat, type Link } from "../../modules/coap/rd/links.js";
import { Child, XSCOAP, killAll, requireLibcoap, run, xscoap } from "./helpers.js";

interface Rd {
	child: Child;
	port: number;
	uri: string;
}

async function startRd(args: string[] = []): Promise<Rd> {
	const child = new Child(process.execPath, [XSCOAP, "rd", "--bind", "127.0.0.1:0", ...args]);
	const m = await child.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//, 10000);
	const port = Number(m[1]);
	return { child, port, uri: "coap://127.0.0.1:" + port };
}

function links(text: string): Link[] {
	const l = parseLinkFormat(text);
	if (typeof l === "string") assert.fail("not link-format: " + l + ": " + text);
	return l;
}

describe("xscoap rd (RFC 9176 resource directory, real UDP)", function () {
	this.timeout(30000);
	let tmp = "";
	let client: Endpoint;

	before(async () => {
		requireLibcoap();
		tmp = mkdtempSync(join(tmpdir(), "xscoap-rd-"));
		client = await openEndpoint({ address: "127.0.0.1" });
	});

	after(() => {
		client?.close();
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	it("libcoap's coap-client registers, and reads /.well-known/core and both lookup interfaces; xscoap's client reads the same", async () => {
		const rd = await startRd();
		try {
			const wkc = await run("coap-client-notls", ["-m", "get", rd.uri + "/.well-known/core?rt=core.rd*"]);
			assert.equal(wkc.code, 0, wkc.stderr);
			const rts = links(wkc.stdout.trim()).map((l) => linkParam(l, "rt"));
			assert.deepEqual(rts.sort(), ["core.rd", "core.rd-lookup-ep", "core.rd-lookup-res"]);
			// libcoap as a registrant: POST /rd?ep=...&lt=... with a link-format payload.
			const reg = await run("coap-client-notls", ["-m", "post", "-t", "40", "-e", '</temp>;rt="temperature-c";ct=0,</light>;rt="light-lux"', rd.uri + "/rd?ep=libcoap-node&lt=600&et=demo", "-v", "6"]);
			assert.equal(reg.code, 0, reg.stderr);
			assert.match(reg.stdout + reg.stderr, /2\.01/);
			await rd.child.waitFor(/registered libcoap-node at \/reg\/1/, 5000);
			// libcoap reads the lookups.
			const ep = await run("coap-client-notls", ["-m", "get", rd.uri + "/rd-lookup/ep"]);
			assert.equal(ep.code, 0, ep.stderr);
			const eps = links(ep.stdout.trim());
			assert.equal(eps.length, 1);
			assert.equal(eps[0]!.href, "/reg/1");
			assert.equal(linkParam(eps[0]!, "ep"), "libcoap-node");
			assert.equal(linkParam(eps[0]!, "et"), "demo");
			assert.match(linkParam(eps[0]!, "base")!, /^coap:\/\/127\.0\.0\.1:\d+$/);
			const res = await run("coap-client-notls", ["-m", "get", rd.uri + "/rd-lookup/res?rt=temperature-c"]);
			assert.equal(res.code, 0, res.stderr);
			const found = links(res.stdout.trim());
			assert.equal(found.length, 1);
			assert.equal(found[0]!.href, linkParam(eps[0]!, "base") + "/temp");
			// xscoap's client (the library and the command) reads the same.
			const viaLib = await client.request({ uri: rd.uri + "/rd-lookup/res?rt=light-lux" });
			assert.equal(viaLib.codeText, "2.05");
			assert.equal(viaLib.contentFormat, 40);
			assert.equal(links(viaLib.text())[0]!.href, linkParam(eps[0]!, "base") + "/light");
			const viaCli = await xscoap(["get", rd.uri + "/rd-lookup/ep?ep=libcoap-*"]);
			assert.equal(viaCli.code, 0, viaCli.stderr);
			assert.equal(links(viaCli.stdout)[0]!.href, "/reg/1");
			// libcoap removes it.
			const del = await run("coap-client-notls", ["-m", "delete", rd.uri + "/reg/1", "-v", "6"]);
			assert.match(del.stdout + del.stderr, /2\.02/);
			const empty = await xscoap(["get", rd.uri + "/rd-lookup/ep"]);
			assert.equal(empty.code, 0);
			assert.equal(empty.stdout, "");
		} finally {
			await rd.child.stop();
		}
	});

	it("a malformed registration gets 4.00 with a diagnostic (xscoap's CLI prints it on stderr, exit status 1)", async () => {
		const rd = await startRd();
		try {
			const r = await xscoap(["post", rd.uri + "/rd?lt=60", "--payload", "</a>", "--content-format", "40"]);
			assert.equal(r.code, 1);
			assert.match(r.stderr, /^4\.00 Bad Request: ep \(endpoint name\) is required \(RFC 9176 §5\)/);
			const bad = await run("coap-client-notls", ["-m", "post", "-t", "40", "-e", "</a", rd.uri + "/rd?ep=x", "-v", "6"]);
			assert.match(bad.stdout + bad.stderr, /4\.00/);
		} finally {
			await rd.child.stop();
		}
	});

	it("--store: registrations survive a restart (ids, attributes, remaining lifetime); the file is written atomically", async () => {
		const store = join(tmp, "rd.json");
		let rd = await startRd(["--store", store]);
		try {
			for (const ep of ["a", "b", "c"]) {
				const r = await client.request({ method: "POST", uri: rd.uri + "/rd?ep=" + ep + "&lt=3600&et=t" + ep, payload: "</x" + ep + ">;rt=\"r\"", contentFormat: 40 });
				assert.equal(r.codeText, "2.01");
			}
			assert.equal((await client.request({ method: "DELETE", uri: rd.uri + "/reg/2" })).codeText, "2.02");
		} finally {
			const stopped = await rd.child.stop();
			assert.equal(stopped.code, 0);
		}
		assert.match(rd.child.stdout, /stopped with 2 registrations saved to /);
		const saved = JSON.parse(readFileSync(store, "utf8")) as { format: string; registrations: { ep: string }[] };
		assert.equal(saved.format, "xscoap-rd-store");
		assert.deepEqual(
			saved.registrations.map((r) => r.ep),
			["a", "c"],
		);
		assert.deepEqual(readdirSync(tmp), ["rd.json"], "no temporary file left beside the store");
		rd = await startRd(["--store", store]);
		try {
			assert.match(rd.child.stdout, /2 registrations restored from /);
			const eps = links((await client.request({ uri: rd.uri + "/rd-lookup/ep" })).text());
			assert.deepEqual(
				eps.map((l) => [l.href, linkParam(l, "ep"), linkParam(l, "et")]),
				[
					["/reg/1", "a", "ta"],
					["/reg/3", "c", "tc"],
				],
			);
			// Ids continue after the restart.
			const next = await client.request({ method: "POST", uri: rd.uri + "/rd?ep=d", payload: "</xd>", contentFormat: 40 });
			assert.equal(next.locationPath, "/reg/4");
		} finally {
			await rd.child.stop();
		}
	});

	it("a corrupt store is refused with a clear error (exit 3) and left exactly as it was", async () => {
		const cases: [string, RegExp][] = [
			['{"format": "xscoap-rd-store", "version": 1, "savedAt": 1, "nextId": 2, "registrations": [', /not JSON/],
			['{"something": "else"}', /no "format": "xscoap-rd-store"/],
			['{"format": "xscoap-rd-store", "version": 9, "savedAt": 1, "nextId": 1, "registrations": []}', /version 9/],
			['{"format": "xscoap-rd-store", "version": 1, "savedAt": 1, "nextId": 2, "registrations": [{"id": 1, "ep": "a", "d": null, "lt": 60, "base": "coap://h:1", "baseExplicit": false, "attributes": [], "links": "<broken", "remainingMs": 99999999}]}', /registration 0: links: unterminated/],
		];
		for (const [content, re] of cases) {
			const store = join(tmp, "corrupt.json");
			writeFileSync(store, content);
			const r = await xscoap(["rd", "--bind", "127.0.0.1:0", "--store", store], { timeoutMs: 10000 });
			assert.equal(r.code, 3, r.stderr);
			assert.match(r.stderr, /^error: --store .*corrupt\.json/);
			assert.match(r.stderr, re);
			assert.match(r.stderr, /left as it is/);
			assert.equal(readFileSync(store, "utf8"), content, "not overwritten");
		}
		const missing = await xscoap(["rd", "--bind", "127.0.0.1:0", "--store", join(tmp, "no/such/folder/rd.json")]);
		assert.equal(missing.code, 3);
		assert.match(missing.stderr, /the folder .* does not exist/);
	});

	it("a busy port is one clear line (exit 3); bad options are usage errors (exit 2)", async () => {
		const s = dgram.createSocket("udp4");
		await new Promise<void>((resolve) => s.bind({ port: 0, address: "127.0.0.1", exclusive: true }, resolve));
		try {
			const port = s.address().port;
			const r = await xscoap(["rd", "--bind", "127.0.0.1:" + port]);
			assert.equal(r.code, 3);
			assert.equal(r.stderr, "error: cannot listen on 127.0.0.1:" + port + ": the port is in use (another directory or CoAP server?); pick another with --bind\n");
		} finally {
			s.close();
		}
		for (const [args, re] of [
			[["rd", "--bind"], /--bind needs a value/],
			[["rd", "--bind", "localhost:99999"], /port must be 0\.\.65535/],
			[["rd", "--bind", "example.org:5683"], /numeric address/],
			[["rd", "--frobnicate"], /unknown option --frobnicate/],
			[["rd", "extra"], /takes no arguments/],
		] as [string[], RegExp][]) {
			const r = await xscoap(args);
			assert.equal(r.code, 2, args.join(" "));
			assert.match(r.stderr, re);
			assert.match(r.stderr, /^error: .*\(xscoap --help shows the usage\)\n$/);
		}
		const help = await xscoap(["rd", "--help"]);
		assert.equal(help.code, 0);
		assert.match(help.stdout, /xscoap rd \[--bind HOST:PORT\] \[--store FILE\]/);
		assert.match(help.stdout, /--store FILE/);
	});
});
