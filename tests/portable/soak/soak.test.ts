// The model-based soak test of issue 8 (model.ts) in the suite: a few fixed seeds of generated
// steps, run on Node and on XS, with every invariant checked after every step and at the end;
// and, for each known defect (known.ts), the minimal step list that shows it (found by
// `npm run soak` and its shrinker). While a defect is listed in KNOWN_DEFECTS its
// demonstration asserts that it still shows; once it is fixed that test fails and asks for the
// number to be removed, and from then on the same steps must run clean.
// Longer runs: `npm run soak -- --steps N --seed S`. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { KNOWN_DEFECTS } from "./known.js";
import { runSoak, type Violation } from "./model.js";
import { ddmin } from "./shrink.js";
import { generate, type Step } from "./steps.js";

/** Seeds and length of the runs in `npm test` (0.1 s each on Node, about 1 s on XS). */
const SEEDS = Object.freeze([1, 2, 3, 4, 5, 6]);
const STEPS = 1000;

function say(line: string): void {
	const g = globalThis as { print?: (s: string) => void; console?: { log(s: string): void } };
	if (typeof g.print === "function") g.print(line);
	else g.console?.log(line);
}

function text(v: Violation): string {
	return "[" + v.inv + "]" + (v.defect > 0 ? " defect " + v.defect : "") + " after step " + v.step + " at " + v.time + " ms: " + v.detail;
}

describe("soak: model-based test on the virtual network (issue 8), fixed seeds", function () {
	this.timeout(120000);
	for (const seed of SEEDS) {
		it(`seed ${seed}: ${STEPS} generated steps (3 clients, a raw peer, loss, handlers that stall, hang and throw): every invariant holds`, async () => {
			const steps = generate(seed, STEPS, { avoid: KNOWN_DEFECTS });
			const r = await runSoak(steps, { seed, known: KNOWN_DEFECTS });
			if (r.known.length > 0) {
				const by = new Map<number, number>();
				for (const v of r.known) by.set(v.defect, (by.get(v.defect) ?? 0) + 1);
				say(`      soak seed ${seed}: went past known defects ${[...by].map(([d, n]) => d + " (" + n + "x)").join(", ")}; first: ${text(r.known[0]!)}`);
			}
			assert.equal(r.violation, null, r.violation ? text(r.violation) + " (npm run soak -- --steps " + STEPS + " --seed " + seed + " shrinks it)" : "");
			assert.equal(r.stepsRun, STEPS);
			// The run did what it is for (a check on the generator, not on the stack).
			assert.ok(r.counts.requests > STEPS / 5, "requests: " + r.counts.requests);
			assert.ok(r.counts.responses > r.counts.requests / 2, "responses: " + r.counts.responses + " of " + r.counts.requests);
			assert.ok(r.counts.notifications > 0 && r.counts.handlerRuns > r.counts.requests, JSON.stringify(r.counts));
		});
	}
});

/** A minimal step list that shows one defect, as the first violation of a fresh run. */
interface Demo {
	defect: number;
	inv: string;
	title: string;
	seed: number;
	steps: Step[];
}

function req(id: number, c: number, m: string, p: string, b: string, n = 0, more: Partial<Extract<Step, { k: "req" }>> = {}): Step {
	return { k: "req", id, c, m, p, b, a: 0, n, s: 20, bs: 0, non: 0, t: 93000, x: "", dt: 100, ...more };
}

