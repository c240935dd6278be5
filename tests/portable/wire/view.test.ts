// MessageView.parse (RFC 7252 §3, §3.1, §5.4): byte-exact inputs, one comment per field
// (nanocoap's msg_expected[] style). Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { hex, toHex } from "../../support/bytes.js";
import { E_FORMAT, E_TOO_MANY_OPTIONS, E_TRUNCATED, E_VERSION } from "../../../modules/coap/errors.js";
import { MessageView, OPTF_UNRECOGNISED } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { utf8Bytes } from "../../../modules/coap/wire/utf8.js";

/** Concatenates annotated hex fragments into one byte array. */
function bytes(...parts: string[]): Uint8Array {
	return hex(parts.join(" "));
}

/** ASCII text as hex, for annotating option values and payloads. */
function ascii(text: string): string {
	return toHex(utf8Bytes(text), " ");
}

// RFC 7252 Appendix A.1: CON GET /temperature, MID 0x7d34.
const A1_REQUEST = bytes(
	"40", // Ver=1, T=0 (CON), TKL=0
	"01", // Code 0.01 GET
	"7d 34", // Message ID 0x7d34
	"bb", // Option delta 11 (Uri-Path), length 11
	ascii("temperature"), // "temperature"
);

// RFC 7252 Appendix A.1: the piggybacked ACK 2.05 Content "22.3 C", MID 0x7d34.
const A1_RESPONSE = bytes(
	"60", // Ver=1, T=2 (ACK), TKL=0
	"45", // Code 2.05 Content (2 << 5 | 5 = 69)
	"7d 34", // Message ID 0x7d34 (matches the request)
	"ff", // Payload marker
	"32 32 2e 33 20 43", // "22.3 C"
);

// RFC 7252 Appendix A.2: separate response; request CON GET with Token 0x73, MID 0x7a10.
const A2_REQUEST = bytes(
	"41", // Ver=1, T=0 (CON), TKL=1
	"01", // Code 0.01 GET
	"7a 10", // Message ID 0x7a10
	"73", // Token 0x73
	"bb", // Option delta 11 (Uri-Path), length 11
	ascii("temperature"),
);
// ... acknowledged at once with an Empty ACK.
const A2_EMPTY_ACK = bytes(
	"60", // Ver=1, T=2 (ACK), TKL=0
	"00", // Code 0.00 Empty
	"7a 10", // Message ID 0x7a10
);
// ... then the response as a CON of the server's own, MID 0x23bb, same token.
const A2_RESPONSE = bytes(
	"41", // Ver=1, T=0 (CON), TKL=1
	"45", // Code 2.05 Content
	"23 bb", // Message ID 0x23bb
	"73", // Token 0x73
	"ff", // Payload marker
	ascii("22.5 C"),
);

// RFC 7252 Appendix A.3: NON request and NON response.
const A3_REQUEST = bytes(
	"51", // Ver=1, T=1 (NON), TKL=1
	"01", // Code 0.01 GET
	"7a 11", // Message ID 0x7a11
	"74", // Token 0x74
	"bb", // Option delta 11 (Uri-Path), length 11
	ascii("temperature"),
);

function parse(b: Uint8Array, maxOptions = 32): { v: MessageView; st: number } {
	const v = new MessageView(maxOptions);
	return { v, st: v.parse(b) };
}

/** Builds a message with a fresh writer over a 2000-byte buffer; fails on overflow. */
function build(fn: (w: MessageWriter) => void): Uint8Array {
	const w = new MessageWriter(new Uint8Array(2000));
	fn(w);
	const n = w.finish();
	assert.ok(n > 0, "writer overflowed");
	return w.buf.slice(0, n);
}

