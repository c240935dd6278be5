// RFC 8613 Appendix C on Node and XS: key derivation (C.1-C.3), nonces, and every protected
// request and response (C.4-C.8) byte for byte, protected by xscoap and unprotected again.
// Also the §5.4 AAD example and the §6.3 compressed COSE examples.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { AesCcm } from "../../../modules/coap/oscore/ccm.js";
import { deriveParameter, infoLength, writeInfo } from "../../../modules/coap/oscore/derive.js";
import { writeNonce } from "../../../modules/coap/oscore/nonce.js";
import { writeAad } from "../../../modules/coap/oscore/aad.js";
import { Oscore } from "../../../modules/coap/oscore/oscore.js";
import { RequestBinding } from "../../../modules/coap/oscore/binding.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { RFC8613_VECTORS, vectorContext, vectorParams, viewOf } from "./fixtures.js";

function derived(name: string, id: string, type: "Key" | "IV", length: number): string {
	const p = vectorParams(name);
	const out = new Uint8Array(length);
	const idb = hex(id);
	const idc = p.idContext ?? null;
	deriveParameter(nobleCrypto, p.masterSecret, p.masterSalt ?? new Uint8Array(0), idb, idb.length, idc, idc === null ? -1 : idc.length, type, out, length, new Uint8Array(infoLength(7, idc === null ? 0 : idc.length)));
	return toHex(out);
}

/** The AEAD output of `aead` for a fixed probe: compares keys without exposing them. */
function probe(aead: { seal(n: Uint8Array, a: Uint8Array, al: number, b: Uint8Array, o: number, l: number): number }): string {
	const b = new Uint8Array(24).fill(0x5a);
	aead.seal(new Uint8Array(13), new Uint8Array(0), 0, b, 0, 16);
	return toHex(b);
}

describe("oscore: RFC 8613 Appendix C.1-C.3 key derivation", () => {
	for (const name of Object.keys(RFC8613_VECTORS.contexts)) {
		const v = RFC8613_VECTORS.contexts[name]!;
		it(name + " (" + v.role + "): Sender Key, Recipient Key, Common IV and nonces", () => {
			assert.equal(derived(name, v.sender_id, "Key", 16), v.sender_key);
			assert.equal(derived(name, v.recipient_id, "Key", 16), v.recipient_key);
			assert.equal(derived(name, "", "IV", 13), v.common_iv);
			const ctx = vectorContext(name);
			assert.equal(toHex(ctx.commonIv), v.common_iv);
			assert.equal(probe(ctx.sender), probe(new AesCcm(hex(v.sender_key))), "the context seals with the Sender Key");
			assert.equal(probe(ctx.recipient), probe(new AesCcm(hex(v.recipient_key))), "and opens with the Recipient Key");
			const nonce = new Uint8Array(13);
			writeNonce(nonce, ctx.commonIv, ctx.senderId, ctx.senderId.length, 0);
			assert.equal(toHex(nonce), v.sender_nonce_piv0);
			writeNonce(nonce, ctx.commonIv, ctx.recipientId, ctx.recipientId.length, 0);
			assert.equal(toHex(nonce), v.recipient_nonce_piv0);
		});
	}

	it("C.1.1 info for the Sender Key is [h'', nil, 10, \"Key\", 16] (§3.2.1 CBOR)", () => {
		const out = new Uint8Array(32);
		const n = writeInfo(out, new Uint8Array(0), 0, null, -1, "Key", 16);
		assert.equal(toHex(out.subarray(0, n)), "8540f60a634b657910");
		const m = writeInfo(out, hex("01"), 1, hex("37cbf3210017a2d3"), 8, "IV", 13);
		assert.equal(toHex(out.subarray(0, m)), "85410148" + "37cbf3210017a2d3" + "0a6249560d");
	});
});

describe("oscore: §5.4 AAD and §5.2 nonce", () => {
	it("the §5.4 example: request_kid 0x00, request_piv 0x25", () => {
		const out = new Uint8Array(64);
		const n = writeAad(out, hex("00"), 1, 0x25, 1);
		assert.equal(toHex(out.subarray(0, n)), "8368456e63727970743040498501810a4100412540");
	});

	it("a 7-byte kid and a 5-byte Partial IV fit and encode (the longest AAD)", () => {
		const out = new Uint8Array(64);
		const n = writeAad(out, hex("01020304050607"), 7, 2 ** 40 - 1, 5);
		assert.equal(toHex(out.subarray(0, n)), "8368456e637279707430405" + "38501810a47010203040506074" + "5ffffffffff40");
	});

	it("Partial IVs up to 2^40 - 1 land in the last 5 bytes", () => {
		const nonce = new Uint8Array(13);
		writeNonce(nonce, new Uint8Array(13), hex("0a0b"), 2, 0x0102030405);
		assert.equal(toHex(nonce), "02" + "00000000000a0b" + "0102030405");
		writeNonce(nonce, new Uint8Array(13), new Uint8Array(0), 0, 2 ** 40 - 1);
		assert.equal(toHex(nonce), "00" + "00000000000000" + "ffffffffff");
	});
});

describe("oscore: RFC 8613 Appendix C.4-C.8 protected messages", () => {
	for (const m of RFC8613_VECTORS.messages) {
		const request = m.request_piv === undefined;
		it(m.name + ": protect gives the published bytes, unprotect gives the original back", () => {
			const out = new MessageWriter(new Uint8Array(256));
			if (request) {
				const ctx = vectorContext(m.context, false, { senderSequenceNumber: m.sender_sequence_number ?? 0, sendKidContext: m.include_kid_context ?? false });
				const binding = new RequestBinding();
				const n = new Oscore({ contexts: 1 }).protectRequest(viewOf(m.unprotected), ctx, out, binding);
				assert.equal(toHex(out.buf.subarray(0, n)), m.protected);
				assert.equal(binding.piv, m.sender_sequence_number!);
				// The server side of the same context verifies it and restores the request.
				const server = new Oscore({ contexts: 1 });
				server.contexts.add(vectorContext(m.context, true));
				const sb = new RequestBinding();
				const plain = new MessageWriter(new Uint8Array(256));
				const len = server.unprotectRequest(viewOf(m.protected), plain, sb);
				assert.equal(toHex(plain.buf.subarray(0, len)), m.unprotected);
				assert.equal(sb.piv, m.sender_sequence_number!);
				assert.equal(sb.nonceAvailable, true);
			} else {
				const ctx = vectorContext(m.context, false, { senderSequenceNumber: m.sender_sequence_number ?? 0 });
				const binding = new RequestBinding();
				binding.context = ctx;
				binding.piv = parseInt(m.request_piv!, 16);
				binding.pivLength = m.request_piv!.length / 2;
				binding.nonceAvailable = true;
				const n = new Oscore({ contexts: 1 }).protectResponse(viewOf(m.unprotected), binding, out, m.response_includes_piv);
				assert.equal(toHex(out.buf.subarray(0, n)), m.protected);
				// The client (C.1.1) that sent request C.4 verifies it.
				const client = vectorContext("C.1.1");
				const cb = new RequestBinding();
				cb.context = client;
				cb.local = true;
				cb.piv = binding.piv;
				cb.pivLength = binding.pivLength;
				const plain = new MessageWriter(new Uint8Array(256));
				const len = new Oscore({ contexts: 0 }).unprotectResponse(viewOf(m.protected), cb, plain);
				assert.equal(toHex(plain.buf.subarray(0, len)), m.unprotected);
			}
		});
	}
});
