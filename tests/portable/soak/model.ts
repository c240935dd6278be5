// The model-based soak test of issue 8: one server Endpoint and several client Endpoints (plus
// one hand-written "raw" peer that misbehaves on purpose) on the virtual network, driven by a
// list of steps (steps.ts), with invariants checked after every step and at the end:
//
// - no exception escapes an endpoint (socket callbacks and timers run inside the network
//   driver, so whatever an endpoint throws surfaces there, or from resource.changed());
// - every request gets a defined outcome (a response, or a CoapError) within its timeout, and
//   the outcome is one the model allows for that request (code and payload);
// - a handler sees only whole request bodies, and a non-safe handler runs once per upload (a
//   second run is allowed only for the same datagram processed again after duplicate detection
//   forgot it, as the README's deviation says); a confirmed PUT was applied;
// - notifications go only to the registration they were built for (each observable
//   representation names its observer), only 2.xx carries Observe (RFC 7641 §4.2), a
//   notification never carries a later block (RFC 7959 §2.6), and at every change the server
//   notifies exactly the registrations the wire says it holds (no lost, no stale ones);
// - once traffic stops and every timeout has passed, every client and server slot, transfer and
//   observer is free, no timer is armed, every request and observation has ended.
//
// The model learns what the server believes from the wire (the network's trace), not from the
// server's internals. Violations are attributed to a defect number of issue 8 where the
// invariant is the one that defect breaks (0: not in the list). Deterministic: the same
// steps and seed give the same run on Node and XS. Portable: no Node APIs.
import { Endpoint } from "../../../modules/coap/endpoint.js";
import { CoapError } from "../../../modules/coap/errors.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { Observation } from "../../../modules/coap/client/observation.js";
import type { CoapRequest } from "../../../modules/coap/server/request.js";
import type { ResponseBuilder } from "../../../modules/coap/server/response.js";
import { Router, type Resource } from "../../../modules/coap/server/router.js";
import type { Ports, UdpSocket } from "../../../modules/coap/host.js";
import { VirtualNetwork, type DatagramEvent } from "../../../sim/index.js";
import { ACK, CON, NON, RST, decode, encode, type Msg, type OptValue } from "../endpoint/harness.js";
import { bigBody, hexOf, isBigBody, observeBody, parseObserveBody, uploadBody, uploadId } from "./bodies.js";
import { CLIENTS, carriesBody, serverBlockSizeFor, type Step } from "./steps.js";

export const SERVER = "10.0.0.2";
export const PORT = 5683;
export const CLIENT_HOSTS = Object.freeze(["10.0.1.1", "10.0.1.2", "10.0.1.3"]);
export const RAW_HOST = "10.0.1.9";
const RAW_PORT = 40009;

const OPT_IF_MATCH = 1;
const OPT_IF_NONE_MATCH = 5;
const OPT_OBSERVE = 6;
const OPT_OSCORE = 9;
const OPT_URI_PATH = 11;
const OPT_URI_QUERY = 15;
const OPT_BLOCK2 = 23;
const OPT_BLOCK1 = 27;
const OPT_SIZE1 = 60;
const OPT_NO_RESPONSE = 258;
const OPT_REQUEST_TAG = 292;

/** RFC 7252 §4.8.2 EXCHANGE_LIFETIME with the default parameters, ms. */
const EXCHANGE_LIFETIME = 247000;
/** Server tuning of the soak world: CON notifications often, so give-ups and Resets happen. */
const OBSERVE_CON_EVERY = 4;

export interface Violation {
	/** Index of the step after which it was seen (steps.length: the end checks). */
	step: number;
	/** Virtual time, ms. */
	time: number;
	/** Invariant name (what the shrinker keeps constant). */
	inv: string;
	/** Defect number of issue 8, 0 when not one of them. */
	defect: number;
	detail: string;
}

export interface SoakOptions {
	/** Seed of the network's random choices (and of the world's configuration). */
	seed: number;
	/** Server block size (limits.blockSize); default from the seed: 1024, 1024, 256 or 64. */
	serverBlockSize?: number;
	/**
	 * Defects (known.ts) whose violations are recorded in `known` and passed over: the run goes
	 * on (the entity involved is no longer checked). An exception escaping an endpoint always
	 * stops the run. Default: none (the first violation of any kind stops the run).
	 */
	known?: ReadonlySet<number>;
	/** Progress lines (violations, summary). */
	log?: (line: string) => void;
}

export interface SoakResult {
	/** The first violation that stopped the run, or null when the run was clean. */
	violation: Violation | null;
	/** Violations of known defects the run went past (options.known), at most 100. */
	known: Violation[];
	/** Steps run (all of them unless a violation stopped the run). */
	stepsRun: number;
	/** Virtual time at the end, ms. */
	time: number;
	counts: { requests: number; responses: number; errors: number; notifications: number; handlerRuns: number; misuses: number; datagrams: number; lost: number };
}

const REG_NONE = 0;
const REG_YES = 1;
const REG_UNSURE = 2;

/** What the server holds for one (peer, token), as the wire shows it. */
interface KeyState {
	address: string;
	port: number;
	token: string;
	resource: number;
	state: number;
	/** Message ID of an unacknowledged CON notification, -1 for none. */
	pending: number;
	/** Message IDs the server sent to this key (a Reset to any of them may end it). */
	mids: number[];
	/** Its handler is async or slow: a change may find it busy. */
	async: boolean;
	/** Its handler never settles. */
	hang: boolean;
}

interface RequestRecord {
	step: Extract<Step, { k: "req" }>;
	index: number;
	client: number;
	address: string;
	port: number;
	callAt: number;
	deadline: number;
	settled: boolean;
	lossy: boolean;
	/** Another request of the same client was outstanding when this one was made. */
	queued: boolean;
	closed: boolean;
	blockwise: boolean;
	/** Writes to /store/k so far when the request was made (a GET racing a write). */
	writes: number;
}

interface ObservationRecord {
	step: Extract<Step, { k: "obs" }>;
	client: number;
	address: string;
	port: number;
	obs: Observation;
	token: string;
	notifications: number;
	/** Resource version in the freshest representation delivered (RFC 7641 §3.4: never older after newer). */
	version: number;
	ended: boolean;
	closed: boolean;
	lossy: boolean;
	cancel: { settled: boolean } | null;
}

interface UploadRecord {
	/** Handler runs: sender, Message ID, and how many requests the server had received by then. */
	runs: { address: string; port: number; mid: number; seq: number }[];
}

interface RawPut {
	token: string;
	body: Uint8Array;
	block0Mid: number;
	finalMid: number;
	finalBytes: Uint8Array | null;
	finalAt: number;
	/** Transfer-slot uses seen when the final block was sent (#countTransferUse). */
	usesAtFinal: number;
	finalCode: number;
	again: boolean;
	againAt: number;
}

function query(req: CoapRequest, name: string): string {
	return req.queryParam(name) ?? "";
}

function codeText(c: number): string {
	return (c >> 5) + "." + ((c & 31) < 10 ? "0" : "") + (c & 31);
}

function optValue(m: Msg, n: number): Uint8Array | undefined {
	for (const o of m.options) if (o.number === n) return o.value;
	return undefined;
}

function uintOf(m: Msg, n: number): number {
	const v = optValue(m, n);
	if (v === undefined) return -1;
	let x = 0;
	for (const b of v) x = x * 256 + b;
	return x;
}

function pathOf(m: Msg): string {
	let s = "";
	for (const o of m.options) if (o.number === OPT_URI_PATH) s += "/" + String.fromCharCode(...o.value);
	return s === "" ? "/" : s;
}