describe("wire/view: RFC 7252 Appendix A messages", () => {
	it("parses the A.1 CON GET /temperature", () => {
		const { v, st } = parse(A1_REQUEST);
		assert.equal(st, 0);
		assert.equal(A1_REQUEST.length, 16);
		assert.equal(v.version, 1);
		assert.equal(v.type, 0);
		assert.equal(v.code, 0x01);
		assert.equal(v.mid, 0x7d34);
		assert.equal(v.tokenLength, 0);
		assert.equal(v.optionCount, 1);
		assert.equal(v.optNumber[0], 11);
		assert.equal(v.optOffset[0], 5);
		assert.equal(v.optLength[0], 11);
		assert.equal(v.string(0), "temperature");
		assert.equal(v.payloadOffset, 16);
		assert.equal(v.payloadLength, 0);
		assert.equal(v.payload().length, 0);
		assert.equal(v.firstBadCritical(), -1);
	});

	it("parses the A.1 ACK 2.05 \"22.3 C\"", () => {
		const { v, st } = parse(A1_RESPONSE);
		assert.equal(st, 0);
		assert.equal(v.type, 2);
		assert.equal(v.code, 0x45);
		assert.equal(v.mid, 0x7d34);
		assert.equal(v.optionCount, 0);
		assert.equal(v.payloadOffset, 5);
		assert.equal(v.payloadLength, 6);
		assert.deepEqual(v.payload(), utf8Bytes("22.3 C"));
	});

	it("parses the A.2 separate response exchange and the A.3 NON request", () => {
		let r = parse(A2_REQUEST);
		assert.equal(r.st, 0);
		assert.equal(r.v.tokenLength, 1);
		assert.ok(r.v.tokenEquals(hex("73"), 0, 1));
		assert.ok(!r.v.tokenEquals(hex("74"), 0, 1));
		assert.ok(!r.v.tokenEquals(hex("73 00"), 0, 2));
		assert.equal(r.v.string(r.v.find(11)), "temperature");
		r = parse(A2_EMPTY_ACK);
		assert.equal(r.st, 0);
		assert.equal(r.v.type, 2);
		assert.equal(r.v.code, 0);
		assert.equal(r.v.mid, 0x7a10);
		r = parse(A2_RESPONSE);
		assert.equal(r.st, 0);
		assert.equal(r.v.type, 0);
		assert.equal(r.v.mid, 0x23bb);
		assert.ok(r.v.tokenEquals(hex("00 73"), 1, 1));
		assert.deepEqual(r.v.payload(), utf8Bytes("22.5 C"));
		r = parse(A3_REQUEST);
		assert.equal(r.st, 0);
		assert.equal(r.v.type, 1);
		assert.equal(r.v.mid, 0x7a11);
	});

	it("the writer produces the Appendix A bytes exactly", () => {
		const path = utf8Bytes("temperature");
		assert.deepEqual(build((w) => w.header(0, 0x01, 0x7d34, null).option(11, path, 0, path.length)), A1_REQUEST);
		assert.deepEqual(build((w) => w.header(2, 0x45, 0x7d34, null).payloadText("22.3 C")), A1_RESPONSE);
		assert.deepEqual(build((w) => w.header(0, 0x01, 0x7a10, hex("73"), 0, 1).stringOption(11, "temperature")), A2_REQUEST);
		assert.deepEqual(build((w) => w.header(2, 0x00, 0x7a10, null)), A2_EMPTY_ACK);
		assert.deepEqual(build((w) => w.header(0, 0x45, 0x23bb, hex("73"), 0, 1).payload(utf8Bytes("22.5 C"))), A2_RESPONSE);
		assert.deepEqual(build((w) => w.header(1, 0x01, 0x7a11, hex("74"), 0, 1).stringOption(11, "temperature")), A3_REQUEST);
	});

	it("one view is reused: a second parse replaces everything of the first", () => {
		const v = new MessageView();
		assert.equal(v.parse(A1_REQUEST), 0);
		assert.equal(v.parse(A1_RESPONSE), 0);
		assert.equal(v.optionCount, 0);
		assert.equal(v.find(11), -1);
		assert.deepEqual(v.payload(), utf8Bytes("22.3 C"));
		assert.equal(v.parse(A1_REQUEST), 0);
		assert.equal(v.payloadLength, 0);
		assert.equal(v.optionCount, 1);
	});

	it("parses only bytes[0, length) when a length is given", () => {
		const buf = new Uint8Array(64).fill(0xee);
		buf.set(A1_REQUEST);
		const v = new MessageView();
		assert.equal(v.parse(buf, A1_REQUEST.length), 0);
		assert.equal(v.length, 16);
		assert.equal(v.payloadLength, 0);
		// The full 64 bytes would read 0xee as an option header: delta 14 → 16-bit extension.
		assert.notEqual(v.parse(buf), 0);
	});

	it("value() and payload() are views into the datagram, not copies", () => {
		const b = A1_RESPONSE.slice();
		const v = new MessageView();
		v.parse(b);
		const p = v.payload();
		b[5] = 0x39;
		assert.equal(p[0], 0x39);
		assert.equal(p.buffer, b.buffer);
	});
});

