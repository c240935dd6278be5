// Sender Sequence Numbers and their persistence (RFC 8613 §7.2.1, Appendix B.1.1) through a
// Store: K and F, restarts, crashes before the first store, store failures, corrupt state.
import * as assert from "../../support/assert.js";
import { SenderSequence } from "../../../modules/coap/oscore/sequence.js";
import { E_OSCORE_SEQUENCE_EXHAUSTED, E_OSCORE_SEQUENCE_STORE } from "../../../modules/coap/oscore/status.js";
import { MemoryStore } from "./fixtures.js";

describe("oscore/sequence: Appendix B.1.1", () => {
	it("stores before the first use and then every K numbers", () => {
		const store = new MemoryStore();
		const s = new SenderSequence({ store, key: "ctx", k: 10, f: 3 });
		assert.equal(s.restored, false);
		assert.equal(s.next(), 0);
		assert.equal(store.text("ctx"), "0");
		for (let i = 1; i < 10; i++) assert.equal(s.next(), i);
		assert.equal(store.writes, 1, "one store for 0..9");
		assert.equal(s.next(), 10);
		assert.equal(store.text("ctx"), "10");
		assert.equal(store.writes, 2);
	});

	it("a restart continues at stored + K + F and stores again before the first use", () => {
		const store = new MemoryStore();
		let s = new SenderSequence({ store, key: "ctx", k: 10, f: 3 });
		for (let i = 0; i < 17; i++) s.next(); // used 0..16, stored 10
		s = new SenderSequence({ store, key: "ctx", k: 10, f: 3 });
		assert.equal(s.restored, true);
		assert.equal(s.peek, 23);
		assert.equal(s.next(), 23);
		assert.equal(store.text("ctx"), "23");
		// Crash right after the restart, before any use: the stored value is unchanged and safe.
		s = new SenderSequence({ store, key: "ctx", k: 10, f: 3 });
		s = new SenderSequence({ store, key: "ctx", k: 10, f: 3 });
		assert.equal(s.next(), 36, "23 + 10 + 3: above every number used (23)");
	});

	it("never reuses a number across 300 random crashes (model check)", () => {
		const store = new MemoryStore();
		const used = new Set<number>();
		let x = 7;
		for (let run = 0; run < 300; run++) {
			const s = new SenderSequence({ store, key: "k", k: 8, f: 1 });
			x = (x * 75 + 74) % 65537;
			for (let i = x % 30; i > 0; i--) {
				const n = s.next();
				assert.ok(!used.has(n), "number " + n + " used twice (run " + run + ")");
				used.add(n);
			}
		}
	});

	it("a failing store: the number is not used, E_OSCORE_SEQUENCE_STORE, and the next call retries", () => {
		const store = new MemoryStore();
		const s = new SenderSequence({ store, key: "ctx", k: 4, f: 1 });
		for (let i = 0; i < 4; i++) s.next();
		store.failWrites = true;
		assert.equal(s.next(), E_OSCORE_SEQUENCE_STORE);
		assert.equal(s.next(), E_OSCORE_SEQUENCE_STORE);
		store.failWrites = false;
		assert.equal(s.next(), 4);
		assert.equal(store.text("ctx"), "4");
	});

	it("§7.2.1: no number beyond 2^40 - 1", () => {
		const s = new SenderSequence(null, 2 ** 40 - 2);
		assert.equal(s.next(), 2 ** 40 - 2);
		assert.equal(s.next(), 2 ** 40 - 1);
		assert.equal(s.next(), E_OSCORE_SEQUENCE_EXHAUSTED);
		const store = new MemoryStore();
		store.values.set("c", Uint8Array.from([..."1099511627770"].map((c) => c.charCodeAt(0))));
		assert.equal(new SenderSequence({ store, key: "c", k: 64, f: 16 }).next(), E_OSCORE_SEQUENCE_EXHAUSTED);
	});

	it("a corrupt stored value refuses the context (RangeError) instead of restarting at 0", () => {
		for (const text of ["12a", "-1", "99999999999999", "1099511627776"]) {
			const store = new MemoryStore();
			store.values.set("c", Uint8Array.from([...text].map((c) => c.charCodeAt(0))));
			assert.throws(() => new SenderSequence({ store, key: "c" }), RangeError, text);
		}
		assert.throws(() => new SenderSequence(null, -1), RangeError);
		assert.throws(() => new SenderSequence({ store: new MemoryStore(), key: "c", k: 0 }), RangeError);
	});
});
