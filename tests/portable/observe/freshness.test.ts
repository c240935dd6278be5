// RFC 7641 §3.4 freshness and §4.4 sequence numbers, as pure functions:
//   (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and V1 - V2 > 2^23) or (T2 > T1 + 128 seconds)
import * as assert from "../../support/assert.js";
import { isFresher, nextSequence } from "../../../modules/coap/observe/freshness.js";

const TOP = (1 << 24) - 1;
const HALF = 1 << 23;

describe("observe: freshness of notifications (RFC 7641 §3.4)", () => {
	it("a larger number within 2^23 is fresher; equal or smaller is not (same time)", () => {
		assert.equal(isFresher(5, 0, 6, 0), true);
		assert.equal(isFresher(5, 0, 5 + HALF - 1, 0), true);
		assert.equal(isFresher(5, 0, 5, 0), false, "the same number twice (a duplicate)");
		assert.equal(isFresher(6, 0, 5, 0), false, "an older one arriving late");
		assert.equal(isFresher(0, 0, HALF, 0), false, "exactly 2^23 ahead: neither rule holds");
	});

	it("across the 2^24 wrap: 2^24 - 1 → 0 → 1 are each fresher; 0 after 2^24 - 1 is not older", () => {
		assert.equal(isFresher(TOP, 0, 0, 0), true);
		assert.equal(isFresher(TOP - 1, 0, 1, 0), true);
		assert.equal(isFresher(0, 0, TOP, 0), false, "2^24 - 1 after 0 is older (from before the wrap)");
		assert.equal(isFresher(10, 0, TOP - 10, 0), false);
		assert.equal(isFresher(TOP - 10, 0, 10, 0), true);
	});

	it("more than 128 s after the last one, any number is fresher (the server may have restarted)", () => {
		assert.equal(isFresher(1000, 0, 3, 128000), false, "exactly 128 s: not yet");
		assert.equal(isFresher(1000, 0, 3, 128001), true);
		assert.equal(isFresher(1000, 5000, 1000, 133001), true, "even the same number");
	});

	it("only the low 24 bits count", () => {
		assert.equal(isFresher(1 << 24, 0, 1, 0), true, "2^24 is 0");
		assert.equal(isFresher(5, 0, (1 << 24) + 6, 0), true);
	});

	it("nextSequence counts modulo 2^24 (§4.4)", () => {
		assert.equal(nextSequence(0), 1);
		assert.equal(nextSequence(TOP - 1), TOP);
		assert.equal(nextSequence(TOP), 0);
	});
});