function ascii(b: Uint8Array): string {
	let s = "";
	for (let i = 0; i < b.length && i < 200; i++) s += String.fromCharCode(b[i]!);
	return s;
}

function contains(b: Uint8Array, text: string): boolean {
	outer: for (let i = 0; i + text.length <= b.length; i++) {
		for (let j = 0; j < text.length; j++) if (b[i + j] !== text.charCodeAt(j)) continue outer;
		return true;
	}
	return false;
}

/** One soak run. Build, then `run(steps)`. */
export class Soak {
	readonly net: VirtualNetwork;
	readonly server: Endpoint;
	readonly router: Router;
	readonly clients: (Endpoint | null)[] = [];
	readonly #ports: (number)[] = [];
	readonly #log: (line: string) => void;
	violation: Violation | null = null;
	readonly known: Violation[] = [];
	readonly #known: ReadonlySet<number>;
	/** Last body violation seen per client address:port (its outcome is a consequence). */
	readonly #bodyDefect = new Map<string, { defect: number; time: number }>();
	#step = 0;
	readonly #requests: RequestRecord[] = [];
	readonly #observations = new Map<number, ObservationRecord>();
	readonly #uploads = new Map<number, UploadRecord>();
	readonly #keys = new Map<string, KeyState>();
	readonly #store: (Uint8Array | null)[] = [null, null];
	/** Upload ids ever applied to each /store key. */
	readonly #applied: Set<number>[] = [new Set(), new Set()];
	#maxStored = 0;
	/** Requests delivered to the server so far. */
	#requestsIn = 0;
	readonly #writes = [0, 0];
	readonly #version = [0, 0];
	readonly #obsResources: Resource[] = [];
	#capture: string[] | null = null;
	/** The handler body running now was resumed after an await. */
	#deferred = false;
	/** Registrations of `b=hangafter` whose handler ran once (the next runs hang). */
	readonly #obsRuns = new Set<string>();
	#lossy = false;
	/** Errors our handlers threw or rejected with, not yet reported through onHandlerError. */
	readonly #thrown = new Set<unknown>();
	/** Sync throws that must have been reported by the end of the step. */
	#syncThrows: unknown[] = [];
	#misuseRuns = 0;
	#foreignReports = 0;
	#hangObserved = false;
	/** A registration asked for no 2.xx responses (RFC 7967), so it gets no notifications. */
	#silentObserver = false;
	readonly counts = { requests: 0, responses: 0, errors: 0, notifications: 0, handlerRuns: 0, misuses: 0, datagrams: 0, lost: 0 };
	// The raw peer.
	readonly #raw: UdpSocket & { port: number };
	#rawMid = 0x3000;
	#rawAck = true;
	#rawRst = true;
	readonly #rawTokens = new Map<string, { active: boolean; resource: number }>();
	readonly #rawPuts = new Map<number, RawPut>();
	/** See #countTransferUse. */
	#transferUses = 0;

