#!/usr/bin/env node
// Message-level OSCORE interoperability with aiocoap (no network): aiocoap protects an Observe
// registration that xscoap's Oscore unprotects, xscoap protects a response and notifications
// that aiocoap verifies; then the other way round. Needs Python 3 with cbor2 and cryptography
// and an aiocoap checkout: AIOCOAP=<checkout> (default ../aiocoap), PYTHON (default python3).
// Not part of npm test. Run after a build: node tests/interop/oscore-aiocoap.mjs
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const AIOCOAP = path.resolve(process.env.AIOCOAP ?? path.join(REPO, "../aiocoap"));
const PYTHON = process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const STATE = mkdtempSync(path.join(tmpdir(), "xscoap-oscore-interop-"));
process.on("exit", () => rmSync(STATE, { recursive: true, force: true }));
for (const [dir, s, r] of [["client", "01", "02"], ["server", "02", "01"]]) {
	mkdirSync(path.join(STATE, dir));
	writeFileSync(path.join(STATE, dir, "settings.json"), JSON.stringify({ "sender-id_hex": s, "recipient-id_hex": r, secret_hex: "0102030405060708090a0b0c0d0e0f10", salt_hex: "9e7ca92223786340", "id-context_hex": "abcd" }));
}
const env = { ...process.env, OSCORE_INTEROP_STATE: STATE, PYTHONPATH: [AIOCOAP, path.join(REPO, "../shared/tools/aiocoap/pystubs"), process.env.PYTHONPATH].filter(Boolean).join(":") };
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
const B = pathToFileURL(path.join(REPO, "build")).href + "/";
const { SecurityContext } = await import(B + "modules/coap/oscore/context.js");
const { Oscore } = await import(B + "modules/coap/oscore/oscore.js");
const { RequestBinding } = await import(B + "modules/coap/oscore/binding.js");
const { nobleCrypto } = await import(B + "modules/coap/oscore/noble.js");
const { MessageView } = await import(B + "modules/coap/wire/view.js");
const { MessageWriter } = await import(B + "modules/coap/wire/writer.js");
const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const params = (s, r) => ({ masterSecret: hex("0102030405060708090a0b0c0d0e0f10"), masterSalt: hex("9e7ca92223786340"), idContext: hex("abcd"), senderId: hex(s), recipientId: hex(r) });
const py = (...a) => execFileSync(PYTHON, ["-W", "ignore", path.join(REPO, "tests/interop/oscore-aiocoap.py"), ...a], { encoding: "utf8", env });
const show = (v) => `code ${v.code.toString(16)} opts ${[...Array(v.optionCount).keys()].map((i) => v.optNumber[i] + "=" + Buffer.from(v.bytes.subarray(v.optOffset[i], v.optOffset[i] + v.optLength[i])).toString("hex")).join(",")} payload ${JSON.stringify(Buffer.from(v.payload()).toString())}`;

// 1. aiocoap client -> xscoap server; xscoap responses -> aiocoap client
{
	const server = new SecurityContext(params("02", "01"), nobleCrypto);
	const o = new Oscore({ contexts: 1 });
	o.contexts.add(server);
	const req = py("client-request").trim();
	const v = new MessageView(); v.parse(hex(req));
	const out = new MessageWriter(new Uint8Array(300));
	const b = new RequestBinding();
	const n = o.unprotectRequest(v, out, b);
	if (n < 0) throw new Error("unprotect failed " + n);
	const pv = new MessageView(); pv.parse(out.buf.slice(0, n));
	console.log("xscoap server got:", show(pv), "registration:", b.observe);
	assert.equal(show(pv), 'code 1 opts 3=6578616d706c652e636f6d,6=,11=6f6273,11=78 payload "hello"');
	assert.equal(b.observe, true);
	const responses = [];
	for (const [i, obs, text] of [[0, 0, "first"], [1, 1, "second"], [2, 2, "third"], [3, -1, "final"]]) {
		const w = new MessageWriter(new Uint8Array(300)).header(i === 0 ? 2 : 1, 0x45, 0x1234 + i, pv.bytes, pv.tokenOffset, pv.tokenLength);
		if (obs >= 0) w.uintOption(6, obs);
		w.payloadText(text);
		const rv = new MessageView(); rv.parse(w.buf.slice(0, w.finish()));
		const wire = new MessageWriter(new Uint8Array(300));
		const m = o.protectResponse(rv, b, wire);
		responses.push(Buffer.from(wire.buf.subarray(0, m)).toString("hex"));
	}
	const got = py("client-response", ...responses);
	console.log("aiocoap client got:\n" + got);
	assert.deepEqual(got.trim().split("\n"), ["OK 2.05 Content observe=-1 b'first'", "OK 2.05 Content observe=0 b'second'", "OK 2.05 Content observe=1 b'third'", "OK 2.05 Content observe=None b'final'"]);
}
// 2. xscoap client -> aiocoap server; aiocoap responses -> xscoap client
{
	const client = new SecurityContext({ ...params("01", "02"), senderSequenceNumber: 1000 }, nobleCrypto);
	const o = new Oscore({ contexts: 0 });
	const w = new MessageWriter(new Uint8Array(300)).header(0, 1, 0x4321, hex("c0ffee"), 0, 3).stringOption(3, "host.example").uintOption(6, 0).stringOption(11, "temp").uintOption(17, 0).payloadText("q");
	const pv = new MessageView(); pv.parse(w.buf.slice(0, w.finish()));
	const wire = new MessageWriter(new Uint8Array(300));
	const b = new RequestBinding();
	const n = o.protectRequest(pv, client, wire, b);
	const out = py("server-request", Buffer.from(wire.buf.subarray(0, n)).toString("hex"));
	console.log("aiocoap server:", out.split("\n")[0]);
	assert.equal(out.split("\n")[0], "REQ GET ['temp'] None observe=0 b'q'");
	const seen = [];
	for (const line of out.split("\n").filter((l) => l.startsWith("RES "))) {
		const rv = new MessageView(); rv.parse(hex(line.slice(4)));
		const p = new MessageWriter(new Uint8Array(300));
		const m = o.unprotectResponse(rv, b, p);
		if (m < 0) { console.log("xscoap client: status", m); continue; }
		const v = new MessageView(); v.parse(p.buf.slice(0, m));
		console.log("xscoap client got:", show(v));
		seen.push(show(v));
	}
	assert.deepEqual(seen, ['code 45 opts  payload "first"', 'code 45 opts 6= payload "notif5"', 'code 45 opts 6=01 payload "notif6"']);
	console.log("oscore-aiocoap: all checks passed");
}
