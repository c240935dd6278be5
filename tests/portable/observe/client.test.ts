// Observe, client side (RFC 7641 §3): a client Endpoint's observe() against a hand-written
// server (FakeSource) that sends the notifications the test writes: freshness ordering (§3.4)
// with reordered numbers, the 2^24 wrap and the 128 s rule; renewal when Max-Age passes
// (§3.3.1); cancel() with Observe=1 (§3.6); Reset for unwanted notifications (§3.6); Block2
// notifications (RFC 7959 §2.6); close().
import * as assert from "../../support/assert.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import { CoapError } from "../../../modules/coap/errors.js";
import { ACK, CLIENT, CON, NON, RST, SERVER, World, c, decode, opt, optUint, text, track } from "../endpoint/harness.js";
import { OPT_BLOCK2, OPT_ETAG, OPT_MAX_AGE, OPT_OBSERVE, OPT_URI_PATH, assertQuiet, block, block2Of, firstDifference, pattern } from "../block/helpers.js";
import { FakeSource, ackWith } from "./watch.js";

const TOP = (1 << 24) - 1;

interface Seen {
	texts: string[];
	seqs: number[];
	ended: CoapError | null | undefined;
}

function setup(firstSeq: number, firstOptions: readonly (readonly [number, number | string | Uint8Array])[] = []) {
	const w = new World();
	const client = w.endpoint(CLIENT, { port: 0 });
	const src = new FakeSource(w);
	// Registrations (Observe=0) get 2.05 "r" with Observe firstSeq; Observe=1 gets a plain 2.05.
	src.answer = (q) => {
		const o = optUint(q, OPT_OBSERVE);
		if (o === 0) return ackWith(q, firstSeq, "r", firstOptions);
		return ackWith(q, -1, "bye");
	};
	const seen: Seen = { texts: [], seqs: [], ended: undefined };
	const obs = client.observe(
		{ address: SERVER, path: "/t" },
		(r: ClientResponse) => {
			seen.texts.push(r.text());
			seen.seqs.push(r.optionUint(OPT_OBSERVE, -1));
		},
		(e) => (seen.ended = e),
	);
	return { w, client, src, seen, obs };
}

/** Sends notifications (seq, text) `gapMs` apart, running the network. */
async function send(w: World, src: FakeSource, list: readonly [number, string][], gapMs = 100, type = NON): Promise<void> {
	for (const [seq, t] of list) {
		src.notify(seq, t, type);
		await w.net.runFor(gapMs);
	}
}

