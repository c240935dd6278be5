// OSCORE protect/unprotect of whole messages (RFC 8613 §4, §8): option classes and their
// special cases, outer codes, Observe registrations and notifications, error outcomes, the
// B.1.2 lost-window state, kid contexts. Client and server are two Oscore engines with one
// shared context (fixtures.ts Pair); every test looks at the bytes on the wire as well.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import {
	OPT_ACCEPT, OPT_BLOCK1, OPT_BLOCK2, OPT_CONTENT_FORMAT, OPT_ECHO, OPT_ETAG, OPT_HOP_LIMIT, OPT_IF_MATCH, OPT_MAX_AGE,
	OPT_NO_RESPONSE, OPT_OBSERVE, OPT_OSCORE, OPT_PROXY_SCHEME, OPT_PROXY_URI, OPT_REQUEST_TAG, OPT_SIZE1, OPT_SIZE2,
	OPT_URI_HOST, OPT_URI_PATH, OPT_URI_PORT, OPT_URI_QUERY,
} from "../../../modules/coap/options.js";
import { CODE_CHANGED, CODE_CONTENT, CODE_FETCH, CODE_GET, CODE_NOT_FOUND, CODE_POST, CODE_PUT, TYPE_ACK, TYPE_CON, TYPE_NON } from "../../../modules/coap/constants.js";
import {
	E_OSCORE_DECOMPRESS, E_OSCORE_DECRYPT, E_OSCORE_NESTED, E_OSCORE_NO_BINDING, E_OSCORE_NO_CONTEXT, E_OSCORE_NOT_PROTECTED,
	E_OSCORE_OUTER_BLOCK, E_OSCORE_OVERFLOW, E_OSCORE_PROXY_URI, E_OSCORE_REPLAY, E_OSCORE_STALE_NOTIFICATION,
	oscoreErrorCode, writeErrorResponse,
} from "../../../modules/coap/oscore/status.js";
import { SecurityContext } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { RequestBinding } from "../../../modules/coap/oscore/binding.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { restorePlain } from "../../../modules/coap/oscore/oscore.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { MemoryStore, Pair, options, parse } from "./fixtures.js";

const TOKEN = hex("a1b2c3d4");

/** A GET with every kind of option: Class U, Class E, both. */
function richGet(w: MessageWriter): void {
	w.header(TYPE_CON, CODE_GET, 0x1234, TOKEN, 0, 4)
		.option(OPT_IF_MATCH, hex("0102"), 0, 2)
		.stringOption(OPT_URI_HOST, "example.com")
		.option(OPT_ETAG, hex("aabb"), 0, 2)
		.uintOption(OPT_URI_PORT, 61616)
		.stringOption(OPT_URI_PATH, "sensors")
		.stringOption(OPT_URI_PATH, "temp")
		.stringOption(OPT_URI_QUERY, "u=C")
		.uintOption(OPT_HOP_LIMIT, 16)
		.uintOption(OPT_ACCEPT, 50)
		.uintOption(OPT_BLOCK2, 0x12)
		.uintOption(OPT_SIZE2, 0)
		.stringOption(OPT_PROXY_SCHEME, "coap")
		.option(OPT_ECHO, hex("0102030405060708"), 0, 8)
		.uintOption(OPT_NO_RESPONSE, 2)
		.option(OPT_REQUEST_TAG, hex("77"), 0, 1);
}

function finishBytes(w: MessageWriter): Uint8Array {
	return w.buf.slice(0, w.finish());
}

