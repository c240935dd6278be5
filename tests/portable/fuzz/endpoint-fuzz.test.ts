// Mutation fuzzing of datagrams against a server and a client Endpoint on the virtual network
// (fuzzer.ts): 10,000 datagrams in `npm test`, on Node and XS, with a fixed seed; a million
// with `npm run fuzz` (BENCHMARKS.md has the time it takes). Also checks that the fuzzer itself
// reaches what it is meant to (observers, transfers, busy slots, duplicates, malformed input)
// and that its mutations keep their promises. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { Prng } from "../../../sim/prng.js";
import { fuzz } from "./fuzzer.js";
import { mutate, optionHeaders } from "./mutate.js";

describe("fuzz: mutated datagrams against a server and a client endpoint (issue 8)", function () {
	this.timeout(120000);

	it("10,000 datagrams (seed 8): nothing escapes, the server answers a plain GET every 1,000, everything is free after the timeouts", async () => {
		const r = await fuzz({ seed: 8, count: 10000 });
		assert.equal(r.violation, null, r.violation ? `[${r.violation.inv}] after ${r.violation.index} datagrams: ${r.violation.detail}\n  ${r.violation.recent.join("\n  ")}` : "");
		assert.equal(r.sent, 10000);
		const s = r.stats;
		// The fuzzing reached the server's tables and error paths, and the client.
		assert.ok(s.checks >= 10, "plain GETs: " + s.checks);
		assert.ok(s.maxObservers >= 2 && s.maxTransfers >= 1 && s.maxServerSlots >= 1, JSON.stringify(s));
		assert.ok(s.serverMalformed > 1000 && s.serverDuplicates > 0 && s.serverResets > 0, JSON.stringify(s));
		assert.ok(s.toClient > 2000 && s.clientRequests > 100, JSON.stringify(s));
		// OSCORE: protected requests went in, mutated and replayed, and some were served.
		assert.ok(s.protectedSent > 300 && s.secretServed > 10, JSON.stringify(s));
	});

	it("mutations: deterministic per seed, and each changes the message", () => {
		const src = Uint8Array.of(0x44, 0x01, 0x12, 0x34, 1, 2, 3, 4, 0xb5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xff, 0x61);
		const other = Uint8Array.of(0x60, 0x45, 0x12, 0x34, 0xc1, 0x00, 0xff, 0x62);
		const a = new Prng(5);
		const b = new Prng(5);
		let changed = 0;
		for (let i = 0; i < 500; i++) {
			const x = mutate(a, src, other);
			const y = mutate(b, src, other);
			assert.deepEqual(x, y);
			if (x.length !== src.length || x.some((v, k) => v !== src[k])) changed++;
		}
		assert.equal(src[0], 0x44, "the source is not changed");
		assert.ok(changed > 450, "changed: " + changed);
	});

	it("optionHeaders finds the option headers of a message and stops at what it cannot read", () => {
		// Uri-Path "hello" (0xb5: delta 11, length 5), Accept 0 (0x61: delta 6, length 1), payload.
		assert.deepEqual(optionHeaders(Uint8Array.of(0x40, 0x01, 0, 1, 0xb5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x61, 0x00, 0xff, 0x01)), [4, 10]);
		// A one-byte token, an option with a one-byte delta extension, then a reserved nibble 15.
		assert.deepEqual(optionHeaders(Uint8Array.of(0x41, 0x01, 0, 1, 0x99, 0xd1, 0x05, 0x00, 0xf0)), [5, 8]);
		assert.deepEqual(optionHeaders(Uint8Array.of(0x40, 0x01)), []);
	});
});
