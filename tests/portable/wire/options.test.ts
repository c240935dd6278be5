// The option registry (options.ts) against the RFC tables: RFC 7252 §5.10 Table 4 and §5.4.6,
// RFC 7641 §2 (Observe), RFC 7959 §2.1 and §4 (Block1/Block2/Size2), RFC 7967 §2 (No-Response),
// RFC 8613 §2 (OSCORE), RFC 8768 §3 (Hop-Limit), RFC 9175 §2.2.1 and §3.2.1 (Echo, Request-Tag).
// Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import * as O from "../../../modules/coap/options.js";

const E = O.FMT_EMPTY;
const B = O.FMT_OPAQUE;
const U = O.FMT_UINT;
const S = O.FMT_STRING;

// The RFC tables, transcribed independently of options.ts:
// number, name, C(ritical), U(nsafe), N(oCacheKey), R(epeatable), format, min length, max length.
// "N" is only meaningful for safe-to-forward options; the tables print "-" for unsafe ones,
// written 0 here (the bit pattern of an unsafe option never reads as NoCacheKey anyway).
const RFC: readonly (readonly [number, string, number, number, number, number, number, number, number])[] = [
	// RFC 7252 §5.10, Table 4
	[1, "If-Match", 1, 0, 0, 1, B, 0, 8],
	[3, "Uri-Host", 1, 1, 0, 0, S, 1, 255],
	[4, "ETag", 0, 0, 0, 1, B, 1, 8],
	[5, "If-None-Match", 1, 0, 0, 0, E, 0, 0],
	[7, "Uri-Port", 1, 1, 0, 0, U, 0, 2],
	[8, "Location-Path", 0, 0, 0, 1, S, 0, 255],
	[11, "Uri-Path", 1, 1, 0, 1, S, 0, 255],
	[12, "Content-Format", 0, 0, 0, 0, U, 0, 2],
	[14, "Max-Age", 0, 1, 0, 0, U, 0, 4],
	[15, "Uri-Query", 1, 1, 0, 1, S, 0, 255],
	[17, "Accept", 1, 0, 0, 0, U, 0, 2],
	[20, "Location-Query", 0, 0, 0, 1, S, 0, 255],
	[35, "Proxy-Uri", 1, 1, 0, 0, S, 1, 1034],
	[39, "Proxy-Scheme", 1, 1, 0, 0, S, 1, 255],
	[60, "Size1", 0, 0, 1, 0, U, 0, 4],
	// RFC 7641 §2
	[6, "Observe", 0, 1, 0, 0, U, 0, 3],
	// RFC 7959 §2.1, §4
	[23, "Block2", 1, 1, 0, 0, U, 0, 3],
	[27, "Block1", 1, 1, 0, 0, U, 0, 3],
	[28, "Size2", 0, 0, 1, 0, U, 0, 4],
	// RFC 7967 §2
	[258, "No-Response", 0, 1, 0, 0, U, 0, 1],
	// RFC 8613 §2
	[9, "OSCORE", 1, 0, 0, 0, B, 0, 255],
	// RFC 8768 §3: uint, length 1 (values 1..255; 0 would be the empty uint)
	[16, "Hop-Limit", 0, 0, 0, 0, U, 1, 1],
	// RFC 9175 §2.2.1, §3.2.1
	[252, "Echo", 0, 0, 1, 0, B, 1, 40],
	[292, "Request-Tag", 0, 0, 0, 1, B, 0, 8],
];

