// Endpoint tests, server side of the message layer (RFC 7252 §4): CoAP ping, duplicate
// detection for CON and NON (§4.5) including requests still being worked on, the dedup
// lifetime, and a long conversation over a lossy, duplicating, reordering network.
import * as assert from "../../support/assert.js";
import { toHex } from "../../support/bytes.js";
import { Router } from "../../../modules/coap/server/router.js";
import { exchangeLifetime, DEFAULT_TUNING } from "../../../modules/coap/tuning.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, CON, NON, PEER, RST, SERVER, World, c, decode, encode, errorCode, sleep, text, track, valueOf } from "./harness.js";

/** A router with POST /counter that counts its calls (and answers the new value). */
function counterRouter(): { router: Router; calls: () => number } {
	const router = new Router();
	let calls = 0;
	router.add("/counter", {
		post(_req, res) {
			calls++;
			res.send(c("2.04"), String(calls), 0);
		},
		get(_req, res) {
			res.send(c("2.05"), String(calls), 0);
		},
	});
	return { router, calls: () => calls };
}

const POST_COUNTER = (type: number, mid: number, token = "a1b2"): Uint8Array => encode({ type, code: 2, mid, token, options: [[11, "counter"]] });

describe("endpoint: server message layer (§4)", () => {
	it("CoAP ping (empty CON) is answered with a Reset carrying the same MID", async () => {
		const w = new World();
		const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const peer = w.peer();
		peer.send("40 00 12 34");
		peer.send("40 00 ab cd");
		await w.net.runUntilIdle();
		assert.deepEqual(peer.received.map((r) => toHex(r.bytes)), ["70001234", "7000abcd"]);
		assert.equal(peer.received[0]!.time, 2);
		// An empty NON, and stray empty ACK/RST, are ignored.
		peer.clear();
		peer.send("50 00 00 01");
		peer.send("60 00 00 02");
		peer.send("70 00 00 03");
		await w.net.runUntilIdle();
		assert.equal(peer.received.length, 0);
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(server.stats.resets, 1, "the stray RST is counted");
		w.close();
	});

	it("duplicate CON request (at once, and after the response): handler runs once, byte-identical replies", async () => {
		const { router, calls } = counterRouter();
		const w = new World();
		const server = w.endpoint(SERVER, { router });
		const peer = w.peer();
		const req = POST_COUNTER(CON, 0x7001);
		peer.send(req);
		peer.send(req);
		await w.net.runUntilIdle();
		assert.equal(calls(), 1);
		assert.equal(peer.received.length, 2);
		assert.deepEqual(peer.received[1]!.bytes, peer.received[0]!.bytes);
		const m = decode(peer.received[0]!.bytes);
		assert.equal(m.type, ACK);
		assert.equal(m.mid, 0x7001);
		assert.equal(m.code, c("2.04"));
		assert.equal(text(m), "1");
		// Much later (still within EXCHANGE_LIFETIME): the same reply again, no new processing.
		await w.net.runFor(100000);
		peer.send(req);
		await w.net.runUntilIdle();
		assert.equal(calls(), 1);
		assert.equal(peer.received.length, 3);
		assert.deepEqual(peer.received[2]!.bytes, peer.received[0]!.bytes);
		assert.equal(server.stats.duplicates, 2);
		// A new MID is a new request.
		peer.send(POST_COUNTER(CON, 0x7002));
		await w.net.runUntilIdle();
		assert.equal(calls(), 2);
		assert.equal(text(decode(peer.received[3]!.bytes)), "2");
		w.close();
	});

	it("the same MID from another port or host is a different message", async () => {
		const { router, calls } = counterRouter();
		const w = new World();
		w.endpoint(SERVER, { router });
		const a = w.peer(PEER);
		const b = w.peer(PEER);
		const other = w.peer("10.0.0.11");
		for (const p of [a, b, other]) p.send(POST_COUNTER(CON, 0x0101));
		await w.net.runUntilIdle();
		assert.equal(calls(), 3);
		assert.deepEqual([a, b, other].map((p) => text(p.messages()[0]!)), ["1", "2", "3"]);
		w.close();
	});

	it("after EXCHANGE_LIFETIME the MID is forgotten: the same bytes are a new request", async () => {
		const { router, calls } = counterRouter();
		const w = new World();
		w.endpoint(SERVER, { router });
		const peer = w.peer();
		peer.send(POST_COUNTER(CON, 0x3000));
		await w.net.runUntilIdle();
		const lifetime = exchangeLifetime(DEFAULT_TUNING);
		assert.equal(lifetime, 247000, "RFC 7252 §4.8.2: 247 s with the default parameters");
		// The first copy arrived at 1: remembered while now < 1 + lifetime.
		await w.net.runFor(lifetime - 1 - w.net.clock.now());
		peer.send(POST_COUNTER(CON, 0x3000)); // arrives at lifetime: a duplicate
		await w.net.runUntilIdle();
		assert.equal(calls(), 1);
		assert.equal(peer.received.length, 2);
		assert.deepEqual(peer.received[1]!.bytes, peer.received[0]!.bytes);
		peer.send(POST_COUNTER(CON, 0x3000)); // arrives at lifetime + 1: forgotten
		await w.net.runUntilIdle();
		assert.equal(calls(), 2);
		w.close();
	});

	it("duplicate NON request is ignored: one response, handler once", async () => {
		const { router, calls } = counterRouter();
		const w = new World();
		const server = w.endpoint(SERVER, { router });
		const peer = w.peer();
		const req = POST_COUNTER(NON, 0x0042);
		peer.send(req);
		peer.send(req);
		await w.net.runFor(50);
		peer.send(req);
		await w.net.runUntilIdle();
		assert.equal(calls(), 1);
		assert.equal(peer.received.length, 1);
		const m = decode(peer.received[0]!.bytes);
		assert.equal(m.type, NON);
		assert.equal(m.token, "a1b2");
		assert.equal(server.stats.duplicates, 2);
		w.close();
	});

	it("duplicate of a request whose async handler still works: nothing; after the empty ACK: the empty ACK again", async () => {
		const w = new World();
		const router = new Router();
		let calls = 0;
		router.add("/slow", {
			async post(_req, res) {
				calls++;
				await sleep(w.net, 1000);
				res.send(c("2.04"), "done");
			},
		});
		const server = w.endpoint(SERVER, { router });
		const peer = w.peer();
		const req = encode({ type: CON, code: 2, mid: 0x0909, token: "77", options: [[11, "slow"]] });
		peer.send(req);
		await w.net.runFor(50);
		peer.send(req); // arrives at 51: still working, before the empty ACK (at 101)
		await w.net.runFor(20);
		assert.equal(peer.received.length, 0, "nothing for the early duplicate");
		await w.net.runFor(100);
		assert.deepEqual(peer.received.map((r) => toHex(r.bytes)), ["60000909"]);
		assert.equal(peer.received[0]!.time, 102);
		peer.send(req); // after the empty ACK: the empty ACK again
		await w.net.runFor(10);
		assert.deepEqual(peer.received.map((r) => toHex(r.bytes)), ["60000909", "60000909"]);
		// The separate response comes at 1001 (CON); ACK it.
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON) p.send(encode({ type: ACK, code: 0, mid: m.mid }));
		};
		await w.net.runUntilIdle();
		assert.equal(peer.received.length, 3);
		const sep = decode(peer.received[2]!.bytes);
		assert.equal(sep.type, CON);
		assert.equal(text(sep), "done");
		// A duplicate after the separate response: still acknowledged, never processed again.
		peer.send(req);
		await w.net.runUntilIdle();
		assert.equal(toHex(peer.received[3]!.bytes), "60000909");
		assert.equal(calls, 1);
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("duplicates of error replies (4.02, 5.05) and of a Reset to a NON get the same answer", async () => {
		const w = new World();
		const { router, calls } = counterRouter();
		w.endpoint(SERVER, { router });
		const peer = w.peer();
		const bad = encode({ type: CON, code: 1, mid: 1, token: "01", options: [[11, "counter"], [2049, "x"]] });
		const proxy = encode({ type: CON, code: 1, mid: 2, token: "02", options: [[35, "coap://elsewhere/"]] });
		for (const m of [bad, bad, proxy, proxy]) peer.send(m);
		await w.net.runUntilIdle();
		const got = peer.received.map((r) => toHex(r.bytes));
		assert.equal(got.length, 4);
		assert.equal(got[1], got[0]);
		assert.equal(got[3], got[2]);
		assert.equal(decode(peer.received[0]!.bytes).code, c("4.02"));
		assert.equal(decode(peer.received[2]!.bytes).code, c("5.05"));
		assert.equal(calls(), 0);
		w.close();
	});

	it("20% loss, duplication and reordering (seeded): 50 sequential CON POSTs, each processed exactly once", async () => {
		const w = new World({ seed: 20240611, loss: 0.2, duplicate: 0.2, reorder: 0.2, delayMs: 5, jitterMs: 20, reorderDelayMs: 50 });
		const { router, calls } = counterRouter();
		const server = w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const values: number[] = [];
		for (let i = 0; i < 50; i++) {
			const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/counter" }));
			const done = await w.net.runUntil(() => t.settled, 200000);
			assert.ok(done, "request " + i + " settled");
			const r = valueOf(t);
			assert.equal(r.codeText, "2.04");
			values.push(Number(r.text()));
		}
		for (let i = 0; i < 50; i++) assert.equal(values[i], i + 1, "no double processing, no lost update");
		assert.equal(calls(), 50);
		await w.net.runUntilIdle();
		assert.equal(client.clientSlotsInUse, 0);
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(client.nextDeadline(), -1);
		assert.equal(server.nextDeadline(), -1);
		assert.ok(w.net.stats.droppedLoss > 10, "the network did lose datagrams: " + w.net.stats.droppedLoss);
		assert.ok(w.net.stats.duplicated > 10, "and duplicated some: " + w.net.stats.duplicated);
		assert.ok(w.net.stats.reordered > 10, "and reordered some: " + w.net.stats.reordered);
		assert.ok(client.stats.retransmitted > 0);
		assert.ok(server.stats.duplicates > 0, "the server saw duplicates and answered them from its cache");
		// GET sees the same count.
		const t = track(w.net, client.request({ address: SERVER, path: "/counter" }));
		await w.net.runUntil(() => t.settled, 200000);
		if (!t.rejected) assert.equal(valueOf(t).text(), "50");
		else assert.equal(errorCode(t), "COAP_TIMEOUT");
		w.close();
	});

	it("a slow async handler over the same lossy network: separate responses survive loss too", async () => {
		const w = new World({ seed: 77, loss: 0.2, duplicate: 0.2, reorder: 0.2, delayMs: 3, jitterMs: 10 });
		const router = new Router();
		let calls = 0;
		router.add("/slow", {
			async post(req, res) {
				calls++;
				const body = req.text();
				await sleep(w.net, 250);
				res.send(c("2.04"), body + "!");
			},
		});
		// Separate responses whose ACK was lost keep their server slot while retransmitted: room for 8.
		const server = w.endpoint(SERVER, { router, limits: { serverExchanges: 8 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		for (let i = 0; i < 20; i++) {
			const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/slow", payload: "n" + i }));
			await w.net.runUntil(() => t.settled, 200000);
			assert.equal(valueOf(t).text(), "n" + i + "!");
		}
		assert.equal(calls, 20, "each POST processed once");
		await w.net.runUntilIdle();
		assert.equal(client.clientSlotsInUse, 0);
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(server.nextDeadline(), -1);
		w.close();
	});

	it("a Reset from the client to a NON response is harmless", async () => {
		const w = new World();
		const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const peer = w.peer();
		peer.onReceive = (r, p) => p.send(encode({ type: RST, code: 0, mid: decode(r.bytes).mid }));
		peer.send(encode({ type: NON, code: 1, mid: 10, token: "aa", options: [[11, "hello"]] }));
		await w.net.runUntilIdle();
		assert.equal(peer.received.length, 1);
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});
});
