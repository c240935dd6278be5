// AES-CCM-16-64-128 (modules/coap/oscore/ccm.ts) against the RFC 3610 §8 packet vectors with
// M = 8, L = 2 (the parameters of COSE algorithm 10; the M = 10 vectors do not apply), in
// place at several buffer offsets; tamper and boundary behaviour. Portable: runs on XS too.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { AesCcm } from "../../../modules/coap/oscore/ccm.js";

// [key, nonce, aad, plaintext, ciphertext || tag] (RFC 3610 §8, packet vectors #1-#6, #13-#18).
const VECTORS: readonly (readonly [string, string, string, string, string])[] = [
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000003020100A0A1A2A3A4A5", "0001020304050607", "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E", "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"],
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000004030201A0A1A2A3A4A5", "0001020304050607", "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "72C91A36E135F8CF291CA894085C87E3CC15C439C9E43A3BA091D56E10400916"],
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000005040302A0A1A2A3A4A5", "0001020304050607", "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20", "51B1E5F44A197D1DA46B0F8E2D282AE871E838BB64DA8596574ADAA76FBD9FB0C5"],
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000006050403A0A1A2A3A4A5", "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E", "A28C6865939A9A79FAAA5C4C2A9D4A91CDAC8C96C861B9C9E61EF1"],
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000007060504A0A1A2A3A4A5", "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E1F", "DCF1FB7B5D9E23FB9D4E131253658AD86EBDCA3E51E83F077D9C2D93"],
	["C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000008070605A0A1A2A3A4A5", "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E1F20", "6FC1B011F006568B5171A42D953D469B2570A4BD87405A0443AC91CB94"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00412B4EA9CDBE3C9696766CFA", "0BE1A88BACE018B1", "08E8CF97D820EA258460E96AD9CF5289054D895CEAC47C", "4CB97F86A2A4689A877947AB8091EF5386A6FFBDD080F8E78CF7CB0CDDD7B3"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "0033568EF7B2633C9696766CFA", "63018F76DC8A1BCB", "9020EA6F91BDD85AFA0039BA4BAFF9BFB79C7028949CD0EC", "4CCB1E7CA981BEFAA0726C55D378061298C85C92814ABC33C52EE81D7D77C08A"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00103FE41336713C9696766CFA", "AA6CFA36CAE86B40", "B916E0EACC1C00D7DCEC68EC0B3BBB1A02DE8A2D1AA346132E", "B1D23A2220DDC0AC900D9AA03C61FCF4A559A4417767089708A776796EDB723506"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00764C63B8058E3C9696766CFA", "D0D0735C531E1BECF049C244", "12DAAC5630EFA5396F770CE1A66B21F7B2101C", "14D253C3967B70609B7CBB7C499160283245269A6F49975BCADEAF"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00F8B678094E3B3C9696766CFA", "77B60F011C03E1525899BCAE", "E88B6A46C78D63E52EB8C546EFB5DE6F75E9CC0D", "5545FF1A085EE2EFBF52B2E04BEE1E2336C73E3F762C0C7744FE7E3C"],
	["D7828D13B2B0BDC325A76236DF93CC6B", "00D560912D3F703C9696766CFA", "CD9044D2B71FDB8120EA60C0", "6435ACBAFB11A82E2F071D7CA4A5EBD93A803BA87F", "009769ECABDF48625594C59251E6035722675E04C847099E5AE0704551"],
];

/** A buffer holding `data` at `offset`, with room for the tag and a guard byte after it. */
function placed(data: Uint8Array, offset: number): Uint8Array {
	const b = new Uint8Array(offset + data.length + 8 + 1).fill(0xee);
	b.set(data, offset);
	return b;
}

describe("oscore/ccm: RFC 3610 packet vectors (M = 8, L = 2)", () => {
	VECTORS.forEach(([key, nonce, aad, plain, sealed], i) => {
		const number = i < 6 ? i + 1 : i + 7;
		it("packet vector #" + number + ": seal and open, in place at offsets 0, 1 and 5", () => {
			const ccm = new AesCcm(hex(key));
			const p = hex(plain);
			for (const offset of [0, 1, 5]) {
				const buf = placed(p, offset);
				const n = ccm.seal(hex(nonce), hex(aad), hex(aad).length, buf, offset, p.length);
				assert.equal(n, p.length + 8);
				assert.equal(toHex(buf.subarray(offset, offset + n)).toUpperCase(), sealed);
				assert.equal(buf[offset + n], 0xee, "nothing written past the tag");
				if (offset > 0) assert.equal(buf[offset - 1], 0xee, "nothing written before the plaintext");
				assert.equal(ccm.open(hex(nonce), hex(aad), hex(aad).length, buf, offset, n), p.length);
				assert.equal(toHex(buf.subarray(offset, offset + p.length)).toUpperCase(), plain);
			}
		});
	});
});

