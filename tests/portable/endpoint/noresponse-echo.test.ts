// Endpoint tests: No-Response (RFC 7967) and Echo (RFC 9175) over the virtual network, with
// the wire checked through the network trace and a raw peer.
import * as assert from "../../support/assert.js";
import { Router } from "../../../modules/coap/server/router.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, CON, NON, PEER, SERVER, World, c, decode, encode, track, valueOf } from "./harness.js";

const OPT_ECHO = 252;

describe("endpoint: No-Response (RFC 7967)", () => {
	it("the server suppresses the classes asked for; a CON still gets an empty ACK", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const peer = w.peer(PEER);
		// NON GET /hello with No-Response 2 (no 2.xx): nothing comes back.
		peer.send(encode({ type: NON, code: c("0.01"), mid: 1, token: "01", options: [[11, "hello"], [258, 2]] }));
		// CON GET /hello, same: an empty ACK only.
		peer.send(encode({ type: CON, code: c("0.01"), mid: 2, token: "02", options: [[11, "hello"], [258, 2]] }));
		// CON GET /nothing with No-Response 2: the 4.04 is not suppressed.
		peer.send(encode({ type: CON, code: c("0.01"), mid: 3, token: "03", options: [[11, "nothing"], [258, 2]] }));
		// CON GET /nothing with No-Response 8 (no 4.xx): empty ACK.
		peer.send(encode({ type: CON, code: c("0.01"), mid: 4, token: "04", options: [[11, "nothing"], [258, 8]] }));
		await w.net.runUntilIdle();
		const got = peer.messages().map((m) => m.mid + ":" + m.type + ":" + m.code.toString(16));
		assert.deepEqual(got, ["2:" + ACK + ":0", "3:" + ACK + ":84", "4:" + ACK + ":0"]);
		// A duplicate of the suppressed CON gets the empty ACK again.
		peer.clear();
		peer.send(encode({ type: CON, code: c("0.01"), mid: 2, token: "02", options: [[11, "hello"], [258, 2]] }));
		await w.net.runUntilIdle();
		assert.deepEqual(peer.messages().map((m) => m.mid + ":" + m.code), ["2:0"]);
		w.close();
	});

	it("the client with noResponse 26 resolves once the NON is sent, or the CON acknowledged, with code 0", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0 });
		const non = track(w.net, client.request({ address: SERVER, method: "POST", path: "/counter", confirmable: false, noResponse: 26 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(non).code, 0);
		assert.equal(non.time, 0, "resolved at once, not after a timeout");
		const con = track(w.net, client.request({ address: SERVER, method: "POST", path: "/counter", noResponse: 26 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(con).code, 0);
		const now = track(w.net, client.request({ address: SERVER, path: "/counter" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(now).text(), "2", "both POSTs were processed");
		assert.equal(client.clientSlotsInUse, 0);
		assert.throws(() => client.request({ address: SERVER, path: "/x", noResponse: 300 }), RangeError);
		w.close();
	});
});

describe("endpoint: Echo (RFC 9175)", () => {
	function freshRouter(calls: { n: number }): Router {
		const r = new Router();
		r.add("/door", {
			fresh: true,
			get: (_q, res) => res.send(c("2.05"), "closed"),
			put: (q, res) => { calls.n++; res.send(c("2.04"), q.text()); },
		});
		return r;
	}

	it("a fresh-only resource answers 4.01 with Echo; the xscoap client repeats with it and succeeds", async () => {
		const w = new World();
		const calls = { n: 0 };
		w.endpoint(SERVER, { router: freshRouter(calls) });
		const client = w.endpoint(CLIENT, { port: 0 });
		const t = track(w.net, client.request({ address: SERVER, method: "PUT", path: "/door", payload: "open" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).codeText, "2.04");
		assert.equal(valueOf(t).text(), "open");
		assert.equal(calls.n, 1, "the handler ran once, for the request with the Echo");
		const sent = w.sent(CLIENT).map((e) => decode(e.bytes));
		assert.equal(sent.length, 2);
		assert.equal(sent[0]!.options.some((o) => o.number === OPT_ECHO), false);
		const replies = w.sent(SERVER).map((e) => decode(e.bytes));
		assert.equal(replies[0]!.code, c("4.01"));
		const echo = replies[0]!.options.find((o) => o.number === OPT_ECHO)!.value;
		assert.equal(echo.length, 8);
		assert.deepEqual(sent[1]!.options.find((o) => o.number === OPT_ECHO)!.value, echo);
		// GET is safe: no Echo needed.
		const g = track(w.net, client.request({ address: SERVER, path: "/door" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(g).text(), "closed");
		w.close();
	});

	it("an Echo value is bound to the address and expires after freshnessMs; forged values fail", async () => {
		const w = new World();
		const calls = { n: 0 };
		w.endpoint(SERVER, { router: freshRouter(calls), echo: { freshnessMs: 5000 } });
		const peer = w.peer(PEER);
		const other = w.peer("10.0.0.77");
		peer.send(encode({ type: CON, code: c("0.03"), mid: 1, token: "01", options: [[11, "door"]], payload: "a" }));
		await w.net.runUntilIdle();
		const echo = peer.messages()[0]!.options.find((o) => o.number === OPT_ECHO)!.value;
		// Another address replays it: refused.
		other.send(encode({ type: CON, code: c("0.03"), mid: 2, token: "02", options: [[11, "door"], [OPT_ECHO, echo]], payload: "b" }));
		// A forged value: refused.
		const forged = echo.slice();
		forged[7] = forged[7]! ^ 1;
		peer.send(encode({ type: CON, code: c("0.03"), mid: 3, token: "03", options: [[11, "door"], [OPT_ECHO, forged]], payload: "c" }));
		await w.net.runUntilIdle();
		assert.equal(other.messages()[0]!.code, c("4.01"));
		assert.equal(peer.messages()[1]!.code, c("4.01"));
		assert.equal(calls.n, 0);
		// The real one, in time: accepted.
		peer.send(encode({ type: CON, code: c("0.03"), mid: 4, token: "04", options: [[11, "door"], [OPT_ECHO, echo]], payload: "d" }));
		await w.net.runUntilIdle();
		assert.equal(peer.messages()[2]!.code, c("2.04"));
		assert.equal(calls.n, 1);
		// Too late: refused again.
		await w.net.runFor(7000);
		peer.send(encode({ type: CON, code: c("0.03"), mid: 5, token: "05", options: [[11, "door"], [OPT_ECHO, echo]], payload: "e" }));
		await w.net.runUntilIdle();
		assert.equal(peer.messages()[3]!.code, c("4.01"));
		assert.equal(calls.n, 1);
		w.close();
	});

	it("amplification limit (opt-in): an unverified peer gets 4.01 + Echo instead of a response over 3x its request; once verified it gets the response", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }), echo: { amplificationLimit: true } });
		const peer = w.peer(PEER);
		const small = encode({ type: CON, code: c("0.01"), mid: 1, token: "01", options: [[11, "hello"]] }); // 14 bytes → 13-byte payload reply
		const big = encode({ type: CON, code: c("0.01"), mid: 2, token: "02", options: [[11, "large"]] });
		peer.send(small);
		peer.send(big);
		await w.net.runUntilIdle();
		const [a, b] = peer.messages();
		assert.equal(a!.code, c("2.05"), "a reply within 3x goes out");
		assert.equal(b!.code, c("4.01"));
		const echo = b!.options.find((o) => o.number === OPT_ECHO)!.value;
		peer.send(encode({ type: CON, code: c("0.01"), mid: 3, token: "03", options: [[11, "large"], [OPT_ECHO, echo]] }));
		await w.net.runUntilIdle();
		assert.equal(peer.messages()[2]!.code, c("2.05"));
		assert.ok(peer.messages()[2]!.payload.length > 100);
		// Off by default.
		const w2 = new World();
		w2.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const p2 = w2.peer(PEER);
		p2.send(big);
		await w2.net.runUntilIdle();
		assert.equal(p2.messages()[0]!.code, c("2.05"));
		w.close();
		w2.close();
	});
});