describe("wire/view: option delta and length encodings (RFC 7252 §3.1)", () => {
	// Each row: option number (first option, so delta = number), expected option header bytes.
	const DELTAS: readonly (readonly [number, string, string])[] = [
		[1, "10", "delta 1 in the nibble"],
		[12, "c0", "delta 12: the largest inline nibble"],
		[13, "d0 00", "delta 13: nibble 13, 8-bit extension 13 - 13 = 0x00"],
		[14, "d0 01", "delta 14: nibble 13, extension 0x01"],
		[268, "d0 ff", "delta 268: nibble 13, extension 268 - 13 = 0xff (largest 8-bit)"],
		[269, "e0 00 00", "delta 269: nibble 14, 16-bit extension 269 - 269 = 0x0000"],
		[270, "e0 00 01", "delta 270: nibble 14, extension 0x0001"],
		[2048, "e0 06 f3", "delta 2048: nibble 14, extension 2048 - 269 = 0x06f3"],
		[65000, "e0 fc db", "delta 65000: nibble 14, extension 65000 - 269 = 0xfcdb"],
		[65535, "e0 fe f2", "delta 65535: nibble 14, extension 65535 - 269 = 0xfef2 (largest option number)"],
	];
	for (const [number, head, what] of DELTAS) {
		it(what, () => {
			const msg = bytes(
				"50", // Ver=1, T=1 (NON), TKL=0
				"02", // Code 0.02 POST
				"00 01", // Message ID 1
				head, // Option header, value length 0
			);
			assert.deepEqual(build((w) => w.header(1, 2, 1, null).emptyOption(number)), msg);
			const { v, st } = parse(msg);
			assert.equal(st, 0);
			assert.equal(v.optionCount, 1);
			assert.equal(v.optNumber[0], number);
			assert.equal(v.optLength[0], 0);
			assert.equal(v.optOffset[0], msg.length);
		});
	}

	// Each row: value length of unknown elective option 2048, expected header after the delta.
	const LENGTHS: readonly (readonly [number, string, string])[] = [
		[0, "e0 06 f3", "length 0"],
		[12, "ec 06 f3", "length 12: the largest inline nibble"],
		[13, "ed 06 f3 00", "length 13: nibble 13, 8-bit extension 0x00 after the delta extension"],
		[268, "ed 06 f3 ff", "length 268: nibble 13, extension 0xff"],
		[269, "ee 06 f3 00 00", "length 269: nibble 14, 16-bit extension 0x0000"],
		[1034, "ee 06 f3 02 fd", "length 1034: nibble 14, extension 1034 - 269 = 0x02fd"],
	];
	for (const [length, head, what] of LENGTHS) {
		it(what, () => {
			const value = new Uint8Array(length);
			for (let i = 0; i < length; i++) value[i] = i & 0xff;
			const msg = new Uint8Array(4 + head.split(" ").length + length);
			msg.set(bytes(
				"40", // Ver=1, T=0 (CON), TKL=0
				"03", // Code 0.03 PUT
				"12 34", // Message ID 0x1234
				head, // delta nibble 14 (2048), length nibble, delta extension 0x06f3, length extension
			));
			msg.set(value, msg.length - length);
			assert.deepEqual(build((w) => w.header(0, 3, 0x1234, null).option(2048, value, 0, length)), msg);
			const { v, st } = parse(msg);
			assert.equal(st, 0);
			assert.equal(v.optNumber[0], 2048);
			assert.equal(v.optLength[0], length);
			assert.deepEqual(v.value(0), value);
		});
	}

	it("delta and length both extended to 16 bits", () => {
		const value = new Uint8Array(269).fill(0x61);
		const msg = new Uint8Array(4 + 5 + 269);
		msg.set(bytes(
			"40", // Ver=1, T=0, TKL=0
			"01", // GET
			"00 02", // MID 2
			"ee", // delta nibble 14, length nibble 14
			"00 00", // delta 269 - 269
			"00 00", // length 269 - 269
		));
		msg.set(value, 9);
		assert.deepEqual(build((w) => w.header(0, 1, 2, null).option(269, value, 0, 269)), msg);
		const { v, st } = parse(msg);
		assert.equal(st, 0);
		assert.equal(v.optNumber[0], 269);
		assert.equal(v.optLength[0], 269);
	});

	it("deltas accumulate across options, and delta 0 repeats a number", () => {
		const msg = bytes(
			"44", // Ver=1, T=0 (CON), TKL=4
			"01", // GET
			"00 03", // MID 3
			"de ad be ef", // Token 0xdeadbeef
			"33", ascii("abc"), // Uri-Host (3): delta 3, length 3, "abc"
			"81", "73", // Uri-Path (11): delta 8, length 1, "s"
			"04", ascii("temp"), // Uri-Path (11): delta 0, length 4, "temp"
			"11", "28", // Content-Format (12): delta 1, length 1, 40 (link-format)
			"d2 23", "04 00", // Size1 (60): delta 48 = nibble 13 + ext 0x23 (48 - 13), length 2, 1024
			"ff", // Payload marker
			"78", // "x"
		);
		assert.deepEqual(build((w) => w.header(0, 1, 3, hex("de ad be ef"), 0, 4)
			.stringOption(3, "abc").stringOption(11, "s").stringOption(11, "temp")
			.uintOption(12, 40).uintOption(60, 1024).payloadText("x")), msg);
		const { v, st } = parse(msg);
		assert.equal(st, 0);
		assert.deepEqual(Array.from(v.optNumber.subarray(0, v.optionCount)), [3, 11, 11, 12, 60]);
		assert.deepEqual(Array.from(v.optFlags.subarray(0, v.optionCount)), [0, 0, 0, 0, 0]);
		assert.equal(v.string(v.find(3)), "abc");
		const first = v.find(11);
		assert.equal(v.string(first), "s");
		assert.equal(v.string(v.find(11, first + 1)), "temp");
		assert.equal(v.find(11, v.find(11, first + 1) + 1), -1);
		assert.equal(v.uintOf(12, -1), 40);
		assert.equal(v.uintOf(60, -1), 1024);
		assert.equal(v.uintOf(14, 60), 60, "absent Max-Age: the fallback");
		assert.ok(v.has(3) && !v.has(4));
		assert.equal(toHex(v.payload()), "78");
	});
});