describe("oscore/protect: requests (§4.1, §4.2, §8.1, §8.2)", () => {
	it("Class U options stay outside, everything else goes inside; outer code POST; the server restores the exact request", () => {
		const p = new Pair();
		const wire = p.request(richGet) as Uint8Array;
		const v = parse(wire, wire.length);
		assert.equal(v.code, CODE_POST, "§4.2: Outer Code POST");
		assert.equal(v.type, TYPE_CON);
		assert.equal(v.mid, 0x1234);
		assert.equal(toHex(v.bytes.subarray(v.tokenOffset, v.tokenOffset + 4)), "a1b2c3d4");
		assert.deepEqual(options(v).map(([n]) => n), [OPT_URI_HOST, OPT_URI_PORT, OPT_OSCORE, OPT_HOP_LIMIT, OPT_PROXY_SCHEME]);
		assert.equal(options(v)[2]![1], "090001", "OSCORE option: k, n = 1, Partial IV 0, kid 01");
		const plain = p.receiveRequest(wire) as MessageView;
		richGet(p.plain);
		assert.equal(toHex(plain.bytes.subarray(0, plain.length)), toHex(finishBytes(p.plain)));
		assert.equal(p.serverBinding.context, p.server);
		assert.equal(p.serverBinding.piv, 0);
		assert.equal(p.serverBinding.nonceAvailable, true);
		assert.equal(p.serverBinding.observe, false);
	});

	it("the payload is encrypted (no plaintext on the wire) and the sequence number advances per request", () => {
		const p = new Pair();
		const body = "secret payload, 64 bytes long .................................";
		const build = (w: MessageWriter) => w.header(TYPE_NON, CODE_PUT, 7, TOKEN, 0, 1).stringOption(OPT_URI_PATH, "x").uintOption(OPT_CONTENT_FORMAT, 0).payloadText(body);
		const a = p.request(build) as Uint8Array;
		const b = p.request(build) as Uint8Array;
		assert.ok(!String.fromCharCode(...a).includes("secret"));
		assert.equal(p.clientBinding.piv, 1);
		assert.ok(toHex(a) !== toHex(b), "a new nonce, a new ciphertext");
		const v = p.receiveRequest(b) as MessageView;
		assert.equal(String.fromCharCode(...v.payload()), body);
		assert.equal(v.type, TYPE_NON);
		assert.equal(v.code, CODE_PUT);
	});

	it("§4.1.3.5.1 Observe registration: Inner and Outer Observe 0, Outer Code FETCH", () => {
		const p = new Pair();
		const wire = p.request((w) => w.header(TYPE_CON, CODE_GET, 1, TOKEN, 0, 2).uintOption(OPT_OBSERVE, 0).stringOption(OPT_URI_PATH, "obs")) as Uint8Array;
		const v = parse(wire, wire.length);
		assert.equal(v.code, CODE_FETCH);
		assert.deepEqual(options(v).map(([n, x]) => n + ":" + x), [OPT_OBSERVE + ":", OPT_OSCORE + ":090001"]);
		assert.equal(p.clientBinding.observe, true);
		const plain = p.receiveRequest(wire) as MessageView;
		assert.equal(plain.code, CODE_GET);
		assert.equal(plain.uintOf(OPT_OBSERVE, -1), 0);
		assert.equal(p.serverBinding.observe, true);
	});

	it("§4.1.3.5.1: an Outer Observe removed or changed on the way makes it a plain retrieval; a cancellation (1/1) stays one", () => {
		const p = new Pair();
		const reg = p.request((w) => w.header(TYPE_CON, CODE_GET, 1, TOKEN, 0, 2).uintOption(OPT_OBSERVE, 0).stringOption(OPT_URI_PATH, "obs")) as Uint8Array;
		// A proxy that drops the Outer Observe: 0x60 (delta 6, length 0) goes, the OSCORE option's delta becomes 9.
		const stripped = hex(toHex(reg).replace("6033090001", "93090001"));
		assert.ok(stripped.length === reg.length - 1);
		let plain = p.receiveRequest(stripped) as MessageView;
		assert.equal(plain.uintOf(OPT_OBSERVE, -1), -1);
		assert.equal(p.serverBinding.observe, false);
		const reg2 = p.request((w) => w.header(TYPE_CON, CODE_GET, 2, TOKEN, 0, 2).uintOption(OPT_OBSERVE, 0).stringOption(OPT_URI_PATH, "obs")) as Uint8Array;
		const changed = hex(toHex(reg2).replace("6033090101", "610133090101")); // Outer Observe 1
		plain = p.receiveRequest(changed) as MessageView;
		assert.equal(plain.uintOf(OPT_OBSERVE, -1), -1);
		const cancel = p.request((w) => w.header(TYPE_CON, CODE_GET, 3, TOKEN, 0, 2).uintOption(OPT_OBSERVE, 1).stringOption(OPT_URI_PATH, "obs")) as Uint8Array;
		plain = p.receiveRequest(cancel) as MessageView;
		assert.equal(plain.uintOf(OPT_OBSERVE, -1), 1);
		assert.equal(p.serverBinding.observe, false);
	});

	it("a kid context travels in requests when the context has an ID Context (§5.1), and selects the context (§5)", () => {
		const p = new Pair({ idContext: hex("37cbf3210017a2d3") });
		// A second server context with the same Recipient ID but another ID Context.
		const other = new SecurityContext({ masterSecret: hex("0102030405060708090a0b0c0d0e0f10"), senderId: hex("02"), recipientId: hex("01"), idContext: hex("aaaa") }, nobleCrypto);
		p.serverOscore.contexts.remove(p.server);
		p.serverOscore.contexts.add(other);
		p.serverOscore.contexts.add(p.server);
		const wire = p.request((w) => w.header(TYPE_CON, CODE_GET, 1, TOKEN, 0, 1).stringOption(OPT_URI_PATH, "a")) as Uint8Array;
		assert.equal(options(parse(wire, wire.length))[0]![1], "19" + "00" + "08" + "37cbf3210017a2d3" + "01");
		const plain = p.receiveRequest(wire);
		assert.ok(typeof plain !== "number", "verified with the right context");
		assert.equal(p.serverBinding.context, p.server);
	});

	it("Proxy-Uri must be decomposed first (§4.1.3.3); an OSCORE option in the plain message is nested OSCORE (§4.1.3.7)", () => {
		const p = new Pair();
		assert.equal(p.request((w) => w.header(TYPE_CON, CODE_GET, 1, null).stringOption(OPT_PROXY_URI, "coap://h/x")), E_OSCORE_PROXY_URI);
		assert.equal(p.request((w) => w.header(TYPE_CON, CODE_GET, 1, null).option(OPT_OSCORE, null, 0, 0)), E_OSCORE_NESTED);
	});

	it("a protected message that does not fit the output buffer is E_OSCORE_OVERFLOW, not an exception", () => {
		const p = new Pair();
		p.plain.header(TYPE_CON, CODE_POST, 1, null).payloadText("x".repeat(100));
		const v = parse(p.plain.buf, p.plain.finish());
		for (const size of [4, 10, 20, 100, 110, 118]) {
			const st = p.clientOscore.protectRequest(v, p.client, new MessageWriter(new Uint8Array(size)), p.clientBinding);
			assert.equal(st, E_OSCORE_OVERFLOW, "buffer of " + size);
		}
		// header 4, OSCORE option 1 + 3, 0xff, code, 0xff, 100 bytes, tag 8
		assert.equal(p.clientOscore.protectRequest(v, p.client, new MessageWriter(new Uint8Array(119)), p.clientBinding), 119);
	});
});

