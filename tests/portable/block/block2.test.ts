// Block2 (RFC 7959 §2.4): a server Endpoint slices large responses, a client Endpoint (or a raw
// peer writing requests by hand) fetches them. Checked at the API (byte-exact bodies) and on
// the wire (Block2 NUM/M/SZX, Size2, ETag of every datagram in the network trace).
import * as assert from "../../support/assert.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { Router } from "../../../modules/coap/server/router.js";
import { demoRouter, largeText } from "../../../modules/demo/demo.js";
import { CLIENT, COAP, PEER, SERVER, World, c, decode, encode as encodeMsg, errorCode, opt, optUint, text, track, valueOf, type Msg } from "../endpoint/harness.js";
import {
	OPT_BLOCK2,
	OPT_ETAG,
	OPT_SIZE2,
	OPT_URI_PATH,
	RawClient,
	ascii,
	assertQuiet,
	block,
	block2Of,
	firstDifference,
	hexOf,
	pattern,
} from "./helpers.js";

const LARGE = ascii(largeText());

function demoPair(serverLimits = {}, clientLimits: Record<string, number> = { maxBodySize: 8192 }): { w: World; server: Endpoint; client: Endpoint } {
	const w = new World();
	const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }), limits: serverLimits });
	const client = w.endpoint(CLIENT, { port: 0, limits: clientLimits });
	return { w, server, client };
}

/** Requests the client sent and responses the server sent, decoded, in order. */
function wire(w: World): { requests: Msg[]; responses: Msg[] } {
	return { requests: w.sent(CLIENT).map((e) => decode(e.bytes)), responses: w.sent(SERVER).map((e) => decode(e.bytes)) };
}