describe("options: the registry matches the RFC tables", () => {
	for (const [num, name, c, u, n, r, fmt, min, max] of RFC) {
		it(num + " " + name, () => {
			// OSCORE is in the registry but not processed by the message and request/response
			// layers (RFC 7252 §5.4.1: an OSCORE option nobody unprotected is unrecognised).
			assert.equal(O.isKnownOption(num), num !== 9);
			assert.equal(O.optionName(num), name);
			assert.equal(O.optionByName(name), num);
			assert.equal(O.optionByName(name.toUpperCase()), num, "names are case-insensitive");
			assert.equal(O.isCritical(num), c === 1, "critical");
			assert.equal(O.isUnsafe(num), u === 1, "unsafe");
			assert.equal(O.isNoCacheKey(num), n === 1, "NoCacheKey");
			assert.equal(O.isRepeatable(num), r === 1, "repeatable");
			assert.equal(O.optionFormat(num), fmt, "format");
			if (min > 0) assert.equal(O.isLegalLength(num, min - 1), false, "below min");
			assert.equal(O.isLegalLength(num, min), true, "min");
			assert.equal(O.isLegalLength(num, max), true, "max");
			assert.equal(O.isLegalLength(num, max + 1), false, "above max");
			assert.equal(O.occurrenceFlags(num, max + 1, false), 1);
			assert.equal(O.occurrenceFlags(num, min, false), 0);
			assert.equal(O.occurrenceFlags(num, min, true), r === 1 ? 0 : 1, "a repeat");
		});
	}

	it("no other option is known; the exported constants are the RFC numbers", () => {
		let known = 0;
		for (let n = 0; n <= 0xffff; n++) if (O.isKnownOption(n)) known++;
		assert.equal(known, RFC.length - 1, "all but OSCORE");
		const constants: Record<string, number> = {
			OPT_IF_MATCH: 1, OPT_URI_HOST: 3, OPT_ETAG: 4, OPT_IF_NONE_MATCH: 5, OPT_OBSERVE: 6, OPT_URI_PORT: 7,
			OPT_LOCATION_PATH: 8, OPT_OSCORE: 9, OPT_URI_PATH: 11, OPT_CONTENT_FORMAT: 12, OPT_MAX_AGE: 14,
			OPT_URI_QUERY: 15, OPT_HOP_LIMIT: 16, OPT_ACCEPT: 17, OPT_LOCATION_QUERY: 20, OPT_BLOCK2: 23,
			OPT_BLOCK1: 27, OPT_SIZE2: 28, OPT_PROXY_URI: 35, OPT_PROXY_SCHEME: 39, OPT_SIZE1: 60, OPT_ECHO: 252,
			OPT_NO_RESPONSE: 258, OPT_REQUEST_TAG: 292,
		};
		const exported = O as unknown as Record<string, number>;
		for (const k of Object.keys(constants)) assert.equal(exported[k], constants[k], k);
	});

	it("unknown options: opaque, any length, not repeatable, unrecognised name", () => {
		for (const n of [0, 2, 13, 19, 128, 2048, 2049, 65000, 65535]) {
			assert.equal(O.isKnownOption(n), false);
			assert.equal(O.optionIndex(n), -1);
			assert.equal(O.optionFormat(n), O.FMT_OPAQUE);
			assert.equal(O.isLegalLength(n, 0), true);
			assert.equal(O.isLegalLength(n, 1034), true);
			assert.equal(O.isRepeatable(n), false);
			assert.equal(O.occurrenceFlags(n, 5000, true), 0, "unrecognised anyway");
			assert.equal(O.optionName(n), "Option-" + n);
		}
		assert.equal(O.optionByName("No-Such-Option"), -1);
		assert.equal(O.optionByName("Option-2048"), -1);
	});
});

describe("options: properties from the number's bits (RFC 7252 §5.4.6)", () => {
	it("Critical = (onum & 1), UnSafe = (onum & 2), NoCacheKey = ((onum & 0x1e) == 0x1c), for every number", () => {
		for (let n = 0; n <= 0xffff; n++) {
			if (O.isCritical(n) !== ((n & 1) === 1)) assert.fail("critical " + n);
			if (O.isUnsafe(n) !== ((n & 2) === 2)) assert.fail("unsafe " + n);
			if (O.isNoCacheKey(n) !== ((n & 0x1e) === 0x1c)) assert.fail("NoCacheKey " + n);
		}
	});

	it("examples: Uri-Host 3 critical+unsafe, ETag 4 elective, Max-Age 14 unsafe, Size1 60 NoCacheKey", () => {
		assert.ok(O.isCritical(3) && O.isUnsafe(3));
		assert.ok(!O.isCritical(4) && !O.isUnsafe(4) && !O.isNoCacheKey(4));
		assert.ok(!O.isCritical(14) && O.isUnsafe(14));
		assert.ok(!O.isCritical(60) && !O.isUnsafe(60) && O.isNoCacheKey(60));
		// Observe 6: elective, unsafe. OSCORE 9: critical, safe to forward, part of the cache key.
		assert.ok(!O.isCritical(6) && O.isUnsafe(6));
		assert.ok(O.isCritical(9) && !O.isUnsafe(9) && !O.isNoCacheKey(9));
		// Echo 252: elective, safe, NoCacheKey. No-Response 258: elective, unsafe.
		assert.ok(!O.isCritical(252) && !O.isUnsafe(252) && O.isNoCacheKey(252));
		assert.ok(!O.isCritical(258) && O.isUnsafe(258));
		// Request-Tag 292: elective, safe, part of the cache key.
		assert.ok(!O.isCritical(292) && !O.isUnsafe(292) && !O.isNoCacheKey(292));
	});
});