describe("wire/view: token length (RFC 7252 §3)", () => {
	for (let tkl = 0; tkl <= 8; tkl++) {
		it("TKL " + tkl, () => {
			const token = new Uint8Array(tkl);
			for (let i = 0; i < tkl; i++) token[i] = 0xa0 + i;
			const msg = new Uint8Array(4 + tkl + 2);
			msg[0] = 0x40 | tkl; // Ver=1, T=0 (CON), TKL
			msg[1] = 0x01; // GET
			msg[2] = 0xbe; // MID high
			msg[3] = 0xef; // MID low
			msg.set(token, 4); // Token a0 a1 ...
			msg[4 + tkl] = 0xff; // Payload marker
			msg[5 + tkl] = 0x21; // "!"
			assert.deepEqual(build((w) => w.header(0, 1, 0xbeef, token, 0, tkl).payloadText("!")), msg);
			const { v, st } = parse(msg);
			assert.equal(st, 0);
			assert.equal(v.tokenLength, tkl);
			assert.equal(v.tokenOffset, 4);
			assert.ok(v.tokenEquals(token, 0, tkl));
			assert.equal(v.payloadOffset, 5 + tkl);
		});
	}
	it("TKL 9..15 is a message format error", () => {
		for (let tkl = 9; tkl <= 15; tkl++) {
			const msg = new Uint8Array(4 + 15);
			msg[0] = 0x40 | tkl; // Ver=1, T=0, TKL reserved
			msg[1] = 0x01;
			const { v, st } = parse(msg);
			assert.equal(st, E_FORMAT, "TKL " + tkl);
			assert.equal(v.tokenLength, 0);
		}
	});
	it("a token longer than the datagram is truncated", () => {
		assert.equal(parse(bytes("44 01 00 01", "aa bb cc")).st, E_TRUNCATED); // TKL 4, 3 token bytes
		assert.equal(parse(bytes("48 01 00 01")).st, E_TRUNCATED); // TKL 8, none
	});
});

