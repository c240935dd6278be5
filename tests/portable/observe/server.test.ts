// Observe, server side (RFC 7641 §4): a server Endpoint with observable resources, observed by
// hand-written clients (Watcher) and by client Endpoints. Checked on the wire: Observe numbers,
// NON/CON types, retransmission times of CON notifications, Reset and deregistration, limits.
import * as assert from "../../support/assert.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { CoapError } from "../../../modules/coap/errors.js";
import { Router, type Resource } from "../../../modules/coap/server/router.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, CON, NON, PEER, PEER2, RST, SERVER, World, c, decode, encode, opt, optUint, text, track, valueOf } from "../endpoint/harness.js";
import { OPT_OBSERVE, OPT_URI_QUERY, assertQuiet, block2Of, firstDifference, pattern } from "../block/helpers.js";
import { Watcher } from "./watch.js";

/** A router with an observable /obs ("v<n>") whose state the test changes, and a plain /plain. */
function source(): { router: Router; res: Resource; value(): number; change(viaPath?: boolean): void; fail(code: number): void } {
	const router = new Router();
	let value = 0;
	let failCode = 0;
	const res = router.add("/obs", {
		obs: true,
		ct: 0,
		get(_req, r) {
			if (failCode !== 0) {
				r.code = failCode;
				r.payload = "gone";
				return;
			}
			r.send(c("2.05"), "v" + value, 0);
		},
	});
	router.add("/plain", { get: (_q, r) => r.send(c("2.05"), "plain") });
	return {
		router,
		res,
		value: () => value,
		change(viaPath = false) {
			value++;
			if (viaPath) router.changed("/obs");
			else res.changed();
		},
		fail(code: number) {
			failCode = code;
			res.changed();
		},
	};
}

function setup(tuning = {}, limits = {}): { w: World; server: Endpoint; src: ReturnType<typeof source>; watch: Watcher } {
	const w = new World();
	const src = source();
	const server = w.endpoint(SERVER, { router: src.router, tuning, limits });
	const watch = new Watcher(w, w.peer(PEER), "0b5e0001");
	return { w, server, src, watch };
}

/** Changes the resource `n` times, `gapMs` apart, running the network meanwhile. */
async function changes(w: World, src: ReturnType<typeof source>, n: number, gapMs = 1000, viaPath = false): Promise<void> {
	for (let i = 0; i < n; i++) {
		src.change(viaPath);
		await w.net.runFor(gapMs);
	}
}