describe("observe: client observations (RFC 7641 §3)", () => {
	it("registration: a CON GET with Observe=0 (empty value); the first response is delivered and resolves `first`", async () => {
		const { w, client, src, seen, obs } = setup(7);
		const first = track(w.net, obs.first);
		await w.net.runFor(100);
		assert.equal(src.requests.length, 1);
		const q = src.requests[0]!.msg;
		assert.equal(q.type, CON);
		assert.equal(q.code, c("0.01"));
		const o = opt(q, OPT_OBSERVE);
		assert.ok(o !== undefined && o.length === 0, "Observe=0 is the empty uint");
		assert.equal(text(q), "");
		assert.ok(first.settled && first.value!.text() === "r");
		assert.deepEqual(seen.texts, ["r"]);
		assert.equal(obs.active, true);
		assert.equal(client.clientSlotsInUse, 1, "an observation holds one client slot");
		w.close();
	});

	it("§3.4: reordered notifications: older ones are dropped (but CONs still acknowledged)", async () => {
		const { w, src, seen } = setup(10);
		await w.net.runFor(100);
		await send(w, src, [[12, "a"], [11, "late"], [13, "b"], [13, "dup number"], [15, "c"], [14, "late too"]]);
		src.notify(9, "older CON", CON);
		await w.net.runFor(100);
		assert.deepEqual(seen.texts, ["r", "a", "b", "c"]);
		assert.deepEqual(seen.seqs, [10, 12, 13, 15]);
		const acks = src.replies().filter((m) => m.type === ACK);
		assert.equal(acks.length, 1, "the stale CON was acknowledged, not delivered");
		assert.equal(src.replies().filter((m) => m.type === RST).length, 0, "nothing was reset");
		w.close();
	});

	it("§3.4: across the 2^24 wrap: 2^24-2, 2^24-1, 0, 1 delivered; a late 2^24-1 after 0 dropped", async () => {
		const { w, src, seen } = setup(TOP - 2);
		await w.net.runFor(100);
		await send(w, src, [[TOP - 1, "a"], [TOP, "b"], [0, "c"], [TOP, "late"], [1, "d"], [(1 << 23) + 2, "too far ahead: older"]]);
		assert.deepEqual(seen.texts, ["r", "a", "b", "c", "d"]);
		w.close();
	});

	it("§3.4: more than 128 s after the last notification, a smaller number is fresh again (not at 127 s)", async () => {
		const { w, src, seen } = setup(1000, [[OPT_MAX_AGE, 600]]);
		await w.net.runFor(100);
		await send(w, src, [[1001, "a"]]);
		await w.net.runFor(127000);
		await send(w, src, [[5, "at 127 s: stale"]]);
		await w.net.runFor(1000);
		await send(w, src, [[5, "at 128.2 s: fresh"], [6, "then counting from 5"], [3, "3 is older than 6"]]);
		assert.deepEqual(seen.texts, ["r", "a", "at 128.2 s: fresh", "then counting from 5"]);
		w.close();
	});

	it("§3.3.1: renewal: Max-Age passes without a notification → the same token registers again (new MID), and again", async () => {
		const { w, src, seen, obs } = setup(1, [[OPT_MAX_AGE, 5]]);
		let n = 1;
		src.answer = (q) => (optUint(q, OPT_OBSERVE) === 0 ? ackWith(q, ++n, "r" + n, [[OPT_MAX_AGE, 5]]) : ackWith(q, -1, "bye"));
		await w.net.runFor(20000);
		const regs = src.requests.filter((r) => optUint(r.msg, OPT_OBSERVE) === 0);
		assert.ok(regs.length >= 3, "registered and renewed: " + regs.length);
		const t = regs.map((r) => r.time);
		assert.equal(t[0], 1);
		assert.equal(t[1]! - t[0]!, 5000 + 2000 + 2, "Max-Age (5 s) + ACK_TIMEOUT after the response (arrived 1 ms later)");
		assert.equal(t[2]! - t[1]!, 7002);
		for (const r of regs) {
			assert.equal(r.msg.token, regs[0]!.msg.token, "same token");
			assert.equal(r.msg.type, CON);
			const path = r.msg.options.filter((o) => o.number === OPT_URI_PATH).length;
			assert.equal(path, 1);
		}
		assert.equal(new Set(regs.map((r) => r.msg.mid)).size, regs.length, "each with a new Message ID");
		assert.deepEqual(seen.texts.slice(0, 3), ["r2", "r3", "r4"]);
		assert.equal(obs.active, true);
		w.close();
	});

	it("§3.3.1 with RFC 7252 §5.10.5: notifications without Max-Age are fresh for 60 s: the renewal comes after about 60 s, not sooner", async () => {
		const { w, src } = setup(1); // no Max-Age in the answer
		await w.net.runFor(61000);
		assert.equal(src.requests.length, 1, "no renewal within 61 s of the response");
		await w.net.runFor(2000);
		const regs = src.requests.filter((r) => optUint(r.msg, OPT_OBSERVE) === 0);
		assert.equal(regs.length, 2);
		assert.equal(regs[1]!.time - regs[0]!.time, 60000 + 2000 + 2, "60 s (the default Max-Age) + ACK_TIMEOUT after the response");
		w.close();
	});

	it("§3.3.1: a notification before Max-Age passes postpones the renewal", async () => {
		const { w, src } = setup(1, [[OPT_MAX_AGE, 5]]);
		await w.net.runFor(4000);
		src.notify(2, "n", NON, [[OPT_MAX_AGE, 5]]);
		await w.net.runFor(6000);
		assert.equal(src.requests.length, 1, "no renewal 10 s in: the notification at 4 s reset the clock");
		await w.net.runFor(2000);
		assert.equal(src.requests.length, 2);
		w.close();
	});

	// A server that numbers notifications per resource answers a renewal with the *current*
	// number when nothing changed (libcoap does: resource->observe). RFC 7641 §3.4 only says a
	// stale notification is not *used*; the exchange is complete (RFC 7252 §4.2: the ACK ends
	// the retransmission) and the registration is alive (§3.3.1).
	it("a renewal answered with the same Observe number (nothing changed) keeps the observation alive", async () => {
		const { w, src, seen, obs } = setup(42, [[OPT_MAX_AGE, 5]]);
		src.answer = (q) => (optUint(q, OPT_OBSERVE) === 0 ? ackWith(q, 42, "same", [[OPT_MAX_AGE, 5]]) : ackWith(q, -1, "bye"));
		await w.net.runFor(100000);
		assert.equal(obs.active, true, "still observing");
		assert.equal(seen.ended, undefined);
		const regs = src.requests.filter((r) => optUint(r.msg, OPT_OBSERVE) === 0);
		const mids = regs.map((r) => r.msg.mid);
		assert.equal(new Set(mids).size, mids.length, "no retransmission of an answered renewal");
		w.close();
	});

	it("cancel(): a CON GET with Observe=1 and the same token; resolves on the answer, onEnd(null), slot free", async () => {
		const { w, client, src, seen, obs } = setup(3);
		await w.net.runFor(100);
		await send(w, src, [[4, "a"]]);
		const done = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(done.settled && !done.rejected);
		assert.equal(obs.active, false);
		assert.equal(seen.ended, null);
		const q = src.requests[1]!.msg;
		assert.equal(q.type, CON);
		assert.equal(q.code, c("0.01"));
		assert.equal(optUint(q, OPT_OBSERVE), 1);
		assert.equal(q.token, src.requests[0]!.msg.token, "the observation's token");
		assert.notEqual(q.mid, src.requests[0]!.msg.mid);
		assert.deepEqual(seen.texts, ["r", "a"], "the answer to Observe=1 is not delivered as a notification");
		assertQuiet([client], assert.ok);
		// A second cancel() is a no-op.
		const again = track(w.net, obs.cancel());
		await w.net.runFor(10);
		assert.ok(again.settled);
		assert.equal(src.requests.length, 2);
		w.close();
	});

	it("cancel() with no answer: retransmitted, then the observation ends anyway (onEnd(null)); nothing left in use", async () => {
		const { w, client, src, seen, obs } = setup(3);
		await w.net.runFor(100);
		src.answer = () => null;
		const done = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(done.settled);
		assert.equal(obs.active, false);
		assert.equal(seen.ended, null, "cancelled: ended normally");
		assert.equal(src.requests.filter((r) => optUint(r.msg, OPT_OBSERVE) === 1).length, 5);
		assertQuiet([client], assert.ok);
		w.close();
	});

	it("§3.6: notifications for a forgotten token are answered with Reset (NON and CON)", async () => {
		const { w, src, obs } = setup(3);
		await w.net.runFor(100);
		const done = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(done.settled);
		const nonMid = src.notify(9, "late NON");
		await w.net.runFor(10);
		const conMid = src.notify(10, "late CON", CON);
		await w.net.runFor(10);
		const rst = src.replies().filter((m) => m.type === RST).map((m) => m.mid);
		assert.deepEqual(rst, [nonMid, conMid]);
		w.close();
	});

	it("a notification with an error code ends the observation (delivered last); later ones get Reset", async () => {
		const { w, client, src, seen, obs } = setup(3);
		await w.net.runFor(100);
		src.notify(-1, "gone", NON, [], c("4.04"));
		await w.net.runFor(10);
		assert.deepEqual(seen.texts, ["r", "gone"]);
		assert.equal(obs.active, false);
		assert.equal(seen.ended, null);
		const mid = src.notify(5, "after");
		await w.net.runFor(10);
		assert.deepEqual(src.replies().filter((m) => m.type === RST).map((m) => m.mid), [mid]);
		assertQuiet([client], assert.ok);
		w.close();
	});

	it("a first response without Observe (not observable): delivered, then the observation ends", async () => {
		const { w, client, src, seen, obs } = setup(-1);
		await w.net.runFor(100);
		assert.deepEqual(seen.texts, ["r"]);
		assert.equal(obs.active, false);
		assert.equal(seen.ended, null);
		assert.equal(src.requests.length, 1);
		assertQuiet([client], assert.ok);
		w.close();
	});

	it("a notification larger than one block (Block2) is completed without Observe and delivered whole", async () => {
		const { w, src, seen } = setup(1);
		const body = pattern(2500, 3);
		const etag = Uint8Array.of(0xe1);
		src.answer = (q) => {
			const o = optUint(q, OPT_OBSERVE);
			if (o === 0) return ackWith(q, 1, "r");
			const b = block2Of(q)!;
			return ackWith(q, -1, body.subarray(b.num * 1024, (b.num + 1) * 1024), [[OPT_ETAG, etag], [OPT_BLOCK2, block(b.num, (b.num + 1) * 1024 < 2500, 6)]]);
		};
		await w.net.runFor(100);
		src.notify(2, body.subarray(0, 1024), NON, [[OPT_ETAG, etag], [OPT_BLOCK2, block(0, true, 6)]]);
		await w.net.runFor(1000);
		assert.equal(seen.texts.length, 2);
		const follow = src.requests.slice(1).map((r) => r.msg);
		assert.equal(follow.length, 2);
		for (const [i, q] of follow.entries()) {
			assert.equal(opt(q, OPT_OBSERVE), undefined, "block requests carry no Observe (RFC 7959 §2.6)");
			assert.deepEqual(block2Of(q), { num: i + 1, more: false, szx: 6 });
			assert.notEqual(q.token, src.token, "a new token, not the observation's");
		}
		assert.equal(seen.seqs[1], 2);
		w.close();
	});

	it("a Block2 notification whose body fetch is overtaken by a newer notification is not delivered after it (§3.4 order)", async () => {
		const { w, src, seen } = setup(1);
		const body = pattern(2000, 4);
		const held: { fn: (() => void) | null } = { fn: null };
		src.answer = (q) => {
			if (optUint(q, OPT_OBSERVE) === 0) return ackWith(q, 1, "r");
			const b = block2Of(q)!;
			// Answer the block request only after a newer notification went out.
			held.fn = () => src.peer.send(ackWith(q, -1, body.subarray(1024), [[OPT_BLOCK2, block(b.num, false, 6)]]), src.clientAddress, src.clientPort);
			return null;
		};
		await w.net.runFor(100);
		src.notify(5, body.subarray(0, 1024), NON, [[OPT_BLOCK2, block(0, true, 6)]]);
		await w.net.runFor(100);
		src.notify(6, "newer, small");
		await w.net.runFor(100);
		assert.ok(held.fn !== null, "the client asked for block 1");
		held.fn();
		await w.net.runFor(100);
		const order = seen.seqs;
		assert.equal(order[order.length - 1], 6, "the newest notification stays the last delivered: " + JSON.stringify(order));
		w.close();
	});

	it("close() ends every observation with COAP_CLOSED; `first` rejects if no response came", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const src = new FakeSource(w);
		src.answer = (q) => (q.options.some((o) => o.number === OPT_URI_PATH && text(o.value) === "a") ? ackWith(q, 1, "a") : null);
		const ends: (CoapError | null | undefined)[] = [undefined, undefined];
		const a = client.observe({ address: SERVER, path: "/a" }, () => {}, (e) => (ends[0] = e));
		const b = client.observe({ address: SERVER, path: "/b" }, () => {}, (e) => (ends[1] = e));
		const bFirst = track(w.net, b.first);
		await w.net.runFor(1000);
		assert.equal(a.active, true);
		client.close();
		await w.net.runFor(10);
		for (const e of ends) {
			assert.ok(e instanceof CoapError);
			assert.equal(e.code, "COAP_CLOSED");
		}
		assert.equal(a.active || b.active, false);
		assert.ok(bFirst.rejected && (bFirst.error as CoapError).code === "COAP_CLOSED");
		const after = client.observe({ address: SERVER, path: "/a" }, () => {});
		assert.equal(after.active, false, "observe() on a closed endpoint ends at once");
		assert.equal(((await after.first.catch((e: unknown) => e)) as CoapError).code, "COAP_CLOSED");
		w.close();
	});

	it("a registration with no answer at all: COAP_TIMEOUT after the CON retransmissions, `first` rejects", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const src = new FakeSource(w);
		src.answer = () => null;
		let ended: CoapError | null | undefined;
		const obs = client.observe({ address: SERVER, path: "/a" }, () => {}, (e) => (ended = e));
		const first = track(w.net, obs.first);
		await w.net.runUntilIdle();
		assert.equal(src.requests.length, 5);
		assert.ok(ended instanceof CoapError && ended.code === "COAP_TIMEOUT");
		assert.ok(first.rejected);
		assertQuiet([client], assert.ok);
		w.close();
	});
});
