// Endpoint tests, demo resources: a client Endpoint and a server Endpoint serving
// demoRouter() on two virtual hosts, checked at the API and on the wire (the network trace).
import * as assert from "../../support/assert.js";
import { toHex } from "../../support/bytes.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { RequestOptions } from "../../../modules/coap/client/options.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { ACK, CLIENT, CON, COAP, NON, SERVER, World, c, decode, errorCode, optUint, text, track, valueOf } from "./harness.js";

const OPT_CONTENT_FORMAT = 12;
const OPT_MAX_AGE = 14;
const OPT_URI_PATH = 11;

interface Pair {
	w: World;
	client: Endpoint;
	server: Endpoint;
}

function pair(clientHost = CLIENT, serverHost = SERVER): Pair {
	const w = new World();
	const server = w.endpoint(serverHost, { router: demoRouter({ now: () => 0 }) });
	const client = w.endpoint(clientHost, { port: 0 });
	return { w, client, server };
}

/** One request over the sim, run until the network is idle; returns the response. */
async function ask(p: Pair, o: Omit<RequestOptions, "address">, serverHost = SERVER): Promise<ClientResponse> {
	const t = track(p.w.net, p.client.request({ address: serverHost, port: COAP, ...o }));
	await p.w.net.runUntilIdle();
	return valueOf(t);
}

