// MessageWriter (RFC 7252 §3, §3.1, §3.2): byte-exact output, ascending-order misuse,
// sticky overflow, UTF-8 text. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";

/** The written bytes, or null on overflow. */
function out(w: MessageWriter): Uint8Array | null {
	const n = w.finish();
	return n < 0 ? null : w.buf.slice(0, n);
}

describe("wire/writer: encodings", () => {
	it("uint options in their shortest form (§3.2)", () => {
		const w = new MessageWriter(new Uint8Array(64));
		w.header(1, 0x45, 0x0102, null)
			.uintOption(6, 0) // Observe 0
			.uintOption(12, 0x2a) // Content-Format 42
			.uintOption(14, 0x100) // Max-Age 256
			.uintOption(23, 0xffffff) // Block2
			.uintOption(28, 0x1000000) // Size2
			.uintOption(60, 0xffffffff); // Size1
		assert.equal(toHex(out(w)!, " "), [
			"50", // Ver=1, T=1 (NON), TKL=0
			"45", // 2.05
			"01 02", // MID 0x0102
			"60", // Observe (6): delta 6, length 0 (value 0 is the empty value)
			"61 2a", // Content-Format (12): delta 6, length 1, 42
			"22 01 00", // Max-Age (14): delta 2, length 2, 256
			"93 ff ff ff", // Block2 (23): delta 9, length 3
			"54 01 00 00 00", // Size2 (28): delta 5, length 4
			"d4 13 ff ff ff ff", // Size1 (60): delta 32 = 13 + 0x13, length 4
		].join(" "));
	});

	it("string, opaque and empty options; repeated numbers use delta 0", () => {
		const w = new MessageWriter(new Uint8Array(64));
		w.header(0, 0x03, 0xffff, hex("01 02 03"), 0, 3)
			.option(4, hex("aa bb cc dd"), 1, 2) // ETag from a sub-range
			.emptyOption(5) // If-None-Match
			.stringOption(11, "é") // Uri-Path with a 2-byte character
			.stringOption(11, "") // an empty Uri-Path
			.stringOption(15, "a=1");
		assert.equal(toHex(out(w)!, " "), [
			"43", // Ver=1, T=0 (CON), TKL=3
			"03", // 0.03 PUT
			"ff ff", // MID 0xffff
			"01 02 03", // Token
			"42 bb cc", // ETag (4): delta 4, length 2
			"10", // If-None-Match (5): delta 1, length 0
			"62 c3 a9", // Uri-Path (11): delta 6, length 2, "é" = c3 a9
			"00", // Uri-Path: delta 0, length 0
			"43 61 3d 31", // Uri-Query (15): delta 4, length 3, "a=1"
		].join(" "));
	});

	it("payloadText writes multi-byte UTF-8: é, €, 😀", () => {
		const w = new MessageWriter(new Uint8Array(32));
		w.header(2, 0x45, 1, null).uintOption(12, 0).payloadText("é€😀");
		assert.equal(toHex(out(w)!, " "), [
			"60", // ACK, TKL 0
			"45", // 2.05
			"00 01", // MID 1
			"c0", // Content-Format (12): delta 12, length 0 (text/plain)
			"ff", // Payload marker
			"c3 a9", // U+00E9 é
			"e2 82 ac", // U+20AC €
			"f0 9f 98 80", // U+1F600 😀
		].join(" "));
		const v = new MessageView();
		assert.equal(v.parse(out(w)!), 0);
		assert.equal(v.payloadLength, 9);
	});

	it("payload from a sub-range; an empty payload writes no marker (§3)", () => {
		const w = new MessageWriter(new Uint8Array(16));
		w.header(0, 2, 7, null).payload(hex("00 11 22 33"), 1, 2);
		assert.equal(toHex(out(w)!, " "), "40 02 00 07 ff 11 22");
		w.header(0, 2, 7, null).payload(new Uint8Array(0)).payloadText("");
		assert.equal(toHex(out(w)!, " "), "40 02 00 07");
		w.header(0, 2, 7, null).payload(hex("00 11 22"), 3);
		assert.equal(toHex(out(w)!, " "), "40 02 00 07");
	});

	it("header() starts over: a writer is reused per message", () => {
		const w = new MessageWriter(new Uint8Array(16));
		w.header(0, 1, 1, null).uintOption(60, 5).payloadText("xyz");
		w.header(3, 0, 2, null); // Reset
		assert.equal(toHex(out(w)!, " "), "70 00 00 02");
		w.uintOption(1, 0); // option numbering restarts after header()
		assert.equal(toHex(out(w)!, " "), "70 00 00 02 10");
	});
});

