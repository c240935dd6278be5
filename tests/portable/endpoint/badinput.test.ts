// Endpoint tests, bad input from a raw peer: malformed and unusual datagrams sent as
// hand-written bytes. Whatever arrives, nothing may throw out of the network step (a throw
// from a socket callback would reject runUntilIdle), and the answers are those of RFC 7252:
// Reset for a CON with a message format error (§4.2), silence for anything else (§4.3, §3),
// 4.02 for unrecognised critical options in a CON request (§5.4.1), 5.05 for proxy requests.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { Prng } from "../../../sim/index.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, CON, NON, SERVER, World, c, decode, encode, optUint, text, track, valueOf, type RawPeer } from "./harness.js";

interface Rig {
	w: World;
	server: Endpoint;
	peer: RawPeer;
}

function rig(limits = {}): Rig {
	const w = new World();
	const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }), limits });
	return { w, server, peer: w.peer() };
}

/** Sends each datagram (hex) and returns the hex of everything that came back. */
async function replies(r: Rig, ...datagrams: string[]): Promise<string[]> {
	r.peer.clear();
	for (const d of datagrams) r.peer.send(d);
	await r.w.net.runUntilIdle();
	return r.peer.received.map((x) => toHex(x.bytes));
}

describe("endpoint: bad input from a raw peer", () => {
	it("TKL 9..15: CON → RST, NON → nothing", async () => {
		const r = rig();
		for (let tkl = 9; tkl <= 15; tkl++) {
			const tail = "11".repeat(tkl) + "b568656c6c6f";
			assert.deepEqual(await replies(r, (0x40 | tkl).toString(16) + "01 00" + (tkl < 16 ? "0" : "") + tkl.toString(16) + tail), ["700000" + (tkl < 16 ? "0" : "") + tkl.toString(16)], "TKL " + tkl);
			assert.deepEqual(await replies(r, (0x50 | tkl).toString(16) + "01 00 20" + tail), [], "NON TKL " + tkl);
		}
		assert.equal(r.server.stats.malformed, 14);
		r.w.close();
	});

	it("versions 0, 2 and 3 are silently ignored, even a CON ping", async () => {
		const r = rig();
		// GET /hello with version 2 (0x84), 0 (0x04), 3 (0xc4); ping with version 2 (0x80).
		assert.deepEqual(await replies(r, "84 01 00 01 01020304 b5 68656c6c6f", "04 01 00 02", "c4 01 00 03 01020304", "80 00 00 04"), []);
		r.w.close();
	});

	it("message format errors in a CON → RST with the MID; in NON, ACK, RST → nothing", async () => {
		const r = rig();
		const cases: [string, string][] = [
			["payload marker with an empty payload", "40 01 00 05 b5 68656c6c6f ff"],
			["marker right after the header", "40 02 00 05 ff"],
			["option value truncated (length 5, 2 bytes)", "40 01 00 05 b5 6865"],
			["8-bit delta extension missing", "40 01 00 05 d0"],
			["16-bit length extension cut short", "40 01 00 05 1e 00"],
			["reserved delta nibble 15 without 0xff", "40 01 00 05 f1 00"],
			["reserved length nibble 15", "40 01 00 05 1f"],
			["token longer than the datagram", "48 01 00 05 0102"],
			["option number above 65535", "40 01 00 05 e0 ff 00 e0 ff 00"],
		];
		for (const [what, bytes] of cases) {
			assert.deepEqual(await replies(r, bytes), ["70000005"], what + " (CON)");
			const b = hex(bytes);
			for (const type of [NON, ACK, 3]) {
				b[0] = (b[0]! & 0xcf) | (type << 4);
				assert.deepEqual(await replies(r, toHex(b)), [], what + " (type " + type + ")");
			}
		}
		// The server still works.
		assert.equal(text(decode(hex((await replies(r, "40 01 00 06 b5 68656c6c6f"))[0]!))), "Hello, world!");
		r.w.close();
	});

	it("an Empty CON with a token, or with bytes after the header, → RST (format error)", async () => {
		const r = rig();
		assert.deepEqual(await replies(r, "41 00 00 09 aa"), ["70000009"]);
		assert.deepEqual(await replies(r, "40 00 00 0a ff 00"), ["7000000a"]);
		assert.deepEqual(await replies(r, "51 00 00 0b aa"), [], "Empty NON with a token: ignored");
		assert.deepEqual(await replies(r, "61 00 00 0c aa", "71 00 00 0d aa"), [], "ACK/RST with a token: ignored");
		r.w.close();
	});

	it("unrecognised critical option in a CON request → 4.02 piggybacked with a diagnostic", async () => {
		const r = rig();
		for (const n of [2049, 9999, 65535, 13]) {
			const req = encode({ type: CON, code: 1, mid: 0x2000 + (n & 0xff), token: "beef", options: [[11, "hello"], [n, "v"]] });
			const got = await replies(r, toHex(req));
			assert.equal(got.length, 1);
			const m = decode(hex(got[0]!));
			assert.equal(m.type, ACK);
			assert.equal(m.code, c("4.02"), "option " + n);
			assert.equal(m.mid, 0x2000 + (n & 0xff));
			assert.equal(m.token, "beef");
			assert.equal(text(m), "unrecognised critical option Option-" + n);
		}
		r.w.close();
	});

	it("the OSCORE option (9) at an endpoint without OSCORE (oscoreContexts 0): a CON request → 4.02, a NON request → RST; a response carrying it to a plain request is rejected and the timeout says so (issue 8, defect 5)", async () => {
		const r = rig({ oscoreContexts: 0 });
		const con = decode(hex((await replies(r, toHex(encode({ type: CON, code: 1, mid: 0x0909, token: "09", options: [[9, Uint8Array.of(0x09, 0x01)], [11, "hello"]] }))))[0]!));
		assert.equal(con.code, c("4.02"));
		assert.equal(text(con), "unrecognised critical option OSCORE");
		assert.deepEqual(await replies(r, toHex(encode({ type: NON, code: 1, mid: 0x090a, token: "09", options: [[9, new Uint8Array(0)], [11, "hello"]] }))), ["7000090a"]);
		r.w.close();
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const peer = w.peer();
		peer.onReceive = (x, p) => {
			const m = decode(x.bytes);
			if (m.type === CON && m.code !== 0) p.send(encode({ type: ACK, code: c("2.05"), mid: m.mid, token: m.token, options: [[9, new Uint8Array(0)]], payload: "protected?" }), x.address, x.port);
		};
		const t = track(w.net, client.request({ address: peer.address, port: peer.port, path: "/x", timeoutMs: 20000 }));
		await w.net.runUntilIdle();
		assert.equal(t.rejected, true, "never delivered as a payload");
		assert.match(String(t.error), /unrecognised critical option OSCORE/);
		w.close();
	});

	it("unrecognised critical option in a NON request → RST", async () => {
		const r = rig();
		const req = encode({ type: NON, code: 1, mid: 0x0303, token: "01", options: [[11, "hello"], [2049, "x"]] });
		assert.deepEqual(await replies(r, toHex(req)), ["70000303"]);
		r.w.close();
	});

	it("unrecognised elective options are ignored: the normal response", async () => {
		const r = rig();
		for (const n of [2048, 9998, 65534, 100]) {
			const req = encode({ type: CON, code: 1, mid: n & 0xffff, token: "02", options: [[11, "hello"], [n, "ignored"]] });
			const m = decode(hex((await replies(r, toHex(req)))[0]!));
			assert.equal(m.code, c("2.05"), "option " + n);
			assert.equal(text(m), "Hello, world!");
		}
		r.w.close();
	});

	it("Content-Format with an illegal length (3 bytes) is treated as unrecognised: elective, so ignored", async () => {
		const r = rig();
		// POST /echo, Content-Format (12) = 00 00 32 (3 bytes: illegal, max 2), payload "hi".
		const got = await replies(r, "42 02 00 31 77 77 b4 6563686f 13 000032 ff 6869");
		assert.equal(got.length, 1);
		const m = decode(hex(got[0]!));
		assert.equal(m.code, c("2.04"));
		assert.equal(text(m), "hi");
		assert.equal(optUint(m, 12), -1, "the echo saw no Content-Format");
		r.w.close();
	});

	it("critical options with an illegal length or repeated when not repeatable → 4.02", async () => {
		const r = rig();
		const cases: [string, readonly (readonly [number, Uint8Array | string | number])[]][] = [
			["Accept (17) with 3 bytes", [[11, "hello"], [17, Uint8Array.of(0, 0, 1)]]],
			["If-None-Match (5) with a value", [[5, Uint8Array.of(1)], [11, "hello"]]],
			["Uri-Host (3) twice", [[3, "a"], [3, "b"], [11, "hello"]]],
			["Uri-Host (3) empty", [[3, ""], [11, "hello"]]],
		];
		let mid = 0x500;
		for (const [what, options] of cases) {
			const m = decode(hex((await replies(r, toHex(encode({ type: CON, code: 1, mid: mid++, token: "03", options }))))[0]!));
			assert.equal(m.code, c("4.02"), what);
		}
		r.w.close();
	});

	it("Proxy-Uri or Proxy-Scheme → 5.05 (this endpoint is not a proxy)", async () => {
		const r = rig();
		let m = decode(hex((await replies(r, toHex(encode({ type: CON, code: 1, mid: 1, token: "04", options: [[35, "coap://10.9.9.9/x"]] }))))[0]!));
		assert.equal(m.code, c("5.05"));
		assert.equal(m.type, ACK);
		m = decode(hex((await replies(r, toHex(encode({ type: CON, code: 1, mid: 2, token: "05", options: [[11, "hello"], [39, "http"]] }))))[0]!));
		assert.equal(m.code, c("5.05"));
		m = decode(hex((await replies(r, toHex(encode({ type: NON, code: 1, mid: 3, token: "06", options: [[35, "coap://10.9.9.9/x"]] }))))[0]!));
		assert.equal(m.code, c("5.05"));
		assert.equal(m.type, NON);
		assert.equal(m.token, "06");
		r.w.close();
	});

	it("a request inside an ACK or a RST is ignored", async () => {
		const r = rig();
		assert.deepEqual(await replies(r, "60 01 00 07 b5 68656c6c6f", "70 01 00 08 b5 68656c6c6f", "62 02 00 09 0102 b4 6563686f ff 41"), []);
		assert.equal(r.server.stats.malformed, 3, "each counted as malformed");
		r.w.close();
	});

	it("reserved code classes (1, 3, 6, 7) in a CON → RST; in a NON → nothing", async () => {
		const r = rig();
		for (const code of [0x20, 0x3f, 0x61, 0xc0, 0xe0, 0xff]) {
			const h = (code < 16 ? "0" : "") + code.toString(16);
			assert.deepEqual(await replies(r, "40 " + h + " 01 00"), ["70000100"], "code " + h + " CON");
			assert.deepEqual(await replies(r, "50 " + h + " 01 01"), [], "code " + h + " NON");
		}
		r.w.close();
	});

	it("0-, 1- and 3-byte datagrams → nothing", async () => {
		const r = rig();
		assert.deepEqual(await replies(r, "", "40", "40 01 00"), []);
		assert.equal(r.server.stats.malformed, 3);
		r.w.close();
	});

	it("more options than limits.maxOptions: CON → 4.02, NON → 4.02 as NON", async () => {
		const r = rig({ maxOptions: 4 });
		const many: [number, string][] = [[11, "a"], [11, "b"], [11, "c"], [11, "d"], [11, "e"]];
		let m = decode(hex((await replies(r, toHex(encode({ type: CON, code: 1, mid: 0x99, token: "0a", options: many }))))[0]!));
		assert.equal(m.code, c("4.02"));
		assert.equal(m.type, ACK);
		assert.equal(m.mid, 0x99);
		assert.equal(m.token, "0a");
		assert.equal(text(m), "too many options (limit 4)");
		m = decode(hex((await replies(r, toHex(encode({ type: NON, code: 1, mid: 0x9a, token: "0b", options: many }))))[0]!));
		assert.equal(m.code, c("4.02"));
		assert.equal(m.type, NON);
		// Four options are fine.
		m = decode(hex((await replies(r, toHex(encode({ type: CON, code: 1, mid: 0x9b, token: "0c", options: [[11, "hello"], [2048, "x"], [2052, "y"], [2056, "z"]] }))))[0]!));
		assert.equal(m.code, c("2.05"));
		r.w.close();
	});

	it("an unmatched or malformed response to the client endpoint never throws", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const peer = w.peer();
		const t = track(w.net, client.request({ address: peer.address, port: peer.port, path: "/x" }));
		await w.net.runFor(5);
		const req = decode(peer.received[0]!.bytes);
		const mid = ((req.mid >> 8) < 16 ? "0" : "") + (req.mid >> 8).toString(16) + ((req.mid & 0xff) < 16 ? "0" : "") + (req.mid & 0xff).toString(16);
		for (const d of [
			"64 45" + mid + req.token + "ff", // piggybacked, empty payload after marker: ignored
			"64 45" + mid + req.token + "1f", // reserved nibble: ignored
			"74 45" + mid + req.token, // a response in a RST: ignored
		]) peer.send(d, CLIENT, client.port);
		// A CON response with an unrecognised critical option: rejected with RST (§5.4.1).
		peer.send(encode({ type: CON, code: c("2.05"), mid: 0x7777, token: req.token, options: [[2049, "x"]] }), CLIENT, client.port);
		await w.net.runFor(10);
		assert.equal(t.settled, false);
		assert.deepEqual(peer.received.slice(1).map((x) => toHex(x.bytes)), ["70007777"]);
		peer.send(encode({ type: ACK, code: c("2.05"), mid: req.mid, token: req.token, payload: "good" }), CLIENT, client.port);
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "good");
		w.close();
	});

	it("fuzz: 3000 random and mutated datagrams never throw; the endpoint keeps serving", async () => {
		const r = rig({ maxOptions: 8 });
		const rng = new Prng(4242);
		const valid = [
			hex("44 01 12 34 01020304 b5 68656c6c6f"),
			hex("42 02 00 31 77 77 b4 6563686f 11 32 ff 6869"),
			hex("40 00 00 01"),
			encode({ type: CON, code: 2, mid: 5, token: "aa", options: [[11, "counter"], [3, "host"], [2049, "x"], [35, "p"]] }),
		];
		for (let i = 0; i < 3000; i++) {
			let d: Uint8Array;
			if (i % 2 === 0) {
				d = new Uint8Array(rng.nextInt(40));
				rng.fill(d);
				if (d.length > 0 && rng.nextInt(2) === 0) d[0] = (d[0]! & 0x3f) | 0x40; // version 1 half the time
			} else {
				const base = valid[rng.nextInt(valid.length)]!;
				d = base.slice(0, rng.nextInt(base.length + 1));
				const flips = 1 + rng.nextInt(3);
				for (let k = 0; k < flips && d.length > 0; k++) d[rng.nextInt(d.length)] ^= 1 << rng.nextInt(8);
			}
			r.peer.send(d);
			if (i % 100 === 99) await r.w.net.runUntilIdle();
		}
		await r.w.net.runUntilIdle();
		assert.equal(r.server.serverSlotsInUse, 0);
		assert.ok(r.server.stats.malformed > 100);
		const fresh = r.w.peer();
		fresh.send("40 01 ff f0 b5 68656c6c6f");
		await r.w.net.runUntilIdle();
		assert.equal(text(fresh.messages()[0]!), "Hello, world!");
		r.w.close();
	});
});