describe("observe: server registrations and notifications (RFC 7641 §4)", () => {
	it("registration: the 2.05 carries Observe; /.well-known/core lists the resource with obs (§6)", async () => {
		const { w, server, watch } = setup();
		const wk = await watch.get("/.well-known/core", -1);
		assert.ok(text(wk).includes("</obs>;ct=0;obs") || /<\/obs>[^,]*;obs/.test(text(wk)), text(wk));
		assert.ok(!/<\/plain>[^,]*;obs/.test(text(wk)), "a plain resource has no obs");
		const a = await watch.get("/obs", 0);
		assert.equal(a.code, c("2.05"));
		assert.equal(text(a), "v0");
		const seq = optUint(a, OPT_OBSERVE);
		assert.ok(seq >= 0 && seq < 1 << 24, "Observe value in the response: " + seq);
		assert.equal(server.observersInUse, 1);
		w.close();
	});

	it("no Observe in the answer (and no registration): a GET without Observe, Observe on a non-observable resource", async () => {
		const { w, server, watch } = setup();
		let a = await watch.get("/obs", -1);
		assert.equal(opt(a, OPT_OBSERVE), undefined);
		a = await watch.get("/plain", 0);
		assert.equal(a.code, c("2.05"));
		assert.equal(opt(a, OPT_OBSERVE), undefined);
		assert.equal(server.observersInUse, 0);
		w.close();
	});

	for (const viaPath of [false, true]) {
		it(`notifications on ${viaPath ? 'router.changed("/obs")' : "resource.changed()"}: in order, increasing Observe, NON, the token of the registration`, async () => {
			const { w, src, watch } = setup();
			const first = optUint(await watch.get("/obs", 0), OPT_OBSERVE);
			const t0 = w.net.clock.now();
			await changes(w, src, 5, 1000, viaPath);
			assert.deepEqual(watch.texts(), ["v1", "v2", "v3", "v4", "v5"]);
			assert.equal(watch.types(), "NNNNN", "NON by default (§4.5)");
			const seqs = watch.seqs();
			let last = first;
			for (const s of seqs) {
				assert.ok(s > last && s - last < 1 << 23, "fresher: " + last + " → " + s);
				last = s;
			}
			for (const [i, n] of watch.notes.entries()) {
				assert.equal(n.msg.token, "0b5e0001");
				assert.equal(n.msg.code, c("2.05"));
				assert.equal(optUint(n.msg, 12), 0, "Content-Format as in the response");
				assert.equal(n.time, t0 + i * 1000 + 1, "sent at the change (1 ms link delay)");
			}
			const mids = watch.notes.map((n) => n.msg.mid);
			assert.equal(new Set(mids).size, mids.length, "each notification has its own Message ID");
			w.close();
		});
	}

	it("observeConEvery 3: every third notification is CON, the others NON (§4.5)", async () => {
		const { w, server, src, watch } = setup({ observeConEvery: 3 });
		await watch.get("/obs", 0);
		await changes(w, src, 7);
		assert.equal(watch.types(), "NNCNNCN");
		assert.deepEqual(watch.texts(), ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]);
		assert.equal(server.serverSlotsInUse, 0, "the CONs were acknowledged: slots free");
		assert.equal(server.observersInUse, 1);
		w.close();
	});

	it("a CON at least once every 24 hours, even with observeConEvery large", async () => {
		const { w, src, watch } = setup({ observeConEvery: 1000 });
		await watch.get("/obs", 0);
		await changes(w, src, 2, 3600000); // t = 0 h, 1 h
		await w.net.runFor(22 * 3600000 + 1);
		await changes(w, src, 2, 1000); // t ≈ 24 h: CON, then NON again
		assert.equal(watch.types(), "NNCN");
		w.close();
	});

	it("an unacknowledged CON notification is replaced by a newer one, keeping its retransmission schedule (§4.5.2)", async () => {
		const { w, server, src, watch } = setup({ observeConEvery: 1 });
		watch.ackCon = false;
		await watch.get("/obs", 0);
		const t0 = w.net.clock.now();
		src.change(); // v1 at t0
		await w.net.runUntil(() => watch.notes.length === 2, 10000); // v1 and its first retransmission
		const T0 = watch.notes[1]!.time - watch.notes[0]!.time;
		assert.ok(T0 >= 2000 && T0 <= 3000, "ACK_TIMEOUT with random factor: " + T0);
		await w.net.runFor(100);
		src.change(); // v2 replaces v1, sent at once
		await w.net.runUntilIdle();
		const sends = watch.notes.map((n) => ({ t: n.time - t0 - 1, text: text(n.msg), mid: n.msg.mid, seq: optUint(n.msg, OPT_OBSERVE), type: n.msg.type }));
		assert.deepEqual(sends.map((s) => s.text), ["v1", "v1", "v2", "v2", "v2", "v2"], "v1 twice, then v2 in its place");
		for (const s of sends) assert.equal(s.type, CON);
		assert.equal(sends[1]!.mid, sends[0]!.mid, "a retransmission keeps its MID");
		assert.notEqual(sends[2]!.mid, sends[1]!.mid, "the newer notification has a new MID");
		assert.ok(sends[2]!.seq > sends[0]!.seq);
		assert.equal(sends[3]!.mid, sends[2]!.mid);
		// The schedule goes on from v1's: 3·T0, 7·T0, 15·T0, give up at 31·T0.
		const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
		assert.ok(near(sends[2]!.t, T0 + 101), "v2 at once (the change came 100 ms after the retransmission arrived)");
		assert.ok(near(sends[3]!.t, 3 * T0) && near(sends[4]!.t, 7 * T0) && near(sends[5]!.t, 15 * T0), JSON.stringify(sends.map((s) => s.t / T0)));
		assert.equal(server.observersInUse, 0, "given up after MAX_RETRANSMIT: the observer is removed (§4.5)");
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("a CON notification never acknowledged: 1 + MAX_RETRANSMIT transmissions, then the observer is removed", async () => {
		const { w, server, src, watch } = setup({ observeConEvery: 1 });
		watch.ackCon = false;
		await watch.get("/obs", 0);
		const t0 = w.net.clock.now();
		src.change();
		await w.net.runUntilIdle();
		assert.equal(watch.notes.length, 5);
		const T0 = watch.notes[1]!.time - watch.notes[0]!.time;
		const want = [0, 1, 3, 7, 15];
		for (let i = 0; i < 5; i++) assert.ok(Math.abs(watch.notes[i]!.time - t0 - 1 - want[i]! * T0) < 1e-6, "send " + i);
		assert.equal(server.observersInUse, 0);
		assert.ok(Math.abs(w.net.clock.now() - t0 - 31 * T0) < 1e-6, "removed at 31·T0");
		src.change();
		await w.net.runUntilIdle();
		assert.equal(watch.notes.length, 5, "no more notifications");
		assertQuiet([server], assert.ok);
		w.close();
	});

	it("Reset to a NON notification removes the observer (§3.6, §4.5)", async () => {
		const { w, server, src, watch } = setup();
		await watch.get("/obs", 0);
		await changes(w, src, 1);
		assert.equal(watch.types(), "N");
		watch.peer.send(encode({ type: RST, code: 0, mid: watch.notes[0]!.msg.mid }));
		await w.net.runFor(10);
		assert.equal(server.observersInUse, 0);
		await changes(w, src, 2);
		assert.equal(watch.notes.length, 1, "nothing after the Reset");
		w.close();
	});

	it("Reset to a CON notification removes the observer and frees its retransmission slot", async () => {
		const { w, server, src, watch } = setup({ observeConEvery: 1 });
		watch.resetAll = true;
		await watch.get("/obs", 0);
		await changes(w, src, 1);
		assert.equal(watch.types(), "C");
		assert.equal(server.observersInUse, 0);
		assert.equal(server.serverSlotsInUse, 0);
		await changes(w, src, 2);
		assert.equal(watch.notes.length, 1);
		assertQuiet([server], assert.ok);
		w.close();
	});

	it("Reset to an older NON notification than the latest is not matched (only the latest MID is kept); the next Reset ends it", async () => {
		// RFC 7641 §3.6 lets a client reject any notification with Reset. The server keeps one
		// Message ID per observer (the latest notification's), so a Reset crossing a newer
		// notification on the wire is not recognised; the client resets that newer one too.
		const { w, server, src, watch } = setup();
		await watch.get("/obs", 0);
		await changes(w, src, 3);
		watch.peer.send(encode({ type: RST, code: 0, mid: watch.notes[0]!.msg.mid }));
		await w.net.runFor(10);
		assert.equal(server.observersInUse, 1, "not matched");
		watch.resetAll = true;
		await changes(w, src, 2);
		assert.equal(watch.notes.length, 4, "the next notification was reset; none after it");
		assert.equal(server.observersInUse, 0);
		w.close();
	});

	it("a large observed representation: each notification is Block2 block 0 with Observe; later blocks without Observe, served by the handler", async () => {
		const router = new Router();
		let value = 0;
		const res = router.add("/big", { obs: true, get: (_q, r) => r.send(c("2.05"), pattern(2500, 50 + value)) });
		const w = new World();
		const server = w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const got: Uint8Array[] = [];
		const obs = client.observe({ address: SERVER, path: "/big" }, (r) => got.push(r.payload));
		await w.net.runFor(100);
		value = 1;
		res.changed();
		await w.net.runFor(100);
		assert.equal(got.length, 2);
		assert.equal(firstDifference(got[0]!, pattern(2500, 50)), -1);
		assert.equal(firstDifference(got[1]!, pattern(2500, 51)), -1);
		const out = w.sent(SERVER).map((e) => decode(e.bytes));
		const notes = out.filter((m) => m.type === NON);
		assert.equal(notes.length, 1);
		assert.deepEqual(block2Of(notes[0]!), { num: 0, more: true, szx: 6 });
		assert.ok(opt(notes[0]!, OPT_OBSERVE) !== undefined);
		const followUps = w.sent(CLIENT).map((e) => decode(e.bytes)).filter((m) => (block2Of(m)?.num ?? 0) > 0);
		assert.equal(followUps.length, 4, "blocks 1 and 2, twice");
		for (const q of followUps) assert.equal(opt(q, OPT_OBSERVE), undefined);
		const done = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(done.settled);
		assertQuiet([server, client], assert.ok);
		w.close();
	});

	it("deregistration: GET with Observe=1 and the same token → a plain 2.05, the observer is removed (§3.6)", async () => {
		const { w, server, src, watch } = setup();
		await watch.get("/obs", 0);
		await changes(w, src, 1);
		const a = await watch.get("/obs", 1);
		assert.equal(a.code, c("2.05"));
		assert.equal(text(a), "v1");
		assert.equal(opt(a, OPT_OBSERVE), undefined);
		assert.equal(server.observersInUse, 0);
		await changes(w, src, 2);
		assert.equal(watch.notes.length, 1);
		w.close();
	});

	it("Observe=1 with another token does not remove the observer", async () => {
		const { w, server, watch } = setup();
		await watch.get("/obs", 0);
		const other = new Watcher(w, w.peer(PEER, 40000), "0b5e0002");
		await other.get("/obs", 1);
		assert.equal(server.observersInUse, 1);
		w.close();
	});

	it("re-registering with the same token updates the entry; another token from the same peer is another observer (§4.1)", async () => {
		const { w, server, src, watch } = setup();
		await watch.get("/obs", 0);
		await watch.get("/obs", 0);
		assert.equal(server.observersInUse, 1);
		await changes(w, src, 1);
		assert.equal(watch.notes.length, 1, "one notification, not two");
		w.close();
	});

	it("a non-2.xx notification (the resource fails) is sent CON without Observe and ends the observation (§4.2)", async () => {
		const { w, server, src, watch } = setup();
		await watch.get("/obs", 0);
		await changes(w, src, 1);
		src.fail(c("4.04"));
		await w.net.runFor(1000);
		assert.equal(watch.notes.length, 2);
		const last = watch.notes[1]!.msg;
		assert.equal(last.code, c("4.04"));
		assert.equal(last.type, CON, "an error notification is confirmable");
		assert.equal(opt(last, OPT_OBSERVE), undefined);
		assert.equal(server.observersInUse, 0);
		assertQuiet([server], assert.ok);
		w.close();
	});

	it("a non-2.xx notification seen by a client Endpoint: delivered as the last one, onEnd(null)", async () => {
		const { w, server, src } = setup();
		const client = w.endpoint(CLIENT, { port: 0 });
		const got: string[] = [];
		let ended: CoapError | null | undefined;
		const obs = client.observe({ address: SERVER, path: "/obs" }, (r) => got.push(r.codeText + " " + r.text()), (e) => (ended = e));
		await w.net.runFor(100);
		await changes(w, src, 1);
		src.fail(c("4.04"));
		await w.net.runFor(1000);
		assert.deepEqual(got, ["2.05 v0", "2.05 v1", "4.04 gone"]);
		assert.equal(ended, null);
		assert.equal(obs.active, false);
		await w.net.runUntilIdle();
		assertQuiet([server, client], assert.ok);
		w.close();
	});

	it("more observers than limits.observers: the extra one is served without Observe; its client's observation ends after the first response", async () => {
		const { w, server } = setup({}, { observers: 2 });
		const clients = [w.endpoint(CLIENT, { port: 0 }), w.endpoint(PEER2, { port: 0 }), w.endpoint("10.0.0.11", { port: 0 })];
		const got: string[][] = [[], [], []];
		const ends: (CoapError | null | undefined)[] = [undefined, undefined, undefined];
		const observations = clients.map((cl, i) => cl.observe({ address: SERVER, path: "/obs" }, (r: ClientResponse) => got[i]!.push(r.text()), (e) => (ends[i] = e)));
		await w.net.runFor(1000);
		assert.equal(server.observersInUse, 2);
		const firsts = await Promise.all(observations.map((o) => o.first));
		assert.equal(firsts.filter((r) => r.option(OPT_OBSERVE) === undefined).length, 1, "one first response without Observe");
		const extra = firsts.findIndex((r) => r.option(OPT_OBSERVE) === undefined);
		assert.equal(observations[extra]!.active, false);
		assert.equal(ends[extra], null);
		assert.deepEqual(got[extra], ["v0"]);
		const cancelled = track(w.net, Promise.all(observations.map((o) => o.cancel())));
		await w.net.runUntilIdle();
		assert.ok(cancelled.settled && !cancelled.rejected);
		assert.equal(server.observersInUse, 0);
		assertQuiet([server, ...clients], assert.ok);
		w.close();
	});

	it("a registering request larger than observerRequestSize is served without Observe; a smaller one registers", async () => {
		const { w, server, watch } = setup({}, { observerRequestSize: 64 });
		let a = await watch.get("/obs", 0, [[OPT_URI_QUERY, "x".repeat(60)]]);
		assert.equal(a.code, c("2.05"));
		assert.equal(opt(a, OPT_OBSERVE), undefined);
		assert.equal(server.observersInUse, 0);
		a = await watch.get("/obs", 0, [[OPT_URI_QUERY, "x".repeat(10)]]);
		assert.ok(opt(a, OPT_OBSERVE) !== undefined);
		assert.equal(server.observersInUse, 1);
		w.close();
	});

	it("an async GET handler: the registration and each notification wait for it", async () => {
		const router = new Router();
		let value = 0;
		const res = router.add("/slow", {
			obs: true,
			async get(_req, r) {
				const v = value;
				await Promise.resolve();
				r.send(c("2.05"), "s" + v);
			},
		});
		const w = new World();
		w.endpoint(SERVER, { router });
		const watch = new Watcher(w, w.peer(PEER), "51");
		const a = await watch.get("/slow", 0);
		assert.equal(text(a), "s0");
		assert.ok(opt(a, OPT_OBSERVE) !== undefined);
		value = 1;
		res.changed();
		await w.net.runFor(100);
		assert.deepEqual(watch.texts(), ["s1"]);
		w.close();
	});

	it("a POST handler that changes the resource: its 2.04 goes out first, then the notification", async () => {
		const w = new World();
		const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const watch = new Watcher(w, w.peer(PEER), "c0c0");
		await watch.get("/counter", 0);
		const poster = w.endpoint(CLIENT, { port: 0 });
		const t = track(w.net, poster.request({ address: SERVER, method: "POST", path: "/counter" }));
		await w.net.runFor(100);
		assert.equal(valueOf(t).text(), "1");
		assert.deepEqual(watch.texts(), ["1"]);
		const out = w.sent(SERVER).map((e) => ({ to: e.toAddress, code: decode(e.bytes).code }));
		assert.deepEqual(out.slice(-2), [{ to: CLIENT, code: c("2.04") }, { to: PEER, code: c("2.05") }]);
		assert.equal(server.observersInUse, 1);
		w.close();
	});

	// When completing a Block2 notification fails (here the body is larger than the client's
	// maxBodySize: COAP_OVERFLOW; likewise COAP_CAPACITY or a timeout), the local outcome is
	// reported: the observation ends with the CoapError, as a failed request() rejects, instead
	// of the notification being lost silently and `first` never settling.
	it("a Block2 notification the client cannot complete (COAP_OVERFLOW) is reported, not silently dropped", async () => {
		const router = new Router();
		router.add("/big", { obs: true, get: (_q, r) => r.send(c("2.05"), pattern(2500, 60)) });
		const w = new World();
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0, limits: { maxBodySize: 1024 } });
		let ended: CoapError | null | undefined;
		const obs = client.observe({ address: SERVER, path: "/big" }, () => {}, (e) => (ended = e));
		const first = track(w.net, obs.first);
		await w.net.runFor(5000);
		assert.ok(first.settled, "`first` settles");
		assert.ok(ended !== undefined && ended !== null && ended.code === "COAP_OVERFLOW", "onEnd(COAP_OVERFLOW): " + String(ended));
		w.close();
	});

	it("close() forgets every observer", async () => {
		const { w, server, watch } = setup();
		await watch.get("/obs", 0);
		server.close();
		assert.equal(server.observersInUse, 0);
		w.close();
	});

	it("a client Endpoint observing a server Endpoint: NON notifications, a CON every observeConEvery, delivered in order", async () => {
		const w = new World();
		const src = source();
		const server = w.endpoint(SERVER, { router: src.router, tuning: { observeConEvery: 4 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		const got: string[] = [];
		const obs = client.observe({ address: SERVER, path: "/obs" }, (r) => got.push(r.text()));
		await w.net.runFor(100);
		await changes(w, src, 9);
		assert.deepEqual(got, ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"]);
		const types = w.sent(SERVER).map((e) => decode(e.bytes).type);
		assert.deepEqual(types, [ACK, NON, NON, NON, CON, NON, NON, NON, CON, NON]);
		const acks = w.sent(CLIENT).map((e) => decode(e.bytes)).filter((m) => m.type === ACK && m.code === 0);
		assert.equal(acks.length, 2, "the client acknowledged both CONs");
		const cancelled = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(cancelled.settled);
		assert.equal(obs.active, false);
		assertQuiet([server, client], assert.ok);
		w.close();
	});
});