describe("wire/view: malformed input returns a status (RFC 7252 §3, §4.1)", () => {
	it("fewer than 4 bytes: E_TRUNCATED", () => {
		for (const m of ["", "40", "40 01", "40 01 00"]) assert.equal(parse(hex(m)).st, E_TRUNCATED, m);
	});

	it("version 0, 2, 3: E_VERSION, with type and MID still read", () => {
		for (const [m, ver] of [["00 01 12 34", 0], ["90 01 12 34", 2], ["e0 01 12 34", 3]] as const) {
			const { v, st } = parse(hex(m));
			assert.equal(st, E_VERSION, m);
			assert.equal(v.version, ver);
			assert.equal(v.mid, 0x1234);
		}
		const { v } = parse(hex("a0 01 12 34")); // Ver=2, T=2 (ACK)
		assert.equal(v.type, 2);
	});

	it("a payload marker followed by no payload: E_FORMAT", () => {
		assert.equal(parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"ff", // Payload marker, then nothing
		)).st, E_FORMAT);
		assert.equal(parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"b1 61", // Uri-Path "a"
			"ff", // Payload marker, then nothing
		)).st, E_FORMAT);
		assert.equal(parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"ff 00", // Payload marker, one payload byte: fine
		)).st, 0);
	});

	it("an Empty message (0.00) with a token or any byte after the MID: E_FORMAT", () => {
		assert.equal(parse(bytes("60 00 12 34")).st, 0); // Empty ACK
		assert.equal(parse(bytes("70 00 12 34")).st, 0); // Reset
		assert.equal(parse(bytes("40 00 12 34")).st, 0); // Empty CON ("CoAP ping", §4.3)
		assert.equal(parse(bytes("61 00 12 34", "aa")).st, E_FORMAT); // TKL 1, token aa
		assert.equal(parse(bytes("60 00 12 34", "00")).st, E_FORMAT); // a trailing byte
		assert.equal(parse(bytes("70 00 12 34", "ff 01")).st, E_FORMAT); // marker and payload
		assert.equal(parse(bytes("60 00 12 34", "b1 61")).st, E_FORMAT); // an option
	});

	it("option delta nibble 15 or length nibble 15 (not a payload marker): E_FORMAT", () => {
		assert.equal(parse(bytes("40 01 00 01", "f0")).st, E_FORMAT); // delta 15, length 0
		assert.equal(parse(bytes("40 01 00 01", "f1 00")).st, E_FORMAT); // delta 15, length 1
		assert.equal(parse(bytes("40 01 00 01", "1f")).st, E_FORMAT); // delta 1, length 15
		assert.equal(parse(bytes("40 01 00 01", "bf 00")).st, E_FORMAT); // delta 11, length 15
		assert.equal(parse(bytes("40 01 00 01", "b1 61", "0f")).st, E_FORMAT); // second option: length 15
	});

	it("truncated option header extension or value: E_TRUNCATED", () => {
		const cases: readonly (readonly [string, string])[] = [
			["d0", "delta nibble 13, no extension byte"],
			["e0", "delta nibble 14, no extension bytes"],
			["e0 01", "delta nibble 14, one of two extension bytes"],
			["1d", "length nibble 13, no extension byte"],
			["1e 00", "length nibble 14, one of two extension bytes"],
			["dd 00", "delta extension present, length extension missing"],
			["b5 61 62", "length 5, two value bytes"],
			["b1", "length 1, no value byte"],
			["1d 00 61", "length 13, one value byte"],
			["b1 61 02 61", "second option: length 2, one value byte"],
		];
		for (const [tail, what] of cases) {
			assert.equal(parse(bytes("40 01 00 01", tail)).st, E_TRUNCATED, what);
		}
	});

	it("an option number beyond 65535: E_FORMAT", () => {
		assert.equal(parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"e0 fe f2", // option 65535 (delta 269 + 0xfef2), length 0
		)).st, 0);
		assert.equal(parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"e0 fe f2", // option 65535
			"10", // delta 1: option 65536
		)).st, E_FORMAT);
		assert.equal(parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"e0 ff ff", // delta 0xffff + 269 = 65804
		)).st, E_FORMAT);
	});

	it("more options than maxOptions: E_TOO_MANY_OPTIONS, header and token still valid", () => {
		const msg = bytes(
			"52", // Ver=1, T=1 (NON), TKL=2
			"01", // GET
			"ab cd", // MID 0xabcd
			"11 22", // Token
			"b1 61", // Uri-Path "a"
			"01 62", // Uri-Path "b"
			"01 63", // Uri-Path "c"
			"ff 00", // payload
		);
		const v = new MessageView(2);
		assert.equal(v.parse(msg), E_TOO_MANY_OPTIONS);
		assert.equal(v.type, 1);
		assert.equal(v.code, 1);
		assert.equal(v.mid, 0xabcd);
		assert.ok(v.tokenEquals(hex("11 22"), 0, 2));
		assert.equal(v.optionCount, 2);
		const w = new MessageView(3);
		assert.equal(w.parse(msg), 0, "exactly maxOptions options is fine");
		assert.equal(w.optionCount, 3);
	});

	it("maxOptions outside 1..4096 throws RangeError", () => {
		assert.throws(() => new MessageView(0), RangeError);
		assert.throws(() => new MessageView(4097), RangeError);
		assert.equal(new MessageView(1).maxOptions, 1);
	});
});