describe("endpoint: demo resources over the virtual network", () => {
	it("GET /hello (CON): piggybacked 2.05 with text/plain, one datagram each way", async () => {
		const p = pair();
		const r = await ask(p, { path: "/hello" });
		assert.equal(r.codeText, "2.05");
		assert.equal(r.text(), "Hello, world!");
		assert.equal(r.contentFormat, 0);
		assert.equal(r.type, ACK);
		assert.equal(r.address, SERVER);
		assert.equal(r.port, COAP);
		const req = p.w.sent(CLIENT);
		const res = p.w.sent(SERVER);
		assert.equal(req.length, 1);
		assert.equal(res.length, 1);
		const q = decode(req[0]!.bytes);
		assert.equal(q.type, CON);
		assert.equal(q.code, c("0.01"));
		assert.equal(q.token.length, 8, "a 4-byte token");
		// Header, token, then Uri-Path "hello" (delta 11, length 5): b5 68 65 6c 6c 6f.
		assert.equal(toHex(req[0]!.bytes.subarray(8)), "b568656c6c6f");
		const a = decode(res[0]!.bytes);
		assert.equal(a.type, ACK);
		assert.equal(a.mid, q.mid, "piggybacked: the ACK carries the request's Message ID");
		assert.equal(a.token, q.token);
		// 2.05, Content-Format 0 (delta 12, empty value: c0), payload marker, text.
		assert.equal(toHex(res[0]!.bytes.subarray(8)), "c0ff" + toHex(r.payload));
		assert.equal(res[0]!.time, 1, "1 ms link delay: answered on arrival");
		assert.equal(p.client.clientSlotsInUse, 0);
		assert.equal(p.server.serverSlotsInUse, 0);
		assert.equal(p.client.nextDeadline(), -1);
		p.w.close();
	});

	it("GET /hello as NON: NON response with its own Message ID and the same token", async () => {
		const p = pair();
		const r = await ask(p, { path: "/hello", confirmable: false });
		assert.equal(r.codeText, "2.05");
		assert.equal(r.type, NON);
		assert.equal(r.text(), "Hello, world!");
		const q = decode(p.w.sent(CLIENT)[0]!.bytes);
		const a = decode(p.w.sent(SERVER)[0]!.bytes);
		assert.equal(q.type, NON);
		assert.equal(a.type, NON);
		assert.equal(a.token, q.token);
		assert.equal(p.w.sent(CLIENT).length, 1, "no ACK for a NON response");
		assert.equal(p.client.clientSlotsInUse, 0);
		p.w.close();
	});

	it("GET /time: the injected clock's time and Max-Age 1", async () => {
		const p = pair();
		const r = await ask(p, { uri: "coap://10.0.0.2/time" });
		assert.equal(r.codeText, "2.05");
		assert.equal(r.text(), "1970-01-01T00:00:00.000Z");
		assert.equal(r.maxAge, 1);
		assert.equal(optUint(decode(p.w.sent(SERVER)[0]!.bytes), OPT_MAX_AGE), 1);
		p.w.close();
	});

	it("POST and PUT /echo: 2.04 with payload and Content-Format echoed (CON and NON)", async () => {
		const p = pair();
		const bytes = Uint8Array.of(0, 1, 2, 0xfe, 0xff);
		let r = await ask(p, { method: "POST", path: "/echo", payload: bytes, contentFormat: 42 });
		assert.equal(r.codeText, "2.04");
		assert.deepEqual(r.payload, bytes);
		assert.equal(r.contentFormat, 42);
		r = await ask(p, { method: "PUT", path: "/echo", payload: "{\"a\":1}", contentFormat: 50, confirmable: false });
		assert.equal(r.codeText, "2.04");
		assert.equal(r.type, NON);
		assert.equal(r.text(), "{\"a\":1}");
		assert.equal(r.contentFormat, 50);
		// Unicode text survives both directions (UTF-8 on the wire).
		r = await ask(p, { method: "POST", path: "/echo", payload: "grüße ☃ 𝄞" });
		assert.equal(r.text(), "grüße ☃ 𝄞");
		assert.equal(r.contentFormat, -1, "no Content-Format sent, none echoed");
		assert.equal(optUint(decode(p.w.sent(SERVER)[2]!.bytes), OPT_CONTENT_FORMAT), -1);
		p.w.close();
	});

	it("POST /counter increments, GET reads it", async () => {
		const p = pair();
		assert.equal((await ask(p, { path: "/counter" })).text(), "0");
		for (let i = 1; i <= 3; i++) {
			const r = await ask(p, { method: "POST", path: "/counter" });
			assert.equal(r.codeText, "2.04");
			assert.equal(r.text(), String(i));
		}
		const r = await ask(p, { method: 1, path: ["counter"] });
		assert.equal(r.text(), "3");
		p.w.close();
	});

	it("DELETE /hello → 4.05; GET /nothing → 4.04 (both with no payload)", async () => {
		const p = pair();
		let r = await ask(p, { method: "DELETE", path: "/hello" });
		assert.equal(r.codeText, "4.05");
		assert.equal(r.ok, false);
		assert.equal(r.payload.length, 0);
		r = await ask(p, { path: "/nothing/here" });
		assert.equal(r.codeText, "4.04");
		r = await ask(p, { method: "POST", path: "/time" });
		assert.equal(r.codeText, "4.05");
		r = await ask(p, { path: "/hello/more" });
		assert.equal(r.codeText, "4.04", "no prefix matching");
		p.w.close();
	});

	it("Accept: a format the resource has (0) → 2.05; another (50) → 4.06", async () => {
		const p = pair();
		let r = await ask(p, { path: "/hello", accept: 0 });
		assert.equal(r.codeText, "2.05");
		r = await ask(p, { path: "/hello", accept: 50 });
		assert.equal(r.codeText, "4.06");
		assert.equal(r.payload.length, 0);
		// /echo declares no ct: any Accept goes through.
		r = await ask(p, { method: "POST", path: "/echo", accept: 60, payload: "x" });
		assert.equal(r.codeText, "2.04");
		p.w.close();
	});

	it("/.well-known/core lists the resources in link format (40)", async () => {
		const p = pair();
		const r = await ask(p, { path: "/.well-known/core" });
		assert.equal(r.codeText, "2.05");
		assert.equal(r.contentFormat, 40);
		assert.equal(
			r.text(),
			'</hello>;rt="xscoap.hello";ct=0;title="Greeting",' +
				'</time>;rt="xscoap.time";ct=0;obs;title="Current time (UTC, ISO 8601)",' +
				'</echo>;rt="xscoap.echo";title="Echoes POST and PUT payloads",' +
				'</counter>;rt="xscoap.counter";ct=0;obs;title="GET the value, POST to increment",' +
				'</large>;rt="xscoap.large";ct=0;sz=5500;title="A large text (RFC 7959 Block2 test)"',
		);
		// POST to it: the resource exists, the method is not allowed (RFC 7252 §5.9.2.6).
		assert.equal((await ask(p, { method: "POST", path: "/.well-known/core" })).codeText, "4.05");
		p.w.close();
	});

	it("/.well-known/core?rt= filters (exact and prefix; no match → empty 2.05)", async () => {
		const p = pair();
		let r = await ask(p, { uri: "coap://10.0.0.2/.well-known/core?rt=xscoap.counter" });
		assert.equal(r.text(), '</counter>;rt="xscoap.counter";ct=0;obs;title="GET the value, POST to increment"');
		r = await ask(p, { path: "/.well-known/core", query: ["rt=xscoap.t*"] });
		assert.equal(r.text(), '</time>;rt="xscoap.time";ct=0;obs;title="Current time (UTC, ISO 8601)"');
		r = await ask(p, { path: "/.well-known/core", query: ["rt=none"] });
		assert.equal(r.codeText, "2.05");
		assert.equal(r.payload.length, 0);
		p.w.close();
	});

	it("works the same between IPv6 hosts (fd00::1 → fd00::2)", async () => {
		const p = pair("fd00::1", "fd00::2");
		const r = await ask(p, { uri: "coap://[fd00::2]/hello" }, "fd00::2");
		assert.equal(r.codeText, "2.05");
		assert.equal(r.text(), "Hello, world!");
		assert.equal(r.address, "fd00::2");
		const r2 = await ask(p, { method: "POST", path: "/counter", confirmable: false }, "fd00::2");
		assert.equal(r2.text(), "1");
		const sends = p.w.trace.filter((e) => e.kind === "send");
		assert.deepEqual(
			sends.map((e) => e.fromAddress + ">" + e.toAddress),
			["fd00::1>fd00::2", "fd00::2>fd00::1", "fd00::1>fd00::2", "fd00::2>fd00::1"],
		);
		// Uri-Path only: an IP literal is not sent as Uri-Host (RFC 7252 §6.4 step 5).
		const q = decode(p.w.sent("fd00::1")[0]!.bytes);
		assert.deepEqual(q.options.map((o) => o.number), [OPT_URI_PATH]);
		// Retransmission and timeouts work over IPv6 too: the server goes away.
		p.server.close();
		const t = track(p.w.net, p.client.request({ address: "fd00::2", path: "/hello", options: [] }));
		await p.w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_TIMEOUT");
		assert.equal(p.w.sent("fd00::1").length, 2 + 5, "one request and four retransmissions");
		p.w.close();
	});

	it("POST /echo with no payload: 2.04 with no payload marker on the wire", async () => {
		const p = pair();
		const r = await ask(p, { method: "POST", path: "/echo", payload: "" });
		assert.equal(r.codeText, "2.04");
		assert.equal(r.payload.length, 0);
		const q = p.w.sent(CLIENT)[0]!.bytes;
		assert.equal(toHex(q.subarray(8)), "b46563686f", "the request: Uri-Path echo, no marker");
		const a = p.w.sent(SERVER)[0]!.bytes;
		assert.equal(a.length, 8, "the response: header and token only");
		assert.equal(text(decode(a)), "");
		p.w.close();
	});
});
