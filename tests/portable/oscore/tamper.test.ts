// Tampering (RFC 8613 §12.1, Appendix D.3): flip every single bit of a protected request, a
// protected response and a notification. Each flip is either refused (by the CoAP parser or
// with an OSCORE status) or lands in a field OSCORE leaves unprotected by design (Type, Message
// ID, Token, Outer Code, Class U options: §4.1, §4.2), and then the protected content (Code,
// Class E options, payload) that comes out is exactly the original. Nothing else gets through.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { CODE_CONTENT, CODE_POST, TYPE_ACK, TYPE_CON } from "../../../modules/coap/constants.js";
import { OPT_CONTENT_FORMAT, OPT_OBSERVE, OPT_OSCORE, OPT_URI_HOST, OPT_URI_PATH, OPT_URI_QUERY } from "../../../modules/coap/options.js";
import { CLASS_E, optionClass } from "../../../modules/coap/oscore/classes.js";
import { RequestBinding } from "../../../modules/coap/oscore/binding.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { Pair } from "./fixtures.js";

/** Code, Class E options and payload: what OSCORE protects. */
function protectedContent(v: MessageView): string {
	let s = v.code.toString(16);
	for (let i = 0; i < v.optionCount; i++) {
		const n = v.optNumber[i]!;
		if ((optionClass(n) & CLASS_E) === 0) continue;
		s += " " + n + "=" + toHex(v.bytes.subarray(v.optOffset[i]!, v.optOffset[i]! + v.optLength[i]!));
	}
	return s + " | " + toHex(v.payload());
}

/**
 * Offsets of the bytes OSCORE does not protect: the header (type, TKL, code, MID), the token
 * and every Outer option other than OSCORE, header bytes included (Uri-Host, the Outer Observe
 * and Max-Age of a notification: Class U, §4.1; the client ignores the Outer Observe value,
 * §4.1.3.5.2).
 */
function unprotectedBytes(wire: Uint8Array): Set<number> {
	const v = new MessageView();
	assert.equal(v.parse(wire, wire.length), 0);
	const s = new Set<number>();
	let p = 4 + v.tokenLength;
	for (let i = 0; i < p; i++) s.add(i);
	for (let i = 0; i < v.optionCount; i++) {
		const end = v.optOffset[i]! + v.optLength[i]!;
		if (v.optNumber[i] !== OPT_OSCORE) for (let j = p; j < end; j++) s.add(j);
		p = end;
	}
	return s;
}

interface Outcome { refused: number; unprotectedOnly: number }

function flipEveryBit(wire: Uint8Array, original: string, attempt: (bytes: Uint8Array) => MessageView | number): Outcome {
	const free = unprotectedBytes(wire);
	const out: Outcome = { refused: 0, unprotectedOnly: 0 };
	for (let bit = 0; bit < wire.length * 8; bit++) {
		const t = Uint8Array.from(wire);
		t[bit >> 3] ^= 1 << (bit & 7);
		const v = new MessageView();
		if (v.parse(t, t.length) !== 0) {
			out.refused++;
			continue;
		}
		const r = attempt(t);
		if (typeof r === "number") {
			assert.ok(r < 0);
			out.refused++;
			continue;
		}
		assert.ok(free.has(bit >> 3), "bit " + bit + " (byte " + (bit >> 3) + ") changed a protected field and was accepted");
		assert.equal(protectedContent(r), original, "bit " + bit + ": protected content changed");
		out.unprotectedOnly++;
	}
	return out;
}

describe("oscore: every bit flipped in a protected message is detected", () => {
	it("a request (with a Class U Uri-Host outside)", () => {
		const p = new Pair();
		const wire = p.request((w) => w.header(TYPE_CON, CODE_POST, 0x3344, hex("0102"), 0, 2).stringOption(OPT_URI_HOST, "h").stringOption(OPT_URI_PATH, "actuators").stringOption(OPT_URI_PATH, "led").uintOption(OPT_CONTENT_FORMAT, 0).stringOption(OPT_URI_QUERY, "x=1").payloadText("on")) as Uint8Array;
		const first = p.receiveRequest(wire) as MessageView;
		const original = protectedContent(first);
		const o = flipEveryBit(wire, original, (t) => {
			p.server.replay.reset(); // each attempt on a fresh window: a refusal must not be a replay
			return p.receiveRequest(t);
		});
		assert.ok(o.refused > wire.length * 8 - 8 * (4 + 2 + 1) - 8, "refused " + o.refused + " of " + wire.length * 8);
	});

	it("a response (nonce from the request, empty OSCORE option)", () => {
		const p = new Pair();
		p.receiveRequest(p.request((w) => w.header(TYPE_CON, 1, 9, hex("aa"), 0, 1).stringOption(OPT_URI_PATH, "t")) as Uint8Array);
		const wire = p.response((w) => w.header(TYPE_ACK, CODE_CONTENT, 9, hex("aa"), 0, 1).uintOption(OPT_CONTENT_FORMAT, 50).payloadText("{\"t\":21.5}")) as Uint8Array;
		const saved = new RequestBinding();
		saved.copyFrom(p.clientBinding);
		const original = protectedContent(p.receiveResponse(wire) as MessageView);
		const o = flipEveryBit(wire, original, (t) => {
			p.clientBinding.copyFrom(saved);
			return p.receiveResponse(t);
		});
		assert.ok(o.refused >= wire.length * 8 - 8 * (4 + 1), "refused " + o.refused);
	});

	it("a notification (with its own Partial IV)", () => {
		const p = new Pair();
		p.receiveRequest(p.request((w) => w.header(TYPE_CON, 1, 9, hex("aa"), 0, 1).uintOption(OPT_OBSERVE, 0).stringOption(OPT_URI_PATH, "t")) as Uint8Array);
		p.response((w) => w.header(TYPE_ACK, CODE_CONTENT, 9, hex("aa"), 0, 1).uintOption(OPT_OBSERVE, 1).payloadText("1"));
		const wire = p.response((w) => w.header(TYPE_CON, CODE_CONTENT, 10, hex("aa"), 0, 1).uintOption(OPT_OBSERVE, 2).payloadText("2")) as Uint8Array;
		const saved = new RequestBinding();
		saved.copyFrom(p.clientBinding);
		const original = protectedContent(p.receiveResponse(wire) as MessageView);
		const o = flipEveryBit(wire, original, (t) => {
			p.clientBinding.copyFrom(saved);
			return p.receiveResponse(t);
		});
		// The Outer Observe value is unprotected too (§4.1.3.5.2: the client ignores it).
		assert.ok(o.refused >= wire.length * 8 - 8 * (4 + 1 + 2), "refused " + o.refused);
	});
});
