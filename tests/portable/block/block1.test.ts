// Block1 (RFC 7959 §2.5) and kept response bodies (§2.6): a client Endpoint uploads large bodies
// block by block with Request-Tag (RFC 9175 §3); a server Endpoint reassembles them into its
// preallocated transfer slots, answering 2.31, 4.00, 4.08, 4.13 (with Size1) and 5.03 where
// the RFC says. Raw peers write the blocks by hand where order, size or timing matter.
import * as assert from "../../support/assert.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { Router } from "../../../modules/coap/server/router.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, COAP, PEER, PEER2, SERVER, World, c, decode, encode, opt, optUint, text, track, valueOf, type Msg } from "../endpoint/harness.js";
import {
	OPT_BLOCK1,
	OPT_BLOCK2,
	OPT_MAX_AGE,
	OPT_REQUEST_TAG,
	OPT_SIZE1,
	OPT_URI_PATH,
	RawClient,
	assertQuiet,
	block,
	block1Of,
	block2Of,
	firstDifference,
	hexOf,
	pattern,
} from "./helpers.js";

const ECHO: [number, string] = [OPT_URI_PATH, "echo"];
const POST = 2;

function echoPair(serverLimits: Record<string, number> = { maxBodySize: 16384 }, clientLimits: Record<string, number> = { maxBodySize: 16384 }): { w: World; server: Endpoint; client: Endpoint } {
	const w = new World();
	const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }), limits: serverLimits });
	const client = w.endpoint(CLIENT, { port: 0, limits: clientLimits });
	return { w, server, client };
}

/** A raw Block1 POST to /echo (tag: Request-Tag hex or null). */
function b1(num: number, more: boolean, szx: number, payload: Uint8Array, tag: string | null = null, extra: [number, number | Uint8Array][] = []): { code: number; options: [number, number | string | Uint8Array][]; payload: Uint8Array } {
	const options: [number, number | string | Uint8Array][] = [ECHO, [OPT_BLOCK1, block(num, more, szx)], ...extra];
	if (tag !== null) options.push([OPT_REQUEST_TAG, hexBytes(tag)]);
	return { code: POST, options, payload };
}