describe("wire/writer: local misuse throws RangeError", () => {
	it("options out of ascending order", () => {
		const w = new MessageWriter(new Uint8Array(64));
		w.header(0, 1, 1, null).uintOption(12, 0);
		assert.throws(() => w.stringOption(11, "a"), RangeError);
		assert.throws(() => w.emptyOption(5), RangeError);
		assert.throws(() => w.option(1, null), RangeError);
		assert.throws(() => w.uintOption(0, 0), RangeError);
		w.uintOption(12, 1); // equal is fine (a repeat)
	});

	it("an option after the payload", () => {
		const w = new MessageWriter(new Uint8Array(64));
		w.header(0, 1, 1, null).payloadText("a");
		assert.throws(() => w.uintOption(60, 1), RangeError);
		w.header(0, 1, 1, null).payload(hex("00"));
		assert.throws(() => w.stringOption(2048, "x"), RangeError);
	});

	it("a token longer than 8 bytes", () => {
		const w = new MessageWriter(new Uint8Array(64));
		assert.throws(() => w.header(0, 1, 1, new Uint8Array(9), 0, 9), RangeError);
	});

	it("an option number beyond 65535", () => {
		const w = new MessageWriter(new Uint8Array(64));
		w.header(0, 1, 1, null);
		assert.throws(() => w.emptyOption(65536), RangeError);
		w.header(0, 1, 1, null).emptyOption(65535);
		assert.equal(toHex(out(w)!, " "), "40 01 00 01 e0 fe f2");
	});

	it("misuse is reported even after an overflow", () => {
		const w = new MessageWriter(new Uint8Array(5));
		w.header(0, 1, 1, null).stringOption(11, "too long");
		assert.ok(w.overflow);
		assert.throws(() => w.emptyOption(5), RangeError);
	});
});

describe("wire/writer: overflow is sticky and finish() returns -1", () => {
	it("header and token that do not fit", () => {
		const w = new MessageWriter(new Uint8Array(3));
		w.header(0, 1, 1, null);
		assert.ok(w.overflow);
		assert.equal(w.finish(), -1);
		const w2 = new MessageWriter(new Uint8Array(7));
		w2.header(0, 1, 1, new Uint8Array(4), 0, 4);
		assert.equal(w2.finish(), -1);
		w2.header(0, 1, 1, new Uint8Array(3), 0, 3); // exactly 7 bytes: fits
		assert.equal(w2.finish(), 7);
		assert.ok(!w2.overflow);
	});

	it("an option that does not fit; later ones that would are not written", () => {
		const w = new MessageWriter(new Uint8Array(10));
		w.header(0, 1, 1, null).stringOption(11, "abcdef"); // 4 + 1 + 6 = 11 > 10
		assert.equal(w.finish(), -1);
		w.stringOption(15, "a"); // would fit at pos 4, but overflow is sticky
		w.payloadText("b");
		w.payload(hex("01"));
		assert.equal(w.finish(), -1);
		assert.ok(w.overflow);
	});

	it("every option form checks its room, including extension bytes", () => {
		// 4 (header) + 1 (option head) + 1 (length extension) + 13 = 19 bytes.
		const exact = new MessageWriter(new Uint8Array(19));
		exact.header(0, 1, 1, null).option(11, new Uint8Array(13), 0, 13);
		assert.equal(exact.finish(), 19);
		const short = new MessageWriter(new Uint8Array(18));
		short.header(0, 1, 1, null).option(11, new Uint8Array(13), 0, 13);
		assert.equal(short.finish(), -1);
		// 4 + 1 + 2 (delta extension 2048) + 0 = 7.
		const w = new MessageWriter(new Uint8Array(6));
		w.header(0, 1, 1, null).emptyOption(2048);
		assert.equal(w.finish(), -1);
		const u = new MessageWriter(new Uint8Array(8));
		u.header(0, 1, 1, null).uintOption(60, 0x10000); // 4 + 2 + 3 = 9
		assert.equal(u.finish(), -1);
		const s = new MessageWriter(new Uint8Array(8));
		s.header(0, 1, 1, null).stringOption(11, "€"); // 4 + 1 + 3 = 8: fits
		assert.equal(s.finish(), 8);
		s.header(0, 1, 1, null).stringOption(11, "€a"); // 9
		assert.equal(s.finish(), -1);
	});

	it("payload overflow: marker plus bytes must fit", () => {
		const w = new MessageWriter(new Uint8Array(8));
		w.header(0, 1, 1, null).payload(hex("01 02 03")); // 4 + 1 + 3 = 8: fits
		assert.equal(w.finish(), 8);
		w.header(0, 1, 1, null).payload(hex("01 02 03 04"));
		assert.equal(w.finish(), -1);
		const w5 = new MessageWriter(new Uint8Array(5));
		w5.header(0, 1, 1, null).payload(hex("01")); // the marker fits, the byte does not
		assert.equal(w5.finish(), -1);
	});

	it("payloadText overflow, including a character cut at the end", () => {
		const w = new MessageWriter(new Uint8Array(9));
		w.header(0, 1, 1, null).payloadText("😀"); // 4 + 1 + 4 = 9: fits
		assert.equal(w.finish(), 9);
		w.header(0, 1, 1, null).payloadText("a😀"); // 10
		assert.equal(w.finish(), -1);
		w.header(0, 1, 1, null).payloadText("abc€"); // 4 + 1 + 3 + 3 = 11
		assert.equal(w.finish(), -1);
		const four = new MessageWriter(new Uint8Array(4));
		four.header(0, 1, 1, null).payloadText("a"); // no room even for the marker
		assert.equal(four.finish(), -1);
		const five = new MessageWriter(new Uint8Array(5));
		five.header(0, 1, 1, null).payloadText("a"); // marker fits, text does not
		assert.equal(five.finish(), -1);
	});

	it("header() clears the overflow", () => {
		const w = new MessageWriter(new Uint8Array(6));
		w.header(0, 1, 1, null).payloadText("too long");
		assert.equal(w.finish(), -1);
		w.header(0, 1, 1, null).payloadText("x");
		assert.equal(toHex(out(w)!, " "), "40 01 00 01 ff 78");
	});
});