describe("oscore/protect: responses (§8.3, §8.4)", () => {
	function exchange(p: Pair): void {
		const wire = p.request((w) => w.header(TYPE_CON, CODE_GET, 0x55, TOKEN, 0, 4).stringOption(OPT_URI_PATH, "r")) as Uint8Array;
		assert.ok(typeof p.receiveRequest(wire) !== "number");
	}

	it("a response reuses the request's nonce: empty OSCORE option, Outer Code 2.04, everything inside", () => {
		const p = new Pair();
		exchange(p);
		const build = (w: MessageWriter) => w.header(TYPE_ACK, CODE_CONTENT, 0x55, TOKEN, 0, 4).option(OPT_ETAG, hex("01"), 0, 1).uintOption(OPT_CONTENT_FORMAT, 50).uintOption(OPT_MAX_AGE, 30).uintOption(OPT_BLOCK2, 0x0e).uintOption(OPT_SIZE2, 2000).payloadText("{\"t\":21}");
		const wire = p.response(build) as Uint8Array;
		const v = parse(wire, wire.length);
		assert.equal(v.code, CODE_CHANGED);
		assert.deepEqual(options(v), [[OPT_OSCORE, ""]]);
		assert.equal(p.serverBinding.nonceAvailable, false, "the request nonce is used once");
		const plain = p.receiveResponse(wire) as MessageView;
		assert.equal(toHex(plain.bytes.subarray(0, plain.length)), toHex((build(p.plain), finishBytes(p.plain))));
	});

	it("a second response to the same request takes its own Partial IV (§8.3 step 3)", () => {
		const p = new Pair();
		exchange(p);
		p.response((w) => w.header(TYPE_ACK, CODE_CONTENT, 0x55, TOKEN, 0, 4));
		const wire = p.response((w) => w.header(TYPE_CON, CODE_CONTENT, 0x56, TOKEN, 0, 4).payloadText("again")) as Uint8Array;
		assert.equal(options(parse(wire, wire.length))[0]![1], "0100", "n = 1, Partial IV 0 (the server's first sequence number)");
		assert.equal(String.fromCharCode(...(p.receiveResponse(wire) as MessageView).payload()), "again");
	});

	it("§8.4: a plain response to a protected request is E_OSCORE_NOT_PROTECTED; a response under another context fails", () => {
		const p = new Pair();
		exchange(p);
		const plain = new MessageWriter(new Uint8Array(64)).header(TYPE_ACK, 0x81, 0x55, TOKEN, 0, 4).payloadText("Security context not found");
		assert.equal(p.receiveResponse(finishBytes(plain)), E_OSCORE_NOT_PROTECTED);
		const wire = p.response((w) => w.header(TYPE_ACK, CODE_CONTENT, 0x55, TOKEN, 0, 4).payloadText("x")) as Uint8Array;
		const q = new Pair({ masterSecret: hex("ffffffffffffffffffffffffffffffff") });
		q.request((w) => w.header(TYPE_CON, CODE_GET, 0x55, TOKEN, 0, 4).stringOption(OPT_URI_PATH, "r"));
		assert.equal(q.receiveResponse(wire), E_OSCORE_DECRYPT);
		const fresh = new RequestBinding();
		assert.equal(p.clientOscore.unprotectResponse(parse(wire, wire.length), fresh, p.out), E_OSCORE_NO_BINDING);
	});

	it("§4.1.3.5.2: an Inner Observe in a response to a request that was no registration is refused", () => {
		const p = new Pair();
		exchange(p);
		const wire = p.response((w) => w.header(TYPE_ACK, CODE_CONTENT, 0x55, TOKEN, 0, 4).uintOption(OPT_OBSERVE, 3).payloadText("n")) as Uint8Array;
		assert.equal(p.receiveResponse(wire), E_OSCORE_STALE_NOTIFICATION);
	});
});

