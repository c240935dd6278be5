// Observe registrations on the server (issue 8, defects 3, 4 and 7): nothing done to an old
// registration (a stale Reset, a give-up) touches the registration that reuses its entry; an
// observer is registered only when the response that actually goes out is a 2.xx with the
// first block (RFC 7641 §4.1, RFC 7959 §2.6, RFC 9175 §2.4); a notification handler that
// never settles is given up on like a request's handler. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { Router, type Resource } from "../../../modules/coap/server/router.js";
import { CLIENT, CON, NON, PEER, PEER2, SERVER, World, c, decode, encode, opt, optUint, text, type Msg } from "../endpoint/harness.js";
import { OPT_BLOCK2, OPT_OBSERVE, block, block2Of } from "../block/helpers.js";
import { Watcher } from "./watch.js";

const BIG = "B".repeat(300);

interface Source {
	router: Router;
	obs: Resource;
	big: Resource;
	change(): void;
	value(): number;
}

function source(): Source {
	const router = new Router();
	let value = 0;
	const obs = router.add("/obs", { obs: true, get: (_q, r) => r.send(c("2.05"), "v" + value) });
	const big = router.add("/big", { obs: true, get: (_q, r) => r.send(c("2.05"), value + ":" + BIG) });
	return {
		router,
		obs,
		big,
		value: () => value,
		change() {
			value++;
			obs.changed();
			big.changed();
		},
	};
}

/** An observable /obs whose handler never settles while `state.hang` is set. */
function hanging(): { router: Router; res: Resource; state: { hang: boolean; value: number } } {
	const router = new Router();
	const state = { hang: false, value: 0 };
	const res = router.add("/obs", {
		obs: true,
		get(_q, r) {
			if (state.hang) return new Promise<void>(() => {}); // never settles
			r.send(c("2.05"), "v" + state.value);
			return undefined;
		},
	});
	return { router, res, state };
}

function server(w: World, src: Source, tuning = {}, limits = {}, extra = {}): Endpoint {
	return w.endpoint(SERVER, { router: src.router, tuning, limits, ...extra });
}