function hexBytes(h: string): Uint8Array {
	const out = new Uint8Array(h.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
	return out;
}

describe("block: Block1 uploads to the server (RFC 7959 §2.5)", () => {
	it("a handler behind Block1 runs once, on the whole 16 KiB body", async () => {
		const router = new Router();
		let calls = 0;
		let got: Uint8Array | null = null;
		router.add("/sink", {
			post(req, res) {
				calls++;
				got = req.payload.slice();
				res.send(c("2.04"), "ok");
			},
		});
		const w = new World();
		const server = w.endpoint(SERVER, { router, limits: { maxBodySize: 16384 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		const body = pattern(16384, 8);
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/sink", payload: body }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "ok");
		assert.equal(calls, 1);
		assert.equal(firstDifference(got!, body), -1, "the server got the body byte-exact");
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	it("a 16 KiB POST to /echo arrives byte-exact and the echo comes back via Block2 (Request-Tag, Size1, 2.31, Block1 echo)", async () => {
		const { w, server, client } = echoPair();
		const body = pattern(16384, 7);
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: body }));
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.codeText, "2.04");
		assert.equal(firstDifference(r.payload, body), -1, "the echo came back byte-exact");
		const requests = w.sent(CLIENT).map((e) => decode(e.bytes));
		const responses = w.sent(SERVER).map((e) => decode(e.bytes));
		assert.equal(requests.length, 16 + 15, "16 Block1 blocks, then Block2 blocks 1..15");
		const tag = hexOf(opt(requests[0]!, OPT_REQUEST_TAG));
		assert.ok(tag.length > 0, "a Request-Tag (RFC 9175 §3)");
		for (let i = 0; i < 16; i++) {
			const q = requests[i]!;
			assert.deepEqual(block1Of(q), { num: i, more: i < 15, szx: 6 });
			assert.equal(q.payload.length, 1024);
			assert.equal(hexOf(opt(q, OPT_REQUEST_TAG)), tag, "one Request-Tag for the whole body");
			assert.equal(optUint(q, OPT_SIZE1), i === 0 ? 16384 : -1, "Size1 announces the size on block 0 (§4)");
			const a = responses[i]!;
			if (i < 15) {
				assert.equal(a.code, c("2.31"), "2.31 Continue for block " + i);
				assert.deepEqual(block1Of(a), { num: i, more: true, szx: 6 });
				assert.equal(a.payload.length, 0);
			} else {
				assert.equal(a.code, c("2.04"));
				assert.deepEqual(block1Of(a), { num: 15, more: false, szx: 6 }, "the final response echoes Block1");
				assert.deepEqual(block2Of(a), { num: 0, more: true, szx: 6 }, "and starts the response body's Block2");
			}
		}
		for (let i = 16; i < requests.length; i++) {
			const q = requests[i]!;
			assert.equal(q.code, POST);
			assert.deepEqual(block2Of(q), { num: i - 15, more: false, szx: 6 });
			assert.equal(block1Of(q), undefined);
			assert.equal(q.payload.length, 0, "later Block2 requests carry no body (§2.6)");
			assert.equal(hexOf(opt(q, OPT_REQUEST_TAG)), tag, "but the upload's Request-Tag (RFC 9175 §3.3)");
			assert.equal(optUint(q, OPT_SIZE1), -1);
		}
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	for (const size of [16, 64, 256, 1024]) {
		it(`client blockSize ${size}: a 3000-byte PUT is sent in ${Math.ceil(3000 / size)} blocks of ${size} bytes`, async () => {
			const { w, server, client } = echoPair();
			const body = pattern(3000, size);
			const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: body, blockSize: size }));
			await w.net.runUntilIdle();
			assert.equal(firstDifference(valueOf(t).payload, body), -1);
			const up = w.sent(CLIENT).map((e) => decode(e.bytes)).filter((q) => block1Of(q) !== undefined);
			assert.equal(up.length, Math.ceil(3000 / size));
			for (const [i, q] of up.entries()) assert.deepEqual(block1Of(q), { num: i, more: i < up.length - 1, szx: Math.log2(size) - 4 });
			assertQuiet([client, server], assert.ok);
			w.close();
		});
	}

	it("out of order: block 2 after block 0 → 4.08; the transfer then goes on from block 1", async () => {
		const { w, server } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const body = pattern(600, 1);
		let m = await raw.ask(b1(0, true, 4, body.subarray(0, 256), "01"));
		assert.equal(m.code, c("2.31"));
		m = await raw.ask(b1(2, false, 4, body.subarray(512), "01"));
		assert.equal(m.code, c("4.08"), "Request Entity Incomplete");
		m = await raw.ask(b1(1, true, 4, body.subarray(256, 512), "01"));
		assert.equal(m.code, c("2.31"));
		m = await raw.ask(b1(2, false, 4, body.subarray(512), "01"));
		assert.equal(m.code, c("2.04"));
		assert.equal(firstDifference(m.payload, body), -1);
		assert.equal(server.transfersInUse, 0);
		w.close();
	});

	it("the last block repeated in a new message (a client that lost our 2.31) is acknowledged again, not appended twice; block 0 again restarts the upload; a gap → 4.08", async () => {
		const { w } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const body = pattern(1000, 1);
		await raw.ask(b1(0, true, 4, body.subarray(0, 256), "01"));
		await raw.ask(b1(1, true, 4, body.subarray(256, 512), "01"));
		let m = await raw.ask(b1(1, true, 4, body.subarray(256, 512), "01"));
		assert.equal(m.code, c("2.31"));
		m = await raw.ask(b1(0, true, 4, body.subarray(0, 256), "01"));
		assert.equal(m.code, c("2.31"), "block 0 again restarts the transfer");
		m = await raw.ask(b1(2, true, 4, body.subarray(512, 768), "01"));
		assert.equal(m.code, c("4.08"), "after the restart only block 1 may follow");
		m = await raw.ask(b1(1, true, 4, body.subarray(256, 512), "01"));
		assert.equal(m.code, c("2.31"));
		m = await raw.ask(b1(2, true, 4, body.subarray(512, 768), "01"));
		assert.equal(m.code, c("2.31"));
		m = await raw.ask(b1(3, false, 4, body.subarray(768, 1000), "01"));
		assert.equal(m.code, c("2.04"));
		assert.deepEqual(m.payload.subarray(0, 256), body.subarray(0, 256), "the echo starts with the body, no block twice");
		w.close();
	});

	it("blocks 0, 1, 2 and then 1 again → 4.08, the body unchanged: the upload goes on from block 3 (RFC 7959 §2.5)", async () => {
		const { w } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const body = pattern(1000, 9);
		for (let n = 0; n < 3; n++) assert.equal((await raw.ask(b1(n, true, 4, body.subarray(n * 256, (n + 1) * 256), "07"))).code, c("2.31"));
		const m = await raw.ask(b1(1, true, 4, pattern(256, 99), "07"));
		assert.equal(m.code, c("4.08"), "an older block out of sequence");
		const last = await raw.ask(b1(3, false, 4, body.subarray(768, 1000), "07"));
		assert.equal(last.code, c("2.04"));
		assert.equal(firstDifference(last.payload, body.subarray(0, last.payload.length)), -1, "the echo is the body sent in order, not the stray block 1");
		w.close();
	});

	it("missing first block: block 1 of an unknown transfer → 4.08, the handler does not run", async () => {
		const router = new Router();
		let calls = 0;
		router.add("/echo", { post: (req, res) => { calls++; res.send(c("2.04"), req.payload); } });
		const w = new World();
		w.endpoint(SERVER, { router });
		const raw = new RawClient(w, w.peer(PEER));
		let m = await raw.ask(b1(1, true, 4, pattern(256)));
		assert.equal(m.code, c("4.08"));
		m = await raw.ask(b1(1, false, 4, pattern(10)));
		assert.equal(m.code, c("4.08"), "a last block without the ones before");
		assert.equal(calls, 0);
		w.close();
	});

	it("a body larger than maxBodySize → 4.13 with Size1 = maxBodySize, at the block that overflows; the slot is freed", async () => {
		const { w, server } = echoPair({ maxBodySize: 1024 });
		const raw = new RawClient(w, w.peer(PEER));
		const body = pattern(2048);
		for (let i = 0; i < 4; i++) assert.equal((await raw.ask(b1(i, true, 4, body.subarray(i * 256, (i + 1) * 256)))).code, c("2.31"));
		const m = await raw.ask(b1(4, true, 4, body.subarray(1024, 1280)));
		assert.equal(m.code, c("4.13"), "Request Entity Too Large");
		assert.equal(optUint(m, OPT_SIZE1), 1024, "Size1 tells the largest body taken (§4)");
		assert.equal(server.transfersInUse, 0);
		w.close();
	});

	it("Size1 announcing more than maxBodySize → 4.13 at once (the client's request stops after block 0)", async () => {
		const { w, server, client } = echoPair({ maxBodySize: 1024 });
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: pattern(5000), blockSize: 256 }));
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.codeText, "4.13");
		assert.equal(r.optionUint(OPT_SIZE1), 1024);
		const sent = w.sent(CLIENT).map((e) => decode(e.bytes));
		assert.equal(sent.length, 1, "one request only");
		assert.equal(optUint(sent[0]!, OPT_SIZE1), 5000);
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	it("a non-final block whose payload is not the block size → 4.00", async () => {
		const { w, server } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		let m = await raw.ask(b1(0, true, 4, pattern(100)));
		assert.equal(m.code, c("4.00"));
		m = await raw.ask(b1(0, true, 4, pattern(300)));
		assert.equal(m.code, c("4.00"), "larger than the block size too");
		assert.equal(server.transfersInUse, 0);
		w.close();
	});

	it("Block1 with SZX 7 (reserved) → 4.00 Bad Request (RFC 7959 §2.2)", async () => {
		const { w } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const m = await raw.ask(b1(0, true, 7, pattern(1024)));
		assert.equal(m.code, c("4.00"));
		w.close();
	});

	it("Request-Tag: two uploads to /echo from one peer, interleaved block by block, are kept apart (RFC 9175 §3.3)", async () => {
		const { w, server } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const a = pattern(600, 21);
		const b = pattern(600, 22);
		const ranges: [number, number][] = [[0, 256], [256, 512], [512, 600]];
		const finals: Msg[] = [];
		for (let i = 0; i < 3; i++) {
			const more = i < 2;
			for (const [body, tag] of [[a, "aa"], [b, "bb"]] as const) {
				const m = await raw.ask(b1(i, more, 4, body.subarray(ranges[i]![0], ranges[i]![1]), tag));
				assert.equal(m.code, more ? c("2.31") : c("2.04"), "block " + i + " of " + tag);
				if (!more) finals.push(m);
			}
		}
		assert.equal(firstDifference(finals[0]!.payload, a), -1, "upload aa echoed its own body");
		assert.equal(firstDifference(finals[1]!.payload, b), -1, "upload bb echoed its own body");
		assert.equal(server.transfersInUse, 0);
		w.close();
	});

	it("without Request-Tag the same two interleaved uploads collide: the second block 0 restarts the first (one body per resource and peer)", async () => {
		const { w } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const a = pattern(600, 21);
		const b = pattern(600, 22);
		assert.equal((await raw.ask(b1(0, true, 4, a.subarray(0, 256)))).code, c("2.31"));
		assert.equal((await raw.ask(b1(0, true, 4, b.subarray(0, 256)))).code, c("2.31"), "restarts the transfer (§2.5: same resource, same peer)");
		assert.equal((await raw.ask(b1(1, true, 4, a.subarray(256, 512)))).code, c("2.31"));
		const m = await raw.ask(b1(2, false, 4, a.subarray(512)));
		assert.equal(m.code, c("2.04"));
		assert.equal(firstDifference(m.payload.subarray(0, 256), b.subarray(0, 256)), -1, "what an untagged server must assume: one body");
		w.close();
	});

	// The response bodies kept for the later Block2 blocks of two concurrent POSTs are keyed
	// with their Request-Tag: RFC 9175 §3.3 (Request-Tag is used in Block1 requests "and in
	// Block2 requests following these"), §3.4 and RFC 7959 §2.6 need them kept apart.
	it("Request-Tag: the Block2 halves of two concurrent Block1+Block2 POSTs are kept apart", async () => {
		const { w } = echoPair();
		const raw = new RawClient(w, w.peer(PEER));
		const a = pattern(3000, 31);
		const b = pattern(3000, 32);
		const got = { aa: [] as Uint8Array[], bb: [] as Uint8Array[] };
		for (let i = 0; i < 3; i++) {
			for (const [body, tag] of [[a, "aa"], [b, "bb"]] as const) {
				const m = await raw.ask(b1(i, i < 2, 6, body.subarray(i * 1024, Math.min(3000, (i + 1) * 1024)), tag));
				if (i === 2) got[tag].push(m.payload);
			}
		}
		for (let n = 1; n < 3; n++) {
			for (const tag of ["aa", "bb"] as const) {
				const m = await raw.ask({ code: POST, options: [ECHO, [OPT_BLOCK2, block(n, false, 6)], [OPT_REQUEST_TAG, hexBytes(tag)]] });
				assert.equal(m.code, c("2.04"), "Block2 " + n + " of " + tag);
				got[tag].push(m.payload);
			}
		}
		assert.equal(firstDifference(concat(got.aa), a), -1, "aa's echo");
		assert.equal(firstDifference(concat(got.bb), b), -1, "bb's echo");
		w.close();
	});

	// The same through the client API: two concurrent request() calls POSTing 3000 bytes each
	// to /echo. The client interleaves their blocks (NSTART 1); the Block2 halves must not mix
	// on the server (were they to, the client would see a foreign ETag and must not stitch).
	it("two concurrent 3000-byte POSTs to /echo from one client each get their own echo", async () => {
		const { w, server, client } = echoPair();
		const a = pattern(3000, 41);
		const b = pattern(3000, 42);
		const ta = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: a }));
		const tb = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: b }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(ta).payload, a), -1);
		assert.equal(firstDifference(valueOf(tb).payload, b), -1);
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	it("two concurrent POSTs whose Block2 halves mix (the bug above): never a stitched or empty body — own echo or COAP_BAD_RESPONSE", async () => {
		const { w, client } = echoPair();
		const a = pattern(3000, 41);
		const b = pattern(3000, 42);
		const ta = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: a }));
		const tb = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: b }));
		await w.net.runUntilIdle();
		for (const [t, body] of [[ta, a], [tb, b]] as const) {
			assert.ok(t.settled);
			if (t.rejected) assert.equal((t.error as { code?: string }).code, "COAP_BAD_RESPONSE");
			else assert.equal(firstDifference(t.value!.payload, body), -1, "a resolved POST has its own echo");
		}
		// The POST is never repeated without its body to "restart" a changed response (§2.6).
		const plain = w.sent(CLIENT).map((e) => decode(e.bytes)).filter((q) => block1Of(q) === undefined && (block2Of(q)?.num ?? 0) === 0);
		assert.equal(plain.length, 0, "no bodyless POST for block 0");
		assert.equal(client.transfersInUse, 0);
		w.close();
	});

	it("all transfer slots busy → 5.03 with Max-Age; an abandoned transfer's slot is free again after EXCHANGE_LIFETIME (247 s)", async () => {
		const { w, server } = echoPair({ maxBodySize: 4096, blockTransfers: 1 });
		const rawA = new RawClient(w, w.peer(PEER));
		const rawB = new RawClient(w, w.peer(PEER2));
		const t0 = w.net.clock.now();
		let m = await rawA.ask(b1(0, true, 4, pattern(256)));
		assert.equal(m.code, c("2.31"));
		assert.equal(server.transfersInUse, 1);
		m = await rawB.ask(b1(0, true, 4, pattern(256)));
		assert.equal(m.code, c("5.03"), "no slot free");
		assert.equal(optUint(m, OPT_MAX_AGE), 1);
		assert.equal(server.stats.capacityRejected, 1);
		// A abandons its upload. Just before EXCHANGE_LIFETIME the slot is still held.
		await w.net.runFor(t0 + 246000 - w.net.clock.now());
		m = await rawB.ask(b1(0, true, 4, pattern(256)));
		assert.equal(m.code, c("5.03"));
		await w.net.runFor(t0 + 247002 - w.net.clock.now());
		assert.equal(server.transfersInUse, 0, "expired");
		m = await rawB.ask(b1(0, true, 4, pattern(256)));
		assert.equal(m.code, c("2.31"), "the abandoned slot is reused");
		m = await rawB.ask(b1(1, false, 4, pattern(10)));
		assert.equal(m.code, c("2.04"));
		m = await rawA.ask(b1(1, false, 4, pattern(10)));
		assert.equal(m.code, c("4.08"), "A's transfer is gone");
		w.close();
	});

	it("the client adapts to a smaller Block1 size in a 2.31 and counts on in it (RFC 7959 §2.5, Figure 9)", async () => {
		// Figure 9: 1:0/1/128 → 2.31 1:0/1/32 → the client continues with 1:4/1/32 (the server
		// has the first 128 bytes).
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const server = w.peer(SERVER, COAP);
		const got: Uint8Array[] = [];
		server.onReceive = (r, p) => {
			const q = decode(r.bytes);
			const b = block1Of(q)!;
			got.push(q.payload);
			const reply = b.more ? { code: c("2.31"), b1: block(b.num, true, 1) } : { code: c("2.04"), b1: block(b.num, false, b.szx) };
			p.send(encode({ type: ACK, code: reply.code, mid: q.mid, token: q.token, options: [[OPT_BLOCK1, reply.b1]] }), r.address, r.port);
		};
		const body = pattern(256, 5);
		const t = track(w.net, client.request({ address: SERVER, method: "PUT", path: "/options", payload: body, blockSize: 128 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).codeText, "2.04");
		const blocks = w.sent(CLIENT).map((e) => block1Of(decode(e.bytes)));
		assert.deepEqual(blocks[0], { num: 0, more: true, szx: 3 });
		assert.deepEqual(blocks[1], { num: 4, more: true, szx: 1 }, "continues after the 128 bytes sent, counted in 32s");
		assert.equal(firstDifference(concat(got), body), -1, "every byte sent exactly once, in order");
		w.close();
	});
});

