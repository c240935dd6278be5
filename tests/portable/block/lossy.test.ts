// Block-wise transfers over a bad network (deterministic: fixed seeds): 20% loss, 10%
// duplication and 10% reordering on every link. A 64 KiB Block2 download and a 16 KiB Block1
// upload (echoed back through Block2) arrive byte-exact; afterwards the network runs until
// idle and nothing is left in use (client/server slots, transfer slots, armed timers).
import * as assert from "../../support/assert.js";
import { Router } from "../../../modules/coap/server/router.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { CLIENT, SERVER, World, c, decode, track, valueOf } from "../endpoint/harness.js";
import { assertQuiet, block1Of, block2Of, firstDifference, pattern } from "./helpers.js";

const BAD = { loss: 0.2, duplicate: 0.1, reorder: 0.1, reorderDelayMs: 30, jitterMs: 5 };

describe("block: transfers under 20% loss, duplication and reordering (fixed seeds)", () => {
	for (const seed of Array.from({ length: 30 }, (_, i) => i + 1)) {
		it(`seed ${seed}: a 64 KiB Block2 GET arrives byte-exact; afterwards the network goes idle with nothing in use`, async () => {
			const w = new World({ seed, ...BAD });
			const big = pattern(65536, 64);
			const router = new Router();
			let gets = 0;
			router.add("/big", {
				get(_req, res) {
					gets++;
					res.send(c("2.05"), big);
				},
			});
			const server = w.endpoint(SERVER, { router });
			const client = w.endpoint(CLIENT, { port: 0, limits: { maxBodySize: 65536 } });
			const t = track(w.net, client.request({ address: SERVER, path: "/big" }));
			await w.net.runUntilIdle();
			const r = valueOf(t);
			assert.equal(r.payload.length, 65536);
			assert.equal(firstDifference(r.payload, big), -1, "byte-exact");
			const stats = w.net.stats;
			assert.ok(stats.droppedLoss > 10, "the network did lose datagrams: " + stats.droppedLoss);
			assert.ok(stats.duplicated > 5 && stats.reordered > 5, "and duplicated and reordered some");
			assert.ok(client.stats.retransmitted > 0);
			assert.ok(gets >= 64, "one handler run per block at least: " + gets);
			const asked = w.sent(CLIENT).map((e) => block2Of(decode(e.bytes))?.num ?? 0);
			for (let i = 1; i < asked.length; i++) assert.ok(asked[i]! >= asked[i - 1]!, "blocks asked in order (retransmissions repeat)");
			assertQuiet([client, server], assert.ok);
			w.close();
		});

		it(`seed ${seed}: a 16 KiB Block1 POST to /echo arrives byte-exact and comes back whole; nothing left in use`, async () => {
			const w = new World({ seed, ...BAD });
			const router = demoRouter({ now: () => 0 });
			let got: Uint8Array | null = null;
			let posts = 0;
			router.add("/sink", {
				post(req, res) {
					posts++;
					got = req.payload.slice();
					res.send(c("2.04"), req.payload);
				},
			});
			const server = w.endpoint(SERVER, { router, limits: { maxBodySize: 16384, dedupCacheBytes: 8192 } });
			const client = w.endpoint(CLIENT, { port: 0, limits: { maxBodySize: 16384 } });
			const body = pattern(16384, 16);
			const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/sink", payload: body }));
			await w.net.runUntilIdle();
			const r = valueOf(t);
			assert.equal(r.codeText, "2.04");
			assert.equal(posts, 1, "the handler ran once, whatever was retransmitted or duplicated");
			assert.equal(firstDifference(got!, body), -1, "the server got the body byte-exact");
			assert.equal(firstDifference(r.payload, body), -1, "the echo came back byte-exact");
			assert.ok(w.net.stats.droppedLoss > 5);
			const up = w.sent(CLIENT).map((e) => block1Of(decode(e.bytes))).filter((b) => b !== undefined);
			assert.ok(up.length >= 16);
			assertQuiet([client, server], assert.ok);
			w.close();
		});
	}

	/**
	 * Drops exactly one datagram the server sends: its reply to the first client request for
	 * which `pick(request)` is true. (A send event comes after the link conditions for that
	 * datagram were read, so the override is set when the request goes out and lifted when the
	 * reply is sent.)
	 */
	function dropReplyTo(w: World, pick: (q: ReturnType<typeof decode>) => boolean): void {
		let armed = false;
		let done = false;
		w.net.onDatagram = (e) => {
			w.trace.push(e);
			if (done || e.kind !== "send") return;
			if (e.fromAddress === CLIENT && !armed && pick(decode(e.bytes))) {
				armed = true;
				w.net.setLink(SERVER, CLIENT, { loss: 1 });
			} else if (e.fromAddress === SERVER && armed) {
				done = true;
				w.net.setLink(SERVER, CLIENT, null);
			}
		};
	}

	function sinkRouter(): { router: Router; posts(): number } {
		const router = new Router();
		let posts = 0;
		router.add("/sink", {
			post(req, res) {
				posts++;
				res.send(c("2.04"), req.payload);
			},
		});
		return { router, posts: () => posts };
	}

	it("one lost reply to a POST's Block2 follow-up: the retransmission is answered from the dedup cache (dedupCacheBytes 8192)", async () => {
		const w = new World();
		const sink = sinkRouter();
		const server = w.endpoint(SERVER, { router: sink.router, limits: { maxBodySize: 4096, dedupCacheBytes: 8192 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		dropReplyTo(w, (q) => (block2Of(q)?.num ?? 0) === 1);
		const body = pattern(3000, 77);
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/sink", payload: body }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, body), -1);
		assert.equal(sink.posts(), 1);
		assert.equal(client.stats.retransmitted, 1);
		assert.equal(server.stats.duplicates, 1);
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	// With the default limits (the ESP32 profile: dedupCacheBytes 768) a 1 KiB block reply
	// never fits the dedup cache, so a retransmitted CON of a POST's Block2 follow-up (same MID)
	// finds its entry DUP_LOST. Serving a block of a kept body is idempotent (RFC 7959 §2.6: the
	// kept body is there for exactly these requests), so it is served again rather than answered
	// 5.03 "reply no longer cached"; likewise a repeat of the final Block1 block.
	it("default limits: one lost reply to a POST's Block2 follow-up → the retransmission still gets the block", async () => {
		const w = new World();
		const sink = sinkRouter();
		const server = w.endpoint(SERVER, { router: sink.router, limits: { maxBodySize: 4096 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		dropReplyTo(w, (q) => (block2Of(q)?.num ?? 0) === 1);
		const body = pattern(3000, 77);
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/sink", payload: body }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, body), -1);
		assert.equal(sink.posts(), 1);
		assertQuiet([client, server], assert.ok);
		w.close();
	});

	it("default limits: one lost reply to the final Block1 block (2.04 + Block2 0) → the retransmission still gets it", async () => {
		const w = new World();
		const sink = sinkRouter();
		const server = w.endpoint(SERVER, { router: sink.router, limits: { maxBodySize: 4096 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		dropReplyTo(w, (q) => block1Of(q)?.more === false);
		const body = pattern(3000, 78);
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/sink", payload: body }));
		await w.net.runUntilIdle();
		assert.equal(firstDifference(valueOf(t).payload, body), -1);
		assert.equal(sink.posts(), 1);
		assertQuiet([client, server], assert.ok);
		w.close();
	});
});
