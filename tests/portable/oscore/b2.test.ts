// Appendix B.2 (security context derived multiple times): the whole protocol of Figure 14 at
// the protect/unprotect level, and what must not happen (a forged request #1 changes nothing,
// request #2 is accepted once, a context without B.2 keeps answering 4.01).
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { CODE_GET, CODE_UNAUTHORIZED, TYPE_ACK, TYPE_CON } from "../../../modules/coap/constants.js";
import { OPT_URI_PATH } from "../../../modules/coap/options.js";
import { SecurityContext } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { Oscore } from "../../../modules/coap/oscore/oscore.js";
import { E_OSCORE_B2_RETRY, E_OSCORE_DECRYPT, E_OSCORE_NO_CONTEXT, E_OSCORE_REPLAY } from "../../../modules/coap/oscore/status.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { Pair, options, parse } from "./fixtures.js";

/** A seeded random source (the sim's style), so the test is deterministic. */
function seeded(seed: number): (out: Uint8Array) => void {
	let s = seed;
	return (out) => {
		for (let i = 0; i < out.length; i++) {
			s = (s * 1103515245 + 12345) % 2147483648;
			out[i] = s >> 16;
		}
	};
}

class B2Pair extends Pair {
	constructor() {
		super({ b2: true, idContext: hex("0001") });
		// Engines with random sources (B.2 needs them); the server knows the context with ID Context 0001.
		(this as { clientOscore: Oscore }).clientOscore = new Oscore({ contexts: 1, random: seeded(1) });
		(this as { serverOscore: Oscore }).serverOscore = new Oscore({ contexts: 1, random: seeded(2) });
		this.serverOscore.contexts.add(this.server);
	}
}

const get = (w: MessageWriter) => w.header(TYPE_CON, CODE_GET, 7, hex("aa"), 0, 1).stringOption(OPT_URI_PATH, "led");

describe("oscore: Appendix B.2, a new security context from random ID Contexts", () => {
	it("request #1 (ID1 = R1) → 4.01 with R2 → request #2 (R2 || R3) → both ends use the third context", () => {
		const p = new B2Pair();
		// Step 1: the client starts with a random ID1 = R1 (e.g. after losing its state).
		const r1 = hex("1111111111111111");
		p.client.rederive(r1);
		const req1 = p.request(get) as Uint8Array;
		assert.equal(options(parse(req1, req1.length))[0]![1], "19" + "00" + "08" + "1111111111111111" + "01", "kid context R1");
		// Step 2: unknown ID Context, known kid: verified with ID1, answered 4.01 under R2 || ID1.
		const plain1 = p.receiveRequest(req1) as MessageView;
		assert.equal(plain1.code, CODE_GET, "request #1 verified");
		assert.ok(p.serverBinding.renewal >= 0, "the endpoint must answer 4.01 instead of dispatching");
		assert.ok(p.serverBinding.context !== p.server, "under a second context");
		assert.equal(toHex(p.server.idContext.subarray(0, p.server.idContextLength)), "0001", "the server's context is unchanged so far");
		const res1 = p.response((w) => w.header(TYPE_ACK, CODE_UNAUTHORIZED, 7, hex("aa"), 0, 1)) as Uint8Array;
		const opt = options(parse(res1, res1.length))[0]![1];
		assert.equal(opt.slice(0, 4), "1008", "h flag, s = 8: R2 as kid context");
		const r2 = opt.slice(4, 20);
		// Step 3: the client verifies under R2 || ID1 and derives ID3 = R2 || R3.
		assert.equal(p.receiveResponse(res1), E_OSCORE_B2_RETRY);
		const id3 = toHex(p.client.idContext.subarray(0, p.client.idContextLength));
		assert.equal(id3.length, 32);
		assert.equal(id3.slice(0, 16), r2);
		assert.equal(p.client.sequence.peek, 0, "new keys: the sequence number starts again");
		// Request #2 under ID3; step 4: the server verifies it and takes the third context over.
		const req2 = p.request(get) as Uint8Array;
		const plain2 = p.receiveRequest(req2) as MessageView;
		assert.equal(plain2.code, CODE_GET);
		assert.equal(p.serverBinding.context, p.server);
		assert.equal(p.serverBinding.renewal, -1);
		assert.equal(toHex(p.server.idContext.subarray(0, p.server.idContextLength)), id3);
		// Step 5: the response to request #2 verifies at the client.
		const res2 = p.response((w) => w.header(TYPE_ACK, 0x45, 7, hex("aa"), 0, 1).payloadText("on")) as Uint8Array;
		assert.equal(String.fromCharCode(...(p.receiveResponse(res2) as MessageView).payload()), "on");
		// A replay of request #2 is a replay now, and ordinary traffic continues.
		assert.equal(p.receiveRequest(req2), E_OSCORE_REPLAY);
		assert.equal(typeof p.receiveRequest(p.request(get) as Uint8Array), "object");
	});

	it("a forged request #1 (wrong key) changes nothing and keeps no R2", () => {
		const p = new B2Pair();
		const stranger = new SecurityContext({ masterSecret: hex("99999999999999999999999999999999"), senderId: hex("01"), recipientId: hex("02"), idContext: hex("2222222222222222"), b2: true }, nobleCrypto);
		const q = new Pair({}, {}, nobleCrypto, stranger);
		const forged = q.request(get) as Uint8Array;
		assert.equal(p.receiveRequest(forged), E_OSCORE_DECRYPT);
		assert.equal(p.serverBinding.renewal, -1);
		assert.equal(toHex(p.server.idContext.subarray(0, p.server.idContextLength)), "0001");
	});

	it("a response with a kid context that does not verify is refused; contexts without B.2 answer 4.01 as before", () => {
		const p = new Pair({ idContext: hex("0001"), maxIdContextLength: 8 });
		(p as { serverOscore: Oscore }).serverOscore = new Oscore({ contexts: 1, random: seeded(3) });
		p.serverOscore.contexts.add(p.server);
		p.client.rederive(hex("3333333333333333"));
		assert.equal(p.receiveRequest(p.request(get) as Uint8Array), E_OSCORE_NO_CONTEXT, "no B.2 on this context");
		// A B.2 client given a response with a kid context it cannot verify.
		const b = new B2Pair();
		b.client.rederive(hex("1111111111111111"));
		b.receiveRequest(b.request(get) as Uint8Array);
		const res1 = Uint8Array.from(b.response((w) => w.header(TYPE_ACK, CODE_UNAUTHORIZED, 7, hex("aa"), 0, 1)) as Uint8Array);
		res1[res1.length - 1] ^= 1;
		const before = toHex(b.client.idContext.subarray(0, b.client.idContextLength));
		assert.equal(b.receiveResponse(res1), E_OSCORE_DECRYPT);
		assert.equal(toHex(b.client.idContext.subarray(0, b.client.idContextLength)), before, "the client context is unchanged");
	});
});
