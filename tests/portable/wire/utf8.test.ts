// wire/utf8.ts (UTF-8 without TextEncoder/TextDecoder) and wire/uint.ts (RFC 7252 §3.2 uint).
// Portable: no Node APIs; works whether String length counts UTF-16 units (V8) or code points.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { utf8Bytes, utf8Decode, utf8Encode, utf8Length } from "../../../modules/coap/wire/utf8.js";
import { readUint, uintLength, writeUint } from "../../../modules/coap/wire/uint.js";
import { Prng } from "../../../sim/prng.js";

// Text and its UTF-8 bytes (RFC 3629 §3 table boundaries).
const VECTORS: readonly (readonly [string, string])[] = [
	["", ""],
	["a", "61"],
	["\u0000", "00"], // U+0000
	["\u007f", "7f"], // last 1-byte
	["\u0080", "c2 80"], // first 2-byte
	["é", "c3 a9"], // U+00E9
	["\u07ff", "df bf"], // last 2-byte
	["\u0800", "e0 a0 80"], // first 3-byte
	["€", "e2 82 ac"], // U+20AC
	["\ud7ff", "ed 9f bf"], // just below the surrogates
	["\ue000", "ee 80 80"], // just above the surrogates
	["\ufffd", "ef bf bd"], // the replacement character itself
	["\uffff", "ef bf bf"], // last 3-byte
	["\u{10000}", "f0 90 80 80"], // first 4-byte (astral)
	["😀", "f0 9f 98 80"], // U+1F600
	["\u{10ffff}", "f4 8f bf bf"], // last code point
	["こんにちは", "e3 81 93 e3 82 93 e3 81 ab e3 81 a1 e3 81 af"], // RFC 7252 Appendix B
	["a😀é€z", "61 f0 9f 98 80 c3 a9 e2 82 ac 7a"],
];

describe("wire/utf8", () => {
	for (const [text, bytes] of VECTORS) {
		it("encodes and decodes " + JSON.stringify(text), () => {
			const expected = hex(bytes);
			assert.equal(utf8Length(text), expected.length);
			assert.deepEqual(utf8Bytes(text), expected);
			const out = new Uint8Array(expected.length + 4).fill(0xee);
			assert.equal(utf8Encode(text, out, 2), 2 + expected.length);
			assert.deepEqual(out.subarray(2, 2 + expected.length), expected);
			assert.equal(out[0], 0xee);
			assert.equal(out[out.length - 1], 0xee);
			assert.equal(utf8Decode(expected), text);
			assert.equal(utf8Decode(out, 2, expected.length), text);
		});
	}

	it("lone surrogates encode as U+FFFD (ef bf bd), and decode back as U+FFFD", () => {
		const cases: readonly (readonly [string, string, string])[] = [
			["\ud800", "ef bf bd", "\ufffd"], // lone high surrogate
			["\udfff", "ef bf bd", "\ufffd"], // lone low surrogate
			["a\ud83db", "61 ef bf bd 62", "a\ufffdb"], // high surrogate between ASCII
			["\ude00\ud83d", "ef bf bd ef bf bd", "\ufffd\ufffd"], // a pair in the wrong order
			["\ud83d\ude00\ud83d", "f0 9f 98 80 ef bf bd", "😀\ufffd"], // a pair, then a lone high
		];
		for (const [text, bytes, back] of cases) {
			assert.equal(utf8Length(text), hex(bytes).length, JSON.stringify(text));
			assert.equal(toHex(utf8Bytes(text), " "), bytes, JSON.stringify(text));
			assert.equal(utf8Decode(hex(bytes)), back);
		}
	});

	it("invalid UTF-8 decodes to U+FFFD and resynchronises on the next valid byte", () => {
		const exact: readonly (readonly [string, string])[] = [
			["80", "\ufffd"], // a lone continuation byte
			["bf", "\ufffd"],
			["ff", "\ufffd"], // never valid
			["fe", "\ufffd"],
			["c3", "\ufffd"], // a 2-byte lead at the end
			["61 c3", "a\ufffd"],
			["c3 41", "\ufffdA"], // lead followed by ASCII: the ASCII survives
			["e2 82", "\ufffd"], // 3-byte sequence cut short
			["e2 82 41", "\ufffdA"],
			["f0 9f 98", "\ufffd"], // 4-byte sequence cut short
			["61 80 62", "a\ufffdb"],
			["c3 a9 80 c3 a9", "é\ufffdé"],
		];
		for (const [bytes, text] of exact) assert.equal(utf8Decode(hex(bytes)), text, bytes);
		// Overlong forms, encoded surrogates and code points above U+10FFFF: only U+FFFD comes
		// out (how many is left to the decoder), never the code point they would spell.
		const bad = ["c0 80", "c1 bf", "e0 80 80", "e0 9f bf", "f0 80 80 80", "f0 8f bf bf", "ed a0 80", "ed bf bf", "f4 90 80 80", "f5 80 80 80", "f8 88 80 80 80"];
		for (const bytes of bad) assert.match(utf8Decode(hex(bytes)), /^\ufffd+$/, bytes);
		assert.match(utf8Decode(hex("41 ed a0 80 42")), /^A\ufffd+B$/);
	});

	it("utf8Encode returns -1 when the text does not fit", () => {
		const out = new Uint8Array(4);
		assert.equal(utf8Encode("abcd", out, 0), 4);
		assert.equal(utf8Encode("abcde", out, 0), -1);
		assert.equal(utf8Encode("a€", out, 0), 4);
		assert.equal(utf8Encode("a€", out, 1), -1);
		assert.equal(utf8Encode("😀", out, 0), 4);
		assert.equal(utf8Encode("😀", out, 1), -1);
		assert.equal(utf8Encode("é", out, 3), -1);
		assert.equal(utf8Encode("", out, 4), 4);
	});

	it("long ASCII runs and long mixed text round trip", () => {
		let ascii = "";
		for (let i = 0; i < 3000; i++) ascii += String.fromCharCode(32 + (i % 95));
		assert.equal(utf8Decode(utf8Bytes(ascii)), ascii);
		assert.equal(utf8Length(ascii), 3000);
		const mixed = ascii + "é" + ascii + "😀";
		assert.equal(utf8Decode(utf8Bytes(mixed)), mixed);
		assert.equal(utf8Length(mixed), 6000 + 2 + 4);
	});

	it("random code points round trip (seeded)", () => {
		const rng = new Prng(3629);
		for (let k = 0; k < 400; k++) {
			let s = "";
			const n = rng.nextInt(20);
			for (let i = 0; i < n; i++) {
				const plane = rng.nextInt(4);
				let cp = plane === 0 ? rng.nextInt(0x80) : plane === 1 ? rng.nextInt(0x800) : plane === 2 ? rng.nextInt(0x10000) : 0x10000 + rng.nextInt(0x100000);
				if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
				s += String.fromCodePoint(cp);
			}
			const b = utf8Bytes(s);
			assert.equal(b.length, utf8Length(s));
			assert.equal(utf8Decode(b), s);
		}
	});

	it("random bytes decode without throwing, to well-formed text that re-encodes to valid UTF-8", () => {
		const rng = new Prng(65533);
		for (let k = 0; k < 400; k++) {
			const b = new Uint8Array(rng.nextInt(24));
			rng.fill(b);
			const s = utf8Decode(b);
			// Decoding the re-encoded text is the identity: s holds no lone surrogates.
			assert.equal(utf8Decode(utf8Bytes(s)), s);
		}
	});
});

