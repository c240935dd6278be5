// Fuzz-style tests of MessageView and MessageWriter with a seeded PRNG (reproducible on Node
// and XS): random datagrams, truncations and mutations never make parse throw, and everything
// the writer produces parses back to the same fields. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { toHex } from "../../support/bytes.js";
import { E_FORMAT, E_TOO_MANY_OPTIONS, E_TRUNCATED, E_VERSION } from "../../../modules/coap/errors.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { Prng } from "../../../sim/prng.js";

const STATUSES = [0, E_TRUNCATED, E_FORMAT, E_VERSION, E_TOO_MANY_OPTIONS];

/** Parses without throwing and checks the index is consistent with the datagram; returns the status. */
function checkedParse(v: MessageView, b: Uint8Array): number {
	let st: number;
	try {
		st = v.parse(b);
	} catch (e) {
		throw new Error("parse threw on " + toHex(b, " ") + ": " + String(e));
	}
	assert.ok(STATUSES.indexOf(st) >= 0, "status " + st + " for " + toHex(b, " "));
	if (st === 0 || st === E_TOO_MANY_OPTIONS) {
		assert.equal(v.version, 1);
		assert.ok(v.tokenLength <= 8);
		assert.ok(v.optionCount <= v.maxOptions);
		let prev = 0;
		let end = 4 + v.tokenLength;
		for (let i = 0; i < v.optionCount; i++) {
			const n = v.optNumber[i]!;
			assert.ok(n >= prev, "ascending option numbers");
			prev = n;
			assert.ok(v.optOffset[i]! >= end + 1, "value after its header");
			end = v.optOffset[i]! + v.optLength[i]!;
			assert.ok(end <= b.length, "value inside the datagram");
		}
	}
	if (st === 0) {
		assert.ok(v.payloadOffset <= b.length);
		if (v.payloadLength > 0) assert.equal(b[v.payloadOffset - 1], 0xff, "payload follows a marker");
		if (v.code === 0) assert.equal(b.length, 4, "an Empty message is 4 bytes");
	}
	return st;
}

interface Msg {
	type: number;
	code: number;
	mid: number;
	token: Uint8Array;
	options: { number: number; value: Uint8Array }[];
	payload: Uint8Array;
}

function randomBytes(rng: Prng, n: number): Uint8Array {
	const b = new Uint8Array(n);
	rng.fill(b);
	return b;
}

// Option number steps that hit the encoding boundaries often.
const STEPS = [0, 0, 1, 2, 11, 12, 13, 14, 255, 267, 268, 269, 270, 1000, 20000];
// Value lengths likewise.
const LENGTHS = [0, 1, 2, 3, 4, 8, 12, 13, 14, 40, 268, 269, 270, 600];

function randomMsg(rng: Prng): Msg {
	const empty = rng.nextInt(10) === 0;
	const m: Msg = {
		type: rng.nextInt(4),
		code: empty ? 0 : 1 + rng.nextInt(255),
		mid: rng.nextInt(0x10000),
		token: randomBytes(rng, empty ? 0 : rng.nextInt(9)),
		options: [],
		payload: new Uint8Array(0),
	};
	if (empty) return m;
	const count = rng.nextInt(8);
	let number = 0;
	for (let i = 0; i < count; i++) {
		const step = STEPS[rng.nextInt(STEPS.length)]!;
		if (number + step > 0xffff) break;
		number += step;
		const len = rng.nextInt(3) === 0 ? LENGTHS[rng.nextInt(LENGTHS.length)]! : rng.nextInt(6);
		m.options.push({ number, value: randomBytes(rng, len) });
	}
	if (rng.nextInt(2) === 0) m.payload = randomBytes(rng, 1 + rng.nextInt(rng.nextInt(4) === 0 ? 700 : 20));
	return m;
}

function write(w: MessageWriter, m: Msg): number {
	w.header(m.type, m.code, m.mid, m.token, 0, m.token.length);
	for (const o of m.options) w.option(o.number, o.value, 0, o.value.length);
	w.payload(m.payload);
	return w.finish();
}