	constructor(options: SoakOptions) {
		const seed = options.seed;
		this.#log = options.log ?? (() => {});
		this.#known = options.known ?? new Set<number>();
		this.net = new VirtualNetwork({ seed });
		this.net.onDatagram = (e) => this.#onDatagram(e);
		this.router = this.#buildRouter();
		const blockSize = options.serverBlockSize ?? serverBlockSizeFor(seed);
		this.server = new Endpoint({
			ports: this.#portsOf(SERVER),
			port: PORT,
			router: this.router,
			// No OSCORE on the server: option 9 stays an unrecognised critical option (defect 5's model).
			limits: { blockSize, oscoreContexts: 0 },
			tuning: { observeConEvery: OBSERVE_CON_EVERY },
			onHandlerError: (e) => this.#onHandlerError(e),
		});
		for (let c = 0; c < CLIENTS; c++) {
			const ep = new Endpoint({ ports: this.#portsOf(CLIENT_HOSTS[c]!), port: 0 });
			this.clients.push(ep);
			this.#ports.push(ep.port);
		}
		const Udp = this.net.udpClass(RAW_HOST);
		this.#raw = new Udp({ port: RAW_PORT, onReadable: rawReadable, target: this }) as UdpSocket & { port: number };
	}

	#portsOf(host: string): Ports {
		return { udp: this.net.udpClass(host), clock: this.net.clock, random: this.net.random(host) };
	}

	get now(): number {
		return this.net.clock.now();
	}

	/**
	 * Records a violation. The first one ends the run, unless its defect is in options.known:
	 * then it is listed in `known` and the run goes on (returns true).
	 */
	fail(inv: string, defect: number, detail: string): boolean {
		if (this.violation !== null) return false;
		const v = { step: this.#step, time: this.now, inv, defect, detail };
		if (defect > 0 && this.#known.has(defect) && inv !== "escaped") {
			if (this.known.length < 100) this.known.push(v);
			this.#log(`known defect ${defect} after step ${this.#step} at ${this.now} ms: [${inv}] ${detail}`);
			return true;
		}
		this.violation = v;
		this.#log(`violation after step ${this.#step} at ${this.now} ms: [${inv}] ${defect > 0 ? "defect " + defect + ": " : ""}${detail}`);
		return false;
	}

	// ------------------------------------------------------------------ resources

	#buildRouter(): Router {
		const router = new Router();
		for (let k = 0; k < 2; k++) {
			router.add("/store/" + k, {
				get: (req, res) => this.#behave(req, res, () => res.send(0x45, this.#store[k] ?? new Uint8Array(0))),
				fetch: (req, res) => this.#behave(req, res, () => {
					this.#checkBody(req, false);
					res.send(0x45, this.#store[k] ?? new Uint8Array(0));
				}),
				put: (req, res) => this.#behave(req, res, () => this.#write(k, req, res)),
				patch: (req, res) => this.#behave(req, res, () => this.#write(k, req, res)),
				ipatch: (req, res) => this.#behave(req, res, () => this.#write(k, req, res)),
				delete: (req, res) => this.#behave(req, res, () => {
					this.#store[k] = null;
					this.#writes[k]!++;
					res.code = 0x42;
				}),
			});
		}
		const echo = (safe: boolean) => (req: CoapRequest, res: ResponseBuilder) =>
			this.#behave(req, res, () => {
				this.#checkBody(req, !safe);
				res.send(safe ? 0x45 : 0x44, req.payload.slice());
			});
		router.add("/echo", {
			get: (req, res) => this.#behave(req, res, () => res.send(0x45, "echo")),
			post: echo(false),
			put: echo(false),
			fetch: echo(true),
			patch: echo(false),
			ipatch: echo(false),
		});
		// RFC 9175 §2.3: unsafe requests must prove freshness with an Echo value (the client repeats them).
		router.add("/fresh", {
			fresh: true,
			get: (req, res) => this.#behave(req, res, () => res.send(0x45, "fresh")),
			post: echo(false),
			put: echo(false),
		});
		const big = (fetch: boolean) => (req: CoapRequest, res: ResponseBuilder) =>
			this.#behave(req, res, () => {
				if (fetch) this.#checkBody(req, false);
				res.send(0x45, bigBody(Number(query(req, "s")) || 7));
			});
		router.add("/big", { get: big(false), fetch: big(true) });
		for (let r = 0; r < 2; r++) {
			const h = (fetch: boolean) => (req: CoapRequest, res: ResponseBuilder) => {
				const v = req.view;
				const token = hexOf(v.bytes, v.tokenOffset, v.tokenLength);
				const key = req.address + "|" + req.port + "|" + token;
				if (this.#capture !== null) this.#capture.push(key);
				let hang = false;
				if (query(req, "b") === "hangafter") {
					hang = this.#obsRuns.has(key);
					this.#obsRuns.add(key);
				}
				return this.#behave(req, res, hang, () => {
					if (fetch) this.#checkBody(req, false);
					res.send(0x45, observeBody(req.address, req.port, token, this.#version[r]!, Number(query(req, "s")) || 20));
				});
			};
			this.#obsResources.push(router.add("/obs/" + r, { obs: true, get: h(false), fetch: h(true) }));
		}
		return router;
	}

	/** PUT/PATCH/iPATCH on /store/k: a whole upload body replaces the value. */
	#write(k: number, req: CoapRequest, res: ResponseBuilder): void {
		const id = this.#checkBody(req, true);
		if (id < 0) {
			res.send(0x80, "not a whole upload");
			return;
		}
		const value = req.payload.slice();
		this.#store[k] = value;
		this.#writes[k]!++;
		this.#applied[k]!.add(id);
		if (value.length > this.#maxStored) this.#maxStored = value.length;
		res.code = 0x44;
	}

	/**
	 * The request body must be a whole upload; a non-safe method's handler runs once per upload
	 * (again only for the same datagram, when duplicate detection forgot it: RFC 7252 §4.5 and
	 * the README's deviation). Returns the upload id or -1.
	 */
	#checkBody(req: CoapRequest, nonSafe: boolean): number {
		const body = req.payload;
		const id = uploadId(body);
		const what = req.methodName + " " + req.pathText;
		if (id < 0) {
			const b2 = req.optionUint(OPT_BLOCK2, -1);
			const later = b2 >= 0 && b2 >> 4 > 0;
			// Defect 103 (found by this test): the client's Block2 requests after the first one of
			// a FETCH carry no body (RFC 8132 §2.3.2: the body is part of what a FETCH asks for).
			// Defect 2: a later block of a request that carried a body runs its handler again.
			// Defect 101 (found by this test): a handler parked with no server slot free (5.03
			// "server busy") keeps running on a Block1 body whose transfer slot was released.
			const defect = req.method === 5 && b2 >= 0 && body.length === 0 ? 103 : later ? 2 : this.#deferred ? 101 : 0;
			this.#bodyDefect.set(req.address + ":" + req.port, { defect, time: this.now });
			this.fail("body", defect, what + " handler ran with " + body.length + " bytes that are not a whole upload" + (later ? " (for Block2 block " + (b2 >> 4) + ")" : "") + " from " + req.address + ":" + req.port + (this.#deferred ? ", after the handler awaited" : ""));
			return -1;
		}
		if (!nonSafe) return id;
		let u = this.#uploads.get(id);
		if (u === undefined) {
			u = { runs: [] };
			this.#uploads.set(id, u);
		}
		const run = { address: req.address, port: req.port, mid: req.view.mid, seq: this.#requestsIn };
		// The same datagram may run the handler again only once duplicate detection can have
		// forgotten it (README, "Standards and deviations": the table keeps the last
		// dedupEntries messages; a duplicate of a non-idempotent request whose reply was dropped
		// from the cache is answered 5.03, an idempotent one processed again).
		const idempotent = req.method === 3 || req.method === 7;
		const forgotten = (r: { seq: number }) => run.seq - r.seq >= this.server.limits.dedupEntries;
		for (const r of u.runs) {
			const same = r.address === run.address && r.port === run.port && r.mid === run.mid;
			if (!same || (!idempotent && !forgotten(r))) {
				const b2 = req.optionUint(OPT_BLOCK2, -1);
				// Defect 2: a later Block2 block of the request ran the handler again.
				const defect = b2 >= 0 && b2 >> 4 > 0 ? 2 : 0;
				this.#bodyDefect.set(req.address + ":" + req.port, { defect, time: this.now });
				this.fail("twice", defect, what + " handler ran again for upload " + id + " (MID " + run.mid + " after MID " + r.mid + (b2 >= 0 ? ", Block2 " + (b2 >> 4) : "") + ")");
				break;
			}
		}
		u.runs.push(run);
		return id;
	}

	/** Runs `respond` as the request's `b=` behaviour says (see steps.ts Behaviour). */
	#behave(req: CoapRequest, res: ResponseBuilder, hang: boolean | (() => void), respond?: () => void): void | Promise<void> {
		if (typeof hang === "function") {
			respond = hang;
			hang = false;
		}
		this.counts.handlerRuns++;
		let b = query(req, "b") || "ok";
		if (b === "hangafter") {
			b = hang ? "hang" : "ok";
			if (hang) this.#hangObserved = true; // a notification handler that never settles
		}
		const async = query(req, "a") === "1";
		if (b === "throw") {
			const e = new Error("soak: handler throws");
			this.#thrown.add(e);
			if (async) return Promise.resolve().then(() => { throw e; });
			this.#syncThrows.push(e);
			throw e;
		}
		if (b === "reject") {
			const e = new Error("soak: handler rejects");
			this.#thrown.add(e);
			return Promise.reject(e);
		}
		if (b === "hang") return new Promise<void>(() => {});
		// `answer` runs the handler's real work; after an await it is marked deferred (a body
		// found damaged then was damaged while the handler waited).
		const answer = (): void => {
			this.#deferred = async || b !== "ok";
			try {
				respond!();
			} finally {
				this.#deferred = false;
			}
		};
		if (b.startsWith("slow:")) return this.#sleep(Number(b.slice(5))).then(answer);
		if (b === "late") {
			return this.#sleep(5).then(() => {
				answer();
				void this.#sleep(20).then(() => {
					try {
						res.send(0x45, "LATE-WRITE");
					} catch {
						// a builder that refuses a write after the answer is fine
					}
				});
			});
		}
		if (b.startsWith("misuse:")) {
			this.#misuseRuns++;
			this.counts.misuses++;
			const kind = b.slice(7);
			const act = () => {
				answer();
				misuse(kind, res);
			};
			if (async) return this.#sleep(1).then(act);
			act();
			return;
		}
		if (async) return Promise.resolve().then(answer);
		answer();
	}

	#sleep(ms: number): Promise<void> {
		const clock = this.net.clock;
		return new Promise<void>((resolve) => {
			const timer = clock.createTimer(() => {
				timer.close();
				resolve();
			}, null);
			timer.schedule(clock.now() + ms);
		});
	}

	#onHandlerError(e: unknown): void {
		if (this.#thrown.delete(e)) {
			const i = this.#syncThrows.indexOf(e);
			if (i >= 0) this.#syncThrows.splice(i, 1);
			return;
		}
		// Not one of ours: the endpoint's report of a builder mistake (defect 1's fix names it).
		if (!(e instanceof Error)) this.fail("handler-error", 1, "onHandlerError got a non-Error: " + String(e));
		this.#foreignReports++;
	}

	// ------------------------------------------------------------------ the wire

	#onDatagram(e: DatagramEvent): void {
		if (e.kind === "deliver" || (e.kind === "send" && e.fromAddress === SERVER && e.fromPort === PORT)) this.#countTransferUse(e);
		if (e.kind === "drop" && e.reason === "loss") this.counts.lost++;
		if (e.kind === "send") this.counts.datagrams++;
		if (e.kind === "send" && e.fromAddress === SERVER && e.fromPort === PORT) this.#serverSent(e);
		else if (e.kind === "deliver" && e.toAddress === SERVER && e.toPort === PORT) this.#serverGot(e);
	}

	/**
	 * Counts what may take one of the server's block-wise transfer slots (README: a finished
	 * upload's record of its reply lives in its slot until a new transfer needs it): block 0 of
	 * a Block1 upload reaching the server, and a response of the server with Block2 M=1 (a kept
	 * body, or reassembled by a client endpoint of this model).
	 */
	#countTransferUse(e: DatagramEvent): void {
		let m: Msg;
		try {
			m = decode(e.bytes);
		} catch {
			return;
		}
		if (m.code === 0) return;
		const b1 = uintOf(m, OPT_BLOCK1);
		const b2 = uintOf(m, OPT_BLOCK2);
		if ((m.code >> 5 === 0 && b1 >= 0 && b1 >> 4 === 0) || (m.code >> 5 === 2 && b2 >= 0 && (b2 & 8) !== 0)) this.#transferUses++;
	}

	#key(address: string, port: number, token: string): string {
		return address + "|" + port + "|" + token;
	}

	/** What the server sends: the notification invariants, and what it tells about registrations. */
	#serverSent(e: DatagramEvent): void {
		let m: Msg;
		try {
			m = decode(e.bytes);
		} catch (err) {
			this.fail("server-malformed", 0, "the server sent a malformed datagram: " + hexOf(e.bytes) + " (" + String(err) + ")");
			return;
		}
		if (m.code === 0) return;
		if (contains(m.payload, "LATE-WRITE")) this.fail("late-write", 102, "a handler's write to its builder after answering reached the wire: " + codeText(m.code) + " to " + e.toAddress + ":" + e.toPort);
		const observe = uintOf(m, OPT_OBSERVE);
		const ok = m.code >> 5 === 2;
		const b2 = uintOf(m, OPT_BLOCK2);
		// RFC 7252 §5.9.3.4: 5.03 says when to try again (Max-Age).
		if (m.code === 0xa3 && uintOf(m, 14) < 0) this.fail("retry-after", 0, "a 5.03 without Max-Age to " + e.toAddress + ":" + e.toPort + ": \"" + ascii(m.payload) + "\"");
		if (observe >= 0 && !ok) this.fail("observe-on-error", 4, "a " + codeText(m.code) + " response carries Observe " + observe + " (RFC 7641 §4.2: only 2.xx) to " + e.toAddress + ":" + e.toPort);
		if (observe >= 0 && b2 >= 0 && b2 >> 4 > 0) this.fail("observe-block", 4, "a notification (Observe " + observe + ") carries Block2 block " + (b2 >> 4) + " (RFC 7959 §2.6, RFC 7641 §4.1: block 0 only) to " + e.toAddress + ":" + e.toPort);
		if (b2 < 0 || b2 >> 4 === 0) {
			const who = parseObserveBody(m.payload);
			// The answer to the final block of an upload (it echoes Block1) may be the one recorded
			// for an earlier exchange of that block (a client that repeated it with a new token,
			// its first answer lost: README, block-wise): same peer, another token of the upload.
			const repeatedFinal = uintOf(m, OPT_BLOCK1) >= 0 && observe < 0;
			if (who !== null && (who.address !== e.toAddress || who.port !== e.toPort || (who.token !== m.token && !repeatedFinal))) {
				this.fail("misrouted", 3, "a representation built for " + who.address + ":" + who.port + " token " + who.token + " went to " + e.toAddress + ":" + e.toPort + " token " + m.token + (observe >= 0 ? " as a notification" : ""));
			}
		}
		const k = this.#keys.get(this.#key(e.toAddress, e.toPort, m.token));
		if (k === undefined) return;
		k.mids.push(m.mid);
		if (k.mids.length > 64) k.mids.shift();
		if (observe >= 0 && ok) {
			k.state = REG_YES;
			if (m.type === CON) k.pending = m.mid;
		} else if (k.state === REG_YES) k.state = REG_UNSURE;
	}

	/** What the server receives: registrations, deregistrations, ACKs and Resets of notifications. */
	#serverGot(e: DatagramEvent): void {
		let m: Msg;
		try {
			m = decode(e.bytes);
		} catch {
			return;
		}
		if (m.code === 0) {
			for (const k of this.#keys.values()) {
				if (k.address !== e.fromAddress || k.port !== e.fromPort) continue;
				if (m.type === ACK && k.pending === m.mid) k.pending = -1;
				if (m.type === RST && k.mids.indexOf(m.mid) >= 0) k.state = REG_UNSURE;
			}
			return;
		}
		if (m.code >= 1 && m.code <= 31) this.#requestsIn++;
		if (m.code !== 1 && m.code !== 5) return;
		const observe = uintOf(m, OPT_OBSERVE);
		if (observe < 0) return;
		const path = pathOf(m);
		if (path !== "/obs/0" && path !== "/obs/1") return;
		const key = this.#key(e.fromAddress, e.fromPort, m.token);
		let k = this.#keys.get(key);
		let b = "ok";
		let a = false;
		for (const o of m.options) {
			if (o.number !== OPT_URI_QUERY) continue;
			const q = String.fromCharCode(...o.value);
			if (q.startsWith("b=")) b = q.slice(2);
			if (q === "a=1") a = true;
		}
		if (k === undefined) {
			k = { address: e.fromAddress, port: e.fromPort, token: m.token, resource: path === "/obs/0" ? 0 : 1, state: REG_NONE, pending: -1, mids: [], async: false, hang: false };
			this.#keys.set(key, k);
		}
		k.async = a || b !== "ok";
		k.hang = b === "hang" || b === "hangafter";
		if (observe === 1) {
			// RFC 7641 §3.6: deregistered (the request is then served as usual).
			k.state = REG_NONE;
			k.pending = -1;
		} else if (uintOf(m, OPT_NO_RESPONSE) >= 0 && k.state === REG_NONE) {
			// RFC 7967: the answer (and so the wire's word on the registration) may be suppressed.
			k.state = REG_UNSURE;
		}
	}

	// ------------------------------------------------------------------ steps

	/** Runs the steps, checking after each; stops at the first violation. */
	async run(steps: readonly Step[]): Promise<SoakResult> {
		let i = 0;
		for (; i < steps.length && this.violation === null; i++) {
			this.#step = i;
			await this.#do(steps[i]!);
			if (this.violation === null) this.#checkStep();
		}
		if (this.violation === null) {
			this.#step = steps.length;
			await this.#finish();
		}
		this.close();
		return { violation: this.violation, known: this.known, stepsRun: i, time: this.now, counts: this.counts };
	}

	close(): void {
		this.server.close();
		for (const c of this.clients) c?.close();
		try {
			this.#raw.close();
		} catch {
			// closed already
		}
	}

	async #advance(ms: number): Promise<void> {
		try {
			await this.net.runFor(ms);
		} catch (e) {
			this.#escaped(e, "the network driver");
		}
	}

	#escaped(e: unknown, where: string): void {
		const text = e instanceof Error ? e.name + ": " + e.message : String(e);
		this.fail("escaped", this.#misuseRuns > 0 ? 1 : 0, "an exception escaped an endpoint through " + where + ": " + text);
	}

	async #do(s: Step): Promise<void> {
		switch (s.k) {
			case "req":
				this.#request(s);
				break;
			case "obs":
				this.#observe(s);
				break;
			case "cancel": {
				const o = this.#observations.get(s.id);
				if (o !== undefined && o.cancel === null && this.clients[o.client] !== null) {
					const rec = { settled: false };
					o.cancel = rec;
					o.obs.cancel().then(() => (rec.settled = true), (e: unknown) => {
						rec.settled = true;
						this.fail("outcome", 0, "cancel() of observation " + s.id + " rejected: " + String(e));
					});
				}
				break;
			}
			case "change":
				this.#change(s.r);
				break;
			case "vanish": {
				const ep = this.clients[s.c];
				if (ep === null || ep === undefined) break;
				for (const r of this.#requests) if (r.client === s.c && !r.settled) r.closed = true;
				for (const o of this.#observations.values()) if (o.client === s.c) o.closed = true;
				this.clients[s.c] = null;
				ep.close();
				break;
			}
			case "revive": {
				if (this.clients[s.c] !== null) break;
				const ep = new Endpoint({ ports: this.#portsOf(CLIENT_HOSTS[s.c]!), port: s.same ? this.#ports[s.c]! : 0 });
				this.clients[s.c] = ep;
				this.#ports[s.c] = ep.port;
				break;
			}
			case "net": {
				const lossy = s.loss > 0 || s.dup > 0 || s.reo > 0;
				this.net.setConditions({ loss: s.loss, duplicate: s.dup, reorder: s.reo, reorderDelayMs: 40, jitterMs: lossy ? 5 : 0 });
				this.#lossy = lossy;
				if (lossy) this.#markLossy();
				break;
			}
			case "wait":
				break;
			case "robs": {
				const token = rawToken(s.id);
				this.#rawTokens.set(token, { active: true, resource: s.r });
				const options: [number, OptValue][] = [[OPT_OBSERVE, 0], [OPT_URI_PATH, "obs"], [OPT_URI_PATH, String(s.r)], [OPT_URI_QUERY, "s=" + s.s]];
				if (s.b2 >= 0) options.push([OPT_BLOCK2, s.b2 * 16 + 2]);
				if (s.nr) {
					options.push([OPT_NO_RESPONSE, s.nr]);
					if ((s.nr & 2) !== 0) this.#silentObserver = true;
				}
				this.#rawSend({ type: CON, code: 1, token, options });
				break;
			}
			case "rdereg": {
				const token = rawToken(s.id);
				const t = this.#rawTokens.get(token);
				if (t === undefined) break;
				t.active = false;
				this.#rawSend({ type: CON, code: 1, token, options: [[OPT_OBSERVE, 1], [OPT_URI_PATH, "obs"], [OPT_URI_PATH, String(t.resource)]] });
				break;
			}
			case "rforget": {
				const t = this.#rawTokens.get(rawToken(s.id));
				if (t !== undefined) t.active = false;
				break;
			}
			case "rmode":
				this.#rawAck = s.ack === 1;
				this.#rawRst = s.rst === 1;
				break;
			case "rb1": {
				const body = uploadBody(s.id, 200);
				const segs = s.p.split("/").filter((x) => x.length > 0);
				const options: [number, OptValue][] = segs.map((x): [number, OptValue] => [OPT_URI_PATH, x]);
				options.push([OPT_BLOCK1, 0 * 16 + 8 + 2], [OPT_SIZE1, 200], [OPT_REQUEST_TAG, rawToken(s.id)]);
				this.#rawSend({ type: CON, code: 3, token: rawToken(s.id), options, payload: body.subarray(0, 64) });
				break;
			}
			case "rput": {
				const token = rawToken(s.id);
				const body = uploadBody(s.id, 48);
				const mid = this.#rawSend({ type: CON, code: 3, token, options: [[OPT_URI_PATH, "store"], [OPT_URI_PATH, "1"], [OPT_BLOCK1, 8 + 1], [OPT_SIZE1, 48], [OPT_REQUEST_TAG, token]], payload: body.subarray(0, 32) });
				this.#rawPuts.set(s.id, { token, body, block0Mid: mid, finalMid: -1, finalBytes: null, finalAt: -1, usesAtFinal: 0, finalCode: -1, again: false, againAt: -1 });
				break;
			}
			case "ragain": {
				const p = this.#rawPuts.get(s.id);
				// RFC 7252 §4.5: the same CON again within EXCHANGE_LIFETIME is a duplicate.
				if (p === undefined || p.finalBytes === null || p.finalCode !== 0x44 || p.again || this.now - p.finalAt > EXCHANGE_LIFETIME - 20000) break;
				p.again = true;
				p.againAt = this.now;
				this.#raw.write(p.finalBytes, SERVER, PORT);
				break;
			}
		}
		await this.#advance(s.dt);
	}

	#markLossy(): void {
		for (const r of this.#requests) if (!r.settled) r.lossy = true;
		for (const o of this.#observations.values()) if (!o.ended) o.lossy = true;
	}

	#request(s: Extract<Step, { k: "req" }>): void {
		const ep = this.clients[s.c];
		if (ep === null || ep === undefined) return;
		this.counts.requests++;
		const query = ["b=" + s.b];
		if (s.a) query.push("a=1");
		if (s.p === "/big" || s.p.startsWith("/obs/")) query.push("s=" + s.s);
		const options: [number, OptValue][] = [];
		if (s.x === "oscore") options.push([OPT_OSCORE, new Uint8Array([0x09, 0x01])]);
		if (s.x === "ifm") options.push([OPT_IF_MATCH, new Uint8Array([0xde, 0xad, 0xbe, 0xef])]);
		if (s.x === "inm") options.push([OPT_IF_NONE_MATCH, new Uint8Array(0)]);
		const body = s.n > 0 ? uploadBody(s.id, s.n) : undefined;
		// Whether the request or its response goes block-wise (for the time bound and 4.08).
		const up = s.bs || 1024;
		const down = Math.min(s.bs || 1024, this.server.limits.blockSize);
		const respLength = s.p === "/echo" || s.p === "/fresh" ? s.n : s.p === "/big" || s.p.startsWith("/obs/") ? s.s : s.p.startsWith("/store/") ? this.#maxStored + 4096 : 400;
		const blockwise = s.n > up || respLength > down;
		const exchanges = blockwise ? Math.ceil(s.n / up) + Math.ceil(Math.max(respLength, 4096) / down) + 2 : 1;
		const rec: RequestRecord = {
			step: s,
			index: this.#step,
			client: s.c,
			address: CLIENT_HOSTS[s.c]!,
			port: ep.port,
			callAt: this.now,
			// The request's timeout counts from the call (issue 8, defect 11); each block's
			// exchange may be tried three times (client/blockwise.ts).
			deadline: this.now + (blockwise ? exchanges * 3 * (s.t + 1000) : s.t + 1000),
			settled: false,
			lossy: this.#lossy,
			// RFC 7252 §4.7: behind an outstanding request of the same client to the server, this
			// one waits for NSTART room (a lost or unanswered NON counts for its size / PROBING_RATE),
			// and its timeout counts from the call: it may end unsent.
			queued: this.#requests.some((r) => !r.settled && r.client === s.c),
			closed: false,
			blockwise,
			writes: s.p.startsWith("/store/") ? this.#writes[Number(s.p.slice(7))]! : 0,
		};
		this.#requests.push(rec);
		let p: Promise<ClientResponse>;
		try {
			p = ep.request({
				method: s.m,
				address: SERVER,
				port: PORT,
				path: s.p,
				query,
				payload: body,
				confirmable: s.non !== 1,
				timeoutMs: s.t,
				blockSize: s.bs || undefined,
				options,
			});
		} catch (e) {
			rec.settled = true;
			this.fail("request-threw", 0, "request() threw at the call: " + String(e));
			return;
		}
		p.then(
			(res) => {
				rec.settled = true;
				this.counts.responses++;
				this.#judgeResponse(rec, res);
			},
			(e: unknown) => {
				rec.settled = true;
				this.counts.errors++;
				this.#judgeError(rec, e);
			},
		);
	}

	#describe(rec: RequestRecord): string {
		const s = rec.step;
		return "request " + s.id + " (" + s.m + " " + s.p + " b=" + s.b + (s.a ? " async" : "") + (s.n ? " body " + s.n : "") + (s.bs ? " bs " + s.bs : "") + (s.non ? " NON" : "") + (s.x ? " " + s.x : "") + " timeout " + s.t + ", client " + s.c + ", sent at " + rec.callAt + " ms)";
	}

	/** The response codes the model allows for a request, and the defect a wrong one points at. */
	#expected(s: Extract<Step, { k: "req" }>): { codes: number[]; defect: number; kind: string } {
		const m = s.m;
		const p = s.p;
		// RFC 7252 §5.4.1: OSCORE (option 9) unprotected by nobody is unrecognised and critical:
		// the request cannot be understood at all, whatever its path and method.
		if (s.x === "oscore") return { codes: [0x82], defect: 5, kind: "" };
		if (p === "/nothing") return { codes: [0x84], defect: 0, kind: "" };
		if (p === "/.well-known/core") return m === "GET" ? { codes: [0x45], defect: 0, kind: "" } : { codes: [0x85], defect: 12, kind: "" };
		const has =
			p.startsWith("/store/") ? m !== "POST"
			: p === "/echo" ? m !== "DELETE"
			: p === "/fresh" ? m === "GET" || m === "POST" || m === "PUT"
			: m === "GET" || m === "FETCH";
		if (!has) return { codes: [0x85], defect: 0, kind: "" };
		// RFC 7252 §5.10.8: with no current ETag, If-Match cannot hold; /echo exists, so If-None-Match does not.
		if (s.x === "ifm" || s.x === "inm") return { codes: [0x8c], defect: 6, kind: "" };
		if (s.b === "throw" || s.b === "reject") return { codes: [0xa0], defect: 0, kind: "" };
		if (s.b.startsWith("misuse:")) return { codes: [0xa0], defect: 1, kind: "" };
		if (s.b === "hang") return { codes: [0xa3], defect: 0, kind: "" };
		if (p.startsWith("/store/")) {
			if (m === "GET" || m === "FETCH") return { codes: [0x45], defect: 0, kind: "store" };
			if (m === "DELETE") return { codes: [0x42], defect: 0, kind: "" };
			return { codes: [0x44], defect: 0, kind: "applied" };
		}
		if (p === "/echo" || p === "/fresh") return m === "GET" ? { codes: [0x45], defect: 0, kind: "" } : { codes: [m === "FETCH" ? 0x45 : 0x44], defect: 0, kind: "echo" };
		if (p === "/big") return { codes: [0x45], defect: 0, kind: "big" };
		return { codes: [0x45], defect: 0, kind: "obs" };
	}

	/**
	 * The defect a wrong outcome of `rec` follows from: its own (`defect`), else a body violation
	 * its handler saw (defects 2, 101), else another handler's late write in its payload (102).
	 */
	#cause(rec: RequestRecord, defect: number, payload: Uint8Array | null): number {
		if (defect > 0) return defect;
		const b = this.#bodyDefect.get(rec.address + ":" + rec.port);
		if (b !== undefined && b.time >= rec.callAt && b.defect > 0) return b.defect;
		if (payload !== null && contains(payload, "LATE-WRITE")) return 102;
		return 0;
	}

	#judgeResponse(rec: RequestRecord, res: ClientResponse): void {
		const s = rec.step;
		const code = res.code;
		const exp = this.#expected(s);
		if (code === 0xa3) {
			// 5.03: the server was busy (slots, transfers) or the handler did not settle in time.
			if (ascii(res.payload) === "handler timed out" && s.b !== "hang" && !s.b.startsWith("slow:")) {
				this.fail("outcome", s.b.startsWith("misuse:") ? 1 : 0, this.#describe(rec) + " got 5.03 \"handler timed out\" although its handler settled");
			}
			return;
		}
		if (code === 0x88 && rec.blockwise && exp.defect === 0) return; // RFC 7959 §2.5/§2.6: a transfer that cannot go on
		// A block-wise GET racing a write that shortened the value: its next block is past the
		// new end (RFC 7959 §2.2: 4.02). The client passes that on instead of starting again (noted).
		if (code === 0x82 && exp.kind === "store" && rec.blockwise && this.#writes[Number(s.p.slice(7))] !== rec.writes) return;
		// Defect 105 (found by this test, fixed): the client repeats a request with the server's
		// Echo value (RFC 9175 §2.3) up to twice more when a repetition came too late for the
		// server's freshness window; only a request that waited behind others (NSTART) or lost
		// datagrams may still end with the 4.01 after those three attempts (README, Echo).
		if (code === 0x81 && s.p === "/fresh") {
			if (!rec.queued && !rec.lossy) this.fail("outcome", 105, this.#describe(rec) + " got 4.01 (Echo) although it neither waited behind other requests nor lost datagrams");
			return;
		}
		if (exp.codes.indexOf(code) < 0) {
			this.fail("outcome", this.#cause(rec, exp.defect, res.payload), this.#describe(rec) + " got " + codeText(code) + " \"" + ascii(res.payload).slice(0, 60) + "\", expected " + exp.codes.map(codeText).join(" or "));
			return;
		}
		const body = res.payload;
		let bad = "";
		switch (exp.kind) {
			case "store": {
				if (body.length === 0) break;
				const id = uploadId(body);
				const k = Number(s.p.slice(7));
				if (id < 0 || !this.#applied[k]!.has(id)) bad = "a value never stored there (" + body.length + " bytes, \"" + ascii(body.subarray(0, 16)) + "\")";
				break;
			}
			case "applied": {
				const u = this.#uploads.get(s.id);
				if (u === undefined || u.runs.length === 0) this.fail("unapplied", this.#cause(rec, 0, null), this.#describe(rec) + " was confirmed with " + codeText(code) + " but its handler never saw the body");
				break;
			}
			case "echo": {
				if (uploadId(body) !== s.id || body.length !== Math.max(16, s.n)) bad = "not its own body back (" + body.length + " bytes, \"" + ascii(body.subarray(0, 16)) + "\")";
				break;
			}
			case "big":
				if (!isBigBody(body, s.s)) bad = "not the " + s.s + "-byte body (" + body.length + " bytes)";
				break;
			case "obs": {
				const who = parseObserveBody(body);
				// A body sent block-wise: the answer to its final block may be the one recorded for
				// an earlier exchange of that block, under that exchange's token (README, block-wise).
				const uploaded = s.n > (s.bs > 0 ? s.bs : 1024);
				if (who === null || who.address !== rec.address || who.port !== rec.port || (who.token !== hexOf(res.token) && !uploaded)) bad = "a representation built for another request: \"" + ascii(body.subarray(0, 60)) + "\"";
				break;
			}
		}
		if (bad !== "") this.fail("payload", this.#cause(rec, 0, body), this.#describe(rec) + " got " + codeText(code) + " with " + bad);
	}

	#judgeError(rec: RequestRecord, e: unknown): void {
		const s = rec.step;
		if (!(e instanceof CoapError)) {
			this.fail("outcome", 0, this.#describe(rec) + " rejected with a non-CoapError: " + String(e));
			return;
		}
		const code = e.code;
		if (code === "COAP_CLOSED" && rec.closed) return;
		if (code === "COAP_CAPACITY") return; // the client's own tables were full
		if (code === "COAP_RESET" && s.x === "oscore" && s.non === 1) return; // §4.3: a NON with an unrecognised critical option is rejected
		if (code === "COAP_TIMEOUT" && (rec.lossy || s.b === "hang" || s.b.startsWith("slow:"))) return;
		if (code === "COAP_TIMEOUT" && rec.queued && e.message.indexOf("not sent") >= 0) return;
		if (code === "COAP_BAD_RESPONSE" && (s.m === "GET" || s.m === "FETCH") && (s.p.startsWith("/store/") || s.p.startsWith("/obs/"))) return; // the representation kept changing
		let defect = 0;
		if (code === "COAP_TIMEOUT" && s.b.startsWith("misuse:")) defect = 1;
		// Defect 106 (found by this test): a client Block2 transfer whose block exchange takes
		// longer than the transfer slot's lifetime (its timeout times three attempts) loses the
		// slot to another transfer, which writes into it; the first then sees a foreign length.
		if (code === "COAP_BAD_RESPONSE" && e.message.indexOf("bytes from") >= 0) defect = 106;
		if (code === "COAP_BAD_RESPONSE" && carriesBody(s.m) && rec.blockwise) defect = 2;
		this.fail("outcome", this.#cause(rec, defect, null), this.#describe(rec) + " failed with " + code + ": " + e.message + (code === "COAP_TIMEOUT" ? " on a network without loss" : ""));
	}

	#observe(s: Extract<Step, { k: "obs" }>): void {
		const ep = this.clients[s.c];
		if (ep === null || ep === undefined) return;
		const query = ["b=" + s.b, "s=" + s.s];
		if (s.a) query.push("a=1");
		const rec: ObservationRecord = {
			step: s,
			client: s.c,
			address: CLIENT_HOSTS[s.c]!,
			port: ep.port,
			obs: null as unknown as Observation,
			token: "",
			notifications: 0,
			version: -1,
			ended: false,
			closed: false,
			lossy: this.#lossy,
			cancel: null,
		};
		const fetch = s.fetch === 1;
		try {
			rec.obs = ep.observe(
				{ method: fetch ? "FETCH" : "GET", address: SERVER, port: PORT, path: s.p, query, payload: fetch ? uploadBody(s.id, 20) : undefined },
				(res) => this.#notified(rec, res),
				(err) => this.#observationEnded(rec, err),
			);
		} catch (e) {
			this.fail("request-threw", 0, "observe() threw at the call: " + String(e));
			return;
		}
		this.#observations.set(s.id, rec);
	}

	#notified(rec: ObservationRecord, res: ClientResponse): void {
		this.counts.notifications++;
		rec.notifications++;
		const token = hexOf(res.token);
		if (rec.token === "") rec.token = token;
		const what = "observation " + rec.step.id + " (" + rec.step.p + " b=" + rec.step.b + ", client " + rec.client + ")";
		if (rec.ended) this.fail("after-end", 0, what + " delivered a notification after it ended");
		if (res.code >> 5 !== 2) {
			const b = rec.step.b;
			const fine = res.code === 0xa3 || ((b === "throw" || b === "reject") && res.code === 0xa0) || (b.startsWith("misuse:") && res.code === 0xa0);
			const defect = b.startsWith("misuse:") ? 1 : rec.step.fetch === 1 && res.code === 0x88 ? 103 : 0;
			if (!fine) this.fail("outcome", defect, what + " got " + codeText(res.code) + " \"" + ascii(res.payload).slice(0, 60) + "\"");
			return;
		}
		if (token !== rec.token) this.fail("notification-identity", 3, what + " got a notification with token " + token + " after " + rec.token);
		const who = parseObserveBody(res.payload);
		if (who === null || who.address !== rec.address || who.port !== rec.port || who.token !== token) {
			this.fail("notification-identity", 3, what + " at " + rec.address + ":" + rec.port + " token " + token + " got a representation built for another registration: \"" + ascii(res.payload.subarray(0, 60)) + "\"");
		} else {
			// RFC 7641 §3.4: notifications are delivered in order of freshness.
			if (who.version < rec.version) this.fail("observe-order", 0, what + " delivered version " + who.version + " after version " + rec.version);
			else rec.version = who.version;
		}
	}

	#observationEnded(rec: ObservationRecord, err: CoapError | null): void {
		rec.ended = true;
		if (err === null) return;
		const c = err.code;
		if (c === "COAP_CLOSED" && rec.closed) return;
		if (c === "COAP_CAPACITY" || c === "COAP_TIMEOUT" || c === "COAP_BAD_RESPONSE" || c === "COAP_OVERFLOW") return;
		this.fail("outcome", 0, "observation " + rec.step.id + " ended with " + c + ": " + err.message);
	}

	/**
	 * A change of /obs/r: the server runs the handler for each observer it holds, right here
	 * (sync handlers), so the model sees exactly which registrations it notifies.
	 */
	#change(r: number): void {
		this.#version[r]!++;
		const ran: string[] = [];
		this.#capture = ran;
		try {
			this.#obsResources[r]!.changed();
		} catch (e) {
			this.#escaped(e, "resource.changed()");
		} finally {
			this.#capture = null;
		}
		for (const [key, k] of this.#keys) {
			if (k.resource !== r) continue;
			const notified = ran.indexOf(key) >= 0;
			if (k.state === REG_YES && k.pending < 0 && !k.async && !notified) {
				k.state = REG_UNSURE; // (when known: reported once)
				this.fail("lost-registration", 3, "the server holds registration " + key + " of /obs/" + r + " (its last answer carried Observe, nothing ended it) but did not notify it");
			}
			if (k.state === REG_NONE && notified) this.fail("stale-registration", 3, "the server notified " + key + " of /obs/" + r + ", which deregistered or was never registered");
		}
		for (const key of ran) if (!this.#keys.has(key)) this.fail("stale-registration", 3, "the server notified " + key + ", which never asked to observe /obs/" + r);
	}

	// ------------------------------------------------------------------ the raw peer

	#rawSend(m: { type: number; code: number; token: string; options: [number, OptValue][]; payload?: Uint8Array }): number {
		const mid = (this.#rawMid = (this.#rawMid + 1) & 0xffff);
		this.#raw.write(encode({ ...m, mid }), SERVER, PORT);
		return mid;
	}

	rawReceived(bytes: Uint8Array): void {
		let m: Msg;
		try {
			m = decode(bytes);
		} catch {
			return; // a malformed datagram is reported where the server sent it
		}
		if (m.code === 0) return;
		if (m.type === ACK) {
			for (const [id, p] of this.#rawPuts) {
				if (m.token !== p.token) continue;
				if (m.mid === p.block0Mid && m.code === 0x5f && p.finalMid < 0) {
					const mid = (this.#rawMid = (this.#rawMid + 1) & 0xffff);
					const bytes2 = encode({ type: CON, code: 3, mid, token: p.token, options: [[OPT_URI_PATH, "store"], [OPT_URI_PATH, "1"], [OPT_BLOCK1, 16 + 1], [OPT_REQUEST_TAG, p.token]], payload: p.body.subarray(32) });
					p.finalMid = mid;
					p.finalBytes = bytes2;
					p.finalAt = this.now;
					p.usesAtFinal = this.#transferUses;
					this.#raw.write(bytes2, SERVER, PORT);
				} else if (m.mid === p.finalMid) {
					if (p.again && this.now > p.againAt) {
						// A record of the finished upload is kept (README) until a new transfer needs
						// its slot: 4.08 is the bounded answer once one may have.
						const forgotten = m.code === 0x88 && this.#transferUses > p.usesAtFinal;
						if (m.code >> 5 !== 2 && m.code !== 0xa3 && !forgotten) this.fail("repeated-block", 8, "the final Block1 block of raw upload " + id + " (a PUT, applied and answered " + codeText(p.finalCode) + ") sent again with its Message ID got " + codeText(m.code) + " \"" + ascii(m.payload).slice(0, 60) + "\"");
					} else if (p.finalCode < 0) {
						p.finalCode = m.code;
						if (m.code >> 5 === 2 && (this.#uploads.get(id)?.runs.length ?? 0) === 0) this.fail("unapplied", 0, "raw upload " + id + " was confirmed with " + codeText(m.code) + " but its handler never saw the body");
					}
				}
			}
			return;
		}
		// A separate response or a notification.
		const t = this.#rawTokens.get(m.token);
		if (t !== undefined && t.active) {
			if (m.type === CON && this.#rawAck) this.#raw.write(encode({ type: ACK, code: 0, mid: m.mid }), SERVER, PORT);
			return;
		}
		// RFC 7641 §3.6: a notification nobody wants may be answered with Reset.
		if (this.#rawRst) this.#raw.write(encode({ type: RST, code: 0, mid: m.mid }), SERVER, PORT);
	}

	// ------------------------------------------------------------------ checks

	/** After every step: every request settles within its timeout; sync handler errors were reported. */
	#checkStep(): void {
		const now = this.now;
		for (const r of this.#requests) {
			if (!r.settled && now > r.deadline) {
				if (!this.fail("deadline", 11, this.#describe(r) + " has no outcome " + (now - r.callAt) + " ms after the call (timeout " + r.step.t + " ms" + (r.blockwise ? ", block-wise" : "") + ")")) return;
				r.deadline = Infinity; // known: reported once
			}
		}
		if (this.#syncThrows.length > 0) this.fail("handler-error", 0, "a handler's exception did not reach onHandlerError: " + String(this.#syncThrows[0]));
	}

	/** Traffic stops, every timeout passes: then everything must be free. */
	async #finish(): Promise<void> {
		this.net.setConditions({ loss: 0, duplicate: 0, reorder: 0, jitterMs: 0 });
		this.#lossy = false;
		await this.#advance(5000);
		for (const o of this.#observations.values()) {
			if (o.cancel !== null || this.clients[o.client] === null) continue;
			const rec = { settled: false };
			o.cancel = rec;
			o.obs.cancel().then(() => (rec.settled = true), () => (rec.settled = true));
		}
		this.#rawAck = true;
		this.#rawRst = true;
		for (const [token, t] of this.#rawTokens) {
			if (!t.active) continue;
			t.active = false;
			this.#rawSend({ type: CON, code: 1, token, options: [[OPT_OBSERVE, 1], [OPT_URI_PATH, "obs"], [OPT_URI_PATH, String(t.resource)]] });
		}
		await this.#advance(10000);
		if (this.violation !== null) return;
		// Observers of peers that vanished are forgotten when a CON notification goes unanswered
		// (RFC 7641 §4.5). A notification due to be CON goes out NON while no server slot is
		// free to retransmit it, so keep changing, 30 s apart, until none is left (or give up
		// after 20 rounds: then the end check reports what is left), then let every timeout pass.
		for (let i = 0; i < 20 && this.server.observersInUse > 0; i++) {
			for (let r = 0; r < 2; r++) {
				this.#version[r]!++;
				try {
					this.#obsResources[r]!.changed();
				} catch (e) {
					this.#escaped(e, "resource.changed()");
				}
			}
			await this.#advance(30000);
			if (this.violation !== null) return;
		}
		await this.#advance(2 * EXCHANGE_LIFETIME);
		if (this.violation !== null) return;
		this.#checkStep();
		for (const r of this.#requests) if (!r.settled) this.fail("unsettled", 11, this.#describe(r) + " never settled");
		for (const o of this.#observations.values()) {
			if (o.obs.active) this.fail("unsettled", 0, "observation " + o.step.id + " is still active after cancel() and every timeout");
			if (o.cancel !== null && !o.cancel.settled) this.fail("unsettled", 0, "cancel() of observation " + o.step.id + " never settled");
		}
		const eps: [string, Endpoint][] = [["server", this.server]];
		for (let c = 0; c < this.clients.length; c++) if (this.clients[c]) eps.push(["client " + c, this.clients[c]!]);
		for (const [name, ep] of eps) {
			const leaks: string[] = [];
			if (ep.clientSlotsInUse !== 0) leaks.push(ep.clientSlotsInUse + " client slots");
			if (ep.serverSlotsInUse !== 0) leaks.push(ep.serverSlotsInUse + " server slots");
			if (ep.transfersInUse !== 0) leaks.push(ep.transfersInUse + " transfers");
			if (ep.observersInUse !== 0) leaks.push(ep.observersInUse + " observers");
			if (ep.nextDeadline() !== -1) leaks.push("a deadline at " + ep.nextDeadline());
			if (leaks.length > 0) {
				// Defect 7: a notification handler that never settled; defect 104 (found by this test):
				// a registration with No-Response for 2.xx gets no notifications, so none ever
				// fails and the observer is held for good.
				const observers = ep === this.server && ep.observersInUse > 0;
				const defect = observers && this.#hangObserved ? 7 : observers && this.#silentObserver ? 104 : 0;
				const why = defect === 7 ? " (a notification handler never settled)" : defect === 104 ? " (a registration asked for no 2.xx responses: RFC 7967)" : "";
				this.fail("leak", defect, name + " still holds " + leaks.join(", ") + " after traffic stopped and every timeout passed" + why);
			}
		}
		if (this.#misuseRuns !== this.#foreignReports) this.fail("handler-error", 1, this.#misuseRuns + " handlers misused the response builder, onHandlerError reported " + this.#foreignReports + " such mistakes");
	}
}

function rawReadable(this: UdpSocket, count: number): void {
	const soak = this.target as Soak;
	while (count-- > 0) {
		const d = this.read();
		if (d === undefined) return;
		soak.rawReceived(new Uint8Array(d));
	}
}

function rawToken(id: number): string {
	let s = (0x7a000000 + id).toString(16);
	while (s.length < 8) s = "0" + s;
	return s;
}

/** One mistake with the response builder, after the handler set a good answer (steps.ts MISUSES). */
function misuse(kind: string, res: ResponseBuilder): void {
	const r = res as unknown as Record<string, unknown>;
	switch (kind) {
		case "code404":
			res.send(404, "x");
			break;
		case "codeneg":
			res.code = -1;
			break;
		case "codefrac":
			res.code = 69.5;
			break;
		case "codestr":
			r.code = "2.05";
			break;
		case "codereq":
			res.code = 0x01;
			break;
		case "code1xx":
			res.code = 0x20;
			break;
		case "arr":
			r.payload = [1, 2, 3]; // an ArrayBuffer is taken as its bytes (response.ts); a plain array is a mistake
			break;
		case "num":
			r.payload = 42;
			break;
		case "optneg":
			res.option(12, -1);
			break;
		case "optfrac":
			res.option(14, 1.5);
			break;
		case "optobj":
			(res.option as (n: number, v: unknown) => void)(2048, {});
			break;
		case "etag20":
			res.etag = new Uint8Array(20);
			break;
		case "cf70000":
			res.contentFormat = 70000;
			break;
		case "many":
			for (let i = 0; i < 13; i++) res.option(2048 + i, i);
			break;
		case "twice":
			res.send(0x45, "first");
			res.send(0x45, "second");
			break;
		case "locpath":
			r.locationPath = [1, 2];
			break;
		default:
			throw new Error("unknown misuse " + kind);
	}
}

/** Runs `steps` in a fresh world. */
export async function runSoak(steps: readonly Step[], options: SoakOptions): Promise<SoakResult> {
	const soak = new Soak(options);
	return soak.run(steps);
}

/** Whether a violation is one of the known defects (reported, not failed). */
export function isKnown(v: Violation, known: ReadonlySet<number>): boolean {
	return v.defect > 0 && known.has(v.defect);
}