describe("oscore/protect: notifications (§4.1.3.5.2, §7.4.1, §8.3.1, §8.4.2)", () => {
	function register(p: Pair): void {
		const wire = p.request((w) => w.header(TYPE_CON, CODE_GET, 1, TOKEN, 0, 4).uintOption(OPT_OBSERVE, 0).stringOption(OPT_URI_PATH, "obs")) as Uint8Array;
		assert.ok(typeof p.receiveRequest(wire) !== "number");
	}
	const notification = (p: Pair, seq: number, text: string) => p.response((w) => w.header(TYPE_NON, CODE_CONTENT, 100 + seq, TOKEN, 0, 4).uintOption(OPT_OBSERVE, seq).uintOption(OPT_CONTENT_FORMAT, 0).payloadText(text)) as Uint8Array;

	it("on the wire: Outer Observe (the plain value), Outer Code 2.05, Outer Max-Age 0, Inner Observe empty", () => {
		const p = new Pair();
		register(p);
		const first = notification(p, 7, "a");
		const v = parse(first, first.length);
		assert.equal(v.code, CODE_CONTENT);
		assert.deepEqual(options(v), [[OPT_OBSERVE, "07"], [OPT_OSCORE, ""], [OPT_MAX_AGE, ""]]);
		const second = notification(p, 8, "b");
		assert.deepEqual(options(parse(second, second.length)), [[OPT_OBSERVE, "08"], [OPT_OSCORE, "0100"], [OPT_MAX_AGE, ""]]);
	});

	it("the client accepts newer notifications only, numbering them 0, 1, 2 as their Observe value", () => {
		const p = new Pair();
		register(p);
		const n0 = notification(p, 7, "n0"); // nonce of the request, no Partial IV
		const n1 = notification(p, 8, "n1"); // Partial IV 0
		const n2 = notification(p, 9, "n2"); // 1
		const n3 = notification(p, 10, "n3"); // 2
		const got = (wire: Uint8Array) => {
			const r = p.receiveResponse(wire);
			return typeof r === "number" ? r : String.fromCharCode(...r.payload()) + "@" + r.uintOf(OPT_OBSERVE, -1);
		};
		assert.equal(got(n0), "n0@0");
		assert.equal(got(n2), "n2@1");
		assert.equal(got(n1), E_OSCORE_STALE_NOTIFICATION, "older than the Notification Number");
		assert.equal(got(n2), E_OSCORE_STALE_NOTIFICATION, "a replay");
		assert.equal(got(n0), E_OSCORE_STALE_NOTIFICATION, "a second one without Partial IV");
		assert.equal(got(n3), "n3@2");
		assert.equal(p.clientBinding.notificationNumber, 2);
	});

	it("a notification without Partial IV after one with a Partial IV is the oldest: refused", () => {
		const p = new Pair();
		register(p);
		const n0 = notification(p, 1, "n0");
		const n1 = notification(p, 2, "n1");
		assert.equal(typeof p.receiveResponse(n1), "object");
		assert.equal(p.receiveResponse(n0), E_OSCORE_STALE_NOTIFICATION);
	});

	it("the final response of an observation (no Observe) needs a Partial IV after the first response", () => {
		const p = new Pair();
		register(p);
		assert.equal(typeof p.receiveResponse(notification(p, 1, "n0")), "object");
		const end = p.response((w) => w.header(TYPE_CON, CODE_NOT_FOUND, 9, TOKEN, 0, 4)) as Uint8Array;
		assert.equal(parse(end, end.length).code, CODE_CHANGED);
		const plain = p.receiveResponse(end) as MessageView;
		assert.equal(plain.code, CODE_NOT_FOUND);
		assert.equal(plain.uintOf(OPT_OBSERVE, -1), -1);
	});
});

