/**
 * xscoap's client (hosts/node openEndpoint, and the CLI) against a scripted peer: a node:dgram
 * socket that answers with hand-made datagrams, over real UDP loopback. Covers what ordinary
 * servers rarely do: Reset, separate responses and their retransmission, responses from the
 * wrong port or with the wrong MID (RFC 7252 §4.2, §4.5, §5.2.2, §5.3.2).
 */
import assert from "node:assert/strict";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import { CoapError } from "../../modules/coap/errors.js";
import { openEndpoint } from "../../hosts/node/ports.js";
import { ACK, CON, NON, RST, RawPeer, freeUdpPort, haveIpv6Loopback, header, killAll, sleep, xscoap, type Reply } from "./helpers.js";

/** Builds a response to the request in `req`: type, code byte, MID, the request's token, payload. */
function response(req: Reply, type: number, code: number, mid: number, payload = ""): Uint8Array {
	const h = header(req.bytes);
	const p = Buffer.from(payload, "utf8");
	return Uint8Array.from([0x40 | (type << 4) | h.token.length, code, mid >> 8, mid & 0xff, ...h.token, ...(p.length ? [0xff, ...p] : [])]);
}

function empty(type: number, mid: number): Uint8Array {
	return Uint8Array.of(0x40 | (type << 4), 0, mid >> 8, mid & 0xff);
}