describe("wire/view: illegal lengths and repeats are treated as unrecognised (RFC 7252 §5.4.3, §5.4.5)", () => {
	it("a 5-byte Content-Format (max 2) is skipped by find; elective, so not reported", () => {
		const { v, st } = parse(bytes(
			"40 02 00 01", // CON POST MID 1
			"c5", // Content-Format (12): delta 12, length 5
			"00 00 00 00 2a", // value
		));
		assert.equal(st, 0);
		assert.equal(v.optFlags[0], OPTF_UNRECOGNISED);
		assert.equal(v.find(12), -1);
		assert.equal(v.uintOf(12, -1), -1);
		assert.equal(v.firstBadCritical(), -1);
	});

	it("a 9-byte ETag (max 8) is skipped; a zero-length ETag (min 1) too", () => {
		let r = parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"49", // ETag (4): delta 4, length 9
			"01 02 03 04 05 06 07 08 09",
		));
		assert.equal(r.st, 0);
		assert.equal(r.v.find(4), -1);
		assert.equal(r.v.firstBadCritical(), -1);
		r = parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"40", // ETag (4): length 0
			"08", "01 02 03 04 05 06 07 08", // ETag: delta 0, length 8 (legal)
		));
		assert.equal(r.v.optFlags[0], OPTF_UNRECOGNISED);
		assert.equal(r.v.optFlags[1], 0);
		assert.equal(r.v.find(4), 1);
	});

	it("an empty Uri-Host (min 1) is a bad critical option", () => {
		const { v, st } = parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"30", // Uri-Host (3): delta 3, length 0
			"81 61", // Uri-Path (11): delta 8, "a"
		));
		assert.equal(st, 0);
		assert.equal(v.find(3), -1);
		assert.equal(v.firstBadCritical(), 0);
	});

	it("other critical options with an illegal length are reported", () => {
		const cases: readonly (readonly [string, string])[] = [
			["73 00 16 33", "Uri-Port (7) with 3 bytes (max 2)"],
			["51 00", "If-None-Match (5) with 1 byte (must be empty)"],
			["19 01 02 03 04 05 06 07 08 09", "If-Match (1) with 9 bytes (max 8)"],
			["d4 0a 01 02 03 04", "Block2 (23: delta 13 + 0x0a) with 4 bytes (max 3)"],
			["d0 16", "Proxy-Uri (35: delta 13 + 0x16) empty (min 1)"],
		];
		for (const [opt, what] of cases) {
			const { v, st } = parse(bytes("40 01 00 01", opt));
			assert.equal(st, 0, what);
			assert.equal(v.firstBadCritical(), 0, what);
		}
	});

	it("legal extremes are accepted: 8-byte If-Match, empty If-Match, 255-byte Uri-Path, 1034-byte Proxy-Uri", () => {
		const w = new MessageWriter(new Uint8Array(2000));
		const eight = new Uint8Array(8);
		w.header(0, 1, 1, null).option(1, null).option(1, eight, 0, 8).option(11, new Uint8Array(255).fill(0x61), 0, 255)
			.option(35, new Uint8Array(1034).fill(0x62), 0, 1034);
		const { v, st } = parse(w.buf.subarray(0, w.finish()));
		assert.equal(st, 0);
		assert.deepEqual(Array.from(v.optFlags.subarray(0, 4)), [0, 0, 0, 0]);
		assert.equal(v.firstBadCritical(), -1);
	});

	it("a second Content-Format is unrecognised; the first is used", () => {
		const { v, st } = parse(bytes(
			"40 02 00 01", // CON POST MID 1
			"c1 32", // Content-Format (12): length 1, 50 (JSON)
			"01 3c", // Content-Format again: delta 0, 60 (CBOR)
			"01 28", // and a third: 40
		));
		assert.equal(st, 0);
		assert.deepEqual(Array.from(v.optFlags.subarray(0, 3)), [0, OPTF_UNRECOGNISED, OPTF_UNRECOGNISED]);
		assert.equal(v.find(12), 0);
		assert.equal(v.find(12, 1), -1);
		assert.equal(v.uintOf(12, -1), 50);
		assert.equal(v.firstBadCritical(), -1, "Content-Format is elective");
	});

	it("a second Uri-Host is a bad critical option", () => {
		const { v, st } = parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"33", ascii("abc"), // Uri-Host (3) "abc"
			"03", ascii("def"), // Uri-Host again: delta 0, "def"
		));
		assert.equal(st, 0);
		assert.equal(v.string(v.find(3)), "abc");
		assert.equal(v.firstBadCritical(), 1);
	});

	it("repeatable options repeat freely (Uri-Path, Uri-Query, ETag, If-Match, Location-Path)", () => {
		const msg = build((w) => w.header(0, 1, 1, null)
			.option(1, hex("01"), 0, 1).option(1, hex("02"), 0, 1)
			.option(4, hex("0a"), 0, 1).option(4, hex("0b"), 0, 1)
			.stringOption(8, "x").stringOption(8, "y")
			.stringOption(11, "a").stringOption(11, "b").stringOption(11, "c")
			.stringOption(15, "q=1").stringOption(15, "r"));
		const { v, st } = parse(msg);
		assert.equal(st, 0);
		for (let i = 0; i < v.optionCount; i++) assert.equal(v.optFlags[i], 0, "option " + i);
		assert.equal(v.firstBadCritical(), -1);
	});

	it("unknown elective options are ignored, unknown critical ones reported (§5.4.1)", () => {
		const msg = build((w) => w.header(0, 1, 1, null)
			.stringOption(11, "a") // Uri-Path
			.emptyOption(2048) // unknown, even: elective
			.option(65000, hex("01"), 0, 1)); // unknown, even: elective
		let r = parse(msg);
		assert.equal(r.st, 0);
		assert.equal(r.v.firstBadCritical(), -1);
		assert.equal(r.v.find(2048), 1, "unknown options are still found");
		const msg2 = build((w) => w.header(0, 1, 1, null)
			.stringOption(11, "a") // Uri-Path
			.emptyOption(2048) // unknown elective
			.emptyOption(2049)); // unknown, odd: critical
		r = parse(msg2);
		assert.equal(r.v.firstBadCritical(), 2);
		// 13 is unassigned and odd; 19 (Q-Block1, RFC 9177) is not in this registry.
		assert.equal(parse(bytes("40 01 00 01", "d0 00")).v.firstBadCritical(), 0);
		assert.equal(parse(bytes("40 01 00 01", "d0 06")).v.firstBadCritical(), 0);
		// Option 0 is reserved; even, so elective: ignored.
		assert.equal(parse(bytes("40 01 00 01", "00")).v.firstBadCritical(), -1);
	});

	it("find skips flagged options but keeps looking at later ones of the same number", () => {
		const { v } = parse(bytes(
			"40 01 00 01", // CON GET MID 1
			"40", // ETag length 0: illegal
			"01 07", // ETag 0x07
		));
		assert.equal(v.find(4), 1);
		assert.equal(v.uint(1), 7);
	});
});