describe("oscore/unprotect: errors of §8.2 as statuses", () => {
	function request(p: Pair): Uint8Array {
		return p.request((w) => w.header(TYPE_CON, CODE_POST, 9, TOKEN, 0, 2).stringOption(OPT_URI_PATH, "x").payloadText("body")) as Uint8Array;
	}

	it("an unknown kid: E_OSCORE_NO_CONTEXT (4.01); an unknown kid context too", () => {
		const p = new Pair({ senderId: hex("0a") }, { recipientId: hex("0b") });
		assert.equal(p.receiveRequest(request(p)), E_OSCORE_NO_CONTEXT);
		const q = new Pair({ idContext: hex("0102") }, { idContext: hex("0103") });
		assert.equal(q.receiveRequest(request(q)), E_OSCORE_NO_CONTEXT);
		assert.equal(oscoreErrorCode(E_OSCORE_NO_CONTEXT), 0x81);
	});

	it("a replayed request: E_OSCORE_REPLAY (4.01); the first copy passed", () => {
		const p = new Pair();
		const wire = request(p);
		assert.equal(typeof p.receiveRequest(wire), "object");
		assert.equal(p.receiveRequest(wire), E_OSCORE_REPLAY);
	});

	it("a forged ciphertext: E_OSCORE_DECRYPT (4.00), the window unchanged, the datagram's plaintext zeroed", () => {
		const p = new Pair();
		const wire = request(p);
		const bad = Uint8Array.from(wire);
		bad[bad.length - 1] ^= 1;
		const v = parse(bad, bad.length);
		assert.equal(p.serverOscore.unprotectRequest(v, p.out, p.serverBinding), E_OSCORE_DECRYPT);
		assert.ok(v.payload().every((b) => b === 0), "no unverified plaintext left in the datagram");
		assert.equal(p.serverBinding.context, null);
		assert.equal(typeof p.receiveRequest(wire), "object", "the genuine request still passes: the forgery did not move the window");
	});

	it("a malformed OSCORE option, a second OSCORE option, no payload, no Partial IV or no kid: E_OSCORE_DECOMPRESS (4.02)", () => {
		const p = new Pair();
		const wire = toHex(request(p));
		const at = wire.indexOf("93090001");
		assert.ok(at > 0);
		for (const [replace, what] of [["93290001", "reserved flag"], ["93070001", "n = 7"], ["9109", "a Partial IV announced but missing"], ["90", "no Partial IV, no kid"], ["920100", "a Partial IV, no kid"], ["930900010309000a", "repeated"]] as const) {
			const bad = hex(wire.slice(0, at) + replace + wire.slice(at + 8));
			assert.equal(p.receiveRequest(bad), E_OSCORE_DECOMPRESS, what);
		}
		const noPayload = hex(wire.slice(0, wire.indexOf("ff", at)));
		assert.equal(p.receiveRequest(noPayload), E_OSCORE_DECOMPRESS, "§2: OSCORE option without payload");
	});

	it("Outer Block options: E_OSCORE_OUTER_BLOCK (reassembly belongs before OSCORE, §8.2.1); a plain request: E_OSCORE_NOT_PROTECTED", () => {
		const p = new Pair();
		const wire = toHex(request(p));
		const at = wire.indexOf("93090001");
		const block = hex(wire.slice(0, at + 8) + "d10106" + wire.slice(at + 8)); // Block2: delta 14 = 13 + 1, value 0x06
		assert.equal(p.receiveRequest(block), E_OSCORE_OUTER_BLOCK);
		const plain = new MessageWriter(new Uint8Array(32)).header(TYPE_CON, CODE_GET, 1, null).stringOption(OPT_URI_PATH, "x");
		assert.equal(p.receiveRequest(finishBytes(plain)), E_OSCORE_NOT_PROTECTED);
	});

	it("an inner OSCORE option or a bad inner code is refused after decryption (E_OSCORE_DECOMPRESS), and the window keeps the number", () => {
		const p = new Pair();
		// Protect a response-coded plaintext as a request: bypass checkPlain by writing the code directly.
		const w = p.plain.header(TYPE_CON, CODE_CONTENT, 1, TOKEN, 0, 1).stringOption(OPT_URI_PATH, "x");
		const v = parse(w.buf, w.finish());
		const n = p.clientOscore.protectRequest(v, p.client, p.wire, p.clientBinding);
		const wire = p.wire.buf.slice(0, n);
		assert.equal(p.receiveRequest(wire), E_OSCORE_DECOMPRESS);
		assert.equal(p.receiveRequest(wire), E_OSCORE_REPLAY, "the Partial IV was authentic and is used up");
	});

	it("writeErrorResponse: unprotected, Max-Age 0, the §8.2 diagnostic payload", () => {
		const w = new MessageWriter(new Uint8Array(64));
		const n = writeErrorResponse(w, E_OSCORE_NO_CONTEXT, TYPE_ACK, 0x1234, TOKEN, 0, 2);
		assert.equal(toHex(w.buf.subarray(0, n)), "6281" + "1234" + "a1b2" + "d001" /* Max-Age 0: delta 14 = 13 + 1 */ + "ff" + toHex(Uint8Array.from([..."Security context not found"].map((c) => c.charCodeAt(0)))));
		assert.equal(writeErrorResponse(w, E_OSCORE_REPLAY, TYPE_ACK, 1, null, 0, 0) > 0, true);
		assert.equal(w.buf[1], 0x81);
		writeErrorResponse(w, E_OSCORE_DECRYPT, TYPE_ACK, 1, null, 0, 0);
		assert.equal(w.buf[1], 0x80);
		writeErrorResponse(w, E_OSCORE_DECOMPRESS, TYPE_ACK, 1, null, 0, 0);
		assert.equal(w.buf[1], 0x82);
		assert.equal(writeErrorResponse(w, E_OSCORE_STALE_NOTIFICATION, TYPE_ACK, 1, null, 0, 0), 0, "no response for client-side outcomes");
	});
});

