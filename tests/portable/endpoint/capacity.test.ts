// Endpoint tests, capacity: every table is sized by `limits` at construction, and a full
// table has a defined outcome (client: CoapError COAP_CAPACITY / COAP_OVERFLOW; server: 5.03
// with Max-Age, 5.00 "response too large"; dedup: the oldest entry or cached reply is
// forgotten). Also a long run that must leave every slot free and the counters consistent.
import * as assert from "../../support/assert.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { Router } from "../../../modules/coap/server/router.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, CON, NON, PEER, SERVER, SERVER2, World, c, decode, encode, errorCode, gate, microtasks, optUint, sleep, text, track, valueOf, type Gate } from "./harness.js";

const OPT_MAX_AGE = 14;

describe("endpoint: capacity limits", () => {
	it("more concurrent requests than clientExchanges: the extra rejects at once with COAP_CAPACITY, the others complete", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		w.endpoint(SERVER2, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0, limits: { clientExchanges: 2 } });
		const a = track(w.net, client.request({ address: SERVER, path: "/hello" }));
		const b = track(w.net, client.request({ address: SERVER2, path: "/counter", method: "POST" }));
		const x = track(w.net, client.request({ address: SERVER, path: "/time" }));
		await microtasks();
		assert.equal(errorCode(x), "COAP_CAPACITY");
		assert.equal(x.time, 0);
		assert.match((x.error as Error).message, /2 client exchange slots/);
		assert.equal(a.settled || b.settled, false);
		assert.equal(client.stats.capacityRejected, 1);
		assert.equal(client.clientSlotsInUse, 2);
		await w.net.runUntilIdle();
		assert.equal(valueOf(a).text(), "Hello, world!");
		assert.equal(valueOf(b).text(), "1");
		assert.equal(w.sent(CLIENT).length, 2, "the rejected request was never sent");
		// Slots are free again.
		const y = track(w.net, client.request({ address: SERVER, path: "/time" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(y).text(), "1970-01-01T00:00:00.000Z");
		w.close();
	});

	it("requests queued behind NSTART hold slots too; a queued one is sent once its slot's turn comes", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0, limits: { clientExchanges: 3 } });
		const ts = [1, 2, 3, 4].map(() => track(w.net, client.request({ address: SERVER, path: "/counter", method: "POST" })));
		await microtasks();
		assert.equal(errorCode(ts[3]!), "COAP_CAPACITY");
		await w.net.runUntilIdle();
		assert.deepEqual(ts.slice(0, 3).map((t) => valueOf(t).text()), ["1", "2", "3"]);
		assert.deepEqual(w.sent(CLIENT).map((e) => e.time), [0, 2, 4]);
		w.close();
	});

	it("an async handler while all serverExchanges slots are busy → 5.03 with Max-Age, at once", async () => {
		const w = new World();
		const router = new Router();
		let calls = 0;
		router.add("/slow", {
			async get(_q, res) {
				calls++;
				await sleep(w.net, 1000);
				res.send(c("2.05"), "slow done");
			},
		});
		router.add("/sync", { get: (_q, res) => res.send(c("2.05"), "sync") });
		const server = w.endpoint(SERVER, { router, limits: { serverExchanges: 1 } });
		const peer = w.peer();
		peer.send(encode({ type: CON, code: 1, mid: 1, token: "01", options: [[11, "slow"]] }));
		await w.net.runFor(10);
		assert.equal(server.serverSlotsInUse, 1);
		peer.send(encode({ type: CON, code: 1, mid: 2, token: "02", options: [[11, "slow"]] }));
		peer.send(encode({ type: NON, code: 1, mid: 3, token: "03", options: [[11, "slow"]] }));
		peer.send(encode({ type: CON, code: 1, mid: 4, token: "04", options: [[11, "sync"]] }));
		await w.net.runFor(10);
		const got = peer.messages();
		assert.equal(got.length, 3);
		const busy = got[0]!;
		assert.equal(busy.type, ACK);
		assert.equal(busy.mid, 2);
		assert.equal(busy.token, "02");
		assert.equal(busy.code, c("5.03"));
		assert.equal(optUint(busy, OPT_MAX_AGE), 1);
		assert.equal(text(busy), "server busy");
		assert.equal(got[1]!.type, NON);
		assert.equal(got[1]!.code, c("5.03"));
		assert.equal(got[1]!.token, "03");
		assert.equal(text(got[2]!), "sync", "sync handlers need no slot");
		assert.equal(server.stats.capacityRejected, 2);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON) p.send(encode({ type: ACK, code: 0, mid: m.mid }));
		};
		await w.net.runUntilIdle();
		// Only the first ever answers "slow done" (after its empty ACK); the others' outcomes are dropped.
		const done = peer.messages().filter((m) => text(m) === "slow done");
		assert.equal(done.length, 1);
		assert.equal(done[0]!.token, "01");
		assert.equal(done[0]!.type, CON);
		assert.equal(calls, 3, "the handler did run for the rejected requests (it had to, to learn it was async)");
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("a handler dropped for lack of a slot cannot write into a later request's response", async () => {
		const w = new World();
		const router = new Router();
		const gates = new Map<string, Gate>();
		router.add("/job", {
			async get(req, res) {
				const name = req.queryParam("n")!;
				const g = gate();
				gates.set(name, g);
				await g.promise;
				res.option(2048, name); // an elective option naming the job
				res.payload = (res.payload === null ? "" : res.payload + "+") + name;
			},
		});
		const server = w.endpoint(SERVER, { router, limits: { serverExchanges: 1 }, tuning: { emptyAckDelayMs: 100000 } });
		const peer = w.peer();
		const ask = (mid: number, n: string): void => peer.send(encode({ type: CON, code: 1, mid, token: n.charCodeAt(0).toString(16), options: [[11, "job"], [15, "n=" + n]] }));
		ask(1, "A"); // takes the only slot
		await w.net.runFor(5);
		ask(2, "B"); // no slot: 5.03 now, its handler keeps running
		await w.net.runFor(5);
		gates.get("A")!.open(); // A answered, the slot is free
		await w.net.runFor(5);
		ask(3, "C"); // takes the slot
		await w.net.runFor(5);
		gates.get("B")!.open(); // the dropped handler finishes now...
		await w.net.runFor(5);
		gates.get("C")!.open(); // ...before C's
		await w.net.runUntilIdle();
		const byToken = new Map(peer.messages().map((m) => [m.token, m]));
		assert.equal(byToken.get("42")!.code, c("5.03"));
		assert.equal(text(byToken.get("41")!), "A");
		const cAnswer = byToken.get("43")!;
		assert.equal(text(cAnswer), "C", "C's response holds only what C's handler wrote");
		assert.deepEqual(cAnswer.options.filter((o) => o.number === 2048).map((o) => text(o.value)), ["C"]);
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("a request body larger than one message goes block-wise; options that cannot fit reject with COAP_OVERFLOW and use no slot", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0, limits: { maxMessageSize: 64 } });
		const longPath = track(w.net, client.request({ address: SERVER, path: "/" + "p".repeat(70) }));
		await microtasks();
		assert.equal(errorCode(longPath), "COAP_OVERFLOW");
		assert.equal(client.clientSlotsInUse, 0);
		assert.equal(w.sent(CLIENT).length, 0);
		// 60 bytes do not fit a 64-byte message: RFC 7959 Block1 with 16-byte blocks (the
		// largest block that leaves 64 bytes... of headroom is the minimum, 16).
		const big = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789AB";
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/echo", payload: big }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), big);
		const sent = w.sent(CLIENT).map((e) => decode(e.bytes));
		assert.equal(sent.length, 4);
		assert.deepEqual(sent.map((m) => optUint(m, 27)), [0x08, 0x18, 0x28, 0x30], "Block1 NUM/M/SZX: 0/1/16, 1/1/16, 2/1/16, 3/0/16");
		assert.deepEqual(sent.map((m) => m.payload.length), [16, 16, 16, 12]);
		assert.equal(optUint(sent[0]!, 60), 60, "Size1 announces the body on the first block");
		for (const e of w.sent(CLIENT)) assert.ok(e.length <= 64, "every block fits the 64-byte message");
		assert.equal(client.transfersInUse, 0);
		w.close();
	});

	it("a response body larger than one message is sent block-wise (Block2) and reassembled, piggybacked, separate and NON", async () => {
		const w = new World();
		const router = new Router();
		const body = "z".repeat(100) + "y".repeat(100);
		router.add("/big", {
			async get(req, res) {
				if (req.queryParam("slow") !== undefined) await sleep(w.net, 500);
				res.send(c("2.05"), body, 0);
			},
		});
		router.add("/fat", { get: (_q, res) => { res.option(2048, "o".repeat(60)); res.send(c("2.05"), "x"); } });
		w.endpoint(SERVER, { router, limits: { maxMessageSize: 64 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		for (const o of [{}, { query: ["slow"] }, { confirmable: false }, { query: ["slow"], confirmable: false }]) {
			const t = track(w.net, client.request({ address: SERVER, path: "/big", ...o }));
			await w.net.runUntilIdle();
			const r = valueOf(t);
			assert.equal(r.codeText, "2.05", JSON.stringify(o));
			assert.equal(r.text(), body, JSON.stringify(o));
			assert.equal(r.contentFormat, 0);
			assert.equal(r.option(23), undefined, "the assembled response carries no Block2");
		}
		for (const e of w.sent(SERVER)) assert.ok(e.length <= 64, "every block fits the server's 64-byte messages");
		// Options alone too large for a message: 5.00 with a diagnostic.
		const f = track(w.net, client.request({ address: SERVER, path: "/fat" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(f).codeText, "5.00");
		assert.equal(valueOf(f).text(), "response too large");
		w.close();
	});

	it("a dedup ring of 2 entries with many interleaved requests: every answer is right", async () => {
		const w = new World();
		const router = new Router();
		let posts = 0;
		router.add("/c", {
			post(req, res) {
				posts++;
				res.send(c("2.04"), req.text());
			},
		});
		const server = w.endpoint(SERVER, { router, limits: { dedupEntries: 2 } });
		const peers = [w.peer(PEER), w.peer(PEER), w.peer("10.0.0.12")];
		let mid = 100;
		for (let round = 0; round < 20; round++) {
			for (let i = 0; i < peers.length; i++) {
				const body = "r" + round + "p" + i;
				const req = encode({ type: CON, code: 2, mid: mid++, token: (round * 3 + i + 16).toString(16), options: [[11, "c"]], payload: body });
				peers[i]!.send(req);
				peers[i]!.send(req); // an immediate duplicate: still within the 2 newest entries
			}
			await w.net.runUntilIdle();
		}
		assert.equal(posts, 60);
		for (let i = 0; i < peers.length; i++) {
			const got = peers[i]!.messages();
			assert.equal(got.length, 40);
			for (let round = 0; round < 20; round++) {
				assert.equal(text(got[2 * round]!), "r" + round + "p" + i);
				assert.deepEqual(peers[i]!.received[2 * round + 1]!.bytes, peers[i]!.received[2 * round]!.bytes);
			}
		}
		assert.equal(server.stats.duplicates, 60);
		w.close();
	});

	it("a dedup entry forgotten while its async handler works: the answer still goes to the right request", async () => {
		const w = new World();
		const router = new Router();
		router.add("/slow", {
			async get(req, res) {
				await sleep(w.net, Number(req.queryParam("ms")));
				res.send(c("2.05"), "slow");
			},
		});
		router.add("/fast", { get: (req, res) => res.send(c("2.05"), "fast " + req.queryParam("n")) });
		w.endpoint(SERVER, { router, limits: { dedupEntries: 2 } });
		const peer = w.peer();
		// Case 1: piggybacked (the handler settles in 50 ms, before the empty ACK would be due).
		// Case 2: separate (1000 ms: the empty ACK is sent at 100 ms).
		for (const ms of [50, 1000]) {
			peer.clear();
			const base = ms === 50 ? 0x10 : 0x20;
			peer.onReceive = (r, p) => {
				const m = decode(r.bytes);
				if (m.type === CON) p.send(encode({ type: ACK, code: 0, mid: m.mid }));
			};
			peer.send(encode({ type: CON, code: 1, mid: base, token: "aa", options: [[11, "slow"], [15, "ms=" + ms]] }));
			await w.net.runFor(10);
			// Two more requests take both dedup entries: the slow request's entry is reused.
			const f1 = encode({ type: CON, code: 1, mid: base + 1, token: "b1", options: [[11, "fast"], [15, "n=1"]] });
			const f2 = encode({ type: CON, code: 1, mid: base + 2, token: "b2", options: [[11, "fast"], [15, "n=2"]] });
			peer.send(f1);
			peer.send(f2);
			await w.net.runUntilIdle();
			const first = peer.messages();
			const slow = first.filter((m) => m.token === "aa" && m.code !== 0);
			assert.equal(slow.length, 1);
			assert.equal(text(slow[0]!), "slow");
			// Duplicates of the two fast requests get their own replies back, byte for byte.
			const replyOf = (token: string): Uint8Array => peer.received.find((r) => decode(r.bytes).token === token)!.bytes;
			const r1 = replyOf("b1");
			const r2 = replyOf("b2");
			peer.clear();
			peer.onReceive = undefined;
			peer.send(f1);
			peer.send(f2);
			await w.net.runUntilIdle();
			// The ring holds the 2 newest: f1 and f2 (f2 took the slow request's entry). Each
			// duplicate must get its own reply, with its own MID and token.
			assert.equal(peer.received.length, 2, "ms=" + ms);
			for (const r of peer.received) {
				const m = decode(r.bytes);
				assert.equal(m.type, ACK, "ms=" + ms);
				assert.ok(m.mid === base + 1 || m.mid === base + 2, "ms=" + ms + ": reply with MID " + m.mid);
				assert.equal(m.token, m.mid === base + 1 ? "b1" : "b2", "ms=" + ms);
				assert.equal(text(m), m.mid === base + 1 ? "fast 1" : "fast 2");
				assert.deepEqual(r.bytes, m.mid === base + 1 ? r1 : r2);
			}
			await w.net.runFor(1);
		}
		w.close();
	});

	it("a non-idempotent duplicate whose cached reply was evicted → 5.03 + Max-Age; an idempotent one is processed again", async () => {
		const w = new World();
		const router = new Router();
		let posts = 0;
		let gets = 0;
		router.add("/r", {
			post(_q, res) {
				posts++;
				res.send(c("2.04"), "p" + posts);
			},
			get(_q, res) {
				gets++;
				res.send(c("2.05"), "g" + gets);
			},
		});
		// Each reply is 4 + 1 (token) + 1 + 2 = 8 bytes, 12 with its record header: one fits in 20.
		const server = w.endpoint(SERVER, { router, limits: { dedupCacheBytes: 20 } });
		const peer = w.peer();
		const post = encode({ type: CON, code: 2, mid: 1, token: "01", options: [[11, "r"]] });
		const get = encode({ type: CON, code: 1, mid: 2, token: "02", options: [[11, "r"]] });
		const post2 = encode({ type: CON, code: 2, mid: 3, token: "03", options: [[11, "r"]] });
		peer.send(post);
		peer.send(post); // still cached: the same reply
		await w.net.runUntilIdle();
		assert.equal(posts, 1);
		assert.deepEqual(peer.received[1]!.bytes, peer.received[0]!.bytes);
		peer.send(get); // its reply evicts the POST's
		await w.net.runUntilIdle();
		peer.send(post); // evicted, not idempotent: not repeated
		await w.net.runUntilIdle();
		assert.equal(posts, 1);
		const m = decode(peer.received[3]!.bytes);
		assert.equal(m.code, c("5.03"));
		assert.equal(m.type, ACK);
		assert.equal(m.mid, 1);
		assert.equal(m.token, "01");
		assert.equal(optUint(m, OPT_MAX_AGE), 1);
		assert.equal(text(m), "reply no longer cached");
		peer.send(post2); // a new POST: evicts the GET's reply
		await w.net.runUntilIdle();
		assert.equal(posts, 2);
		peer.send(get); // evicted, idempotent: processed again
		await w.net.runUntilIdle();
		assert.equal(gets, 2);
		assert.equal(text(decode(peer.received[5]!.bytes)), "g2");
		assert.equal(decode(peer.received[5]!.bytes).mid, 2);
		assert.equal(server.stats.duplicates, 3);
		// With no reply cache at all, every CON duplicate of a POST gets 5.03.
		const w2 = new World();
		let n = 0;
		const r2 = new Router();
		r2.add("/r", { post: (_q, res) => res.send(c("2.04"), "n" + ++n) });
		w2.endpoint(SERVER, { router: r2, limits: { dedupCacheBytes: 0 } });
		const p2 = w2.peer();
		p2.send(post);
		p2.send(post);
		await w2.net.runUntilIdle();
		assert.equal(n, 1);
		assert.deepEqual(p2.messages().map((x) => x.code), [c("2.04"), c("5.03")]);
		w.close();
		w2.close();
	});

	it("1000 exchanges (CON and NON, two clients, four at a time): slots free, stats consistent", async () => {
		const w = new World({ seed: 5 });
		const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const clients: Endpoint[] = [w.endpoint(CLIENT, { port: 0 }), w.endpoint("10.0.0.5", { port: 0 })];
		let posted = 0;
		let done = 0;
		for (let batch = 0; batch < 250; batch++) {
			const ts = [];
			for (let k = 0; k < 4; k++) {
				const client = clients[k & 1]!;
				const i = batch * 4 + k;
				if (i % 3 === 0) {
					posted++;
					ts.push(track(w.net, client.request({ address: SERVER, method: "POST", path: "/counter", confirmable: i % 2 === 0 })));
				} else ts.push(track(w.net, client.request({ address: SERVER, method: "PUT", path: "/echo", payload: "#" + i, confirmable: i % 5 !== 0 })));
			}
			await w.net.runUntilIdle();
			for (const t of ts) {
				const r = valueOf(t);
				assert.ok(r.ok, r.codeText);
				done++;
			}
		}
		assert.equal(done, 1000);
		const last = track(w.net, clients[0]!.request({ address: SERVER, path: "/counter" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(last).text(), String(posted));
		const sent = clients[0]!.stats.sent + clients[1]!.stats.sent;
		const received = clients[0]!.stats.received + clients[1]!.stats.received;
		assert.equal(server.stats.received, sent);
		assert.equal(server.stats.sent, received);
		assert.equal(sent, 1001, "no retransmission, no ACK: every response was piggybacked or NON");
		assert.equal(received, 1001);
		assert.equal(w.net.stats.sent, 2002);
		assert.equal(w.net.stats.delivered, 2002);
		for (const ep of [server, ...clients]) {
			assert.equal(ep.clientSlotsInUse, 0);
			assert.equal(ep.serverSlotsInUse, 0);
			assert.equal(ep.nextDeadline(), -1);
			assert.equal(ep.stats.retransmitted + ep.stats.duplicates + ep.stats.malformed + ep.stats.resets + ep.stats.capacityRejected, 0);
		}
		assert.ok(w.net.idle);
		w.close();
	});
});

describe("endpoint: oversize datagrams", () => {
	it("a request datagram larger than maxMessageSize → 4.13 with Size1, and the handler does not run", async () => {
		const w = new World();
		let calls = 0;
		const router = new Router();
		router.add("/sink", { post: (_q, res) => { calls++; res.code = c("2.04"); } });
		w.endpoint(SERVER, { router, limits: { maxMessageSize: 128 } });
		const peer = w.peer(PEER);
		peer.send(encode({ type: CON, code: c("0.02"), mid: 0x1234, token: "0a0b", options: [[11, "sink"]], payload: "p".repeat(200) }));
		await w.net.runUntilIdle();
		const [m] = peer.messages();
		assert.equal(m!.type, ACK);
		assert.equal(m!.code, c("4.13"));
		assert.equal(m!.mid, 0x1234);
		assert.equal(m!.token, "0a0b");
		assert.equal(optUint(m!, 60), 128, "Size1 names the limit");
		assert.equal(calls, 0);
		// A request that fits is served.
		peer.send(encode({ type: CON, code: c("0.02"), mid: 0x1235, token: "0a0c", options: [[11, "sink"]], payload: "p".repeat(20) }));
		await w.net.runUntilIdle();
		assert.equal(peer.messages()[1]!.code, c("2.04"));
		assert.equal(calls, 1);
		w.close();
	});

	it("a response with more options than the client's maxOptions rejects with COAP_BAD_RESPONSE (piggybacked and CON)", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0, limits: { maxOptions: 4 } });
		const peer = w.peer(SERVER, 5683);
		let type = ACK;
		peer.onReceive = (r, p) => {
			const q = decode(r.bytes);
			if (q.code === 0) return; // the client's ACK or Reset
			const options: [number, number][] = [];
			for (let i = 0; i < 6; i++) options.push([2048 + 2 * i, i]);
			if (type === CON) p.send(encode({ type: ACK, code: 0, mid: q.mid }), r.address, r.port);
			p.send(encode({ type, code: c("2.05"), mid: type === ACK ? q.mid : 0x7777, token: q.token, options }), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_BAD_RESPONSE");
		type = CON;
		const t2 = track(w.net, client.request({ address: SERVER, path: "/y" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t2), "COAP_BAD_RESPONSE");
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});
});