describe("wire/uint (RFC 7252 §3.2)", () => {
	it("uintLength gives the shortest form; 0 is the empty value", () => {
		const rows: readonly (readonly [number, number])[] = [
			[0, 0], [1, 1], [0xff, 1], [0x100, 2], [0xffff, 2], [0x10000, 3], [0xffffff, 3], [0x1000000, 4], [0xffffffff, 4],
		];
		for (const [v, n] of rows) assert.equal(uintLength(v), n, String(v));
	});

	it("writeUint writes big-endian; readUint reads it back", () => {
		const rows: readonly (readonly [number, string])[] = [
			[0, ""], [5, "05"], [0x100, "01 00"], [0xabcd, "ab cd"], [0x10000, "01 00 00"], [0x123456, "12 34 56"],
			[0x1000000, "01 00 00 00"], [0xdeadbeef, "de ad be ef"], [0xffffffff, "ff ff ff ff"],
		];
		for (const [v, bytes] of rows) {
			const n = uintLength(v);
			const out = new Uint8Array(n + 2).fill(0xee);
			writeUint(out, 1, v, n);
			assert.equal(toHex(out.subarray(1, 1 + n), " "), bytes);
			assert.equal(out[0], 0xee);
			assert.equal(out[n + 1], 0xee);
			assert.equal(readUint(out, 1, n), v);
		}
	});

	it("readUint accepts leading zeros, and longer values give their low 4 bytes", () => {
		assert.equal(readUint(hex("00 00 01"), 0, 3), 1);
		assert.equal(readUint(hex("00 00 00 00 2a"), 0, 5), 42);
		assert.equal(readUint(hex("01 02 03 04 05"), 0, 5), 0x02030405);
		assert.equal(readUint(hex("ff"), 0, 0), 0);
		assert.equal(readUint(hex("12 34 56"), 1, 2), 0x3456);
	});

	it("writeUint into a wider field pads with leading zeros", () => {
		const out = new Uint8Array(4);
		writeUint(out, 0, 0x0102, 4);
		assert.equal(toHex(out, " "), "00 00 01 02");
	});
});