describe("block: Block2 from the server, reassembled by the client (RFC 7959 §2.4)", () => {
	it("/large is the 5,500-byte demo text", () => {
		assert.equal(LARGE.length, 5500);
	});

	for (const size of [16, 32, 64, 128, 256, 512, 1024]) {
		it(`GET /large with blockSize ${size}: byte-exact, ${Math.ceil(5500 / size)} blocks, each NUM/M/SZX, one ETag, Size2 on block 0`, async () => {
			const { w, server, client } = demoPair();
			const szx = Math.log2(size) - 4;
			const t = track(w.net, client.request({ address: SERVER, path: "/large", blockSize: size }));
			await w.net.runUntilIdle();
			const r = valueOf(t);
			assert.equal(r.codeText, "2.05");
			assert.equal(firstDifference(r.payload, LARGE), -1, "byte-exact body");
			assert.equal(r.contentFormat, 0);
			assert.equal(r.option(OPT_BLOCK2), undefined, "the assembled response carries no Block2");
			const { requests, responses } = wire(w);
			const blocks = Math.ceil(5500 / size);
			assert.equal(requests.length, blocks, "one request per block (no loss)");
			assert.equal(responses.length, blocks);
			const etag = hexOf(opt(responses[0]!, OPT_ETAG));
			assert.ok(etag.length > 0, "a sliced body carries an ETag");
			for (let i = 0; i < blocks; i++) {
				const q = requests[i]!;
				const a = responses[i]!;
				const asked = block2Of(q);
				if (i === 0 && size === 1024) assert.equal(asked, undefined, "the default size needs no Block2 in the first request");
				else assert.deepEqual(asked, { num: i, more: false, szx }, "request " + i + " asks block " + i + " (M=0 in requests)");
				assert.deepEqual(block2Of(a), { num: i, more: i < blocks - 1, szx }, "response " + i);
				assert.equal(a.payload.length, i < blocks - 1 ? size : 5500 - size * (blocks - 1));
				assert.equal(hexOf(opt(a, OPT_ETAG)), etag, "same ETag in block " + i);
				assert.equal(optUint(a, OPT_SIZE2), i === 0 ? 5500 : -1, "Size2 on block 0 only");
				assert.equal(a.token, q.token);
			}
			assertQuiet([client, server], assert.ok);
			w.close();
		});
	}

	it("random access: a raw GET for block N > 0 gets exactly that block, M set right, the same ETag", async () => {
		const { w } = demoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const path: [number, string] = [OPT_URI_PATH, "large"];
		const first = await raw.ask({ code: c("0.01"), options: [path, [OPT_BLOCK2, block(0, false, 4)]] });
		const etag = hexOf(opt(first, OPT_ETAG));
		for (const num of [3, 7, 21, 1]) {
			const m = await raw.ask({ code: c("0.01"), options: [path, [OPT_BLOCK2, block(num, false, 4)]] });
			assert.equal(m.code, c("2.05"));
			const end = Math.min(5500, (num + 1) * 256);
			assert.deepEqual(block2Of(m), { num, more: end < 5500, szx: 4 });
			assert.equal(firstDifference(m.payload, LARGE.subarray(num * 256, end)), -1, "bytes of block " + num);
			assert.equal(hexOf(opt(m, OPT_ETAG)), etag);
			assert.equal(optUint(m, OPT_SIZE2), -1, "no Size2 unless asked, past block 0");
		}
		w.close();
	});

	it("Size2: on block 0 unasked, and on any block when the request carries Size2 = 0 (§4)", async () => {
		const { w } = demoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const path: [number, string] = [OPT_URI_PATH, "large"];
		let m = await raw.ask({ code: c("0.01"), options: [path] });
		assert.deepEqual(block2Of(m), { num: 0, more: true, szx: 6 }, "unasked: sliced at the server's size");
		assert.equal(optUint(m, OPT_SIZE2), 5500);
		m = await raw.ask({ code: c("0.01"), options: [path, [OPT_BLOCK2, block(3, false, 6)], [OPT_SIZE2, 0]] });
		assert.equal(optUint(m, OPT_SIZE2), 5500, "asked with Size2=0 on block 3");
		assert.equal(m.payload.length, 1024);
		m = await raw.ask({ code: c("0.01"), options: [path, [OPT_BLOCK2, block(3, false, 6)]] });
		assert.equal(optUint(m, OPT_SIZE2), -1);
		// A small representation asked with Size2=0: Size2 is its size, in one block.
		m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "hello"], [OPT_SIZE2, 0], [OPT_BLOCK2, block(0, false, 6)]] });
		assert.equal(text(m), "Hello, world!");
		assert.equal(optUint(m, OPT_SIZE2), 13);
		assert.deepEqual(block2Of(m), { num: 0, more: false, szx: 6 });
		w.close();
	});

	it("a block beyond the end → 4.02 Bad Option; the last block and one past an exact multiple", async () => {
		const router = new Router();
		const body = pattern(2048, 3);
		router.add("/exact", { get: (_q, res) => res.send(c("2.05"), body) });
		router.add("/large", { get: (_q, res) => res.send(c("2.05"), LARGE) });
		const w = new World();
		w.endpoint(SERVER, { router });
		const raw = new RawClient(w, w.peer(PEER));
		let m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "large"], [OPT_BLOCK2, block(21, false, 4)]] });
		assert.deepEqual(block2Of(m), { num: 21, more: false, szx: 4 });
		assert.equal(m.payload.length, 5500 - 21 * 256);
		m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "large"], [OPT_BLOCK2, block(22, false, 4)]] });
		assert.equal(m.code, c("4.02"), "block 22 starts at 5632 > 5500");
		assert.equal(block2Of(m), undefined);
		m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "exact"], [OPT_BLOCK2, block(1, false, 6)]] });
		assert.deepEqual(block2Of(m), { num: 1, more: false, szx: 6 }, "2048 bytes: block 1 is the last (M=0)");
		assert.equal(firstDifference(m.payload, body.subarray(1024)), -1);
		m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "exact"], [OPT_BLOCK2, block(2, false, 6)]] });
		assert.equal(m.code, c("4.02"), "block 2 starts exactly at the end");
		w.close();
	});

	// RFC 7959 §2.4: Block2 in a request asks for a block of the representation; a 4.04 has
	// none, so it is sent as it is (not turned into 4.02 Bad Option for a block "beyond the
	// end" of its diagnostic), and the client learns 4.04.
	it("GET /missing asking Block2 block 1 → 4.04 (not 4.02)", async () => {
		const { w } = demoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "missing"], [OPT_BLOCK2, block(1, false, 6)]] });
		assert.equal(m.code, c("4.04"));
		w.close();
	});

	// RFC 7959 §2.2: "The value 7 for SZX ... is reserved, i.e., MUST NOT be sent and MUST lead
	// to a 4.00 Bad Request response code upon reception in a request."
	it("a GET with Block2 SZX 7 → 4.00 Bad Request (RFC 7959 §2.2)", async () => {
		const { w } = demoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "large"], [OPT_BLOCK2, block(1, false, 7)]] });
		assert.equal(m.code, c("4.00"));
		w.close();
	});

	it("a response with Block2 SZX 7 (M=1) is refused by the client: COAP_BAD_RESPONSE", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const server = w.peer(SERVER, COAP);
		server.onReceive = (r, p) => {
			const q = decode(r.bytes);
			p.send(encodeMsg({ type: 2, code: c("2.05"), mid: q.mid, token: q.token, options: [[OPT_BLOCK2, block(0, true, 7)]], payload: pattern(1024) }), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_BAD_RESPONSE");
		assert.equal(client.transfersInUse, 0);
		w.close();
	});

	it("negotiation: a server with blockSize 64 answers a 1024-byte ask with 64-byte blocks, NUM scaled (§2.4)", async () => {
		const { w } = demoPair({ blockSize: 64 });
		const raw = new RawClient(w, w.peer(PEER));
		const m = await raw.ask({ code: c("0.01"), options: [[OPT_URI_PATH, "large"], [OPT_BLOCK2, block(1, false, 6)]] });
		assert.deepEqual(block2Of(m), { num: 16, more: true, szx: 2 }, "1024-byte block 1 = 64-byte block 16");
		assert.equal(firstDifference(m.payload, LARGE.subarray(1024, 1088)), -1);
		w.close();
	});

	it("negotiation: the client adapts to the server's smaller size (asks 1024, gets 64, continues with SZX 2)", async () => {
		const { w, server, client } = demoPair({ blockSize: 64 });
		const t = track(w.net, client.request({ address: SERVER, path: "/large" }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, LARGE), -1);
		const { requests, responses } = wire(w);
		assert.equal(requests.length, Math.ceil(5500 / 64));
		assert.equal(block2Of(requests[0]!), undefined);
		for (let i = 1; i < requests.length; i++) assert.deepEqual(block2Of(requests[i]!), { num: i, more: false, szx: 2 });
		for (const a of responses) assert.equal(block2Of(a)!.szx, 2);
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	it("negotiation: a client preferring 256 against a server limited to 64 continues at 64", async () => {
		const { w, client } = demoPair({ blockSize: 64 });
		const t = track(w.net, client.request({ address: SERVER, path: "/large", blockSize: 256 }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, LARGE), -1);
		const { requests } = wire(w);
		assert.deepEqual(block2Of(requests[0]!), { num: 0, more: false, szx: 4 }, "early negotiation: asks 256");
		assert.deepEqual(block2Of(requests[1]!), { num: 1, more: false, szx: 2 }, "then the server's 64");
		w.close();
	});

	it("a server whose messages are small (maxMessageSize 300) slices at 128 on its own (64 bytes kept for header and options)", async () => {
		const { w, client } = demoPair({ maxMessageSize: 300 });
		const t = track(w.net, client.request({ address: SERVER, path: "/large" }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, LARGE), -1);
		for (const a of wire(w).responses) assert.equal(block2Of(a)!.szx, 3);
		w.close();
	});

	it("a response body larger than the client's maxBodySize → COAP_OVERFLOW, no transfer slot left in use", async () => {
		const { w, server, client } = demoPair({}, { maxBodySize: 4096 });
		const t = track(w.net, client.request({ address: SERVER, path: "/large" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_OVERFLOW");
		assert.match(String((t.error as Error).message), /4096/);
		// Size2 = 5500 on block 0 already says it cannot fit: no further block is fetched.
		assert.equal(w.sent(CLIENT).length, 1);
		assertQuiet([client, server], assert.ok);
		// The endpoint goes on working: a small request after it.
		const u = track(w.net, client.request({ address: SERVER, path: "/hello" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(u).text(), "Hello, world!");
		w.close();
	});

	it("COAP_OVERFLOW for a response too large for the client, with default limits (maxBodySize 4096)", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0 });
		const t = track(w.net, client.request({ address: SERVER, path: "/large" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_OVERFLOW");
		assert.equal(client.transfersInUse, 0);
		w.close();
	});

	it("all client transfer slots busy (blockTransfers 1, two concurrent large GETs) → COAP_CAPACITY for the second", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0, limits: { blockTransfers: 1, maxBodySize: 8192 }, tuning: { nstart: 2 } });
		const a = track(w.net, client.request({ address: SERVER, path: "/large" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/large" }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(a).payload, LARGE), -1);
		assert.equal(errorCode(b), "COAP_CAPACITY");
		assert.equal(client.transfersInUse, 0);
		w.close();
	});
});

describe("block: a representation that changes during a Block2 transfer (RFC 7959 §2.4, ETag)", () => {
	/** /doc: 3000 bytes, version v; `bump(n)` is called with the count of GETs before answering. */
	function versioned(bump: (calls: number) => boolean): { router: Router; version(): number; body(v: number): Uint8Array } {
		const router = new Router();
		let version = 1;
		let calls = 0;
		const body = (v: number) => pattern(3000, 100 + v);
		router.add("/doc", {
			get(_req, res) {
				calls++;
				if (bump(calls)) version++;
				res.send(c("2.05"), body(version));
			},
		});
		return { router, version: () => version, body };
	}

	it("changed once between blocks: the client sees the new ETag, restarts at block 0 and gets version 2 whole", async () => {
		const doc = versioned((n) => n === 2); // the second GET (block 1) already sees version 2
		const w = new World();
		w.endpoint(SERVER, { router: doc.router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const t = track(w.net, client.request({ address: SERVER, path: "/doc" }));
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(firstDifference(r.payload, doc.body(2)), -1, "one version, never stitched");
		const requests = w.sent(CLIENT).map((e) => decode(e.bytes));
		const asked = requests.map((q) => (block2Of(q) ?? { num: 0 }).num);
		assert.deepEqual(asked, [0, 1, 0, 1, 2], "restarted at block 0 after the ETag changed");
		const responses = w.sent(SERVER).map((e) => decode(e.bytes));
		assert.notEqual(hexOf(opt(responses[0]!, OPT_ETAG)), hexOf(opt(responses[1]!, OPT_ETAG)));
		assert.equal(client.transfersInUse, 0);
		w.close();
	});

	it("changing on every request: the client gives up with COAP_BAD_RESPONSE, not a stitched body", async () => {
		const doc = versioned(() => true);
		const w = new World();
		w.endpoint(SERVER, { router: doc.router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const t = track(w.net, client.request({ address: SERVER, path: "/doc" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_BAD_RESPONSE");
		assert.match(String((t.error as Error).message), /chang/);
		assert.ok(w.sent(CLIENT).length <= 8, "a bounded number of restarts: " + w.sent(CLIENT).length);
		assert.equal(client.transfersInUse, 0);
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("a raw peer as server changing its ETag between blocks: restart, then the consistent body", async () => {
		// The server side is hand-written so that only the ETag says the representation changed.
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const server = w.peer(SERVER, COAP);
		const v1 = pattern(100, 1);
		const v2 = pattern(100, 2);
		let served = 0;
		server.onReceive = (r, p) => {
			const q = decode(r.bytes);
			const num = (block2Of(q) ?? { num: 0 }).num;
			served++;
			const body = served === 1 ? v1 : v2;
			const etag = served === 1 ? "01" : "02";
			const more = (num + 1) * 64 < body.length;
			p.send(encodeAck(q, etagBytes(etag), block(num, more, 2), body.subarray(num * 64, (num + 1) * 64)), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, v2), -1);
		assert.equal(served, 4, "block 0 (v1), block 1 (v2: changed), block 0 (v2), block 1 (v2)");
		w.close();
	});
});

function etagBytes(h: string): Uint8Array {
	return Uint8Array.of(parseInt(h, 16));
}

function encodeAck(q: Msg, etag: Uint8Array, b2: number, payload: Uint8Array): Uint8Array {
	// Written with the independent encoder of the harness.
	return encodeMsg({ type: 2, code: c("2.05"), mid: q.mid, token: q.token, options: [[OPT_ETAG, etag], [OPT_BLOCK2, b2]], payload });
}
