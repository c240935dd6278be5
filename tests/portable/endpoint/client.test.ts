// Endpoint tests, client side of the message layer: a client Endpoint talks to raw peers that
// play the server with hand-written replies, so retransmission times (RFC 7252 §4.2), Reset,
// empty ACKs, separate responses, NSTART (§4.7), matching (§5.3.2) and close() are observed
// exactly on the virtual clock and on the wire.
import * as assert from "../../support/assert.js";
import { toHex } from "../../support/bytes.js";
import { CoapError } from "../../../modules/coap/errors.js";
import { Endpoint } from "../../../modules/coap/endpoint.js";
import { Router } from "../../../modules/coap/server/router.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import {
	ACK,
	CLIENT,
	CON,
	COAP,
	NON,
	PEER,
	PEER2,
	RST,
	SERVER,
	SERVER2,
	World,
	c,
	decode,
	encode,
	errorCode,
	microtasks,
	sleep,
	text,
	track,
	valueOf,
	type Msg,
	type RawPeer,
} from "./harness.js";

/** A piggybacked response to request `m`. */
function piggyback(m: Msg, payload = "ok", code = c("2.05")): Uint8Array {
	return encode({ type: ACK, code, mid: m.mid, token: m.token, payload });
}

/** A raw peer at SERVER:5683 that ignores the first `ignore` requests and answers the others piggybacked. */
function lossyServer(w: World, ignore: number, host = SERVER): RawPeer {
	const peer = w.peer(host, COAP);
	let n = 0;
	peer.onReceive = (r, p) => {
		const m = decode(r.bytes);
		if (m.type === CON && m.code !== 0 && ++n > ignore) p.send(piggyback(m, "answer " + n), r.address, r.port);
	};
	return peer;
}

function clientOf(w: World, tuning = {}): Endpoint {
	return w.endpoint(CLIENT, { port: 0, tuning });
}