describe("xscoap client against a scripted UDP peer", function () {
	this.timeout(20000);
	let peer: RawPeer;
	let other: RawPeer;
	let ep: Endpoint;

	beforeEach(async () => {
		peer = await RawPeer.open("udp4");
		other = await RawPeer.open("udp4");
		ep = await openEndpoint({ address: "127.0.0.1" });
	});

	afterEach(() => {
		ep?.close();
		peer?.close();
		other?.close();
	});

	after(() => killAll());

	const uri = (path = "/x") => "coap://127.0.0.1:" + peer.port + path;

	/** Waits for the request at the peer. */
	async function request(): Promise<Reply> {
		const r = await peer.next(3000);
		assert.ok(r, "the request did not arrive");
		return r;
	}

	it("a piggybacked 2.05 in the ACK resolves the request", async () => {
		const p = ep.request({ uri: uri("/a/b?q=1") });
		const req = await request();
		const h = header(req.bytes);
		assert.equal(h.type, CON);
		assert.equal(h.code, "0.01");
		assert.ok(h.token.length >= 1, "a request token (§5.3.1)");
		await peer.send(response(req, ACK, 0x45, h.mid, "piggy"), req.port);
		const res = await p;
		assert.equal(res.codeText, "2.05");
		assert.equal(res.text(), "piggy");
	});

	it("a Reset to the CON request rejects with COAP_RESET (§4.2)", async () => {
		const p = ep.request({ uri: uri() });
		const req = await request();
		await peer.send(empty(RST, header(req.bytes).mid), req.port);
		await assert.rejects(p, (e: unknown) => e instanceof CoapError && e.code === "COAP_RESET");
	});

	it("the CLI exits 3 when the server answers with Reset", async () => {
		const cli = xscoap(["get", uri(), "--timeout", "5"]);
		const req = await request();
		await peer.send(empty(RST, header(req.bytes).mid), req.port);
		const r = await cli;
		assert.equal(r.code, 3, r.stderr);
		assert.match(r.stderr, /COAP_RESET/);
	});

	it("empty ACK, then a separate CON response: the client ACKs it and resolves (§5.2.2)", async () => {
		const p = ep.request({ uri: uri() });
		const req = await request();
		await peer.send(empty(ACK, header(req.bytes).mid), req.port);
		await sleep(100);
		await peer.send(response(req, CON, 0x45, 0x7001, "separate"), req.port);
		const res = await p;
		assert.equal(res.text(), "separate");
		assert.equal(res.type, CON);
		const ack = await peer.next(2000);
		assert.ok(ack, "the separate CON response was not acknowledged");
		assert.deepEqual([...ack.bytes], [...empty(ACK, 0x7001)]);
	});

	it("a retransmitted separate CON response is acknowledged again (§4.5)", async () => {
		const p = ep.request({ uri: uri() });
		const req = await request();
		await peer.send(empty(ACK, header(req.bytes).mid), req.port);
		const sep = response(req, CON, 0x45, 0x7002, "twice");
		await peer.send(sep, req.port);
		assert.equal((await p).text(), "twice");
		const ack1 = await peer.next(2000);
		await peer.send(sep, req.port); // as if our ACK had been lost
		const ack2 = await peer.next(2000);
		assert.ok(ack1 && ack2, "each copy gets an ACK");
		assert.deepEqual([...ack2.bytes], [...empty(ACK, 0x7002)]);
	});

	it("the CON request is retransmitted with the same MID and token while unanswered (§4.2)", async () => {
		const p = ep.request({ uri: uri(), timeoutMs: 10000 });
		const first = await request();
		const again = await peer.next(5000); // ACK_TIMEOUT 2..3 s
		assert.ok(again, "no retransmission");
		assert.deepEqual(again.bytes, first.bytes);
		await peer.send(response(first, ACK, 0x45, header(first.bytes).mid, "late"), first.port);
		assert.equal((await p).text(), "late");
	});

	it("a NON request gets a NON response matched by token (§5.2.3)", async () => {
		const p = ep.request({ uri: uri(), confirmable: false });
		const req = await request();
		assert.equal(header(req.bytes).type, NON);
		await peer.send(response(req, NON, 0x45, 0x7003, "non"), req.port);
		const res = await p;
		assert.equal(res.text(), "non");
		assert.equal(res.type, NON);
	});

	it("a response from another port (same token) is not taken as the response (§5.3.2)", async () => {
		const p = ep.request({ uri: uri(), confirmable: false, timeoutMs: 5000 });
		const req = await request();
		// The impostor sends the right token from the wrong endpoint.
		await other.send(response(req, NON, 0x45, 0x7004, "impostor"), req.port);
		await sleep(200);
		await peer.send(response(req, NON, 0x45, 0x7005, "genuine"), req.port);
		assert.equal((await p).text(), "genuine");
	});

	it("a piggybacked ACK with the right token but another MID is ignored (§5.3.2)", async () => {
		const p = ep.request({ uri: uri(), timeoutMs: 5000 });
		const req = await request();
		const mid = header(req.bytes).mid;
		await peer.send(response(req, ACK, 0x45, (mid + 1) & 0xffff, "wrong mid"), req.port);
		await sleep(200);
		await peer.send(response(req, ACK, 0x45, mid, "right mid"), req.port);
		assert.equal((await p).text(), "right mid");
	});

	it("an unsolicited NON response is answered with Reset and does not disturb a pending request", async () => {
		const p = ep.request({ uri: uri(), confirmable: false, timeoutMs: 5000 });
		const req = await request();
		const stray = Uint8Array.from([0x52, 0x45, 0x70, 0x06, 0xde, 0xad, 0xff, 0x41]);
		await peer.send(stray, req.port);
		const rst = await peer.next(2000);
		assert.ok(rst, "no Reset");
		assert.deepEqual([...rst.bytes], [...empty(RST, 0x7006)]);
		await peer.send(response(req, NON, 0x45, 0x7007, "ok"), req.port);
		assert.equal((await p).text(), "ok");
	});

	it("a 4.04 response resolves (not rejects) with ok === false", async () => {
		const p = ep.request({ uri: uri() });
		const req = await request();
		await peer.send(response(req, ACK, 0x84, header(req.bytes).mid), req.port);
		const res = await p;
		assert.equal(res.codeText, "4.04");
		assert.equal(res.ok, false);
	});

	it("closing the endpoint with a request outstanding rejects it with COAP_CLOSED", async () => {
		const p = ep.request({ uri: uri() });
		await request();
		ep.close();
		await assert.rejects(p, (e: unknown) => e instanceof CoapError && e.code === "COAP_CLOSED");
	});

	it("a closed port (ICMP port unreachable on loopback) rejects at once with COAP_UNREACHABLE, the request sent once", async () => {
		const closed = await freeUdpPort("127.0.0.1");
		// A 60 s timeout: a rejection within the test's timeout can only come from the ICMP error.
		const e = await ep.request({ uri: "coap://127.0.0.1:" + closed + "/x", timeoutMs: 60000 }).then(
			() => assert.fail("resolved"),
			(x: unknown) => x,
		);
		assert.ok(e instanceof CoapError);
		assert.equal(e.code, "COAP_UNREACHABLE");
		assert.equal((e.cause as { unreachable?: string }).unreachable, "port");
		assert.match(e.message, new RegExp("nothing listens on 127\\.0\\.0\\.1:" + closed));
		assert.equal(ep.clientSlotsInUse, 0);
		// The same endpoint still reaches a live peer afterwards.
		const p = ep.request({ uri: uri() });
		const req = await request();
		await peer.send(response(req, ACK, 0x45, header(req.bytes).mid, "still"), req.port);
		assert.equal((await p).text(), "still");
	});

	it("connectPeers: 0 (one socket for every peer) reports no ICMP error: the request times out", async () => {
		const single = await openEndpoint({ address: "127.0.0.1", connectPeers: 0 });
		try {
			const closed = await freeUdpPort("127.0.0.1");
			await assert.rejects(single.request({ uri: "coap://127.0.0.1:" + closed + "/x", timeoutMs: 300 }), (x: unknown) => x instanceof CoapError && x.code === "COAP_TIMEOUT");
		} finally {
			single.close();
		}
	});
});

describe("xscoap client: address forms over real UDP loopback (issue 8, defect 9)", function () {
	this.timeout(20000);

	it("[0:0:0:0:0:0:0:1], [::1%25lo] and [::ffff:127.0.0.1] reach a server and their responses match", async () => {
		const { Router } = await import("../../modules/coap/server/router.js");
		const router = new Router();
		router.add("/hello", { get: (_q, res) => res.send(0x45, "hi") });
		const six = await haveIpv6Loopback();
		const server = await openEndpoint({ address: six ? "::" : "0.0.0.0", router });
		const client = await openEndpoint({ address: six ? "::" : "0.0.0.0" });
		try {
			const uris = ["coap://[::ffff:127.0.0.1]:" + server.port + "/hello", "coap://127.0.0.1:" + server.port + "/hello"];
			if (six) uris.push("coap://[0:0:0:0:0:0:0:1]:" + server.port + "/hello", "coap://[::1%25lo]:" + server.port + "/hello", "coap://[0000::0001]:" + server.port + "/hello");
			for (const u of uris) {
				const res = await client.request({ uri: u, timeoutMs: 3000 });
				assert.equal(res.text(), "hi", u);
			}
			assert.ok(six || uris.length === 2);
		} finally {
			client.close();
			server.close();
		}
	});
});