describe("wire fuzz (seeded)", () => {
	it("random datagrams: parse never throws and returns 0 or a negative status", () => {
		const rng = new Prng(0x5eed);
		const v = new MessageView(8);
		const two = new MessageView(2);
		const counts = [0, 0, 0, 0, 0];
		for (let k = 0; k < 4000; k++) {
			const b = randomBytes(rng, rng.nextInt(48));
			// Mostly version 1 with a legal TKL, to get past the header checks.
			if (b.length > 0 && rng.nextInt(4) !== 0) b[0] = 0x40 | (b[0]! & 0x30) | rng.nextInt(9);
			// Sometimes a small first option delta, to get past the first option.
			const at = 4 + (b.length > 0 ? b[0]! & 0x0f : 0);
			if (at < b.length && rng.nextInt(2) === 0) b[at] = (rng.nextInt(13) << 4) | rng.nextInt(13);
			counts[STATUSES.indexOf(checkedParse(v, b))]!++;
			counts[STATUSES.indexOf(checkedParse(two, b))]!++;
		}
		// The generator reaches every outcome (a sanity check on the fuzzer itself).
		for (let i = 0; i < counts.length; i++) assert.ok(counts[i]! > 0, "status " + STATUSES[i] + " never seen: " + counts.join(","));
	});

	it("the writer's output parses back to the same fields", () => {
		const rng = new Prng(7252);
		const w = new MessageWriter(new Uint8Array(8192));
		const v = new MessageView(16);
		for (let k = 0; k < 1500; k++) {
			const m = randomMsg(rng);
			const n = write(w, m);
			assert.ok(n > 0);
			const b = w.buf.subarray(0, n);
			assert.equal(checkedParse(v, b), 0, toHex(b, " "));
			assert.equal(v.type, m.type);
			assert.equal(v.code, m.code);
			assert.equal(v.mid, m.mid);
			assert.ok(v.tokenEquals(m.token, 0, m.token.length));
			assert.equal(v.optionCount, m.options.length);
			for (let i = 0; i < m.options.length; i++) {
				assert.equal(v.optNumber[i], m.options[i]!.number);
				assert.deepEqual(v.value(i), m.options[i]!.value);
			}
			assert.deepEqual(v.payload(), m.payload);
		}
	});

	it("truncations of valid messages: status, never a throw; a cut inside an option is E_TRUNCATED", () => {
		const rng = new Prng(3);
		const w = new MessageWriter(new Uint8Array(8192));
		const v = new MessageView(16);
		for (let k = 0; k < 150; k++) {
			const m = randomMsg(rng);
			const n = write(w, m);
			const full = w.buf.slice(0, n);
			// Option boundaries: a cut exactly there leaves a shorter valid message.
			const boundaries: number[] = [4 + m.token.length];
			assert.equal(v.parse(full), 0);
			for (let i = 0; i < v.optionCount; i++) boundaries.push(v.optOffset[i]! + v.optLength[i]!);
			for (let cut = 0; cut < n; cut++) {
				const st = checkedParse(v, full.subarray(0, cut));
				if (cut < 4 || (cut < 4 + m.token.length)) assert.equal(st, E_TRUNCATED);
				else if (m.code === 0) assert.equal(st, cut === 4 ? 0 : E_FORMAT);
				else if (boundaries.indexOf(cut) >= 0) assert.equal(st, 0, "cut at an option boundary");
				else if (cut < boundaries[boundaries.length - 1]!) assert.equal(st, E_TRUNCATED, "cut inside an option");
				else if (cut === boundaries[boundaries.length - 1]! + 1) assert.equal(st, E_FORMAT, "cut right after the payload marker");
				else assert.equal(st, 0, "cut inside the payload: a shorter payload");
			}
		}
	});

	it("mutations of valid messages: status, never a throw", () => {
		const rng = new Prng(99);
		const w = new MessageWriter(new Uint8Array(8192));
		const v = new MessageView(16);
		const small = new MessageView(2);
		for (let k = 0; k < 1500; k++) {
			const m = randomMsg(rng);
			const n = write(w, m);
			const b = w.buf.slice(0, n);
			const flips = 1 + rng.nextInt(4);
			for (let f = 0; f < flips; f++) {
				const i = rng.nextInt(Math.min(n, 24));
				if (rng.nextInt(2) === 0) b[i] = rng.nextInt(256);
				else b[i] = b[i]! ^ (1 << rng.nextInt(8));
			}
			checkedParse(v, b);
			checkedParse(small, b);
			// Appending bytes, or dropping one from the middle.
			const drop = rng.nextInt(n);
			const shorter = new Uint8Array(n - 1);
			shorter.set(b.subarray(0, drop));
			shorter.set(b.subarray(drop + 1), drop);
			checkedParse(v, shorter);
			const longer = new Uint8Array(n + 3);
			longer.set(b);
			rng.fill(longer.subarray(n));
			checkedParse(v, longer);
		}
	});
});