describe("oscore/unprotect: Appendix B.1.2 (the server lost its replay window)", () => {
	it("after a restart the first request verifies with freshness unknown; Echo makes it the window's lower limit", () => {
		const store = new MemoryStore();
		const persistent = { sequence: { store, key: "s", k: 4, f: 1 } };
		const before = new Pair({}, persistent);
		assert.equal(before.server.replay.known, true, "a context used for the first time has an empty window");
		before.server.sequence.next(); // the server context ran before: its sequence number is stored
		// Reboot of the server: a new server context from the same store; the client keeps its context.
		const p = new Pair({}, persistent, nobleCrypto, before.client);
		assert.equal(p.server.replay.known, false);
		const build = (w: MessageWriter) => w.header(TYPE_CON, CODE_POST, 1, TOKEN, 0, 1).stringOption(OPT_URI_PATH, "led").payloadText("on");
		const first = p.request(build) as Uint8Array;
		const plain = p.receiveRequest(first) as MessageView;
		assert.equal(plain.code, CODE_POST, "it decrypts");
		assert.equal(p.serverBinding.freshnessUnknown, true);
		assert.equal(p.serverBinding.nonceAvailable, false, "B.1.2: the 4.01 Echo response uses the server's own Partial IV");
		const echo = p.response((w) => w.header(TYPE_ACK, 0x81, 1, TOKEN, 0, 1).option(OPT_ECHO, hex("e0e1e2e3"), 0, 4)) as Uint8Array;
		assert.equal(options(parse(echo, echo.length))[0]![1].slice(0, 2), "01", "Partial IV present");
		assert.equal((p.receiveResponse(echo) as MessageView).code, 0x81);
		// The retry carries the Echo; the endpoint checks it and declares the request fresh.
		const retry = p.request((w) => w.header(TYPE_CON, CODE_POST, 2, TOKEN, 0, 1).stringOption(OPT_URI_PATH, "led").option(OPT_ECHO, hex("e0e1e2e3"), 0, 4).payloadText("on")) as Uint8Array;
		assert.equal(typeof p.receiveRequest(retry), "object");
		assert.equal(p.serverBinding.freshnessUnknown, true);
		p.serverOscore.acceptFresh(p.serverBinding);
		assert.equal(p.serverBinding.nonceAvailable, true);
		assert.equal(p.server.replay.known, true);
		assert.equal(p.receiveRequest(retry), E_OSCORE_REPLAY);
		assert.equal(p.receiveRequest(first), E_OSCORE_REPLAY, "older than the new lower limit");
	});
});

