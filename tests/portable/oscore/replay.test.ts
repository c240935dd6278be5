// The replay window (RFC 8613 §7.4, §3.2.2; RFC 6347 §4.1.2.6) and its B.1.2 recovery state.
import * as assert from "../../support/assert.js";
import { REPLAY_UNKNOWN, ReplayWindow } from "../../../modules/coap/oscore/replay.js";
import { E_OSCORE_REPLAY } from "../../../modules/coap/oscore/status.js";

/** check() then accept() when fresh, as unprotect does. */
function take(w: ReplayWindow, seq: number): number {
	const r = w.check(seq);
	if (r === 0) w.accept(seq);
	return r;
}

describe("oscore/replay: the sliding window", () => {
	it("a fresh window takes any number once, in any order inside the window", () => {
		const w = new ReplayWindow(32);
		for (const s of [5, 3, 0, 4, 36, 10]) assert.equal(take(w, s), 0, "first " + s);
		for (const s of [5, 36, 10]) assert.equal(take(w, s), E_OSCORE_REPLAY, "again " + s);
		assert.equal(take(w, 6), 0, "6 was never seen and is inside the window (36 - 31)");
		assert.equal(take(w, 4), E_OSCORE_REPLAY, "4 is left of the window: too old to tell");
	});

	it("matches a reference model over 20 000 random numbers (windows 32, 64 and 96)", () => {
		for (const size of [32, 64, 96]) {
			const w = new ReplayWindow(size);
			const seen = new Set<number>();
			let top = -1;
			let x = 12345;
			for (let i = 0; i < 20000; i++) {
				x = (x * 1103515245 + 12345) % 2147483648;
				// Mostly near the top, sometimes jumps ahead, sometimes far behind.
				const r = x % 100;
				const s = Math.max(0, r < 80 ? top - (x % (size + 8)) + 4 : r < 95 ? top + 1 + (x % 200) : top - 1000);
				const expect = !seen.has(s) && (s > top || top - s < size) ? 0 : E_OSCORE_REPLAY;
				assert.equal(take(w, s), expect, "size " + size + ", step " + i + ", seq " + s + ", top " + top);
				if (expect === 0) {
					seen.add(s);
					top = Math.max(top, s);
				}
			}
		}
	});

	it("sequence numbers near 2^40 work", () => {
		const w = new ReplayWindow();
		const big = 2 ** 40 - 40;
		assert.equal(take(w, big), 0);
		assert.equal(take(w, big + 39), 0);
		assert.equal(take(w, big + 10), 0);
		assert.equal(take(w, big + 10), E_OSCORE_REPLAY);
		assert.equal(take(w, big), E_OSCORE_REPLAY);
	});

	it("B.1.2: a lost window answers REPLAY_UNKNOWN until a fresh number sets its lower limit", () => {
		const w = new ReplayWindow();
		take(w, 100);
		w.forget();
		assert.equal(w.known, false);
		assert.equal(w.check(100), REPLAY_UNKNOWN);
		assert.equal(w.check(5000), REPLAY_UNKNOWN);
		w.initializeFrom(120);
		assert.equal(w.known, true);
		assert.equal(take(w, 120), E_OSCORE_REPLAY, "the fresh number itself is now seen");
		assert.equal(take(w, 119), E_OSCORE_REPLAY, "below the lower limit");
		assert.equal(take(w, 100), E_OSCORE_REPLAY);
		assert.equal(take(w, 121), 0);
		w.reset();
		assert.equal(take(w, 0), 0, "reset: an empty, known window");
	});

	it("the size must be a multiple of 32 (RangeError)", () => {
		assert.throws(() => new ReplayWindow(16), RangeError);
		assert.throws(() => new ReplayWindow(48), RangeError);
		assert.equal(new ReplayWindow(64).stateBytes, 8 + 24);
	});
});
