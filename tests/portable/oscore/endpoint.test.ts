// OSCORE joined to the endpoint (RFC 8613 §8): client and server Endpoints on the virtual
// network, the server with a security context, the client choosing its context by URI. Every
// test looks at the wire as well (through the network trace or a relay in the middle): what
// goes out is protected, what comes back is verified before anyone sees it, and the plain
// message layer (retransmission, dedup, separate responses, block-wise, Observe) works on
// protected traffic unchanged.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { CoapError, type OscoreFailure } from "../../../modules/coap/errors.js";
import { Endpoint } from "../../../modules/coap/endpoint.js";
import { Router } from "../../../modules/coap/server/router.js";
import { SecurityContext, type SecurityContextParams } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import { OPT_OBSERVE, OPT_OSCORE, OPT_URI_PATH } from "../../../modules/coap/options.js";
import { ACK, CLIENT, CON, COAP, NON, SERVER, World, c, decode, encode, microtasks, opt, sleep, text, track, valueOf, type Msg, type Outcome } from "../endpoint/harness.js";
import { MemoryStore } from "./fixtures.js";
import { Oscore } from "../../../modules/coap/oscore/oscore.js";
import { RequestBinding } from "../../../modules/coap/oscore/binding.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";

const SECRET = hex("0102030405060708090a0b0c0d0e0f10");
const SALT = hex("9e7ca92223786340");

/** The client and server sides of one context (the interop test spec's A and B). */
function pair(extra: Partial<SecurityContextParams> = {}, serverExtra: Partial<SecurityContextParams> = {}): { client: SecurityContext; server: SecurityContext } {
	const base = { masterSecret: SECRET, masterSalt: SALT, ...extra };
	return {
		client: new SecurityContext({ senderId: hex(""), recipientId: hex("01"), label: "server", ...base }, nobleCrypto),
		server: new SecurityContext({ senderId: hex("01"), recipientId: hex(""), label: "client", ...base, ...serverExtra }, nobleCrypto),
	};
}

interface Rig {
	w: World;
	server: Endpoint;
	client: Endpoint;
	ctx: { client: SecurityContext; server: SecurityContext };
	router: Router;
	seen: string[];
}

/** A server with /plain (any), /secret (requireOscore), /obs (observable), /big (2,500 bytes), /slow (async). */
function rig(options: { pair?: { client: SecurityContext; server: SecurityContext }; world?: World; clientPatterns?: string[] } = {}): Rig {
	const w = options.world ?? new World();
	const ctx = options.pair ?? pair();
	const seen: string[] = [];
	const router = new Router();
	let state = 0;
	const big = "0123456789".repeat(250);
	router.add("/plain", { get: (req, res) => { seen.push("plain " + (req.oscore?.label ?? "-")); res.send(c("2.05"), "plain text"); } });
	router.add("/secret", { requireOscore: true, get: (req, res) => { seen.push("secret " + req.oscore!.label); res.send(c("2.05"), "secret text"); }, put: (req, res) => { seen.push("put " + req.text().length); res.code = c("2.04"); } });
	router.add("/obs", { obs: true, requireOscore: true, get: (req, res) => res.send(c("2.05"), "state " + state) });
	router.add("/big", { get: (req, res) => res.send(c("2.05"), big) });
	router.add("/slow", { get: async (req, res) => { await sleep(w.net, 500); res.send(c("2.05"), "late " + (req.oscore?.label ?? "-")); } });
	router.add("/sink", { put: (req, res) => { seen.push("sink " + (req.oscore?.label ?? "-") + " " + req.text()); res.code = c("2.04"); } });
	router.add("/bump", { post: (req, res) => { state++; router.changed("/obs"); res.code = c("2.04"); } });
	const server = w.endpoint(SERVER, { router, oscore: { contexts: [ctx.server] } });
	const client = w.endpoint(CLIENT, { port: 0, oscore: { credentials: Object.fromEntries((options.clientPatterns ?? ["coap://" + SERVER + "/*"]).map((p) => [p, ctx.client])) } });
	return { w, server, client, ctx, router, seen };
}

function uri(path: string): string {
	return "coap://" + SERVER + path;
}

/** The datagrams sent by `from` (decoded). */
function sentBy(w: World, from: string): Msg[] {
	return w.sent(from).map((e) => decode(e.bytes));
}