describe("endpoint: client message layer (raw peers as servers)", () => {
	it("Message IDs wrap from 0xFFFF to 0 (RFC 7252 §4.4: 16 bits)", async () => {
		const w = new World();
		// A random source that starts the counter at 0xFFFF (the first two bytes it gives).
		let calls = 0;
		const random = (out: Uint8Array): void => {
			for (let i = 0; i < out.length; i++) out[i] = calls === 0 ? 0xff : (i * 37 + calls) & 0xff;
			calls++;
		};
		const client = new Endpoint({ port: 0, ports: { ...w.ports(CLIENT), random } });
		lossyServer(w, 0);
		const a = track(w.net, client.request({ address: SERVER, path: "/a" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/b" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(a).text(), "answer 1");
		assert.equal(valueOf(b).text(), "answer 2");
		assert.deepEqual(w.sent(CLIENT).map((e) => decode(e.bytes).mid), [0, 1], "0xFFFF + 1 = 0");
		client.close();
		w.close();
	});

	it("ClientResponse.maxAge is 60 when the response has no Max-Age (RFC 7252 §5.10.5), else its value", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			const path = text(m.options.find((o) => o.number === 11)!.value);
			p.send(encode({ type: ACK, code: c("2.05"), mid: m.mid, token: m.token, options: path === "with" ? [[14, 7]] : [], payload: "x" }), r.address, r.port);
		};
		const a = track(w.net, client.request({ address: SERVER, path: "/without" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/with" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(a).maxAge, 60);
		assert.equal(valueOf(b).maxAge, 7);
		w.close();
	});

	it("the destination address is matched in one canonical form: uncompressed, upper-case and IPv4-mapped IPv6 forms reach and match the server (issue 8, defect 9)", async () => {
		const w = new World();
		w.endpoint("fd00::2", { router: demoRouter({ now: () => 0 }) });
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint("fd00::1", { port: 0 });
		const client4 = w.endpoint(CLIENT, { port: 0 });
		const uris = ["coap://[fd00:0:0:0:0:0:0:2]/hello", "coap://[FD00::2]/hello", "coap://[fd00:0000::0002]:5683/hello"];
		for (const uri of uris) {
			const t = track(w.net, client.request({ uri, timeoutMs: 10000 }));
			await w.net.runUntilIdle();
			assert.equal(valueOf(t).text(), "Hello, world!", uri);
		}
		const mapped = track(w.net, client4.request({ uri: "coap://[::ffff:" + SERVER + "]/hello", timeoutMs: 10000 }));
		const given = track(w.net, client4.request({ address: "::FFFF:" + SERVER, path: "/hello", timeoutMs: 10000 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(mapped).text(), "Hello, world!");
		assert.equal(valueOf(given).text(), "Hello, world!");
		w.close();
	});

	it("a port that overrides the URI's port sends the URI's port as Uri-Port, beside Uri-Host (RFC 7252 §6.4 step 6; issue 8, defect 10)", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, 23465);
		peer.onReceive = (r, p) => p.send(piggyback(decode(r.bytes)), r.address, r.port);
		const t = track(w.net, client.request({ uri: "coap://example.com:5684/x", address: SERVER, port: 23465 }));
		const u = track(w.net, client.request({ uri: "coap://example.com/x", address: SERVER, port: 23465 }));
		const same = track(w.net, client.request({ uri: "coap://example.com:23465/x", address: SERVER, port: 23465 }));
		await w.net.runUntilIdle();
		valueOf(t);
		valueOf(u);
		valueOf(same);
		const sent = w.sent(CLIENT).map((e) => decode(e.bytes));
		const opts = (m: Msg): string => m.options.map((o) => o.number + "=" + (o.number === 7 ? String((o.value[0]! << 8) | o.value[1]!) : text(o.value))).join(" ");
		assert.equal(opts(sent[0]!), "3=example.com 7=5684 11=x");
		assert.equal(opts(sent[1]!), "3=example.com 7=5683 11=x", "the default port too, since it is not the destination");
		assert.equal(opts(sent[2]!), "3=example.com 11=x", "no Uri-Port when the destination is the URI's port");
		w.close();
	});

	for (const k of [0, 1, 2, 3, 4]) {
		it(`first ${k} transmission(s) lost: retransmitted at T0, 3·T0, 7·T0, 15·T0 (§4.2), answered after ${k + 1}`, async () => {
			const w = new World();
			const client = clientOf(w);
			const peer = lossyServer(w, k);
			const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
			await w.net.runUntilIdle();
			const r = valueOf(t);
			assert.equal(r.text(), "answer " + (k + 1));
			const sends = w.sent(CLIENT);
			assert.equal(sends.length, k + 1);
			assert.equal(sends[0]!.time, 0);
			for (const s of sends) assert.deepEqual(s.bytes, sends[0]!.bytes, "the same message (MID, token) each time");
			if (k > 0) {
				const t0 = sends[1]!.time;
				assert.ok(t0 >= 2000 && t0 <= 3000, "initial timeout in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]: " + t0);
				for (let i = 1; i < k; i++) {
					const gap = sends[i + 1]!.time - sends[i]!.time;
					assert.ok(Math.abs(gap - 2 ** i * t0) < 1e-6, `timeout ${i} doubles: ${gap} vs ${2 ** i * t0}`);
				}
			}
			assert.equal(t.time, sends[k]!.time + 2, "resolved when the ACK arrives (1 ms each way)");
			assert.equal(client.stats.retransmitted, k);
			assert.equal(peer.received.length, k + 1);
			assert.equal(client.clientSlotsInUse, 0);
			assert.equal(client.nextDeadline(), -1);
			w.close();
		});
	}

	it("per-link loss: the first 3 transmissions to a real server are dropped; the POST is processed once", async () => {
		const w = new World();
		const server = w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = clientOf(w);
		// A send event comes after the link conditions for that datagram were read: lifting the
		// override on the 3rd send lets the 4th through.
		w.net.setLink(CLIENT, SERVER, { loss: 1 });
		let sends = 0;
		w.net.onDatagram = (e) => {
			w.trace.push(e);
			if (e.kind === "send" && e.fromAddress === CLIENT && ++sends === 3) w.net.setLink(CLIENT, SERVER, null);
		};
		const t = track(w.net, client.request({ address: SERVER, method: "POST", path: "/counter" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "1");
		const out = w.sent(CLIENT);
		assert.equal(out.length, 4);
		assert.deepEqual(w.trace.filter((e) => e.kind === "drop").map((e) => e.id), [out[0]!.id, out[1]!.id, out[2]!.id]);
		const t0 = out[1]!.time;
		assert.ok(t0 >= 2000 && t0 <= 3000, "T0 " + t0);
		assert.ok(Math.abs(out[2]!.time - 3 * t0) < 1e-6 && Math.abs(out[3]!.time - 7 * t0) < 1e-6);
		assert.equal(t.time, out[3]!.time + 2);
		assert.equal(server.stats.received, 1);
		assert.equal(server.stats.duplicates, 0);
		w.close();
	});

	it("no answer: 1 + MAX_RETRANSMIT transmissions, then COAP_TIMEOUT at 31·T0 (§4.2)", async () => {
		const w = new World();
		const client = clientOf(w);
		w.peer(SERVER, COAP); // bound, silent
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_TIMEOUT");
		assert.ok(t.error instanceof CoapError);
		assert.equal((t.error as Error).name, "CoapError");
		const sends = w.sent(CLIENT);
		assert.equal(sends.length, 5);
		const t0 = sends[1]!.time;
		assert.ok(t0 >= 2000 && t0 <= 3000);
		const want = [0, 1, 3, 7, 15];
		for (let i = 0; i < 5; i++) assert.ok(Math.abs(sends[i]!.time - want[i]! * t0) < 1e-6, `send ${i} at ${want[i]}·T0`);
		assert.ok(Math.abs(t.time - 31 * t0) < 1e-6, `gave up at ${t.time}, want 31·T0 = ${31 * t0}`);
		assert.ok(t.time <= 93000, "within MAX_TRANSMIT_WAIT");
		assert.equal(client.stats.retransmitted, 4);
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("tuning changes the schedule: ACK_TIMEOUT 500 ms, factor 1 (no randomness), MAX_RETRANSMIT 2", async () => {
		const w = new World();
		const client = clientOf(w, { ackTimeoutMs: 500, ackRandomFactor: 1, maxRetransmit: 2 });
		w.peer(SERVER, COAP);
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_TIMEOUT");
		assert.deepEqual(w.sent(CLIENT).map((e) => e.time), [0, 500, 1500]);
		assert.equal(t.time, 3500);
		w.close();
	});

	it("different requests draw different initial timeouts from the endpoint's random port", async () => {
		const w = new World();
		const client = clientOf(w, { nstart: 4 });
		w.peer(SERVER, COAP);
		const ts = [0, 1, 2, 3].map((i) => track(w.net, client.request({ address: SERVER, path: "/x" + i })));
		await w.net.runUntilIdle();
		for (const t of ts) assert.equal(errorCode(t), "COAP_TIMEOUT");
		const firstRetransmit = new Set<number>();
		for (const s of w.sent(CLIENT)) if (s.time > 0 && s.time < 3001) firstRetransmit.add(s.time);
		assert.equal(firstRetransmit.size, 4);
		w.close();
	});

	it("a Reset answer rejects with COAP_RESET at its arrival, with no further retransmission", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		let n = 0;
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			// Ignore the first copy, reset the retransmission.
			if (++n === 2) p.send(encode({ type: RST, code: 0, mid: m.mid }), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_RESET");
		const sends = w.sent(CLIENT);
		assert.equal(sends.length, 2);
		assert.equal(t.time, sends[1]!.time + 2);
		assert.equal(client.stats.resets, 1);
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("a Reset with another MID, or from another port, does not end the request", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		const other = w.peer(SERVER, 5684);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (p.received.length === 1) {
				p.send(encode({ type: RST, code: 0, mid: (m.mid + 1) & 0xffff }), r.address, r.port);
				other.send(encode({ type: RST, code: 0, mid: m.mid }), r.address, r.port);
			} else p.send(piggyback(m, "fine"), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "fine");
		assert.equal(w.sent(CLIENT).length, 2, "retransmitted once, then answered");
		w.close();
	});

	it("an empty ACK stops retransmission; the CON separate response is ACKed (same MID) and resolves the request", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		let req: Msg | undefined;
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON && m.code !== 0) {
				req = m;
				p.send(encode({ type: ACK, code: 0, mid: m.mid }), r.address, r.port);
			}
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runFor(60000);
		assert.equal(t.settled, false, "still waiting for the separate response");
		assert.equal(w.sent(CLIENT).length, 1, "no retransmission after the empty ACK");
		assert.equal(client.clientSlotsInUse, 1);
		assert.equal(client.nextDeadline(), 93000, "the request timeout is the only deadline left");
		peer.send(encode({ type: CON, code: c("2.05"), mid: 0x4242, token: req!.token, payload: "separate" }), CLIENT, client.port);
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.text(), "separate");
		assert.equal(r.type, CON);
		assert.equal(r.mid, 0x4242);
		assert.equal(t.time, 60001);
		const acks = peer.received.slice(1);
		assert.equal(acks.length, 1);
		assert.equal(toHex(acks[0]!.bytes), "60004242", "empty ACK, MID of the separate response");
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("after an empty ACK with no separate response: COAP_TIMEOUT at the request timeout", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => p.send(encode({ type: ACK, code: 0, mid: decode(r.bytes).mid }), r.address, r.port);
		const t = track(w.net, client.request({ address: SERVER, path: "/x", timeoutMs: 10000 }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_TIMEOUT");
		assert.equal(t.time, 10000);
		assert.equal(w.sent(CLIENT).length, 1);
		w.close();
	});

	it("a NON separate response after the empty ACK resolves the request and is not ACKed", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			p.send(encode({ type: ACK, code: 0, mid: m.mid }), r.address, r.port);
			p.send(encode({ type: NON, code: c("2.05"), mid: 99, token: m.token, payload: "non" }), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "non");
		assert.equal(valueOf(t).type, NON);
		assert.equal(w.sent(CLIENT).length, 1);
		w.close();
	});

	it("a CON response before any ACK (the ACK was lost) is accepted, ACKed, and stops retransmission", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON && m.code !== 0) p.send(encode({ type: CON, code: c("2.05"), mid: 7, token: m.token, payload: "direct" }), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "direct");
		const sends = w.sent(CLIENT);
		assert.equal(sends.length, 2);
		assert.equal(toHex(sends[1]!.bytes), "60000007");
		w.close();
	});

	it("a piggybacked response with the right token but another MID is ignored", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (p.received.length === 1) p.send(encode({ type: ACK, code: c("2.05"), mid: (m.mid + 5) & 0xffff, token: m.token, payload: "wrong" }), r.address, r.port);
			else p.send(piggyback(m, "right"), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "right");
		assert.equal(w.sent(CLIENT).length, 2, "the stray ACK did not stop retransmission, and got no RST");
		w.close();
	});

	it("NSTART = 1: a second request to the same server waits until the first is answered", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			void sleep(w.net, 500).then(() => p.send(piggyback(m, text(m)), r.address, r.port));
		};
		const a = track(w.net, client.request({ address: SERVER, path: "/a", payload: "A", method: "POST" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/b", payload: "B", method: "POST" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(a).text(), "A");
		assert.equal(valueOf(b).text(), "B");
		const sends = w.sent(CLIENT);
		assert.equal(sends.length, 2);
		assert.equal(sends[0]!.time, 0);
		assert.equal(a.time, 502);
		assert.equal(sends[1]!.time, 502, "sent when the first response arrived");
		assert.equal(b.time, 1004);
		w.close();
	});

	it("NSTART = 1: an empty ACK ends the first interaction, so the second request goes out then", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.code === 0) return;
			void sleep(w.net, 100).then(() => p.send(encode({ type: ACK, code: 0, mid: m.mid }), r.address, r.port));
			void sleep(w.net, 1000).then(() => p.send(encode({ type: NON, code: c("2.05"), mid: m.mid ^ 0x8000, token: m.token, payload: "s" }), r.address, r.port));
		};
		const a = track(w.net, client.request({ address: SERVER, path: "/a" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/b" }));
		await w.net.runUntilIdle();
		assert.ok(!a.rejected && !b.rejected);
		const sends = w.sent(CLIENT);
		assert.deepEqual(sends.map((e) => e.time), [0, 102]);
		assert.equal(a.time, 1002);
		assert.equal(b.time, 1104);
		w.close();
	});

	it("NSTART = 1: a NON request is outstanding until its response (or timeout)", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		let n = 0;
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (++n === 1) return; // the first NON is never answered
			p.send(encode({ type: NON, code: c("2.05"), mid: 1000 + n, token: m.token, payload: "second" }), r.address, r.port);
		};
		const a = track(w.net, client.request({ address: SERVER, path: "/a", confirmable: false, timeoutMs: 4000 }));
		const b = track(w.net, client.request({ address: SERVER, path: "/b", confirmable: false }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(a), "COAP_TIMEOUT");
		assert.equal(a.time, 4000, "NON: no retransmission, COAP_TIMEOUT after timeoutMs");
		assert.equal(valueOf(b).text(), "second");
		assert.deepEqual(w.sent(CLIENT).map((e) => e.time), [0, 4000]);
		assert.equal(b.time, 4002);
		w.close();
	});

	it("a queued request's timeout runs from request(); a lost NON counts toward NSTART only for its size / PROBING_RATE (RFC 7252 §4.7)", async () => {
		const w = new World();
		const client = clientOf(w);
		w.peer(SERVER, COAP); // silent: the NON is lost
		const a = track(w.net, client.request({ address: SERVER, path: "/a", confirmable: false }));
		const quick = track(w.net, client.request({ address: SERVER, path: "/c", timeoutMs: 1000 }));
		const slow = track(w.net, client.request({ address: SERVER, path: "/d", timeoutMs: 30000 }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(quick), "COAP_TIMEOUT");
		assert.equal(quick.time, 1000, "the queued CON fails after its own 1000 ms, counted from the call");
		assert.match(String(quick.error), /not sent/);
		const sends = w.sent(CLIENT);
		// The NON is 10 bytes (4 header, 4 token, /a): at PROBING_RATE 1 byte/s it stops being
		// expected after 10 s; the CON queued behind it goes out then (never the expired one).
		assert.deepEqual(sends.slice(0, 2).map((e) => e.time), [0, 10000]);
		assert.equal(decode(sends[1]!.bytes).options.map((o) => text(o.value)).join("/"), "d");
		assert.equal(errorCode(slow), "COAP_TIMEOUT");
		assert.equal(slow.time, 30000, "the whole request, queueing included, within its timeoutMs");
		assert.equal(errorCode(a), "COAP_TIMEOUT");
		assert.equal(a.time, 93000, "the NON itself still waits requestTimeoutMs for a late response");
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("requests to different servers go out in parallel; nstart 2 allows two to one server", async () => {
		const w = new World();
		const client = clientOf(w);
		for (const host of [SERVER, SERVER2]) {
			const peer = w.peer(host, COAP);
			peer.onReceive = (r, p) => {
				const m = decode(r.bytes);
				void sleep(w.net, 300).then(() => p.send(piggyback(m, host), r.address, r.port));
			};
		}
		const a = track(w.net, client.request({ address: SERVER, path: "/a" }));
		const b = track(w.net, client.request({ address: SERVER2, path: "/b" }));
		const a2 = track(w.net, client.request({ address: SERVER, path: "/a2" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(a).text(), SERVER);
		assert.equal(valueOf(b).text(), SERVER2);
		assert.equal(valueOf(a2).text(), SERVER);
		assert.deepEqual(w.sent(CLIENT).map((e) => e.toAddress + "@" + e.time), [SERVER + "@0", SERVER2 + "@0", SERVER + "@302"]);
		w.close();

		const w2 = new World();
		const client2 = clientOf(w2, { nstart: 2 });
		const peer = w2.peer(SERVER, COAP);
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			void sleep(w2.net, 300).then(() => p.send(piggyback(m), r.address, r.port));
		};
		for (let i = 0; i < 3; i++) track(w2.net, client2.request({ address: SERVER, path: "/p" + i }));
		await w2.net.runUntilIdle();
		assert.deepEqual(w2.sent(CLIENT).map((e) => e.time), [0, 0, 302]);
		w2.close();
	});

	it("NON request with no answer: COAP_TIMEOUT after timeoutMs (default requestTimeoutMs)", async () => {
		const w = new World();
		const client = clientOf(w, { requestTimeoutMs: 7000 });
		w.peer(SERVER, COAP);
		const t = track(w.net, client.request({ address: SERVER, path: "/x", confirmable: false }));
		const t2 = track(w.net, client.request({ address: SERVER2, path: "/x", confirmable: false, timeoutMs: 1234 }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_TIMEOUT");
		assert.equal(t.time, 7000);
		assert.equal(errorCode(t2), "COAP_TIMEOUT");
		assert.equal(t2.time, 1234);
		assert.equal(w.sent(CLIENT).length, 2);
		assert.equal(client.stats.retransmitted, 0);
		w.close();
	});

	it("a NON request answered with Reset rejects with COAP_RESET", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (r, p) => p.send(encode({ type: RST, code: 0, mid: decode(r.bytes).mid }), r.address, r.port);
		const t = track(w.net, client.request({ address: SERVER, path: "/x", confirmable: false }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_RESET");
		assert.equal(t.time, 2);
		w.close();
	});

	it("unmatched responses: CON → RST with its MID, NON → RST with its MID, piggybacked ACK → ignored", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(PEER);
		peer.send(encode({ type: CON, code: c("2.05"), mid: 0x0a0b, token: "11223344", payload: "?" }), CLIENT, client.port);
		peer.send(encode({ type: NON, code: c("2.05"), mid: 0x0c0d, token: "55667788", payload: "?" }), CLIENT, client.port);
		peer.send(encode({ type: ACK, code: c("2.05"), mid: 0x0e0f, token: "99aabbcc", payload: "?" }), CLIENT, client.port);
		peer.send(encode({ type: ACK, code: 0, mid: 0x1111 }), CLIENT, client.port);
		peer.send(encode({ type: RST, code: 0, mid: 0x2222 }), CLIENT, client.port);
		await w.net.runUntilIdle();
		assert.deepEqual(peer.received.map((r) => toHex(r.bytes)), ["70000a0b", "70000c0d"]);
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("a late duplicate of an already delivered CON response is ACKed again, not delivered twice", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		let response: Uint8Array | undefined;
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.code === 0) return;
			response = encode({ type: CON, code: c("2.05"), mid: 0x5151, token: m.token, payload: "x" });
			p.send(response, r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "x");
		peer.send(response!, CLIENT, client.port);
		await w.net.runUntilIdle();
		const acks = peer.received.filter((r) => decode(r.bytes).code === 0);
		assert.deepEqual(acks.map((r) => toHex(r.bytes)), ["60005151", "60005151"]);
		assert.equal(client.stats.duplicates, 1);
		w.close();
	});

	it("a response from the wrong address or port is not accepted", async () => {
		const w = new World();
		const client = clientOf(w);
		const real = w.peer(SERVER, COAP);
		const otherPort = w.peer(SERVER, 5690);
		const otherHost = w.peer(PEER2, COAP);
		let req: Msg | undefined;
		real.onReceive = (r) => {
			req = decode(r.bytes);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runFor(10);
		const m = req!;
		// Same MID and token as the real server would use, from the wrong places.
		otherPort.send(piggyback(m, "port"), CLIENT, client.port);
		otherHost.send(piggyback(m, "host"), CLIENT, client.port);
		otherHost.send(encode({ type: CON, code: c("2.05"), mid: 1, token: m.token, payload: "host-con" }), CLIENT, client.port);
		otherPort.send(encode({ type: NON, code: c("2.05"), mid: 2, token: m.token, payload: "port-non" }), CLIENT, client.port);
		otherHost.send(encode({ type: ACK, code: 0, mid: m.mid }), CLIENT, client.port);
		await w.net.runFor(10);
		assert.equal(t.settled, false);
		assert.deepEqual(otherHost.received.map((r) => toHex(r.bytes)), ["70000001"], "RST for the CON, nothing for the ACKs");
		assert.deepEqual(otherPort.received.map((r) => toHex(r.bytes)), ["70000002"], "RST for the NON");
		// The empty ACK from the wrong host did not stop retransmission:
		await w.net.runFor(3000);
		assert.equal(real.received.length, 2);
		real.send(piggyback(m, "real"), CLIENT, client.port);
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "real");
		assert.equal(valueOf(t).address, SERVER);
		w.close();
	});

	it("consecutive requests use consecutive Message IDs and distinct 4-byte tokens", async () => {
		const w = new World();
		const client = clientOf(w);
		lossyServer(w, 0);
		for (let i = 0; i < 4; i++) track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		for (let i = 0; i < 3; i++) track(w.net, client.request({ address: SERVER, path: "/y" }));
		await w.net.runUntilIdle();
		const msgs = w.sent(CLIENT).map((e) => decode(e.bytes));
		assert.equal(msgs.length, 7);
		for (let i = 1; i < 7; i++) assert.equal(msgs[i]!.mid, (msgs[i - 1]!.mid + 1) & 0xffff);
		assert.equal(new Set(msgs.map((m) => m.token)).size, 7);
		for (const m of msgs) assert.equal(m.token.length, 8);
		w.close();
	});

	it("bad destinations: a port outside 1..65535 → RangeError, a URI port 0 or a bad URI → COAP_BAD_URI; nothing is sent", async () => {
		const w = new World();
		const client = clientOf(w);
		// Local misuse throws at the call (DESIGN.md: three error channels) ...
		for (const port of [0, 70000, 1.5]) {
			assert.throws(() => client.request({ address: SERVER, port, path: "/x" }), RangeError);
		}
		// ... a URI the stack cannot use is a protocol outcome: the promise rejects.
		const cases = [
			track(w.net, client.request({ uri: "coap://10.0.0.2:0/x" })),
			track(w.net, client.request({ uri: "http://10.0.0.2/x" })),
			track(w.net, client.request({ uri: "coap://example.net/x" })),
		];
		await microtasks();
		for (let i = 0; i < 3; i++) assert.equal(errorCode(cases[i]!), "COAP_BAD_URI", "case " + i);
		assert.equal(client.clientSlotsInUse, 0);
		await w.net.runUntilIdle();
		assert.equal(w.sent(CLIENT).length, 0);
		w.close();
	});

	it("a host name with an address is sent as Uri-Host; the port comes from the URI", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, 5999);
		peer.onReceive = (r, p) => p.send(piggyback(decode(r.bytes)), r.address, r.port);
		const t = track(w.net, client.request({ uri: "coap://sensor.example:5999/a/b?q=1", address: SERVER }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "ok");
		const m = decode(peer.received[0]!.bytes);
		assert.deepEqual(m.options.map((o) => o.number + "=" + text(o.value)), ["3=sensor.example", "11=a", "11=b", "15=q=1"]);
		w.close();
	});

	it("a socket write failure goes to onError, is never thrown, and the request fails with COAP_SOCKET", async () => {
		const w = new World();
		const errors: unknown[] = [];
		const Base = w.net.udpClass(CLIENT);
		let failing = true;
		class Flaky extends Base {
			override write(buffer: ArrayBufferView | ArrayBuffer, address: string, port: number): void {
				if (failing) throw new Error("no route to host");
				super.write(buffer, address, port);
			}
		}
		const client = new Endpoint({
			ports: { udp: Flaky, clock: w.net.clock, random: w.net.random(CLIENT) },
			onError: (e) => errors.push(e),
			tuning: { ackTimeoutMs: 100, ackRandomFactor: 1, maxRetransmit: 2 },
		});
		const peer = lossyServer(w, 0);
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_SOCKET");
		assert.equal(t.time, 0, "fails at once, not after the retransmissions");
		assert.equal(errors.length, 1, "one report for the one failed transmission");
		assert.match(String(errors[0]), /no route to host/);
		assert.equal(peer.received.length, 0);
		failing = false;
		const t2 = track(w.net, client.request({ address: SERVER, path: "/y" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t2).text(), "answer 1");
		client.close();
	});

	it("the trace option sees every datagram in and out, with the peer's address and port", async () => {
		const w = new World();
		const seen: string[] = [];
		const client = w.endpoint(CLIENT, {
			port: 0,
			trace: (out, bytes, length, address, port) => seen.push((out ? "out " : "in ") + address + ":" + port + " " + length + " " + decode(bytes.subarray(0, length)).type),
		});
		lossyServer(w, 1);
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		await w.net.runUntilIdle();
		assert.ok(!t.rejected);
		const len = w.sent(CLIENT)[0]!.length;
		const back = w.sent(SERVER)[0]!.length;
		assert.deepEqual(seen, ["out 10.0.0.2:5683 " + len + " 0", "out 10.0.0.2:5683 " + len + " 0", "in 10.0.0.2:5683 " + back + " 2"]);
		w.close();
	});

	it("close(): outstanding requests reject with COAP_CLOSED; closing twice is harmless; later requests reject", async () => {
		const w = new World();
		const client = clientOf(w);
		const peer = w.peer(SERVER, COAP);
		const a = track(w.net, client.request({ address: SERVER, path: "/a" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/b" })); // queued behind NSTART
		const n = track(w.net, client.request({ address: SERVER2, path: "/n", confirmable: false }));
		await w.net.runFor(100);
		const port = client.port;
		client.close();
		await microtasks();
		for (const t of [a, b, n]) {
			assert.equal(errorCode(t), "COAP_CLOSED");
			assert.equal(t.time, 100);
		}
		client.close();
		const late = track(w.net, client.request({ address: SERVER, path: "/late" }));
		await microtasks();
		assert.equal(errorCode(late), "COAP_CLOSED");
		assert.equal(client.clientSlotsInUse, 0);
		assert.equal(client.nextDeadline(), -1);
		// Nothing more is sent; the port is unbound, so a late answer is dropped by the network.
		const before = w.sent(CLIENT).length;
		const unbound = w.net.stats.droppedUnbound;
		peer.send(encode({ type: ACK, code: 0, mid: 1 }), CLIENT, port);
		await w.net.runUntilIdle();
		assert.equal(w.sent(CLIENT).length, before);
		assert.equal(w.net.stats.droppedUnbound, unbound + 1);
		assert.equal(w.net.clock.now(), 101, "no timer of the closed endpoint is left");
		w.close();
	});

	it("close() with a server handler still working: nothing is sent when it settles", async () => {
		const w = new World();
		const router = new Router();
		router.add("/slow", {
			async get(_q, res) {
				await sleep(w.net, 1000);
				res.send(c("2.05"), "too late");
			},
		});
		const server = w.endpoint(SERVER, { router });
		const peer = w.peer(PEER);
		peer.send(encode({ type: CON, code: 1, mid: 5, token: "05", options: [[11, "slow"]] }));
		await w.net.runFor(500);
		assert.equal(peer.received.length, 1, "the empty ACK");
		server.close();
		assert.equal(server.serverSlotsInUse, 0);
		await w.net.runUntilIdle();
		assert.equal(peer.received.length, 1);
		assert.equal(w.sent(SERVER).length, 1);
	});
});