describe("oscore/ccm: verification", () => {
	const key = hex(VECTORS[0]![0]);
	const nonce = hex(VECTORS[0]![1]);
	const aad = hex(VECTORS[0]![2]);
	const sealed = hex(VECTORS[0]![4]);

	it("every single-bit change of ciphertext or tag fails, and the buffer is zeroed", () => {
		const ccm = new AesCcm(key);
		for (let bit = 0; bit < sealed.length * 8; bit++) {
			const buf = Uint8Array.from(sealed);
			buf[bit >> 3] ^= 1 << (bit & 7);
			assert.equal(ccm.open(nonce, aad, aad.length, buf, 0, buf.length), -1, "bit " + bit);
			assert.ok(buf.every((b) => b === 0), "bit " + bit + ": no unverified plaintext left");
		}
	});

	it("a changed AAD bit, nonce bit or AAD length fails", () => {
		const ccm = new AesCcm(key);
		for (let bit = 0; bit < aad.length * 8; bit++) {
			const a = Uint8Array.from(aad);
			a[bit >> 3] ^= 1 << (bit & 7);
			assert.equal(ccm.open(nonce, a, a.length, Uint8Array.from(sealed), 0, sealed.length), -1);
		}
		for (let bit = 0; bit < nonce.length * 8; bit++) {
			const n = Uint8Array.from(nonce);
			n[bit >> 3] ^= 1 << (bit & 7);
			assert.equal(ccm.open(n, aad, aad.length, Uint8Array.from(sealed), 0, sealed.length), -1);
		}
		assert.equal(ccm.open(nonce, aad, aad.length - 1, Uint8Array.from(sealed), 0, sealed.length), -1);
	});

	it("a wrong key fails", () => {
		const other = Uint8Array.from(key);
		other[15] ^= 0x80;
		assert.equal(new AesCcm(other).open(nonce, aad, aad.length, Uint8Array.from(sealed), 0, sealed.length), -1);
	});

	it("inputs shorter than a tag, or running past the buffer, fail without throwing", () => {
		const ccm = new AesCcm(key);
		for (let n = 0; n < 8; n++) assert.equal(ccm.open(nonce, aad, aad.length, new Uint8Array(8), 0, n), -1);
		assert.equal(ccm.open(nonce, aad, aad.length, new Uint8Array(16), 10, 8), -1);
		assert.equal(ccm.open(nonce, aad, aad.length, new Uint8Array(16), -1, 8), -1);
		assert.equal(ccm.open(new Uint8Array(12), aad, aad.length, new Uint8Array(16), 0, 16), -1);
	});

	it("round trips 0..70 bytes, with and without AAD (block boundaries, the empty plaintext)", () => {
		const ccm = new AesCcm(key);
		for (let len = 0; len <= 70; len++) {
			for (const a of [aad, new Uint8Array(0), new Uint8Array(40).fill(7)]) {
				const p = new Uint8Array(len);
				for (let i = 0; i < len; i++) p[i] = (i * 31 + len) & 0xff;
				const buf = placed(p, 3);
				const n = ccm.seal(nonce, a, a.length, buf, 3, len);
				if (len > 0) assert.ok(toHex(buf.subarray(3, 3 + len)) !== toHex(p), "encrypted");
				assert.equal(ccm.open(nonce, a, a.length, buf, 3, n), len);
				assert.deepEqual(buf.subarray(3, 3 + len), p);
			}
		}
	});

	it("seal refuses what does not fit (local misuse: RangeError)", () => {
		const ccm = new AesCcm(key);
		assert.throws(() => ccm.seal(nonce, aad, aad.length, new Uint8Array(10), 0, 3), RangeError);
		assert.throws(() => ccm.seal(new Uint8Array(12), aad, aad.length, new Uint8Array(20), 0, 3), RangeError);
		assert.throws(() => new AesCcm(new Uint8Array(32)), RangeError);
	});

	it("wipe() clears the key schedule: the old key no longer opens", () => {
		const ccm = new AesCcm(key);
		ccm.wipe();
		assert.equal(ccm.open(nonce, aad, aad.length, Uint8Array.from(sealed), 0, sealed.length), -1);
	});
});