function failure(o: Outcome<unknown>): OscoreFailure {
	assert.ok(o.rejected, "rejected");
	const e = o.error as CoapError;
	assert.ok(e instanceof CoapError, "a CoapError: " + String(e));
	assert.equal(e.code, "COAP_OSCORE");
	return e.cause as OscoreFailure;
}

describe("oscore/endpoint: protected requests and responses (RFC 8613 §8)", () => {
	it("a GET to a URI with credentials goes out protected (POST, OSCORE option, no Uri-Path or payload in the clear), the handler sees the context, the response comes back protected and is delivered plain", async () => {
		const r = rig();
		const t = track(r.w.net, r.client.request({ uri: uri("/secret") }));
		await r.w.net.runUntilIdle();
		const res = valueOf(t);
		assert.equal(res.code, c("2.05"));
		assert.equal(res.text(), "secret text");
		assert.deepEqual(res.options.map((o) => o.number), [], "no OSCORE or outer options are delivered");
		assert.deepEqual(r.seen, ["secret client"]);
		const [req] = sentBy(r.w, CLIENT);
		assert.equal(req!.code, c("0.02"), "§4.2: Outer Code POST");
		assert.deepEqual(req!.options.map((o) => o.number), [OPT_OSCORE]);
		assert.ok(!text(req!.payload).includes("secret"));
		const [resp] = sentBy(r.w, SERVER);
		assert.equal(resp!.code, c("2.04"), "§4.2: Outer Code 2.04");
		assert.equal(resp!.type, ACK);
		assert.deepEqual(resp!.options.map((o) => o.number), [OPT_OSCORE]);
		assert.equal(toHex(opt(resp!, OPT_OSCORE)!), "", "§6.1: the first response uses the request's nonce: an empty OSCORE option");
		assert.ok(!text(resp!.payload).includes("secret text"));
		r.w.close();
	});

	it("requireOscore: an unprotected request gets 4.01 whatever the method; a resource without it answers both, protected requests inside the protection", async () => {
		const r = rig();
		const plainGet = track(r.w.net, r.client.request({ uri: uri("/secret"), oscore: null }));
		const plainDelete = track(r.w.net, r.client.request({ uri: uri("/secret"), method: "DELETE", oscore: null }));
		const open = track(r.w.net, r.client.request({ uri: uri("/plain"), oscore: null }));
		const inside = track(r.w.net, r.client.request({ uri: uri("/plain") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(plainGet).code, c("4.01"));
		assert.equal(valueOf(plainGet).text(), "OSCORE required");
		assert.equal(valueOf(plainDelete).code, c("4.01"), "not 4.05: nothing is told about the resource");
		assert.equal(valueOf(open).text(), "plain text");
		assert.equal(valueOf(inside).text(), "plain text");
		assert.deepEqual(r.seen, ["plain -", "plain client"]);
		const sent = sentBy(r.w, CLIENT);
		assert.equal(sent.filter((m) => opt(m, OPT_OSCORE) !== undefined).length, 1, "only the request without oscore: null is protected");
		r.w.close();
	});

	it("the credentials pick the context by URI (longest pattern first); no match: unprotected", async () => {
		const r = rig({ clientPatterns: ["coap://" + SERVER + "/sec*", "coap://" + SERVER + ":5683/plain"] });
		const a = track(r.w.net, r.client.request({ uri: uri("/secret") }));
		const b = track(r.w.net, r.client.request({ uri: uri("/plain") }));
		const d = track(r.w.net, r.client.request({ uri: uri("/big") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(a).text(), "secret text");
		assert.equal(valueOf(b).text(), "plain text");
		assert.equal(valueOf(d).payload.length, 2500);
		assert.deepEqual(r.seen, ["secret client", "plain client"], "the pattern naming port 5683 matched too");
		r.w.close();
	});

	it("stack answers (4.04, 4.05) and a separate response to an async handler are protected too", async () => {
		const r = rig();
		const nf = track(r.w.net, r.client.request({ uri: uri("/nothing") }));
		const na = track(r.w.net, r.client.request({ uri: uri("/plain"), method: "PUT", payload: "x" }));
		const slow = track(r.w.net, r.client.request({ uri: uri("/slow") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(nf).code, c("4.04"));
		assert.equal(valueOf(na).code, c("4.05"));
		assert.equal(valueOf(slow).text(), "late client");
		const fromServer = sentBy(r.w, SERVER);
		const withCode = fromServer.filter((m) => m.code !== 0);
		assert.ok(withCode.length >= 3);
		for (const m of withCode) assert.ok(opt(m, OPT_OSCORE) !== undefined, "every response carries OSCORE: " + m.code);
		assert.ok(fromServer.some((m) => m.code === 0 && m.type === ACK), "the empty ACK before the separate response (not protected, §4.2)");
		assert.ok(withCode.some((m) => m.type === CON), "the separate response is a CON");
		r.w.close();
	});

	it("a retransmission repeats the same protected bytes; a duplicate CON gets the cached protected reply, not 'Replay detected'", async () => {
		const w = new World();
		const r = rig({ world: w });
		// The first response is lost: the client retransmits the request (same MID), the server's dedup answers it.
		w.net.setLink(SERVER, CLIENT, { loss: 1 });
		const t = track(w.net, r.client.request({ uri: uri("/secret") }));
		while (w.sent(SERVER).length === 0) await w.net.step();
		w.net.setLink(SERVER, CLIENT, null);
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "secret text");
		const reqs = w.sent(CLIENT).map((e) => toHex(e.bytes));
		assert.equal(reqs.length, 2);
		assert.equal(reqs[0], reqs[1], "§4.2: the same bytes (the same Partial IV)");
		const replies = w.sent(SERVER).map((e) => toHex(e.bytes));
		assert.equal(replies.length, 2);
		assert.equal(replies[0], replies[1], "§4.5: the cached reply, identical");
		assert.deepEqual(r.seen, ["secret client"], "the handler ran once");
		r.w.close();
	});

	it("block-wise inside OSCORE: a 2,500-byte response in Inner Block2 blocks, a 3,000-byte PUT in Inner Block1 blocks with 2.31 Continue, each block its own protected exchange", async () => {
		const r = rig();
		const get = track(r.w.net, r.client.request({ uri: uri("/big") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(get).text(), "0123456789".repeat(250));
		const put = track(r.w.net, r.client.request({ uri: uri("/secret"), method: "PUT", payload: "x".repeat(3000) }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(put).code, c("2.04"));
		assert.deepEqual(r.seen, ["put 3000"]);
		const reqs = sentBy(r.w, CLIENT);
		assert.equal(reqs.length, 3 + 3, "3 GET blocks, 3 PUT blocks");
		for (const m of reqs) {
			assert.deepEqual(m.options.map((o) => o.number), [OPT_OSCORE], "Block options are Inner (§4.1.3.4.1)");
			assert.equal(m.code, c("0.02"));
		}
		const pivs = reqs.map((m) => toHex(opt(m, OPT_OSCORE)!));
		assert.equal(new Set(pivs).size, pivs.length, "every block request has its own Partial IV");
		for (const m of sentBy(r.w, SERVER)) assert.deepEqual(m.options.map((o) => o.number), [OPT_OSCORE], "2.31 and the blocks are protected");
		r.w.close();
	});
});

describe("oscore/endpoint: Observe (RFC 8613 §4.1.3.5)", () => {
	it("notifications are protected with Partial IVs of their own, delivered in order; cancel() deregisters with a new Partial IV; a renewal too", async () => {
		const r = rig();
		const got: string[] = [];
		const obs = r.client.observe({ uri: uri("/obs") }, (n) => got.push(n.text()));
		await r.w.net.runFor(2000);
		for (let i = 0; i < 3; i++) {
			track(r.w.net, r.client.request({ uri: uri("/bump"), method: "POST" }));
			await r.w.net.runFor(2000);
		}
		await microtasks();
		assert.deepEqual(got, ["state 0", "state 1", "state 2", "state 3"]);
		const notifications = sentBy(r.w, SERVER).filter((m) => opt(m, OPT_OBSERVE) !== undefined);
		assert.ok(notifications.length >= 4);
		for (const m of notifications) assert.equal(m.code, c("2.05"), "§4.1.3.5: Outer Code 2.05 for notifications");
		const pivs = notifications.slice(1).map((m) => toHex(opt(m, OPT_OSCORE)!));
		for (const p of pivs) assert.ok(p.length >= 4, "a notification carries a Partial IV: " + p);
		assert.equal(toHex(opt(notifications[0]!, OPT_OSCORE)!), "", "the first response uses the registration's nonce");
		const cancelled = track(r.w.net, obs.cancel());
		await r.w.net.runFor(2000);
		assert.equal(valueOf(cancelled), null);
		assert.equal(r.server.observersInUse, 0);
		assert.equal(obs.cancelResponse?.text(), "state 3");
		const regs = sentBy(r.w, CLIENT).filter((m) => opt(m, OPT_OBSERVE) !== undefined);
		assert.equal(regs.length, 2, "the registration and the deregistration");
		assert.notEqual(toHex(opt(regs[0]!, OPT_OSCORE)!), toHex(opt(regs[1]!, OPT_OSCORE)!));
		r.w.close();
	});

	it("a registration is renewed when Max-Age passes in silence (RFC 7641 §3.3.1): protected anew with a new Partial IV, and notifications keep coming in order", async () => {
		const r = rig();
		const got: string[] = [];
		r.client.observe({ uri: uri("/obs") }, (n) => got.push(n.text()));
		await r.w.net.runFor(70000); // default Max-Age 60 s: the client renews
		const regs = sentBy(r.w, CLIENT).filter((m) => opt(m, OPT_OBSERVE) !== undefined);
		assert.equal(regs.length, 2, "the registration and its renewal");
		assert.notEqual(toHex(opt(regs[0]!, OPT_OSCORE)!), toHex(opt(regs[1]!, OPT_OSCORE)!), "a new Partial IV (the old one would be a replay)");
		assert.equal(r.server.observersInUse, 1, "the same token: one observer");
		track(r.w.net, r.client.request({ uri: uri("/bump"), method: "POST" }));
		await r.w.net.runFor(2000);
		assert.deepEqual(got, ["state 0", "state 0", "state 1"], "the renewal's answer is a notification (RFC 7641 §3.3.1, as without OSCORE), then the next one");
		r.w.close();
	});

	it("a notification larger than one block: its first block comes protected, the rest is fetched with protected Block2 requests", async () => {
		const w = new World();
		const ctx = pair();
		const router = new Router();
		let n = 0;
		const big = router.add("/bigobs", { obs: true, requireOscore: true, get: (req, res) => res.send(c("2.05"), String(n).repeat(2000)) });
		w.endpoint(SERVER, { router, oscore: { contexts: [ctx.server] } });
		const client = w.endpoint(CLIENT, { port: 0, oscore: { credentials: { "coap://*": ctx.client } } });
		const got: string[] = [];
		client.observe({ uri: uri("/bigobs") }, (r) => got.push(r.text().slice(0, 3) + r.payload.length));
		await w.net.runFor(2000);
		n = 7;
		big.changed();
		await w.net.runFor(2000);
		assert.deepEqual(got, ["0002000", "7772000"]);
		for (const m of sentBy(w, CLIENT)) assert.ok(opt(m, OPT_OSCORE) !== undefined || m.code === 0, "every request protected");
		w.close();
	});

	it("an unprotected Observe=1 with the observation's token does not end a protected observation; an unprotected registration cannot reach a requireOscore resource", async () => {
		const r = rig();
		const got: string[] = [];
		r.client.observe({ uri: uri("/obs") }, (n) => got.push(n.text()));
		await r.w.net.runFor(2000);
		const reg = sentBy(r.w, CLIENT)[0]!;
		// From the client's own address and port (a raw datagram on its socket), with the token.
		(r.client.socket as unknown as { write(b: Uint8Array, a: string, p: number): void }).write(encode({ type: CON, code: 1, mid: 77, token: reg.token, options: [[OPT_OBSERVE, 1], [OPT_URI_PATH, "obs"]] }), SERVER, COAP);
		await r.w.net.runFor(2000);
		assert.equal(r.server.observersInUse, 1, "the protected observation is still there");
		track(r.w.net, r.client.request({ uri: uri("/bump"), method: "POST" }));
		await r.w.net.runFor(2000);
		assert.deepEqual(got, ["state 0", "state 1"]);
		const plain: number[] = [];
		const obs = r.client.observe({ uri: uri("/obs"), oscore: null }, (n) => plain.push(n.code));
		await r.w.net.runFor(2000);
		assert.deepEqual(plain, [c("4.01")]);
		assert.equal(obs.active, false);
		assert.equal(r.server.observersInUse, 1);
		r.w.close();
	});
});

describe("oscore/endpoint: failures (RFC 8613 §8.2, §8.4)", () => {
	it("an unknown kid → unprotected 4.01 'Security context not found' (Max-Age 0); the client gets COAP_OSCORE with that response, never a payload", async () => {
		const r = rig({ pair: pair({}, {}) });
		const stranger = new SecurityContext({ masterSecret: SECRET, masterSalt: SALT, senderId: hex("aa"), recipientId: hex("01") }, nobleCrypto);
		const t = track(r.w.net, r.client.request({ uri: uri("/secret"), oscore: stranger }));
		await r.w.net.runUntilIdle();
		const f = failure(t);
		assert.equal(f.status, "OSCORE_NOT_PROTECTED");
		assert.equal(f.response!.code, c("4.01"));
		assert.equal(f.response!.text(), "Security context not found");
		assert.equal(f.response!.maxAge, 0);
		assert.deepEqual(r.seen, []);
		r.w.close();
	});

	it("a wrong key (same IDs) → 4.00 'Decryption failed'; a wrong recipient key on the client → the response fails verification, COAP_OSCORE, nothing delivered", async () => {
		const r = rig();
		const wrongSender = new SecurityContext({ masterSecret: hex("ffffffffffffffffffffffffffffffff"), masterSalt: SALT, senderId: hex(""), recipientId: hex("01") }, nobleCrypto);
		const t = track(r.w.net, r.client.request({ uri: uri("/secret"), oscore: wrongSender }));
		await r.w.net.runUntilIdle();
		const f = failure(t);
		assert.equal(f.response!.code, c("4.00"));
		assert.equal(f.response!.text(), "Decryption failed");
		// The right Sender Key, a wrong Recipient Key: the server answers, the client cannot verify.
		const ctx = r.ctx.client;
		const saved = ctx.recipient;
		ctx.recipient = nobleCrypto.aead(new Uint8Array(16).fill(0xa5));
		const u = track(r.w.net, r.client.request({ uri: uri("/secret") }));
		await r.w.net.runUntilIdle();
		ctx.recipient = saved;
		const g = failure(u);
		assert.equal(g.status, "OSCORE_DECRYPT");
		assert.equal(g.response, null, "nothing of an unverified response is released");
		assert.deepEqual(r.seen, ["secret client"], "the server did answer");
		const ok = track(r.w.net, r.client.request({ uri: uri("/secret") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(ok).text(), "secret text", "the context goes on working");
		r.w.close();
	});

	it("a replayed request (the same protected bytes, another Message ID) → unprotected 4.01 'Replay detected'; the handler does not run again", async () => {
		const r = rig();
		await Promise.all([r.client.request({ uri: uri("/secret") }), r.w.net.runUntilIdle()]);
		const original = r.w.sent(CLIENT)[0]!.bytes.slice();
		original[2] ^= 0x55; // another MID: not a CoAP duplicate
		const attacker = r.w.peer();
		attacker.send(original);
		await r.w.net.runUntilIdle();
		const [reply] = attacker.messages();
		assert.equal(reply!.code, c("4.01"));
		assert.equal(text(reply!), "Replay detected");
		assert.equal(opt(reply!, OPT_OSCORE), undefined, "§8.2: error responses are not protected");
		assert.deepEqual(r.seen, ["secret client"]);
		r.w.close();
	});

	it("a malformed OSCORE option → 4.02 'Failed to decode COSE'; an OSCORE option without payload too; a NON gets its error as NON", async () => {
		const r = rig();
		const attacker = r.w.peer();
		attacker.send(encode({ type: CON, code: c("0.02"), mid: 1, token: "01", options: [[OPT_OSCORE, hex("07")]], payload: "xxxxxxxxxx" }));
		attacker.send(encode({ type: CON, code: c("0.02"), mid: 2, token: "02", options: [[OPT_OSCORE, hex("0900")]] }));
		attacker.send(encode({ type: NON, code: c("0.02"), mid: 3, token: "03", options: [[OPT_OSCORE, hex("0905ff")]], payload: "xxxxxxxxxxxx" }));
		await r.w.net.runUntilIdle();
		const m = attacker.messages();
		assert.deepEqual(m.map((x) => [x.type, x.code, text(x)]), [
			[ACK, c("4.02"), "Failed to decode COSE"],
			[ACK, c("4.02"), "Failed to decode COSE"],
			[NON, c("4.01"), "Security context not found"],
		]);
		r.w.close();
	});

	it("a response without OSCORE to a protected request is an error (COAP_OSCORE), also a 2.05", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0, oscore: { credentials: { "coap://*": pair().client } } });
		const peer = w.peer(SERVER, COAP);
		peer.onReceive = (x, p) => {
			const m = decode(x.bytes);
			if (m.type === CON) p.send(encode({ type: ACK, code: c("2.05"), mid: m.mid, token: m.token, payload: "forged" }), x.address, x.port);
		};
		const t = track(w.net, client.request({ uri: uri("/x") }));
		await w.net.runUntilIdle();
		const f = failure(t);
		assert.equal(f.response!.text(), "forged");
		assert.match((t.error as Error).message, /without OSCORE protection/);
		w.close();
	});

	it("every single bit flipped in a protected response is detected: the request ends with COAP_OSCORE (or the flipped datagram is dropped), never with a payload", async () => {
		const w = new World();
		const r = rig({ world: w });
		// Capture one protected response.
		await Promise.all([r.client.request({ uri: uri("/secret") }), w.net.runUntilIdle()]);
		const good = w.sent(SERVER)[0]!.bytes.slice();
		const headerLength = 4 + (good[0]! & 0x0f);
		let detected = 0;
		for (let bit = headerLength * 8; bit < good.length * 8; bit++) {
			const bad = good.slice();
			bad[bit >> 3]! ^= 0x80 >> (bit & 7);
			// A raw server that answers the next request with the tampered bytes (its token and MID).
			const w2 = new World();
			const ctx = pair();
			const client = w2.endpoint(CLIENT, { port: 0, oscore: { credentials: { "coap://*": ctx.client } } });
			// Make the client's request use the same Partial IV (0) as the captured one: a fresh context.
			const peer = w2.peer(SERVER, COAP);
			peer.onReceive = (x, p) => {
				const m = decode(x.bytes);
				if (m.type !== CON || m.code === 0) return;
				const reply = bad.slice();
				reply[0] = (reply[0]! & 0xf0) | (m.token.length / 2);
				const out = new Uint8Array(4 + m.token.length / 2 + reply.length - headerLength);
				out.set(reply.subarray(0, 4));
				out[0] = (ACK << 4) | 0x40 | (m.token.length / 2);
				out[2] = m.mid >> 8;
				out[3] = m.mid & 0xff;
				out.set(hex(m.token), 4);
				out.set(reply.subarray(headerLength), 4 + m.token.length / 2);
				p.send(out, x.address, x.port);
			};
			const t = track(w2.net, client.request({ uri: uri("/secret"), timeoutMs: 3000 }));
			await w2.net.runUntilIdle();
			assert.ok(t.rejected, "bit " + bit + ": not delivered");
			const code = (t.error as CoapError).code;
			assert.ok(code === "COAP_OSCORE" || code === "COAP_TIMEOUT", "bit " + bit + ": " + code);
			if (code === "COAP_OSCORE") detected++;
			w2.close();
		}
		assert.ok(detected > (good.length - headerLength) * 8 * 0.9, "most flips end the request at once: " + detected);
		w.close();
	});
});

describe("oscore/endpoint: what cannot be protected", () => {
	it("a response that fits plain but not once protected becomes a protected 5.00; a context whose sequence numbers cannot be stored answers an unprotected 5.00 where it needs one", async () => {
		const w = new World();
		const ctx = pair();
		const router = new Router();
		// 150 bytes of options: the plain response fits 160 bytes, the protected one (OSCORE option, code, tag) does not.
		router.add("/wide", { get: (req, res) => { res.code = c("2.05"); res.option(2050, "x".repeat(140)); } });
		w.endpoint(SERVER, { router, limits: { maxMessageSize: 160 }, oscore: { contexts: [ctx.server] } });
		const client = w.endpoint(CLIENT, { port: 0, oscore: { credentials: { "coap://*": ctx.client } } });
		const t = track(w.net, client.request({ uri: uri("/wide") }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t).code, c("5.00"));
		assert.equal(valueOf(t).text(), "response could not be protected");
		assert.ok(opt(sentBy(w, SERVER)[0]!, OPT_OSCORE) !== undefined, "still protected");
		w.close();
		// A server context after a reboot (B.1.2 needs a Partial IV of its own) whose store fails.
		const w2 = new World();
		const store = new MemoryStore();
		const params = { masterSecret: SECRET, masterSalt: SALT, senderId: hex("01"), recipientId: hex("") };
		new SecurityContext({ ...params, sequence: { store, key: "b" } }, nobleCrypto);
		const broken = new SecurityContext({ ...params, sequence: { store, key: "b" } }, nobleCrypto);
		store.failWrites = true;
		const r = rig({ world: w2, pair: { client: pair().client, server: broken } });
		const u = track(w2.net, r.client.request({ uri: uri("/secret") }));
		await w2.net.runUntilIdle();
		const f = failure(u);
		assert.equal(f.response!.code, c("5.00"), "§8.3: nothing can be protected: an unprotected 5.00");
		assert.equal(f.response!.maxAge, 0);
		assert.deepEqual(r.seen, []);
		w2.close();
	});
});

describe("oscore/endpoint: block transfers are kept apart by security context", () => {
	it("an unprotected Block1 block never joins a protected upload (same peer, same path, no Request-Tag)", async () => {
		const r = rig();
		const ctx = pair().client;
		const engine = new Oscore({ contexts: 1 });
		const binding = new RequestBinding();
		const plain = new MessageWriter(new Uint8Array(256));
		const wire = new MessageWriter(new Uint8Array(256));
		const view = new MessageView(16);
		const peer = r.w.peer();
		/** PUT /sink with Block1 (num, more, SZX 0: 16 bytes), protected or not. */
		const block = (mid: number, num: number, more: boolean, body: string, protect: boolean): Uint8Array => {
			plain.header(CON, c("0.03"), mid, hex("b1"), 0, 1).stringOption(OPT_URI_PATH, "sink").uintOption(27, (num << 4) | (more ? 8 : 0)).payloadText(body);
			const n = plain.finish();
			if (!protect) return plain.buf.slice(0, n);
			view.parse(plain.buf, n);
			const len = engine.protectRequest(view, ctx, wire, binding);
			return wire.buf.slice(0, len);
		};
		peer.send(block(1, 0, true, "protected-block0", true));
		await r.w.net.runUntilIdle();
		peer.send(block(2, 1, false, "INJECTED", false));
		await r.w.net.runUntilIdle();
		const injected = peer.messages()[1]!;
		assert.equal(injected.code, c("4.08"), "no unprotected transfer to continue");
		peer.send(block(3, 1, false, "tail", true));
		await r.w.net.runUntilIdle();
		assert.deepEqual(r.seen, ["sink client protected-block0tail"]);
		r.w.close();
	});
});

describe("oscore/endpoint: a repeated protected CON whose reply left the dedup ring", () => {
	it("gets the unprotected 5.03, never a block kept from an unprotected POST of the same peer (the outer POST names no resource)", async () => {
		const w = new World();
		const ctx = pair();
		const router = new Router();
		let protectedPosts = 0;
		router.add("/", { post: (_req, res) => res.send(c("2.05"), "k".repeat(2500)) }); // kept for its later blocks (Block2)
		router.add("/p", { post: (_req, res) => { protectedPosts++; res.send(c("2.04"), "ok"); } });
		router.add("/g", { get: (_req, res) => res.send(c("2.05"), "g") });
		// One small reply fits the ring at a time: the next one evicts it.
		w.endpoint(SERVER, { router, oscore: { contexts: [ctx.server] }, limits: { dedupCacheBytes: 30 } });
		const engine = new Oscore({ contexts: 1 });
		const binding = new RequestBinding();
		const plain = new MessageWriter(new Uint8Array(256));
		const wire = new MessageWriter(new Uint8Array(256));
		const view = new MessageView(16);
		plain.header(CON, c("0.02"), 2, hex("b2"), 0, 1).stringOption(OPT_URI_PATH, "p").payloadText("x");
		view.parse(plain.buf, plain.finish());
		const protectedPost = wire.buf.slice(0, engine.protectRequest(view, ctx.client, wire, binding));
		const peer = w.peer();
		peer.send(encode({ type: CON, code: c("0.02"), mid: 1, token: "b1" })); // unprotected POST to "/": 2,500 bytes kept
		await w.net.runUntilIdle();
		assert.equal(peer.messages()[0]!.code, c("2.05"));
		peer.send(protectedPost);
		await w.net.runUntilIdle();
		assert.equal(protectedPosts, 1);
		peer.send(encode({ type: CON, code: c("0.01"), mid: 3, token: "b3", options: [[OPT_URI_PATH, "g"]] })); // its reply evicts the protected one (records: 4-byte header + reply)
		await w.net.runUntilIdle();
		peer.send(protectedPost); // the same MID again: a repeat whose reply is gone
		await w.net.runUntilIdle();
		const m = peer.messages()[3]!;
		assert.equal(m.code, c("5.03"));
		assert.equal(m.mid, 2);
		assert.equal(text(m), "reply no longer cached");
		assert.equal(opt(m, OPT_OSCORE), undefined, "unprotected");
		assert.equal(protectedPosts, 1, "not processed again");
		w.close();
	});
});

describe("oscore/endpoint: Appendix B.2 (a context renewed with random ID Contexts)", () => {
	it("the client starts from a random ID1; the server answers 4.01 with R2; the client derives R2 || R3 and repeats the request by itself; both ends then hold the new context", async () => {
		const idc = hex("0001");
		const ctx = pair({ idContext: idc, b2: true });
		const w2 = new World();
		const router = new Router();
		router.add("/led", { put: (req, res) => { res.code = c("2.04"); res.payload = "led " + req.text(); } });
		w2.endpoint(SERVER, { router, oscore: { contexts: [ctx.server], b2: true } });
		const client = w2.endpoint(CLIENT, { port: 0, oscore: { credentials: { ["coap://" + SERVER + "/*"]: ctx.client }, b2: true } });
		ctx.client.rederive(hex("1111111111111111")); // step 1: ID1 = R1 (e.g. the client lost its state)
		const t = track(w2.net, client.request({ uri: uri("/led"), method: "PUT", payload: "on" }));
		await w2.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "led on");
		const reqs = w2.sent(CLIENT).map((e) => decode(e.bytes));
		assert.equal(reqs.length, 2, "request #1 and request #2");
		const id3 = toHex(ctx.client.idContext.subarray(0, ctx.client.idContextLength));
		assert.equal(id3.length, 32, "ID3 = R2 || R3");
		assert.equal(toHex(ctx.server.idContext.subarray(0, ctx.server.idContextLength)), id3, "the server took it over");
		w2.close();
	});
});

describe("oscore/endpoint: Appendix B.1.2 (server reboot, replay window lost)", () => {
	it("the first request after a reboot gets 4.01 + Echo (protected); the client repeats it with the Echo and gets the answer; later requests go straight through", async () => {
		const store = new MemoryStore();
		const params = { masterSecret: SECRET, masterSalt: SALT, senderId: hex("01"), recipientId: hex("") };
		// The server's context ran before (a stored sequence number): its replay window is unknown.
		new SecurityContext({ ...params, sequence: { store, key: "b" } }, nobleCrypto).sequence.next();
		const server = new SecurityContext({ ...params, sequence: { store, key: "b" }, label: "client" }, nobleCrypto);
		assert.ok(server.sequence.restored);
		const r = rig({ pair: { client: pair().client, server } });
		const t = track(r.w.net, r.client.request({ uri: uri("/secret") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(t).text(), "secret text");
		const reqs = sentBy(r.w, CLIENT);
		assert.equal(reqs.length, 2, "the request and its repeat with Echo");
		const first = sentBy(r.w, SERVER)[0]!;
		assert.equal(first.code, c("2.04"), "the 4.01 + Echo travels protected");
		assert.ok(toHex(opt(first, OPT_OSCORE)!).length >= 4, "with a Partial IV of its own (the request's freshness is unknown)");
		assert.deepEqual(r.seen, ["secret client"], "the handler ran once, for the repeat");
		const again = track(r.w.net, r.client.request({ uri: uri("/secret") }));
		await r.w.net.runUntilIdle();
		assert.equal(valueOf(again).text(), "secret text");
		assert.equal(sentBy(r.w, CLIENT).length, 3);
		r.w.close();
	});

	it("an observation registered after a reboot: 4.01 + Echo, the registration repeated with it, then notifications", async () => {
		const store = new MemoryStore();
		const params = { masterSecret: SECRET, masterSalt: SALT, senderId: hex("01"), recipientId: hex("") };
		new SecurityContext({ ...params, sequence: { store, key: "b" } }, nobleCrypto).sequence.next();
		const r = rig({ pair: { client: pair().client, server: new SecurityContext({ ...params, sequence: { store, key: "b" } }, nobleCrypto) } });
		const got: string[] = [];
		const obs = r.client.observe({ uri: uri("/obs") }, (n: ClientResponse) => got.push(n.code === c("2.05") ? n.text() : "code " + n.code));
		await r.w.net.runFor(2000);
		track(r.w.net, r.client.request({ uri: uri("/bump"), method: "POST" }));
		await r.w.net.runFor(2000);
		assert.deepEqual(got, ["state 0", "state 1"]);
		assert.ok(obs.active);
		assert.ok(sentBy(r.w, CLIENT).filter((m) => opt(m, OPT_OBSERVE) !== undefined).length === 2);
		r.w.close();
	});
});
