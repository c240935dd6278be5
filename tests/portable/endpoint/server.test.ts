// Endpoint tests, server side: resource handlers (sync, throwing, async fast and slow),
// response fields (ETag/2.03, Max-Age, Location-Path, extra options), 4.15, separate
// responses and their retransmission. A client Endpoint or a raw peer talks to a server
// Endpoint on the virtual network; the trace gives the wire bytes and times.
import * as assert from "../../support/assert.js";
import { toHex } from "../../support/bytes.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { RequestOptions } from "../../../modules/coap/client/options.js";
import { Router } from "../../../modules/coap/server/router.js";
import {
	ACK,
	CLIENT,
	CON,
	COAP,
	NON,
	PEER,
	SERVER,
	World,
	c,
	decode,
	encode,
	gate,
	opt,
	optUint,
	sleep,
	text,
	track,
	valueOf,
} from "./harness.js";

const OPT_ETAG = 4;
const OPT_LOCATION_PATH = 8;
const OPT_CONTENT_FORMAT = 12;
const OPT_MAX_AGE = 14;

async function ask(w: World, client: Endpoint, o: Omit<RequestOptions, "address">): Promise<ClientResponse> {
	const t = track(w.net, client.request({ address: SERVER, port: COAP, ...o }));
	await w.net.runUntilIdle();
	return valueOf(t);
}

function setup(router: Router, tuning = {}): { w: World; server: Endpoint; client: Endpoint } {
	const w = new World();
	const server = w.endpoint(SERVER, { router, tuning });
	const client = w.endpoint(CLIENT, { port: 0 });
	return { w, server, client };
}

