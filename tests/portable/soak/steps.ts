// The steps of the model-based soak test (model.ts) and their seeded generator. A step is plain
// data (it prints as one line of JSON and is replayed as is), refers to what earlier steps
// created only by id, and is a no-op when that thing does not exist (so any subsequence of a
// step list is itself a valid step list: delta debugging shrinks by dropping steps).
// Portable: no Node APIs.
import { Prng } from "../../../sim/prng.js";

/**
 * How a resource handler behaves for one request (it travels in the request's Uri-Query `b=`,
 * so a registration's notifications behave the same):
 *   ok, slow:<ms> (async, settles after ms of virtual time), hang (never settles),
 *   hangafter (observable resources: the registration is answered, notifications hang),
 *   throw, reject (async throw), late (answers, then writes to the builder 20 ms later),
 *   misuse:<kind> (a mistake with the response builder, see MISUSES).
 */
export type Behaviour = string;

/** Mistakes a handler can make with the response builder (issue 8, defect 1). */
export const MISUSES = Object.freeze([
	"code404", // res.send(404, ...): a code above 255
	"codeneg", // res.code = -1
	"codefrac", // res.code = 69.5
	"codestr", // res.code = "2.05"
	"codereq", // res.code = 0x01 (a request code)
	"code1xx", // res.code = 0x20 (class 1, reserved)
	"arr", // res.payload = a plain Array (an ArrayBuffer is accepted as bytes)
	"num", // res.payload = 42
	"optneg", // res.option(12, -1)
	"optfrac", // res.option(14, 1.5)
	"optobj", // res.option(2048, {})
	"etag20", // res.etag = 20 bytes (ETag is 1..8 bytes)
	"cf70000", // res.contentFormat = 70000 (a uint of 0..2 bytes)
	"many", // 13 extra options (more than the builder takes)
	"twice", // res.send() twice
	"locpath", // res.locationPath = [1, 2]
]);

export type Step =
	/** Client `c` sends a request (not awaited): method m, path p, body of n bytes (0: none). */
	| { k: "req"; id: number; c: number; m: string; p: string; b: Behaviour; a: number; n: number; s: number; bs: number; non: number; t: number; x: string; dt: number }
	/** Client `c` observes p (GET, or FETCH with a small body). */
	| { k: "obs"; id: number; c: number; p: string; b: Behaviour; a: number; s: number; fetch: number; dt: number }
	/** Cancels observation `id` (Observe=1). */
	| { k: "cancel"; id: number; dt: number }
	/** Observable resource /obs/r changes (resource.changed()). */
	| { k: "change"; r: number; dt: number }
	/** Client `c` closes its endpoint, mid-exchange. */
	| { k: "vanish"; c: number; dt: number }
	/** A vanished client `c` comes back (on the same port when `same`). */
	| { k: "revive"; c: number; same: number; dt: number }
	/** Network conditions from now on. */
	| { k: "net"; loss: number; dup: number; reo: number; dt: number }
	| { k: "wait"; dt: number }
	/**
	 * The raw peer registers token id for /obs/r (Block2 NUM b2 in the registration unless -1;
	 * RFC 7967 No-Response nr unless 0).
	 */
	| { k: "robs"; id: number; r: number; b2: number; s: number; nr?: number; dt: number }
	/** The raw peer deregisters token id (Observe=1). */
	| { k: "rdereg"; id: number; dt: number }
	/** The raw peer forgets token id without telling the server. */
	| { k: "rforget"; id: number; dt: number }
	/** The raw peer's manners: acknowledge CON notifications; Reset notifications it does not want. */
	| { k: "rmode"; ack: number; rst: number; dt: number }
	/** The raw peer sends the first Block1 block of an upload to p and never the rest. */
	| { k: "rb1"; id: number; p: string; dt: number }
	/** The raw peer PUTs upload id to /store/1 in two Block1 blocks. */
	| { k: "rput"; id: number; dt: number }
	/** The raw peer sends the final block of upload id again, same Message ID. */
	| { k: "ragain"; id: number; dt: number };