describe("observe: registrations are exact (issue 8, defects 3, 4, 7)", () => {
	it("a stale Reset from an old registration does not end the registration that reused its entry (defect 3)", async () => {
		const w = new World();
		const src = source();
		const ep = server(w, src, { observeConEvery: 1 }, { observers: 1 });
		const a = new Watcher(w, w.peer(PEER), "aaaa0001");
		a.ackCon = false; // leaves its CON notification unacknowledged
		await a.get("/obs", 0);
		src.change();
		await w.net.runFor(100);
		assert.equal(a.types(), "C");
		await a.get("/obs", 1); // deregisters (RFC 7641 §3.6)
		assert.equal(ep.observersInUse, 0);
		const b = new Watcher(w, w.peer(PEER2), "bbbb0001");
		await b.get("/obs", 0); // takes the only observer entry
		assert.equal(ep.observersInUse, 1);
		a.resetAll = true; // A answers the retransmitted stale notification with Reset
		await w.net.runFor(6000);
		assert.ok(a.notes.length >= 2, "A's stale notification was retransmitted (and Reset)");
		const aBefore = a.notes.length;
		src.change();
		await w.net.runFor(1000);
		assert.deepEqual(b.texts(), ["v" + src.value()], "B still gets its notifications");
		assert.equal(ep.observersInUse, 1);
		await w.net.runFor(120000);
		assert.ok(a.notes.length === aBefore || a.notes.every((n) => text(n.msg) === "v1"), "nothing of B's went to A");
		w.close();
	});

	it("an old registration's CON notification given up on does not end the new registration (defect 3)", async () => {
		const w = new World();
		const src = source();
		const ep = server(w, src, { observeConEvery: 1 }, { observers: 1 });
		const a = new Watcher(w, w.peer(PEER), "aaaa0002");
		a.ackCon = false; // silent: the stale CON will be given up after MAX_RETRANSMIT
		await a.get("/obs", 0);
		src.change();
		await w.net.runFor(100);
		await a.get("/obs", 1);
		const b = new Watcher(w, w.peer(PEER2), "bbbb0002");
		await b.get("/obs", 0);
		await w.net.runFor(100000); // A's notification: 5 transmissions, then given up
		assert.equal(a.notes.length, 5, "the stale notification, 4 retransmissions");
		assert.ok(a.notes.every((n) => text(n.msg) === "v1"), "only A's own notification went to A");
		assert.equal(ep.observersInUse, 1, "B's registration survived the give-up");
		src.change();
		await w.net.runFor(1000);
		assert.deepEqual(b.texts(), ["v2"]);
		assert.equal(ep.serverSlotsInUse, 0, "B acknowledged its CON");
		w.close();
	});

	it("Observe=0 with a Block2 number past the end: 4.02 without Observe, no registration, no notifications (defect 4a)", async () => {
		const w = new World();
		const src = source();
		const ep = server(w, src);
		const a = new Watcher(w, w.peer(PEER), "cccc0001");
		const r = await a.get("/big", 0, [[OPT_BLOCK2, block(50, false, 2)]]);
		assert.equal(r.code, c("4.02"));
		assert.equal(opt(r, OPT_OBSERVE), undefined, "an error response carries no Observe");
		assert.equal(ep.observersInUse, 0);
		src.change();
		await w.net.runFor(1000);
		assert.equal(a.notes.length, 0, "no 4.02 notifications");
		w.close();
	});

	it("Observe=0 with Block2 NUM=1: served without Observe; the registration keeps block 0, so notifications carry the first block (defect 4c, RFC 7959 §2.6)", async () => {
		const w = new World();
		const src = source();
		const ep = server(w, src);
		const a = new Watcher(w, w.peer(PEER), "cccc0002");
		const first = await a.get("/big", 0, [[OPT_BLOCK2, block(0, false, 2)]]);
		assert.ok(optUint(first, OPT_OBSERVE) >= 0);
		assert.deepEqual(block2Of(first), { num: 0, more: true, szx: 2 });
		const second = await a.get("/big", 0, [[OPT_BLOCK2, block(1, false, 2)]]);
		assert.equal(second.code, c("2.05"));
		assert.equal(opt(second, OPT_OBSERVE), undefined, "a later block does not (re-)register");
		assert.equal(block2Of(second)!.num, 1);
		assert.equal(ep.observersInUse, 1);
		src.change();
		await w.net.runFor(1000);
		assert.equal(a.notes.length, 1);
		assert.deepEqual(block2Of(a.notes[0]!.msg), { num: 0, more: true, szx: 2 }, "the notification is block 0");
		assert.ok(text(a.notes[0]!.msg).startsWith("1:B"));
		w.close();
	});

	it("with the amplification limit, a small NON registration answered 4.01 + Echo registers nothing and gets no notifications (defect 4b, RFC 9175 §2.4)", async () => {
		const w = new World();
		const src = source();
		const ep = server(w, src, {}, {}, { echo: { amplificationLimit: true } });
		const peer = w.peer(PEER);
		peer.send(encode({ type: NON, code: 1, mid: 0x100, token: "dd01", options: [[11, "big"], [OPT_OBSERVE, 0]] }), SERVER);
		await w.net.runFor(100);
		const replies: Msg[] = peer.messages();
		assert.equal(replies.length, 1);
		assert.equal(replies[0]!.code, c("4.01"));
		assert.ok(opt(replies[0]!, 252) !== undefined, "with an Echo option");
		assert.equal(opt(replies[0]!, OPT_OBSERVE), undefined);
		assert.equal(ep.observersInUse, 0);
		src.change();
		await w.net.runFor(1000);
		assert.equal(peer.received.length, 1, "no notifications to an unverified address");
		w.close();
	});

	it("a re-registration answered with an error ends the existing observation (RFC 7641 §3.2)", async () => {
		const w = new World();
		const router = new Router();
		let fail = false;
		router.add("/obs", { obs: true, get: (_q, r) => (fail ? r.send(c("4.04"), "gone") : r.send(c("2.05"), "x")) });
		const ep = w.endpoint(SERVER, { router });
		const a = new Watcher(w, w.peer(PEER), "eeee0001");
		await a.get("/obs", 0);
		assert.equal(ep.observersInUse, 1);
		fail = true;
		const r = await a.get("/obs", 0);
		assert.equal(r.code, c("4.04"));
		assert.equal(ep.observersInUse, 0);
		w.close();
	});

	it("notification handlers that never settle are given up on after handlerTimeoutMs: 5.03 ends each observation, the entries are freed, new observers register (defect 7)", async () => {
		const w = new World();
		const { router, res, state } = hanging();
		const ep = w.endpoint(SERVER, { router, tuning: { handlerTimeoutMs: 10000 } });
		const watchers: Watcher[] = [];
		for (let i = 0; i < 4; i++) {
			const wt = new Watcher(w, w.peer("10.0.1." + (i + 1)), "f00d000" + i);
			await wt.get("/obs", 0);
			watchers.push(wt);
		}
		assert.equal(ep.observersInUse, 4);
		state.hang = true;
		state.value++;
		res.changed();
		await w.net.runFor(5000);
		state.hang = false; // the handler is fixed; the hung runs stay hung
		assert.equal(ep.observersInUse, 4);
		await w.net.runFor(10000);
		for (const wt of watchers) {
			assert.equal(wt.notes.length, 1, "one notification each");
			assert.equal(wt.notes[0]!.msg.code, c("5.03"));
			assert.equal(optUint(wt.notes[0]!.msg, 14), 1, "Max-Age says when to try again");
		}
		// CON while a server slot is free to retransmit it (2 here), else NON (notifier.ts).
		assert.equal(watchers.filter((wt) => wt.notes[0]!.msg.type === CON).length, 2);
		await w.net.runFor(1000);
		assert.equal(ep.observersInUse, 0, "every entry freed once its 5.03 was sent or acknowledged");
		const fifth = new Watcher(w, w.peer(CLIENT), "f00d0009");
		const r = await fifth.get("/obs", 0);
		assert.ok(optUint(r, OPT_OBSERVE) >= 0, "a new client registers");
		state.value++;
		res.changed();
		await w.net.runFor(1000);
		assert.deepEqual(fifth.texts(), ["v2"]);
		assert.equal(ep.nextDeadline(), -1, "nothing left armed");
		w.close();
	});

	it("a re-registration while its notification handler hangs starts afresh (defect 7)", async () => {
		const w = new World();
		const { router, res, state } = hanging();
		const ep = w.endpoint(SERVER, { router });
		const a = new Watcher(w, w.peer(PEER), "abab0001");
		await a.get("/obs", 0);
		state.hang = true;
		state.value++;
		res.changed();
		await w.net.runFor(100);
		state.hang = false;
		const again = await a.get("/obs", 0);
		assert.equal(text(again), "v1");
		state.value++;
		res.changed();
		await w.net.runFor(1000);
		assert.deepEqual(a.texts(), ["v2"], "notifications flow again at once");
		assert.equal(ep.observersInUse, 1);
		w.close();
	});
});
