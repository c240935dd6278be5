// The OSCORE option value (RFC 8613 §6.1): the §6.3 compression examples written and parsed,
// and every malformed value reported as E_OSCORE_DECOMPRESS (never thrown).
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { OscoreOptionValue, optionValueLength, writeOptionValue } from "../../../modules/coap/oscore/option.js";
import { E_OSCORE_DECOMPRESS } from "../../../modules/coap/oscore/status.js";

// §6.3 examples: [value, piv, pivLength, kid context or null, kid or null]
const EXAMPLES: readonly (readonly [string, number, number, string | null, string | null])[] = [
	["090525", 5, 1, null, "25"], // 1. request, kid 0x25, PIV 5
	["0900", 0, 1, null, ""], // 2. request, empty kid, PIV 0
	["19050544616c656b", 5, 1, "44616c656b", ""], // 3. request with kid context
	["", 0, 0, null, null], // 4. response without PIV: empty value
	["0107", 7, 1, null, null], // 5. response with PIV 7
];

describe("oscore/option: §6.3 examples", () => {
	EXAMPLES.forEach(([value, piv, pivLen, ctx, kid], i) => {
		it("example " + (i + 1) + ": written and parsed", () => {
			const ctxb = ctx === null ? null : hex(ctx);
			const kidb = kid === null ? null : hex(kid);
			const len = optionValueLength(pivLen, ctxb?.length ?? -1, kidb?.length ?? -1);
			assert.equal(len, value.length / 2);
			const out = new Uint8Array(40).fill(0xee);
			const end = writeOptionValue(out, 3, piv, pivLen, ctxb, ctxb?.length ?? -1, kidb, kidb?.length ?? -1);
			assert.equal(end, 3 + len);
			assert.equal(toHex(out.subarray(3, end)), value);
			assert.equal(out[end], 0xee);
			const o = new OscoreOptionValue();
			const b = hex("aa" + value + "bb"); // parsed in the middle of a buffer
			assert.equal(o.parse(b, 1, len), 0);
			assert.equal(o.pivLength, pivLen);
			assert.equal(o.piv, piv);
			assert.equal(o.kidLength, kidb?.length ?? -1);
			if (kidb) assert.equal(toHex(b.subarray(o.kidOffset, o.kidOffset + o.kidLength)), kid!);
			assert.equal(o.kidContextLength, ctxb?.length ?? -1);
			if (ctxb) assert.equal(toHex(b.subarray(o.kidContextOffset, o.kidContextOffset + o.kidContextLength)), ctx!);
		});
	});

	it("5-byte Partial IVs and a 255-byte kid context round-trip", () => {
		const ctx = new Uint8Array(255).map((_, i) => i);
		const out = new Uint8Array(300);
		const end = writeOptionValue(out, 0, 2 ** 40 - 1, 5, ctx, 255, hex("0102030405060708"), 8);
		assert.equal(end, 1 + 5 + 1 + 255 + 8);
		assert.equal(out[0], 0x1d); // h, k, n = 5
		const o = new OscoreOptionValue();
		assert.equal(o.parse(out, 0, end), 0);
		assert.equal(o.piv, 2 ** 40 - 1);
		assert.equal(o.kidContextLength, 255);
		assert.equal(o.kidLength, 8);
	});
});

describe("oscore/option: malformed values are a status (§6.1, §8.2 step 2)", () => {
	const bad: readonly (readonly [string, string])[] = [
		["20", "reserved bit 5 (the Group flag)"],
		["40", "reserved bit 6"],
		["80", "reserved bit 7"],
		["06000000000000", "n = 6 is reserved"],
		["07", "n = 7 is reserved"],
		["02ff", "Partial IV shorter than n"],
		["05", "Partial IV missing"],
		["10", "h set, no s byte"],
		["1003aabb", "kid context shorter than s"],
		["01ff42", "bytes left over without the k flag"],
		["00aa", "bytes after an empty flag byte"],
	];
	for (const [value, what] of bad) {
		it(what + " (" + value + ")", () => {
			const b = hex(value);
			assert.equal(new OscoreOptionValue().parse(b, 0, b.length), E_OSCORE_DECOMPRESS);
		});
	}

	it("every value of 0..3 bytes parses or fails without throwing", () => {
		const o = new OscoreOptionValue();
		const b = new Uint8Array(3);
		for (let v = 0; v < 1 << 16; v++) {
			b[0] = v >> 8;
			b[1] = v & 0xff;
			b[2] = (v * 7) & 0xff;
			for (let len = 0; len <= 3; len++) {
				const st = o.parse(b, 0, len);
				assert.ok(st === 0 || st === E_OSCORE_DECOMPRESS);
				if (st === 0 && o.kidLength >= 0) assert.ok(o.kidOffset + o.kidLength <= len);
			}
		}
	});
});