describe("endpoint: server handlers and responses", () => {
	it("4.15 for a payload in a format the resource does not accept; accepted formats pass", async () => {
		const router = new Router();
		let calls = 0;
		router.add("/cfg", {
			accepts: [50, 60],
			put(req, res) {
				calls++;
				res.send(c("2.04"), "cf=" + req.contentFormat);
			},
		});
		const { w, client } = setup(router);
		let r = await ask(w, client, { method: "PUT", path: "/cfg", payload: "x", contentFormat: 0 });
		assert.equal(r.codeText, "4.15");
		r = await ask(w, client, { method: "PUT", path: "/cfg", payload: "x" });
		assert.equal(r.codeText, "4.15", "no Content-Format with a payload: not an accepted one");
		r = await ask(w, client, { method: "PUT", path: "/cfg", payload: "{}", contentFormat: 50 });
		assert.equal(r.codeText, "2.04");
		assert.equal(r.text(), "cf=50");
		r = await ask(w, client, { method: "PUT", path: "/cfg" });
		assert.equal(r.codeText, "2.04", "no payload: nothing to check");
		assert.equal(calls, 2);
		w.close();
	});

	it("ETag: a GET carrying the current ETag gets 2.03 Valid with the ETag and no payload", async () => {
		const router = new Router();
		const tag = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
		router.add("/doc", {
			ct: 0,
			get(_req, res) {
				res.send(c("2.05"), "the document", 0);
				res.etag = tag;
				res.maxAge = 30;
			},
		});
		const { w, client } = setup(router);
		let r = await ask(w, client, { path: "/doc" });
		assert.equal(r.codeText, "2.05");
		assert.deepEqual(r.etag, tag);
		assert.equal(r.text(), "the document");
		assert.equal(r.maxAge, 30);
		r = await ask(w, client, { path: "/doc", options: [[OPT_ETAG, Uint8Array.of(1)], [OPT_ETAG, tag]] });
		assert.equal(r.codeText, "2.03");
		assert.deepEqual(r.etag, tag);
		assert.equal(r.payload.length, 0);
		assert.equal(r.contentFormat, -1, "no Content-Format without a payload");
		assert.equal(r.maxAge, 30, "Max-Age is carried by 2.03 too (RFC 7252 §5.9.1.3)");
		// Exact bytes after the token: ETag (delta 4, len 4) de ad be ef, Max-Age (delta 10, len 1) 1e.
		const sent = w.sent(SERVER);
		assert.equal(toHex(sent[sent.length - 1]!.bytes.subarray(8)), "44deadbeefa11e");
		assert.equal(decode(sent[sent.length - 1]!.bytes).code, c("2.03"));
		r = await ask(w, client, { path: "/doc", options: [[OPT_ETAG, Uint8Array.of(0xde, 0xad)]] });
		assert.equal(r.codeText, "2.05", "a different ETag: full representation");
		assert.equal(r.text(), "the document");
		w.close();
	});

	it("Location-Path for 2.01 Created, Max-Age, and extra options added with res.option()", async () => {
		const router = new Router();
		let next = 0;
		router.add("/items", {
			post(_req, res) {
				next++;
				res.code = c("2.01");
				res.locationPath = ["items", String(next)];
				res.maxAge = 0;
				res.option(2048, "elective-ext").option(65000, 7).option(1, Uint8Array.of(1, 2));
			},
		});
		const { w, client } = setup(router);
		const r = await ask(w, client, { method: "POST", path: "/items", payload: "new" });
		assert.equal(r.codeText, "2.01");
		assert.equal(r.locationPath, "/items/1");
		assert.equal(r.maxAge, 0, "Max-Age 0 is sent (as an empty uint), not left out");
		assert.equal(r.optionUint(65000), 7);
		assert.equal(text(r.option(2048)!), "elective-ext");
		assert.deepEqual(r.option(1), Uint8Array.of(1, 2));
		const m = decode(w.sent(SERVER)[0]!.bytes);
		assert.deepEqual(
			m.options.map((o) => o.number),
			[1, OPT_LOCATION_PATH, OPT_LOCATION_PATH, OPT_MAX_AGE, 2048, 65000],
			"options in ascending order (RFC 7252 §3.1)",
		);
		assert.equal(opt(m, OPT_MAX_AGE)!.length, 0);
		assert.equal(optUint(m, OPT_CONTENT_FORMAT), -1);
		w.close();
	});

	it("many Location-Path segments with all 12 extra options: ordered on the wire, nothing thrown", async () => {
		const router = new Router();
		const segs: string[] = [];
		for (let i = 0; i < 30; i++) segs.push("s" + i);
		router.add("/deep", {
			post(_req, res) {
				res.code = c("2.01");
				res.locationPath = segs;
				res.etag = Uint8Array.of(9);
				res.contentFormat = 0;
				res.maxAge = 5;
				res.payload = "made";
				// Extras at, between and around the named fields' numbers (given out of order).
				for (const n of [65000, 14, 12, 8, 4, 3, 1, 17, 10, 2048, 60, 15]) res.option(n, n); // all known or elective: the client accepts them
				assert.throws(() => res.option(100, 1), RangeError);
			},
		});
		const w = new World();
		const server = w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0, limits: { maxOptions: 64 } }); // 45 options to parse
		const r = await ask(w, client, { method: "POST", path: "/deep" });
		assert.equal(r.codeText, "2.01");
		assert.equal(r.text(), "made");
		const m = decode(w.sent(SERVER)[0]!.bytes);
		const numbers = m.options.map((o) => o.number);
		const want = [1, 3, 4, 4, 8];
		for (let i = 0; i < 30; i++) want.push(8);
		want.push(10, 12, 12, 14, 14, 15, 17, 60, 2048, 65000);
		assert.deepEqual(numbers, want);
		// The extra of a named field's number comes first, then the named field.
		assert.deepEqual(m.options[2]!.value, Uint8Array.of(4));
		assert.deepEqual(m.options[3]!.value, Uint8Array.of(9), "res.etag after option(4, ...)");
		assert.equal(text(m.options[4]!.value), "\b", "option(8, 8) as a uint: one byte 0x08");
		assert.equal(text(m.options[5]!.value), "s0");
		assert.equal(text(m.options[34]!.value), "s29");
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("a handler that throws → 5.00 with a generic diagnostic; the server keeps serving", async () => {
		const router = new Router();
		router.add("/boom", {
			get() {
				throw new Error("secret internal detail");
			},
		});
		router.add("/ok", { get: (_q, res) => res.send(c("2.05"), "fine") });
		const { w, client, server } = setup(router);
		let r = await ask(w, client, { path: "/boom" });
		assert.equal(r.codeText, "5.00");
		assert.equal(r.text(), "internal server error");
		assert.equal(r.type, ACK);
		r = await ask(w, client, { path: "/boom", confirmable: false });
		assert.equal(r.codeText, "5.00");
		assert.equal(r.type, NON);
		r = await ask(w, client, { path: "/ok" });
		assert.equal(r.text(), "fine");
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("an async handler that settles fast is piggybacked in the ACK (no empty ACK)", async () => {
		const router = new Router();
		router.add("/fast", {
			async get(req, res) {
				await Promise.resolve();
				await null;
				res.send(c("2.05"), "fast " + req.pathText);
			},
		});
		const { w, client, server } = setup(router);
		const t = track(w.net, client.request({ address: SERVER, path: "/fast" }));
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.codeText, "2.05");
		assert.equal(r.text(), "fast /fast");
		assert.equal(r.type, ACK);
		assert.equal(t.time, 2);
		const s = w.sent(SERVER);
		assert.equal(s.length, 1, "one ACK carrying the response");
		assert.equal(decode(s[0]!.bytes).mid, decode(w.sent(CLIENT)[0]!.bytes).mid);
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(server.nextDeadline(), -1);
		w.close();
	});

	it("a slow async handler: empty ACK after emptyAckDelayMs, then a CON separate response the client ACKs", async () => {
		const router = new Router();
		const { w, client, server } = setup(router);
		router.add("/slow", {
			async get(_req, res) {
				await sleep(w.net, 500);
				res.send(c("2.05"), "late", 0);
			},
		});
		const t = track(w.net, client.request({ address: SERVER, path: "/slow" }));
		await w.net.runUntil(() => server.serverSlotsInUse === 1, 10);
		assert.equal(server.nextDeadline(), 1 + 100, "empty ACK due emptyAckDelayMs after arrival");
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.codeText, "2.05");
		assert.equal(r.text(), "late");
		assert.equal(r.type, CON, "a separate response");
		const req = decode(w.sent(CLIENT)[0]!.bytes);
		const fromServer = w.sent(SERVER);
		assert.equal(fromServer.length, 2);
		// The empty ACK: 4 bytes, type ACK, code 0.00, the request's MID.
		const emptyAck = fromServer[0]!;
		assert.equal(emptyAck.time, 101);
		assert.equal(toHex(emptyAck.bytes), "6000" + toHex(Uint8Array.of(req.mid >> 8, req.mid & 0xff)));
		const sep = decode(fromServer[1]!.bytes);
		assert.equal(fromServer[1]!.time, 501);
		assert.equal(sep.type, CON);
		assert.equal(sep.token, req.token);
		assert.notEqual(sep.mid, req.mid);
		assert.equal(t.time, 502);
		// The client ACKs the separate response with its MID; nothing else is sent.
		const fromClient = w.sent(CLIENT);
		assert.equal(fromClient.length, 2, "request and ACK: no retransmission after the empty ACK");
		assert.equal(toHex(fromClient[1]!.bytes), "6000" + toHex(Uint8Array.of(sep.mid >> 8, sep.mid & 0xff)));
		assert.equal(fromClient[1]!.time, 502);
		assert.equal(server.serverSlotsInUse, 0, "the ACK freed the server slot");
		assert.equal(client.clientSlotsInUse, 0);
		assert.equal(server.stats.retransmitted, 0);
		w.close();
	});

	it("an async handler that rejects → 5.00, piggybacked when fast, separate when slow", async () => {
		const router = new Router();
		const { w, client, server } = setup(router);
		router.add("/bad", {
			async get(req) {
				if (req.queryParam("slow") !== undefined) await sleep(w.net, 300);
				throw new Error("nope");
			},
		});
		let r = await ask(w, client, { path: "/bad" });
		assert.equal(r.codeText, "5.00");
		assert.equal(r.type, ACK);
		assert.equal(r.text(), "internal server error");
		r = await ask(w, client, { path: "/bad", query: ["slow"] });
		assert.equal(r.codeText, "5.00");
		assert.equal(r.type, CON);
		r = await ask(w, client, { path: "/bad", query: ["slow"], confirmable: false });
		assert.equal(r.codeText, "5.00");
		assert.equal(r.type, NON);
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("a NON request with a slow async handler gets a NON response and no empty ACK", async () => {
		const router = new Router();
		const { w, client, server } = setup(router);
		router.add("/slow", {
			async post(req, res) {
				await sleep(w.net, 700);
				res.send(c("2.04"), req.payload); // the request's bytes stay valid across await
			},
		});
		const r = await ask(w, client, { method: "POST", path: "/slow", payload: "keep me", confirmable: false });
		assert.equal(r.codeText, "2.04");
		assert.equal(r.type, NON);
		assert.equal(r.text(), "keep me");
		assert.equal(w.sent(SERVER).length, 1);
		assert.equal(w.sent(SERVER)[0]!.time, 701);
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("the request stays intact across await while other requests are served meanwhile", async () => {
		const router = new Router();
		const { w, server } = setup(router);
		const second = w.endpoint("10.0.0.7", { port: 0 });
		router.add("/slow", {
			async post(req, res) {
				const before = req.text();
				await sleep(w.net, 400);
				res.send(c("2.04"), before + "|" + req.text() + "|" + req.pathText);
			},
		});
		router.add("/quick", { post: (req, res) => res.send(c("2.04"), req.text()) });
		const client = w.endpoints[1]!;
		const slow = track(w.net, client.request({ address: SERVER, method: "POST", path: "/slow", payload: "AAAA" }));
		await w.net.runFor(50);
		const quick = track(w.net, second.request({ address: SERVER, method: "POST", path: "/quick", payload: "BBBBBBBB" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(quick).text(), "BBBBBBBB");
		assert.equal(valueOf(slow).text(), "AAAA|AAAA|/slow");
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("handler that never settles: 5.03 with Max-Age after handlerTimeoutMs", async () => {
		const router = new Router();
		const never = gate();
		router.add("/hang", { get: () => never.promise });
		const { w, client, server } = setup(router, { handlerTimeoutMs: 5000 });
		const t = track(w.net, client.request({ address: SERVER, path: "/hang" }));
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.codeText, "5.03");
		assert.equal(r.type, CON);
		assert.equal(r.maxAge, 1);
		assert.equal(t.time, 5002);
		assert.equal(server.serverSlotsInUse, 0);
		never.open(); // settling late changes nothing
		await w.net.runUntilIdle();
		assert.equal(w.sent(SERVER).length, 2);
		w.close();
	});

	it("separate CON response: retransmitted (§4.2 back-off) until the client ACKs it", async () => {
		const router = new Router();
		const w = new World();
		const server = w.endpoint(SERVER, { router });
		router.add("/slow", {
			async get(_req, res) {
				await sleep(w.net, 1000);
				res.send(c("2.05"), "sep");
			},
		});
		const peer = w.peer(PEER);
		peer.send(encode({ type: CON, code: 1, mid: 0x1234, token: "cafe", options: [[11, "slow"]] }));
		// Ignore the first two transmissions of the separate response, ACK the third.
		let seen = 0;
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type !== CON) return;
			if (++seen === 3) p.send(encode({ type: ACK, code: 0, mid: m.mid }));
		};
		await w.net.runUntilIdle();
		const got = peer.messages();
		assert.equal(got.length, 4, "empty ACK + three copies of the response");
		assert.equal(got[0]!.type, ACK);
		assert.equal(got[0]!.code, 0);
		assert.equal(got[0]!.mid, 0x1234);
		assert.equal(peer.received[0]!.time, 102);
		const sends = w.sent(SERVER);
		for (let i = 1; i < 4; i++) {
			assert.deepEqual(sends[i]!.bytes, sends[1]!.bytes, "retransmissions are byte-identical");
			assert.equal(got[i]!.token, "cafe");
			assert.equal(text(got[i]!), "sep");
		}
		const t0 = sends[2]!.time - sends[1]!.time;
		assert.ok(t0 >= 2000 && t0 < 3000, "initial timeout in [ACK_TIMEOUT, ACK_TIMEOUT * 1.5): " + t0);
		assert.ok(Math.abs(sends[3]!.time - sends[2]!.time - 2 * t0) < 1e-6, "doubled");
		assert.equal(sends[1]!.time, 1001);
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(server.stats.retransmitted, 2);
		assert.equal(server.nextDeadline(), -1);
		w.close();
	});

	it("separate CON response: the server gives up after MAX_RETRANSMIT and frees the slot; RST also frees it", async () => {
		const router = new Router();
		const w = new World();
		const server = w.endpoint(SERVER, { router });
		router.add("/slow", {
			async get(_req, res) {
				await sleep(w.net, 200);
				res.send(c("2.05"), "sep");
			},
		});
		const peer = w.peer(PEER);
		peer.send(encode({ type: CON, code: 1, mid: 1, token: "01", options: [[11, "slow"]] }));
		await w.net.runUntilIdle();
		const copies = peer.messages().filter((m) => m.type === CON);
		assert.equal(copies.length, 5, "1 + MAX_RETRANSMIT transmissions");
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(server.nextDeadline(), -1);
		// Now a Reset to the separate response: the slot is freed at once.
		peer.clear();
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON) p.send(encode({ type: 3, code: 0, mid: m.mid }));
		};
		peer.send(encode({ type: CON, code: 1, mid: 2, token: "02", options: [[11, "slow"]] }));
		await w.net.runUntilIdle();
		assert.equal(peer.messages().filter((m) => m.type === CON).length, 1);
		assert.equal(server.serverSlotsInUse, 0);
		w.close();
	});

	it("separate response with a real client whose first ACK is lost: retransmitted, ACKed again, resolved once", async () => {
		const router = new Router();
		const { w, client, server } = setup(router);
		router.add("/slow", {
			async get(_req, res) {
				await sleep(w.net, 300);
				res.send(c("2.05"), "once");
			},
		});
		// Drop the client's first ACK of the separate response (its 2nd datagram): a send event
		// comes after the link conditions for that datagram were read, so the override set on
		// the request's send applies to the next one, and is lifted on that one's send.
		let fromClient = 0;
		w.net.onDatagram = (e) => {
			w.trace.push(e);
			if (e.kind !== "send" || e.fromAddress !== CLIENT) return;
			fromClient++;
			w.net.setLink(CLIENT, SERVER, fromClient === 1 ? { loss: 1 } : null);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/slow" }));
		await w.net.runUntilIdle();
		const r = valueOf(t);
		assert.equal(r.text(), "once");
		const drops = w.trace.filter((e) => e.kind === "drop");
		assert.equal(drops.length, 1);
		assert.equal(drops[0]!.fromAddress, CLIENT);
		const sep = w.sent(SERVER).filter((e) => decode(e.bytes).type === CON);
		assert.equal(sep.length, 2, "the separate response was sent twice");
		const acks = w.sent(CLIENT).slice(1);
		assert.equal(acks.length, 2, "the client ACKed both copies");
		assert.deepEqual(acks[0]!.bytes, acks[1]!.bytes);
		assert.equal(client.stats.duplicates, 1);
		assert.equal(server.serverSlotsInUse, 0);
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("requests to a server without a router get 4.04", async () => {
		const w = new World();
		w.endpoint(SERVER);
		const client = w.endpoint(CLIENT, { port: 0 });
		const r = await ask(w, client, { path: "/anything" });
		assert.equal(r.codeText, "4.04");
		const r2 = await ask(w, client, { path: "/.well-known/core" });
		assert.equal(r2.codeText, "4.04");
		w.close();
	});

	it("a reply carries the exact request token (0 and 8 bytes) from a raw peer", async () => {
		const router = new Router();
		router.add("/t", { get: (_q, res) => res.send(c("2.05"), "t") });
		const w = new World();
		w.endpoint(SERVER, { router });
		const peer = w.peer();
		peer.send(encode({ type: CON, code: 1, mid: 7, options: [[11, "t"]] }));
		peer.send(encode({ type: CON, code: 1, mid: 8, token: "0102030405060708", options: [[11, "t"]] }));
		await w.net.runUntilIdle();
		// 60 45 00 07 ff 74: ACK, 2.05, MID 7, no token, payload "t".
		assert.equal(toHex(peer.received[0]!.bytes), "60450007ff74");
		assert.equal(toHex(peer.received[1]!.bytes), "684500080102030405060708ff74");
		w.close();
	});
});