const DEMOS: readonly Demo[] = Object.freeze([
	{
		defect: 1, inv: "escaped", seed: 1,
		title: "a handler's res.send(404, ...) throws out of the endpoint (RangeError from the writer)",
		steps: [req(1, 0, "GET", "/echo", "misuse:code404")],
	},
	{
		defect: 1, inv: "escaped", seed: 1,
		title: "a payload that is not bytes or text (a plain array) must end as 5.00, never throw out of the endpoint (an ArrayBuffer is taken as its bytes)",
		steps: [req(1, 0, "PUT", "/echo", "misuse:arr", 20)],
	},
	{
		defect: 1, inv: "outcome", seed: 1,
		title: "res.send() twice is answered with the second call's values, not 5.00",
		steps: [req(49, 1, "POST", "/echo", "misuse:twice", 31)],
	},
	{
		defect: 2, inv: "body", seed: 2,
		title: "two Block1 uploads of another peer hold both transfer slots; a PUT whose answer is block-wise runs its handler again, bodiless, for Block2 block 1",
		steps: [
			{ k: "rb1", id: 882, p: "/echo", dt: 6 },
			{ k: "rb1", id: 916, p: "/echo", dt: 0 },
			req(930, 2, "PUT", "/echo", "ok", 967, { s: 2221, dt: 3208 }),
		],
	},
	{
		defect: 3, inv: "lost-registration", seed: 39,
		title: "a peer leaves a CON notification unacknowledged and deregisters; a Reset of the stale retransmission ends the next registration that took the observer entry",
		steps: [
			{ k: "robs", id: 46, r: 0, b2: -1, s: 47, dt: 65035 },
			{ k: "change", r: 0, dt: 0 },
			{ k: "change", r: 0, dt: 102 },
			{ k: "change", r: 0, dt: 78 },
			{ k: "rmode", ack: 0, rst: 1, dt: 3433 },
			{ k: "change", r: 0, dt: 3103 },
			{ k: "rdereg", id: 46, dt: 0 },
			{ k: "obs", id: 63, c: 0, p: "/obs/1", b: "ok", a: 0, s: 406, fetch: 0, dt: 61 },
			{ k: "change", r: 0, dt: 48340 },
			{ k: "change", r: 1, dt: 4998 },
		],
	},
	{
		defect: 4, inv: "observe-on-error", seed: 1,
		title: "a registration asking for a Block2 block past the end gets 4.02 with an Observe option",
		steps: [{ k: "robs", id: 165, r: 0, b2: 3, s: 45, dt: 161 }],
	},
	{
		defect: 4, inv: "observe-block", seed: 1,
		title: "a registration with Block2 block 1 is notified with block 1 (RFC 7959 §2.6: block 0)",
		steps: [{ k: "robs", id: 1, r: 0, b2: 1, s: 300, dt: 100 }],
	},
	{
		defect: 5, inv: "outcome", seed: 1,
		title: "a request with the OSCORE option is served 2.xx instead of 4.02",
		steps: [req(1, 0, "GET", "/echo", "ok", 0, { x: "oscore" })],
	},
	{
		defect: 6, inv: "outcome", seed: 1,
		title: "If-None-Match on an existing resource without an etag callback is performed (2.05, not 4.12)",
		steps: [req(20, 1, "FETCH", "/echo", "ok", 30, { x: "inm" })],
	},
	{
		defect: 6, inv: "outcome", seed: 1,
		title: "If-Match on a resource without an etag callback is performed (2.04, not 4.12)",
		steps: [req(21, 1, "PUT", "/echo", "ok", 30, { x: "ifm" })],
	},
	{
		defect: 7, inv: "leak", seed: 10,
		title: "a notification handler that never settles pins its observer for good",
		steps: [{ k: "obs", id: 595, c: 0, p: "/obs/1", b: "hangafter", a: 0, s: 605, fetch: 0, dt: 4878 }],
	},
	{
		defect: 8, inv: "repeated-block", seed: 1,
		title: "the final Block1 block of an applied PUT, repeated with its Message ID after other traffic, gets 4.08",
		steps: [
			{ k: "rput", id: 1, dt: 2 },
			{ k: "obs", id: 2, c: 2, p: "/obs/1", b: "ok", a: 0, s: 3102, fetch: 0, dt: 2823 },
			req(24, 0, "GET", "/.well-known/core", "ok", 0, { s: 30, dt: 162 }),
			req(25, 2, "iPATCH", "/echo", "slow:2824", 31, { s: 1064, dt: 87 }),
			{ k: "ragain", id: 1, dt: 2092 },
		],
	},
	{
		defect: 11, inv: "deadline", seed: 2,
		title: "behind a lost NON request, a NON request with timeoutMs 23881 has no outcome after 49 s",
		steps: [
			req(331, 1, "GET", "/echo", "late", 0, { s: 3455, dt: 164 }),
			{ k: "net", loss: 0.05, dup: 0.1, reo: 0, dt: 0 },
			req(344, 1, "PUT", "/store/1", "late", 884, { s: 56, bs: 64, non: 1, dt: 0 }),
			req(375, 1, "POST", "/big", "ok", 23, { non: 1, t: 23881, dt: 0 }),
			{ k: "obs", id: 376, c: 1, p: "/obs/1", b: "ok", a: 0, s: 147, fetch: 0, dt: 49098 },
		],
	},
	{
		defect: 12, inv: "outcome", seed: 1,
		title: "a method other than GET on /.well-known/core gets 4.04 instead of 4.05",
		steps: [req(24, 2, "iPATCH", "/.well-known/core", "ok", 30, { a: 1 })],
	},
	{
		defect: 101, inv: "body", seed: 34,
		title: "not in issue 8: a handler answered 5.03 \"server busy\" (no server slot) keeps running on its Block1 body, whose transfer slot is released and reused by another upload",
		steps: [
			{ k: "obs", id: 500, c: 2, p: "/obs/1", b: "ok", a: 0, s: 38, fetch: 0, dt: 170 },
			req(501, 2, "GET", "/echo", "slow:565", 0, { s: 25, dt: 0 }),
			{ k: "vanish", c: 2, dt: 0 },
			{ k: "change", r: 1, dt: 109 },
			{ k: "change", r: 1, dt: 0 },
			{ k: "change", r: 1, dt: 56 },
			{ k: "change", r: 1, dt: 2254 },
			req(787, 0, "POST", "/echo", "slow:1330", 2013, { s: 28, dt: 194 }),
			{ k: "rput", id: 792, dt: 0 },
		],
	},
	{
		defect: 102, inv: "late-write", seed: 2367,
		title: "not in issue 8: a handler that writes to its builder after answering changes the response of another request (builders are recycled while the handler still holds one)",
		steps: [
			req(327, 1, "PATCH", "/store/0", "ok", 3617, { s: 32, bs: 128, dt: 177 }),
			req(395, 1, "GET", "/store/0", "late", 0, { s: 19, bs: 64, dt: 0 }),
			req(398, 0, "GET", "/.well-known/core", "ok", 0, { a: 1, s: 317, dt: 9 }),
			req(399, 2, "iPATCH", "/store/0", "slow:1672", 3189, { dt: 57 }),
		],
	},
	{
		defect: 103, inv: "body", seed: 10,
		title: "not in issue 8: the client's Block2 requests for the rest of a FETCH response carry no body (here: a FETCH observation's notification)",
		steps: [
			{ k: "obs", id: 147, c: 0, p: "/obs/1", b: "ok", a: 0, s: 270, fetch: 1, dt: 4297 },
			{ k: "change", r: 1, dt: 17 },
		],
	},
	{
		defect: 104, inv: "leak", seed: 1,
		title: "not in issue 8: a registration with No-Response for 2.xx (RFC 7967) gets no notifications, so none can fail, and the observer is held for good (four such datagrams fill the table)",
		steps: [
			{ k: "robs", id: 1, r: 0, b2: -1, s: 20, nr: 2, dt: 100 },
			{ k: "rforget", id: 1, dt: 10 },
		],
	},
	{
		defect: 105, inv: "outcome", seed: 1,
		title: "not in issue 8: under loss, the client's one repetition of a request with the server's Echo waits behind NSTART past the server's freshness window (10 s); the second 4.01, with a new Echo, reaches the application",
		steps: [
			{ k: "net", loss: 0.1, dup: 0, reo: 0.3, dt: 112 },
			{ k: "obs", id: 764, c: 0, p: "/obs/0", b: "ok", a: 0, s: 77, fetch: 0, dt: 4959 },
			{ k: "vanish", c: 1, dt: 198 },
			req(765, 2, "PUT", "/obs/1", "ok", 377, { s: 438, dt: 30005 }),
			req(786, 2, "POST", "/fresh", "hang", 1007, { s: 57, bs: 32, dt: 0 }),
			req(794, 0, "GET", "/.well-known/core", "slow:904", 0, { a: 1, s: 115, dt: 0 }),
			req(795, 2, "DELETE", "/echo", "throw", 0, { a: 1, s: 28, bs: 64, dt: 47 }),
			req(796, 0, "GET", "/nothing", "ok", 0, { a: 1, s: 42, dt: 99 }),
			req(799, 0, "GET", "/store/0", "ok", 0, { s: 19, dt: 122 }),
			req(800, 1, "GET", "/store/0", "slow:1823", 0, { s: 47, dt: 32896 }),
		],
	},
	{
		defect: 106, inv: "outcome", seed: 3,
		title: "not in issue 8: a client Block2 transfer whose block requests (NON, lost) outlast the transfer slot's lifetime loses the slot to the next transfer, which writes into it",
		steps: [
			{ k: "net", loss: 0.4, dup: 0, reo: 0, dt: 0 },
			req(1, 2, "GET", "/big", "ok", 0, { s: 3000, bs: 64, non: 1, dt: 100 }),
			req(2, 2, "GET", "/big", "ok", 0, { s: 2000, bs: 64, non: 1, dt: 200000 }),
			{ k: "net", loss: 0, dup: 0, reo: 0, dt: 0 },
			req(3, 2, "GET", "/big", "ok", 0, { s: 500, bs: 16, dt: 60000 }),
			req(4, 2, "GET", "/big", "ok", 0, { s: 500, bs: 16, dt: 60000 }),
		],
	},
]);