/** Clients (Endpoints) in a soak world. */
export const CLIENTS = 3;
export const METHODS = Object.freeze(["GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"]);
export const PATHS = Object.freeze(["/store/0", "/store/1", "/echo", "/big", "/obs/0", "/obs/1", "/.well-known/core", "/nothing", "/fresh"]);
/** Methods that carry a body in the soak test. */
export function carriesBody(method: string): boolean {
	return method === "POST" || method === "PUT" || method === "FETCH" || method === "PATCH" || method === "iPATCH";
}

/** The server's block size (limits.blockSize) in a world built from `seed`. */
export function serverBlockSizeFor(seed: number): number {
	return [1024, 1024, 256, 64][(seed >>> 0) % 4]!;
}

export interface GenerateOptions {
	/**
	 * Defect numbers (issue 8) whose direct triggers the generator leaves out: it then does not
	 * generate what is known to show them (see KNOWN_DEFECTS in known.ts), so a run can cover
	 * everything else. Empty: everything is generated.
	 */
	avoid?: ReadonlySet<number>;
}

/** `count` steps from `seed` (the same seed and options give the same steps on every engine). */
export function generate(seed: number, count: number, options: GenerateOptions = {}): Step[] {
	const rng = new Prng(seed ^ 0x50a4);
	const avoid = options.avoid ?? new Set<number>();
	const pick = <T>(list: readonly T[]): T => list[rng.nextInt(list.length)]!;
	const chance = (p: number): boolean => rng.nextFloat() < p;
	const between = (lo: number, hi: number): number => lo + rng.nextInt(hi - lo + 1);
	const steps: Step[] = [];
	const observations: number[] = [];
	const rawTokens: number[] = [];
	const rawPuts: number[] = [];
	const vanished = [false, false, false];
	let id = 0;
	const dt = (): number => {
		const u = rng.nextFloat();
		if (u < 0.35) return 0;
		if (u < 0.75) return between(1, 200);
		if (u < 0.95) return between(200, 5000);
		return between(5000, 70000);
	};
	const size = (): number => {
		const u = rng.nextFloat();
		if (u < 0.6) return between(16, 64);
		if (u < 0.85) return between(65, 1100);
		return between(1100, 4000);
	};
	const behaviour = (observed: boolean): Behaviour => {
		const u = rng.nextFloat();
		if (u < 0.7) return "ok";
		if (u < 0.8) return "slow:" + between(10, 3000);
		if (u < 0.82) return "hang";
		// Observed: the registration is answered, later notifications hang (defect 7).
		if (u < 0.83) return observed && !avoid.has(7) ? "hangafter" : "ok";
		if (u < 0.87) return "throw";
		if (u < 0.9) return "reject";
		if (u < 0.92) return "late";
		return avoid.has(1) ? "throw" : "misuse:" + pick(MISUSES);
	};
	for (let i = 0; i < count; i++) {
		const u = rng.nextFloat();
		let step: Step;
		if (u < 0.5) {
			let p = pick(PATHS);
			let m = chance(0.45) ? "GET" : pick(METHODS);
			if (p === "/.well-known/core" && m !== "GET" && avoid.has(12)) m = "GET";
			let x = "";
			if (chance(0.03)) x = pick(["oscore", "ifm", "inm"]);
			if ((x === "oscore" && avoid.has(5)) || (x !== "oscore" && x !== "" && avoid.has(6))) x = "";
			if (x === "ifm" || x === "inm") {
				p = "/echo";
				if (!carriesBody(m)) m = "PUT";
			}
			const u2 = rng.nextFloat();
			const bs = u2 < 0.6 ? 0 : pick([16, 32, 64, 128, 256, 512]);
			const u3 = rng.nextFloat();
			let t = u3 < 0.7 ? 93000 : u3 < 0.9 ? between(5000, 60000) : between(500, 5000);
			let non = chance(0.2) ? 1 : 0;
			// Defect 11: a queued request's timeout starts when it is sent, and a lost NON holds
			// NSTART for the whole request timeout.
			if (avoid.has(11)) {
				t = 93000;
				non = 0;
			}
			const b = behaviour(false);
			let n = carriesBody(m) ? size() : 0;
			let sz = size();
			// Defects 2 and 103: a later Block2 block of a FETCH comes without the body, and runs
			// its handler again.
			if ((avoid.has(2) || avoid.has(103)) && m === "FETCH") {
				if (p.startsWith("/store/")) m = "GET";
				n = Math.min(n, 40);
				sz = Math.min(sz, 60);
			}
			step = { k: "req", id: ++id, c: rng.nextInt(CLIENTS), m, p, b, a: chance(0.3) ? 1 : 0, n: carriesBody(m) ? n : 0, s: sz, bs: (avoid.has(2) || avoid.has(103)) && m === "FETCH" ? 0 : bs, non, t, x, dt: dt() };
		} else if (u < 0.58) {
			const sid = ++id;
			observations.push(sid);
			const fetch = chance(0.2) ? 1 : 0;
			let sz = chance(0.8) ? between(20, 200) : size();
			if (fetch && (avoid.has(2) || avoid.has(103))) sz = Math.min(sz, 60); // defects 2 and 103, as above
			step = { k: "obs", id: sid, c: rng.nextInt(CLIENTS), p: pick(["/obs/0", "/obs/1"]), b: behaviour(true), a: chance(0.2) ? 1 : 0, s: sz, fetch, dt: dt() };
		} else if (u < 0.62) {
			step = { k: "cancel", id: observations.length > 0 ? pick(observations) : 0, dt: dt() };
		} else if (u < 0.72) {
			step = { k: "change", r: rng.nextInt(2), dt: dt() };
		} else if (u < 0.745) {
			const c = rng.nextInt(CLIENTS);
			if (vanished[c]) {
				vanished[c] = false;
				step = { k: "revive", c, same: chance(0.5) ? 1 : 0, dt: dt() };
			} else {
				vanished[c] = true;
				step = { k: "vanish", c, dt: dt() };
			}
		} else if (u < 0.775) {
			const v = rng.nextFloat();
			if (v < 0.4) step = { k: "net", loss: 0, dup: 0, reo: 0, dt: dt() };
			else step = { k: "net", loss: pick([0, 0.05, 0.1, 0.2]), dup: pick([0, 0.05, 0.1, 0.3]), reo: pick([0, 0.1, 0.3]), dt: dt() };
		} else if (u < 0.85) {
			step = { k: "wait", dt: dt() };
		} else if (u < 0.89) {
			const sid = ++id;
			rawTokens.push(sid);
			const b2 = chance(0.25) && !avoid.has(4) ? rng.nextInt(4) : -1;
			// Defect 104: a registration that asks for no 2.xx responses is never let go.
			const nr = chance(0.1) && !avoid.has(104) ? pick([2, 26, 8]) : 0;
			step = { k: "robs", id: sid, r: rng.nextInt(2), b2, s: chance(0.5) ? between(20, 60) : between(60, 600), nr, dt: dt() };
		} else if (u < 0.91) {
			step = { k: "rdereg", id: rawTokens.length > 0 ? pick(rawTokens) : 0, dt: dt() };
		} else if (u < 0.925) {
			step = { k: "rforget", id: rawTokens.length > 0 ? pick(rawTokens) : 0, dt: dt() };
		} else if (u < 0.945) {
			step = { k: "rmode", ack: chance(0.6) ? 1 : 0, rst: chance(0.7) ? 1 : 0, dt: dt() };
		} else if (u < 0.96) {
			// Defect 2: uploads that hold every transfer slot leave no room to keep a response body.
			step = avoid.has(2) ? { k: "wait", dt: dt() } : { k: "rb1", id: ++id, p: pick(["/echo", "/store/0"]), dt: dt() };
		} else if (u < 0.98) {
			const sid = ++id;
			rawPuts.push(sid);
			step = { k: "rput", id: sid, dt: dt() };
		} else {
			step = avoid.has(8) || rawPuts.length === 0 ? { k: "wait", dt: dt() } : { k: "ragain", id: pick(rawPuts), dt: between(0, 20000) };
		}
		steps.push(step);
	}
	return steps;
}

/** One step as one line (JSON), for failure reports. */
export function stepText(s: Step): string {
	return JSON.stringify(s);
}