describe("block: kept response bodies of non-idempotent requests (RFC 7959 §2.6)", () => {
	function reportRouter(): { router: Router; calls(): number; body: Uint8Array } {
		const router = new Router();
		let calls = 0;
		const body = pattern(3000, 9);
		router.add("/report", {
			post(_req, res) {
				calls++;
				res.send(c("2.04"), body);
			},
		});
		return { router, calls: () => calls, body };
	}

	it("a small POST with a 3000-byte response: later blocks come from the kept body, the handler runs once", async () => {
		const rep = reportRouter();
		const w = new World();
		const server = w.endpoint(SERVER, { router: rep.router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/report", payload: "go" }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, rep.body), -1);
		assert.equal(rep.calls(), 1);
		const requests = w.sent(CLIENT).map((e) => decode(e.bytes));
		assert.equal(requests.length, 3);
		assert.equal(text(requests[0]!), "go");
		for (const q of requests.slice(1)) {
			assert.equal(q.code, POST);
			assert.equal(q.payload.length, 0);
		}
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	// RFC 7959 §2.6 / §2.5: a missing kept body is "4.08 Request Entity Incomplete". The Block2
	// slicing applies to representations only: the 4.08's diagnostic payload (RFC 7252 §5.5.2)
	// has no block 1, yet it is not turned into 4.02 Bad Option.
	it("no kept body (no POST before, or its blocks all served) → 4.08, the handler does not run", async () => {
		const rep = reportRouter();
		const w = new World();
		w.endpoint(SERVER, { router: rep.router });
		const raw = new RawClient(w, w.peer(PEER));
		const path: [number, string] = [OPT_URI_PATH, "report"];
		let m = await raw.ask({ code: POST, options: [path, [OPT_BLOCK2, block(1, false, 6)]] });
		assert.equal(m.code, c("4.08"));
		assert.equal(rep.calls(), 0);
		await raw.ask({ code: POST, options: [path], payload: "go" });
		await raw.ask({ code: POST, options: [path, [OPT_BLOCK2, block(2, false, 6)]] });
		m = await raw.ask({ code: POST, options: [path, [OPT_BLOCK2, block(1, false, 6)]] });
		assert.equal(m.code, c("4.08"), "the last block was served: the body is released");
		assert.equal(rep.calls(), 1);
		w.close();
	});

	it("no kept body: an error, never the handler; random access into a kept body; released after its last block", async () => {
		const rep = reportRouter();
		const w = new World();
		w.endpoint(SERVER, { router: rep.router });
		const raw = new RawClient(w, w.peer(PEER));
		const path: [number, string] = [OPT_URI_PATH, "report"];
		let m = await raw.ask({ code: POST, options: [path, [OPT_BLOCK2, block(1, false, 6)]] });
		assert.equal(m.code, c("4.08"), "no kept body: 4.08 Request Entity Incomplete");
		assert.equal(rep.calls(), 0);
		m = await raw.ask({ code: POST, options: [path], payload: "go" });
		assert.deepEqual(block2Of(m), { num: 0, more: true, szx: 6 });
		m = await raw.ask({ code: POST, options: [path, [OPT_BLOCK2, block(2, false, 6)]] });
		assert.deepEqual(block2Of(m), { num: 2, more: false, szx: 6 }, "random access into the kept body");
		assert.equal(firstDifference(m.payload, rep.body.subarray(2048)), -1);
		m = await raw.ask({ code: POST, options: [path, [OPT_BLOCK2, block(1, false, 6)]] });
		assert.equal(m.code, c("4.08"), "the last block was served: the body is released");
		assert.equal(rep.calls(), 1);
		w.close();
	});

	it("a kept body that is never fetched is released after EXCHANGE_LIFETIME", async () => {
		const rep = reportRouter();
		const w = new World();
		const server = w.endpoint(SERVER, { router: rep.router });
		const raw = new RawClient(w, w.peer(PEER));
		await raw.ask({ code: POST, options: [[OPT_URI_PATH, "report"]], payload: "go" });
		assert.equal(server.transfersInUse, 1);
		await w.net.runFor(247001);
		assert.equal(server.transfersInUse, 0);
		w.close();
	});
});

function concat(list: readonly Uint8Array[]): Uint8Array {
	let n = 0;
	for (const b of list) n += b.length;
	const out = new Uint8Array(n);
	let o = 0;
	for (const b of list) {
		out.set(b, o);
		o += b.length;
	}
	return out;
}