describe("soak: known defects, each shown by a minimal step list", function () {
	this.timeout(60000);
	for (const d of DEMOS) {
		const known = KNOWN_DEFECTS.has(d.defect);
		it(`defect ${d.defect}${known ? " (known, still shows)" : " (fixed: runs clean)"}: ${d.title}`, async () => {
			const r = await runSoak(d.steps, { seed: d.seed });
			if (known) {
				assert.ok(r.violation !== null, `defect ${d.defect} no longer shows: remove ${d.defect} from KNOWN_DEFECTS (tests/portable/soak/known.ts)`);
				assert.equal(r.violation.defect, d.defect, text(r.violation));
				assert.equal(r.violation.inv, d.inv, text(r.violation));
			} else {
				assert.equal(r.violation, null, r.violation ? text(r.violation) : "");
			}
		});
	}
});

describe("soak: delta debugging (ddmin)", () => {
	it("finds the two steps that matter in a list of 200", async () => {
		const list: number[] = [];
		for (let i = 0; i < 200; i++) list.push(i);
		let tries = 0;
		const r = await ddmin(list, async (c) => {
			tries++;
			return c.indexOf(37) >= 0 && c.indexOf(151) >= 0;
		});
		assert.deepEqual(r.list, [37, 151]);
		assert.equal(r.tries, tries);
		assert.ok(tries < 200, "tries: " + tries);
	});

	it("keeps the order, and returns a one-element list when one step is enough", async () => {
		const r = await ddmin(["a", "b", "c", "d", "e"], async (c) => c.indexOf("d") >= 0);
		assert.deepEqual(r.list, ["d"]);
	});
});
