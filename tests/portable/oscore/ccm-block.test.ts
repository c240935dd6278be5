// BlockCcm (modules/coap/oscore/ccm-block.ts), the AES-CCM-16-64-128 of hosts whose AES block
// function is native (the Moddable host's `crypt` BlockCipher): here over noble's AES block, so
// it runs on Node and XS, against RFC 3610 packet vectors, byte for byte equal to AesCcm
// (ccm.ts) on random inputs, and with the same verification outcomes.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { unsafe } from "@noble/ciphers/aes.js";
import { AesCcm } from "../../../modules/coap/oscore/ccm.js";
import { BlockCcm, type BlockEncrypt } from "../../../modules/coap/oscore/ccm-block.js";

/** noble's AES block as a BlockEncrypt (bytes ↔ its little-endian state words). */
function nobleBlock(key: Uint8Array): BlockEncrypt {
	const xk = unsafe.expandKeyLE(Uint8Array.from(key));
	const w = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
	const put = (b: Uint8Array, o: number, v: number) => {
		b[o] = v & 0xff;
		b[o + 1] = (v >>> 8) & 0xff;
		b[o + 2] = (v >>> 16) & 0xff;
		b[o + 3] = (v >>> 24) & 0xff;
	};
	return {
		stateBytes: xk.byteLength,
		encryptBlock(b: Uint8Array): void {
			const r = unsafe.encrypt(xk, w(b, 0), w(b, 4), w(b, 8), w(b, 12));
			put(b, 0, r.s0);
			put(b, 4, r.s1);
			put(b, 8, r.s2);
			put(b, 12, r.s3);
		},
		wipe(): void {
			xk.fill(0);
		},
	};
}

// [key, nonce, aad, plaintext, ciphertext || tag]: RFC 3610 §8 packet vectors #1, #4, #13, #17.
const VECTORS = [
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000003020100A0A1A2A3A4A5", "0001020304050607", "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E", "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"],
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000006050403A0A1A2A3A4A5", "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E", "A28C6865939A9A79FAAA5C4C2A9D4A91CDAC8C96C861B9C9E61EF1"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00412B4EA9CDBE3C9696766CFA", "0BE1A88BACE018B1", "08E8CF97D820EA258460E96AD9CF5289054D895CEAC47C", "4CB97F86A2A4689A877947AB8091EF5386A6FFBDD080F8E78CF7CB0CDDD7B3"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00D560912D3F703C9696766CFA", "CD9044D2B71FDB8120EA60C0", "6435ACBAFB11A82E2F071D7CA4A5EBD93A803BA87F", "009769ECABDF48625594C59251E6035722675E04C847099E5AE0704551"],
] as const;

describe("oscore/ccm-block: CCM over a host's AES block function", () => {
	for (const [key, nonce, aad, plain, sealed] of VECTORS) {
		it("RFC 3610 vector with nonce " + nonce + ": seal and open in place", () => {
			const ccm = new BlockCcm(nobleBlock(hex(key)));
			const p = hex(plain);
			const buf = new Uint8Array(3 + p.length + 8 + 1).fill(0xee);
			buf.set(p, 3);
			assert.equal(ccm.seal(hex(nonce), hex(aad), hex(aad).length, buf, 3, p.length), p.length + 8);
			assert.equal(toHex(buf.subarray(3, 3 + p.length + 8)).toUpperCase(), sealed);
			assert.equal(buf[2], 0xee);
			assert.equal(buf[3 + p.length + 8], 0xee);
			assert.equal(ccm.open(hex(nonce), hex(aad), hex(aad).length, buf, 3, p.length + 8), p.length);
			assert.equal(toHex(buf.subarray(3, 3 + p.length)).toUpperCase(), plain);
		});
	}

	it("byte for byte what AesCcm (ccm.ts) produces, for lengths 0..70 and AAD of 0..40 bytes; both open each other's output", () => {
		let seed = 12345;
		const rnd = (n: number) => {
			const b = new Uint8Array(n);
			for (let i = 0; i < n; i++) {
				seed = (seed * 1103515245 + 12345) % 2147483648;
				b[i] = seed >> 16;
			}
			return b;
		};
		const key = rnd(16);
		const a = new AesCcm(key);
		const b = new BlockCcm(nobleBlock(key));
		for (let len = 0; len <= 70; len += 7) {
			for (const aadLen of [0, 1, 13, 14, 15, 30, 40]) {
				const nonce = rnd(13);
				const aad = rnd(aadLen);
				const p = rnd(len);
				const x = new Uint8Array(len + 8);
				const y = new Uint8Array(len + 8);
				x.set(p);
				y.set(p);
				a.seal(nonce, aad, aadLen, x, 0, len);
				b.seal(nonce, aad, aadLen, y, 0, len);
				assert.equal(toHex(y), toHex(x), "length " + len + ", aad " + aadLen);
				assert.equal(b.open(nonce, aad, aadLen, x, 0, len + 8), len);
				assert.equal(a.open(nonce, aad, aadLen, y, 0, len + 8), len);
				assert.equal(toHex(x.subarray(0, len)), toHex(p));
			}
		}
	});

	it("a flipped bit in ciphertext or tag fails and zeroes the buffer; a too short input fails", () => {
		const [key, nonce, aad, , sealed] = VECTORS[0];
		const ccm = new BlockCcm(nobleBlock(hex(key)));
		const s = hex(sealed);
		for (let bit = 0; bit < s.length * 8; bit += 5) {
			const buf = Uint8Array.from(s);
			buf[bit >> 3]! ^= 0x80 >> (bit & 7);
			assert.equal(ccm.open(hex(nonce), hex(aad), hex(aad).length, buf, 0, buf.length), -1, "bit " + bit);
			assert.ok(buf.every((x) => x === 0), "zeroed");
		}
		assert.equal(ccm.open(hex(nonce), hex(aad), 8, new Uint8Array(7), 0, 7), -1);
		assert.throws(() => ccm.seal(hex(nonce), hex(aad), 8, new Uint8Array(10), 0, 5), RangeError);
	});
});