describe("oscore: option classes of the less common options", () => {
	it("Max-Age, Block1, Size1 and No-Response of a request travel inside only (§4.1.3.1, §4.1.3.4.1, §4.1.3.6)", () => {
		const p = new Pair();
		const wire = p.request((w) => w.header(TYPE_CON, CODE_PUT, 1, null).uintOption(OPT_BLOCK1, 0x0e).uintOption(OPT_SIZE1, 4000).uintOption(OPT_NO_RESPONSE, 26).payloadText("block")) as Uint8Array;
		assert.deepEqual(options(parse(wire, wire.length)).map(([n]) => n), [OPT_OSCORE]);
		const plain = p.receiveRequest(wire) as MessageView;
		assert.deepEqual(options(plain), [[OPT_BLOCK1, "0e"], [OPT_SIZE1, "0fa0"], [OPT_NO_RESPONSE, "1a"]]);
	});
});

describe("oscore: the plain message fits where the OSCORE message was (restorePlain)", () => {
	it("a request with Class U and Class E options comes back shorter and parses in place, byte for byte the original", () => {
		const p = new Pair();
		const wire = p.request(richGet) as Uint8Array;
		const v = parse(wire, wire.length);
		const plainLen = p.serverOscore.unprotectRequest(v, p.out, p.serverBinding);
		assert.ok(plainLen > 0 && plainLen <= wire.length - 5, plainLen + " of " + wire.length);
		assert.equal(restorePlain(v, p.out.buf, plainLen), 0);
		richGet(p.plain);
		assert.equal(toHex(v.bytes.subarray(0, v.length)), toHex(finishBytes(p.plain)));
	});

	it("an Outer Hop-Limit a proxy added after the OSCORE option needs a delta extension in the plain message, and still fits", () => {
		const p = new Pair();
		const wire = toHex(p.request((w) => w.header(TYPE_CON, CODE_POST, 1, null).payloadText("x")) as Uint8Array);
		const at = wire.indexOf("93090001") + 8;
		const hopped = hex(wire.slice(0, at) + "7105" + wire.slice(at)); // Hop-Limit (9 + 7 = 16) = 5
		const v = parse(hopped, hopped.length);
		const n = p.serverOscore.unprotectRequest(v, p.out, p.serverBinding);
		assert.equal(toHex(p.out.buf.subarray(0, n)), "4002" + "0001" + "d10305" + "ff78", "Hop-Limit kept, now with delta 16");
		assert.equal(restorePlain(v, p.out.buf, n), 0);
		assert.equal(v.uintOf(OPT_HOP_LIMIT, -1), 5);
	});

	it("a notification with the largest rebuilt Observe value still fits", () => {
		const p = new Pair();
		p.receiveRequest(p.request((w) => w.header(TYPE_CON, CODE_GET, 1, TOKEN, 0, 4).uintOption(OPT_OBSERVE, 0).stringOption(OPT_URI_PATH, "o")) as Uint8Array);
		p.clientBinding.notifications = 0xfffffe;
		const wire = p.response((w) => w.header(TYPE_NON, CODE_CONTENT, 2, TOKEN, 0, 4).uintOption(OPT_OBSERVE, 0).payloadText("x")) as Uint8Array;
		const v = parse(wire, wire.length);
		const n = p.clientOscore.unprotectResponse(v, p.clientBinding, p.out);
		assert.ok(n > 0 && n <= wire.length, n + " of " + wire.length);
		assert.equal(restorePlain(v, p.out.buf, n), 0);
		assert.equal(v.uintOf(OPT_OBSERVE, -1), 0xfffffe);
	});
});
