// Mutation fuzzing of datagrams against endpoints on the virtual network (issue 8). A server
// Endpoint with block-wise, observable, async, conditional and fresh-only resources gets
// requests, ACKs and Resets from several fuzz peers; a client Endpoint with requests
// outstanding (plain, Block1 uploads, an observation, NON) gets responses, notifications, ACKs
// and Resets from the peer it asked, built from its real tokens and Message IDs. Most datagrams
// are valid messages mutated (mutate.ts); some go unmutated so that state builds up (transfers,
// observers, kept bodies, duplicates). Some requests to the server are OSCORE-protected (RFC
// 8613) with a context the server holds, some of those replayed, and most mutated like the
// rest: the OSCORE option's decoding, the replay window and failed decryption meet bad input.
//
// Invariants: nothing escapes an endpoint (the network driver would throw); the server still
// answers a plain GET (checked every `checkEvery` datagrams and at the end); the client's
// requests settle with a response or a CoapError; once the fuzzing stops and every timeout has
// passed, every slot, transfer and observer of both endpoints is free and no timer is armed; and
// the client completes a request again, and a protected GET from another context is answered.
// Deterministic per seed. Portable: no Node APIs.
import { Endpoint } from "../../../modules/coap/endpoint.js";
import { CoapError } from "../../../modules/coap/errors.js";
import type { Observation } from "../../../modules/coap/client/observation.js";
import type { UdpSocket } from "../../../modules/coap/host.js";
import type { CoapRequest } from "../../../modules/coap/server/request.js";
import type { ResponseBuilder } from "../../../modules/coap/server/response.js";
import { Router } from "../../../modules/coap/server/router.js";
import { Prng } from "../../../sim/prng.js";
import { VirtualNetwork, type DatagramEvent } from "../../../sim/index.js";
import { ACK, CON, NON, RST, encode, type MsgSpec, type OptValue } from "../endpoint/harness.js";
import { mutate } from "./mutate.js";
import { SecurityContext } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { Oscore } from "../../../modules/coap/oscore/oscore.js";
import { RequestBinding } from "../../../modules/coap/oscore/binding.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";

const SERVER = "10.0.0.2";
const PORT = 5683;
const CLIENT = "10.0.3.2";
/** The peer the client sends its requests to: the fuzzer answers for it. */
const FAKE = "10.0.3.1";
const CHECKER = "10.0.4.1";
/** A client Endpoint with its own OSCORE context: checks after the fuzzing that protected requests still work. */
const SECURE = "10.0.4.2";
const OSCORE_SECRET = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
const PEER_HOSTS = Object.freeze(["10.0.2.1", "10.0.2.2", "10.0.2.3"]);
const EXCHANGE_LIFETIME = 247000;

export interface FuzzOptions {
	seed: number;
	/** Datagrams to send. */
	count: number;
	/** A plain GET checks the server after every this many datagrams (default 1000). */
	checkEvery?: number;
	/** Called every 10,000 datagrams with the number sent. */
	progress?: (sent: number) => void;
}

export interface FuzzViolation {
	/** Datagrams sent when it was seen. */
	index: number;
	inv: string;
	detail: string;
	/** The last datagrams sent (hex, with their destination), oldest first. */
	recent: string[];
}

export interface FuzzResult {
	sent: number;
	violation: FuzzViolation | null;
	/** Virtual time at the end, ms. */
	time: number;
	stats: {
		toServer: number;
		toClient: number;
		unmutated: number;
		serverMalformed: number;
		serverReceived: number;
		clientReceived: number;
		clientRequests: number;
		checks: number;
		/** Most observers, transfers and server slots the server held at once (what the fuzzing reached). */
		maxObservers: number;
		maxTransfers: number;
		maxServerSlots: number;
		serverDuplicates: number;
		serverResets: number;
		/** OSCORE-protected requests made for the server (before mutation), and how many of them a `requireOscore` handler served. */
		protectedSent: number;
		secretServed: number;
	};
}

interface Seen {
	token: Uint8Array;
	mid: number;
	type: number;
	observe: number;
	block1: number;
	block2: number;
}

function hex(b: Uint8Array): string {
	let s = "";
	for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s;
}

function readOptions(b: Uint8Array): { observe: number; block1: number; block2: number } {
	// A tolerant reader for the client's own (well-formed) requests.
	const r = { observe: -1, block1: -1, block2: -1 };
	let p = 4 + (b[0]! & 15);
	let num = 0;
	while (p < b.length && b[p] !== 0xff) {
		const h = b[p++]!;
		let d = h >> 4;
		let l = h & 15;
		if (d === 13) d = b[p++]! + 13;
		else if (d === 14) { d = ((b[p]! << 8) | b[p + 1]!) + 269; p += 2; }
		if (l === 13) l = b[p++]! + 13;
		else if (l === 14) { l = ((b[p]! << 8) | b[p + 1]!) + 269; p += 2; }
		num += d;
		let v = 0;
		for (let i = 0; i < l && i < 4; i++) v = v * 256 + b[p + i]!;
		if (num === 6) r.observe = v;
		if (num === 27) r.block1 = v;
		if (num === 23) r.block2 = v;
		p += l;
	}
	return r;
}

export class Fuzzer {
	readonly net: VirtualNetwork;
	readonly server: Endpoint;
	readonly client: Endpoint;
	readonly #rng: Prng;
	readonly #options: FuzzOptions;
	readonly #peers: (UdpSocket & { port: number; address: string })[] = [];
	readonly #fake: UdpSocket;
	readonly #checker: UdpSocket;
	/** What the client sent to the fake peer lately (newest last). */
	readonly #seen: Seen[] = [];
	/** CON messages the server sent lately, for ACKs and Resets: [address, port, mid]. */
	readonly #serverCons: [string, number, number][] = [];
	/** Valid messages sent lately, for splicing. */
	readonly #corpus: Uint8Array[] = [];
	readonly #recent: string[] = [];
	#honest = false;
	#checkReply: Uint8Array | null = null;
	#checkMid = 0;
	#mid = 0x100;
	#fakeMid = 0x8000;
	#observeSeq = 2;
	#violation: FuzzViolation | null = null;
	#sent = 0;
	#clientOutstanding = 0;
	#observation: Observation | null = null;
	#bodySeq = 0;
	readonly stats = { toServer: 0, toClient: 0, unmutated: 0, serverMalformed: 0, serverReceived: 0, clientReceived: 0, clientRequests: 0, checks: 0, maxObservers: 0, maxTransfers: 0, maxServerSlots: 0, serverDuplicates: 0, serverResets: 0, protectedSent: 0, secretServed: 0 };
	readonly #obs: ReturnType<Router["add"]>[] = [];
	/** The fuzz peers' side of an OSCORE context the server holds, and what protecting takes. */
	readonly #oscore = new Oscore({ contexts: 1 });
	readonly #oscoreCtx = new SecurityContext({ masterSecret: OSCORE_SECRET, senderId: new Uint8Array(0), recipientId: Uint8Array.of(1) }, nobleCrypto);
	readonly #oscoreBinding = new RequestBinding();
	readonly #oscoreView = new MessageView(16);
	readonly #oscoreOut = new MessageWriter(new Uint8Array(1152));
	#lastProtected: Uint8Array | null = null;
	readonly #secure: Endpoint;

	constructor(options: FuzzOptions) {
		this.#options = options;
		this.#rng = new Prng(options.seed ^ 0xf022);
		this.net = new VirtualNetwork({ seed: options.seed });
		this.net.onDatagram = (e) => this.#onDatagram(e);
		const router = this.#router();
		const ports = (host: string) => ({ udp: this.net.udpClass(host), clock: this.net.clock, random: this.net.random(host) });
		this.server = new Endpoint({
			ports: ports(SERVER),
			port: PORT,
			router,
			tuning: { observeConEvery: 4 },
			limits: { blockSize: [1024, 256, 64][(options.seed >>> 0) % 3]! },
			echo: { amplificationLimit: (options.seed & 1) === 1 },
			onHandlerError: (e) => this.#fail("handler-error", "a resource handler of the fuzz server threw: " + String(e)),
			oscore: {
				contexts: [
					new SecurityContext({ masterSecret: OSCORE_SECRET, senderId: Uint8Array.of(1), recipientId: new Uint8Array(0) }, nobleCrypto),
					new SecurityContext({ masterSecret: OSCORE_SECRET, senderId: Uint8Array.of(3), recipientId: Uint8Array.of(2) }, nobleCrypto),
				],
			},
		});
		const checkCtx = new SecurityContext({ masterSecret: OSCORE_SECRET, senderId: Uint8Array.of(2), recipientId: Uint8Array.of(3) }, nobleCrypto);
		this.#secure = new Endpoint({ ports: ports(SECURE), port: 0, oscore: { credentials: { ["coap://" + SERVER + "/*"]: checkCtx } } });
		this.client = new Endpoint({ ports: ports(CLIENT), port: 0 });
		for (const host of PEER_HOSTS) {
			for (let i = 0; i < 2; i++) {
				const Udp = this.net.udpClass(host);
				this.#peers.push(new Udp({ port: 0, onReadable: discard, target: this }) as UdpSocket & { port: number; address: string });
			}
		}
		const Fake = this.net.udpClass(FAKE);
		this.#fake = new Fake({ port: PORT, onReadable: fakeReadable, target: this });
		const Checker = this.net.udpClass(CHECKER);
		this.#checker = new Checker({ port: 0, onReadable: checkerReadable, target: this });
	}

	#router(): Router {
		const router = new Router();
		const big = new Uint8Array(3000);
		for (let i = 0; i < big.length; i++) big[i] = 0x20 + (i % 90);
		let stored: Uint8Array = Uint8Array.of(0x31);
		let version = 1;
		router.add("/hello", { get: (_q, r) => r.send(0x45, "hello") });
		router.add("/secret", {
			requireOscore: true,
			get: (_q, r) => { this.stats.secretServed++; r.send(0x45, "secret"); },
			put: (q, r) => { this.stats.secretServed++; r.send(0x44, q.payload.slice()); },
		});
		router.add("/big", { get: (_q, r) => r.send(0x45, big), fetch: (_q, r) => r.send(0x45, big) });
		const echo = (q: CoapRequest, r: ResponseBuilder) => r.send(0x44, q.payload.slice());
		router.add("/echo", { put: echo, post: echo, fetch: echo, patch: echo, ipatch: echo });
		this.#obs.push(router.add("/obs", { obs: true, get: (_q, r) => { r.send(0x45, "v" + version); r.maxAge = 20; }, fetch: (_q, r) => r.send(0x45, "f" + version) }));
		this.#obs.push(router.add("/obsbig", { obs: true, get: (_q, r) => r.send(0x45, big.subarray(0, 1500 + (version % 7))) }));
		router.add("/slow", { get: (_q, r) => this.#sleep(300).then(() => r.send(0x45, "slow")), post: (q, r) => this.#sleep(150).then(() => r.send(0x44, q.payload.slice())) });
		router.add("/store", {
			etag: () => Uint8Array.of(stored.length & 0xff, version & 0xff),
			get: (_q, r) => { r.send(0x45, stored); r.etag = Uint8Array.of(stored.length & 0xff, version & 0xff); },
			put: (q, r) => { stored = q.payload.slice(); version++; r.code = 0x44; },
			delete: (_q, r) => { r.code = 0x42; },
		});
		router.add("/fresh", { fresh: true, post: (q, r) => r.send(0x44, q.payload.slice()) });
		router.add("/sensors/temp", { rt: "temperature", ct: [0, 50], accepts: [0, 50], get: (_q, r) => r.send(0x45, "21.5", 0), put: (_q, r) => { r.code = 0x44; } });
		return router;
	}

	#sleep(ms: number): Promise<void> {
		const clock = this.net.clock;
		return new Promise<void>((resolve) => {
			const t = clock.createTimer(() => {
				t.close();
				resolve();
			}, null);
			t.schedule(clock.now() + ms);
		});
	}

	#fail(inv: string, detail: string): void {
		if (this.#violation !== null) return;
		this.#violation = { index: this.#sent, inv, detail, recent: this.#recent.slice() };
	}

	#onDatagram(e: DatagramEvent): void {
		if (e.kind === "send" && e.fromAddress === SERVER && e.fromPort === PORT && e.bytes.length >= 4 && (e.bytes[0]! & 0x30) === 0) {
			this.#serverCons.push([e.toAddress, e.toPort, (e.bytes[2]! << 8) | e.bytes[3]!]);
			if (this.#serverCons.length > 16) this.#serverCons.shift();
		}
		if (e.kind === "deliver" && e.toAddress === SERVER) this.stats.serverReceived++;
		if (e.kind === "deliver" && e.toAddress === CLIENT) this.stats.clientReceived++;
	}

	// ------------------------------------------------------------------ the fake server

	fakeReceived(b: Uint8Array, address: string, port: number): void {
		if (b.length < 4 || address !== CLIENT) return;
		const tkl = b[0]! & 15;
		const type = (b[0]! >> 4) & 3;
		const code = b[1]!;
		const mid = (b[2]! << 8) | b[3]!;
		if (code === 0) return; // the client's ACK/RST of a response
		const token = b.slice(4, 4 + tkl);
		const o = readOptions(b);
		this.#seen.push({ token, mid, type, observe: o.observe, block1: o.block1, block2: o.block2 });
		if (this.#seen.length > 16) this.#seen.shift();
		if (this.#honest) {
			// After the fuzzing: an ordinary server that answers every request 2.05 (or 2.31/2.04 for Block1).
			let reply: MsgSpec;
			if (o.block1 >= 0 && (o.block1 & 8) !== 0) reply = { type: type === CON ? ACK : NON, code: 0x5f, mid: type === CON ? mid : ++this.#fakeMid, token, options: [[27, o.block1]] };
			else reply = { type: type === CON ? ACK : NON, code: 0x45, mid: type === CON ? mid : ++this.#fakeMid, token, payload: "ok" };
			this.#fake.write(encode(reply), CLIENT, port);
		}
	}

	checkerReceived(b: Uint8Array): void {
		if (b.length >= 4 && ((b[2]! << 8) | b[3]!) === this.#checkMid) this.#checkReply = b.slice();
	}

	// ------------------------------------------------------------------ valid messages

	#pick<T>(list: readonly T[]): T {
		return list[this.#rng.nextInt(list.length)]!;
	}

	#token(): Uint8Array {
		const t = new Uint8Array(this.#rng.nextInt(4) === 0 ? this.#rng.nextInt(9) : 4);
		this.#rng.fill(t);
		// A small pool of tokens per sender, so deregistrations and repeats meet registrations.
		if (t.length === 4 && this.#rng.nextInt(2) === 0) t[0] = t[1] = t[2] = 0x11 * this.#rng.nextInt(4);
		return t;
	}

	#payload(n: number): Uint8Array {
		const p = new Uint8Array(n);
		for (let i = 0; i < n; i++) p[i] = 0x41 + ((this.#bodySeq + i) % 26);
		this.#bodySeq++;
		return p;
	}

	/**
	 * An OSCORE-protected request (RFC 8613 §8.1) with the fuzz peers' context, or one sent
	 * before again (a replay, §7.4), sometimes under a new Message ID.
	 */
	#protectedMessage(mid: number, token: Uint8Array): Uint8Array {
		const rng = this.#rng;
		const last = this.#lastProtected;
		if (last !== null && rng.nextInt(4) === 0) {
			const again = last.slice();
			if (rng.nextInt(2) === 0) {
				again[2] = mid >> 8;
				again[3] = mid & 0xff;
			}
			return again;
		}
		const type = rng.nextInt(5) === 0 ? NON : CON;
		const u = rng.nextInt(5);
		let m: MsgSpec;
		if (u === 0) m = { type, code: 1, mid, token, options: [[11, "secret"]] };
		else if (u === 1) m = { type, code: 3, mid, token, options: [[11, "secret"]], payload: this.#payload(1 + rng.nextInt(40)) };
		else if (u === 2) m = { type, code: 1, mid, token, options: [[6, 0], [11, "obs"]] };
		else if (u === 3) m = { type, code: 1, mid, token, options: [[11, "big"], [23, rng.nextInt(4) * 16 + 2]] };
		else m = { type, code: 1, mid, token, options: [[11, "hello"]] };
		const plain = encode(m);
		const view = this.#oscoreView;
		if (view.parse(plain, plain.length) < 0) return plain;
		const n = this.#oscore.protectRequest(view, this.#oscoreCtx, this.#oscoreOut, this.#oscoreBinding);
		if (n < 0) return plain;
		const bytes = this.#oscoreOut.buf.slice(0, n);
		this.#lastProtected = bytes;
		this.stats.protectedSent++;
		return bytes;
	}

	/** A valid request (or ACK/RST/ping) for the server from `peer`. */
	#serverMessage(): Uint8Array {
		const rng = this.#rng;
		const type = rng.nextInt(5) === 0 ? NON : CON;
		const mid = rng.nextInt(8) === 0 ? this.#mid - rng.nextInt(4) : ++this.#mid;
		const token = this.#token();
		if (rng.nextInt(8) === 0) return this.#protectedMessage(mid, token);
		const path = (p: string): [number, OptValue][] => p.split("/").filter((s) => s.length > 0).map((s): [number, OptValue] => [11, s]);
		const u = rng.nextInt(20);
		let m: MsgSpec;
		if (u === 0) m = { type: CON, code: 0, mid }; // ping
		else if (u === 1 || u === 2) {
			// ACK or Reset of a CON the server sent (to this peer, or to another)
			const c = this.#serverCons.length > 0 ? this.#pick(this.#serverCons) : null;
			m = { type: rng.nextInt(2) === 0 ? ACK : RST, code: 0, mid: c === null ? mid : c[2] };
		} else if (u === 3) m = { type, code: 1, mid, token, options: path("/hello") };
		else if (u === 4) m = { type, code: rng.nextInt(2) === 0 ? 1 : 5, mid, token, options: [...path("/big"), [23, rng.nextInt(60) * 16 + rng.nextInt(8)]], payload: rng.nextInt(2) === 0 ? this.#payload(8) : undefined };
		else if (u === 5 || u === 6) {
			const opts: [number, OptValue][] = [[6, rng.nextInt(3) === 0 ? 1 : 0], ...path(rng.nextInt(3) === 0 ? "/obsbig" : "/obs")];
			if (rng.nextInt(4) === 0) opts.push([23, rng.nextInt(4) * 16 + 2 + rng.nextInt(4)]);
			if (rng.nextInt(6) === 0) opts.push([258, this.#pick([0, 2, 8, 16, 26])]);
			m = { type, code: rng.nextInt(4) === 0 ? 5 : 1, mid, token, options: opts };
		} else if (u === 7 || u === 8 || u === 9) {
			// a Block1 block of an upload (sizes and numbers mostly consistent, so transfers fill up)
			const szx = rng.nextInt(7);
			const size = 16 << szx;
			const num = rng.nextInt(3) === 0 ? 0 : rng.nextInt(6);
			const more = rng.nextInt(3) !== 0;
			const opts: [number, OptValue][] = [...path(rng.nextInt(5) === 0 ? "/slow" : "/echo"), [27, num * 16 + (more ? 8 : 0) + szx]];
			if (num === 0 && rng.nextInt(2) === 0) opts.push([60, rng.nextInt(3) === 0 ? 100000 : size * (2 + rng.nextInt(4))]);
			if (rng.nextInt(2) === 0) opts.push([292, Uint8Array.of(rng.nextInt(3))]);
			if (rng.nextInt(4) === 0) opts.push([23, 2]);
			m = { type, code: this.#pick([2, 3, 5, 6, 7]), mid, token, options: opts, payload: this.#payload(more ? size : 1 + rng.nextInt(size)) };
		} else if (u === 10) m = { type, code: 1, mid, token, options: path("/slow") };
		else if (u === 11) m = { type, code: this.#pick([1, 3, 4, 2]), mid, token, options: [...path("/store"), ...(rng.nextInt(2) === 0 ? [[1, Uint8Array.of(1, 1)] as [number, OptValue]] : []), ...(rng.nextInt(3) === 0 ? [[5, new Uint8Array(0)] as [number, OptValue]] : []), ...(rng.nextInt(3) === 0 ? [[4, Uint8Array.of(1, 2)] as [number, OptValue]] : [])], payload: this.#payload(rng.nextInt(40)) };
		else if (u === 12) m = { type, code: 2, mid, token, options: [...path("/fresh"), ...(rng.nextInt(2) === 0 ? [[252, this.#payload(1 + rng.nextInt(8))] as [number, OptValue]] : [])], payload: this.#payload(rng.nextInt(30)) };
		else if (u === 13) m = { type, code: 1, mid, token, options: [...path("/.well-known/core"), [15, this.#pick(["rt=temperature", "rt=*", "obs", "href=/h*", "ct=0", "x"])]] };
		else if (u === 14) {
			// many options: repeated queries, ETags, If-Match, unknown elective and critical ones
			const opts: [number, OptValue][] = path("/sensors/temp");
			for (let i = rng.nextInt(30); i > 0; i--) opts.push([this.#pick([15, 4, 1, 2048, 2049, 17, 12, 14, 60, 3, 7, 16, 35, 39, 9, 65000, 65001]), this.#payload(rng.nextInt(12))]);
			m = { type, code: this.#pick([1, 3]), mid, token, options: opts, payload: this.#payload(rng.nextInt(20)) };
		} else if (u === 15) m = { type, code: this.#pick([1, 2, 3, 4, 5, 6, 7, 8, 31]), mid, token, options: path(this.#pick(["/", "/nothing", "/sensors/temp", "/echo", "/hello/x"])) };
		else if (u === 16) {
			// Observe registration with a large token range and a Block2 past the end
			m = { type: CON, code: 1, mid, token, options: [[6, 0], ...path("/obsbig"), [23, (10 + rng.nextInt(200)) * 16 + rng.nextInt(7)]] };
		} else {
			m = { type, code: 1, mid, token, options: path(this.#pick(["/hello", "/obs", "/big", "/store"])) };
		}
		return encode(m);
	}

	/** A valid message for the client from the peer it asked: a response to one of its requests, a notification, an ACK or Reset. */
	#clientMessage(): Uint8Array {
		const rng = this.#rng;
		const q = this.#seen.length > 0 ? this.#seen[this.#seen.length - 1 - rng.nextInt(Math.min(4, this.#seen.length))]! : null;
		const token = q === null || rng.nextInt(10) === 0 ? this.#token() : q.token;
		const u = rng.nextInt(12);
		if (q !== null && u === 0) return encode({ type: ACK, code: 0, mid: q.mid });
		if (q !== null && u === 1) return encode({ type: RST, code: 0, mid: q.mid });
		const piggy = q !== null && q.type === CON && u < 7;
		const type = piggy ? ACK : rng.nextInt(2) === 0 ? CON : NON;
		const mid = piggy ? q!.mid : ++this.#fakeMid;
		const code = this.#pick([0x45, 0x45, 0x45, 0x44, 0x41, 0x5f, 0x84, 0x88, 0x8d, 0x81, 0xa3, 0xa0, 0x43]);
		const opts: [number, OptValue][] = [];
		if (q !== null && q.observe === 0 && rng.nextInt(3) !== 0) opts.push([6, rng.nextInt(5) === 0 ? rng.nextInt(0x1000000) : this.#observeSeq++]);
		let len = rng.nextInt(40);
		if (code === 0x5f && q !== null) opts.push([27, q.block1 >= 0 ? q.block1 : rng.nextInt(64)]);
		if (code === 0x81 && rng.nextInt(2) === 0) opts.push([252, this.#payload(1 + rng.nextInt(8))]);
		if (code === 0xa3) opts.push([14, rng.nextInt(3)]);
		if (rng.nextInt(3) === 0) {
			// a Block2 response: NUM as asked (or not), M, SZX; with Size2 and an ETag sometimes
			const szx = q !== null && q.block2 >= 0 && rng.nextInt(3) !== 0 ? q.block2 & 7 : rng.nextInt(7);
			const num = q !== null && q.block2 >= 0 && rng.nextInt(3) !== 0 ? q.block2 >> 4 : rng.nextInt(4);
			const more = rng.nextInt(3) !== 0;
			opts.push([23, num * 16 + (more ? 8 : 0) + szx]);
			if (rng.nextInt(2) === 0) opts.push([28, rng.nextInt(3) === 0 ? 1 << 20 : (16 << szx) * (num + 2)]);
			if (rng.nextInt(2) === 0) opts.push([4, Uint8Array.of(rng.nextInt(3))]);
			if (more) len = 16 << szx;
		}
		if (rng.nextInt(4) === 0) opts.push([12, rng.nextInt(3) === 0 ? 60 : 0]);
		if (rng.nextInt(6) === 0) opts.push([14, rng.nextInt(100)]);
		return encode({ type, code, mid, token, options: opts, payload: this.#payload(len) });
	}

	/** Keeps requests outstanding at the client (plain, NON, Block1 uploads, an observation). */
	#feedClient(): void {
		const rng = this.#rng;
		if (this.#observation === null || (!this.#observation.active && rng.nextInt(4) === 0)) {
			try {
				this.#observation = this.client.observe({ address: FAKE, port: PORT, path: "/o" }, () => {}, (e) => {
					if (e !== null && !(e instanceof CoapError)) this.#fail("client-outcome", "an observation ended with a non-CoapError: " + String(e));
				});
			} catch (e) {
				this.#fail("client-threw", "observe() threw: " + String(e));
			}
		} else if (this.#observation.active && rng.nextInt(50) === 0) void this.#observation.cancel();
		while (this.#clientOutstanding < 3) {
			const u = rng.nextInt(5);
			this.#clientOutstanding++;
			this.stats.clientRequests++;
			let p: Promise<unknown>;
			try {
				p = this.client.request({
					method: this.#pick(["GET", "PUT", "POST", "FETCH", "DELETE"]),
					address: FAKE,
					port: PORT,
					path: "/r" + u,
					payload: u === 1 ? this.#payload(600 + rng.nextInt(2000)) : u === 2 ? this.#payload(rng.nextInt(40)) : undefined,
					confirmable: u !== 3,
					timeoutMs: 2000 + rng.nextInt(30000),
					blockSize: u === 4 ? 64 : undefined,
				});
			} catch (e) {
				this.#fail("client-threw", "request() threw: " + String(e));
				return;
			}
			p.then(
				() => {
					this.#clientOutstanding--;
				},
				(e: unknown) => {
					this.#clientOutstanding--;
					if (!(e instanceof CoapError)) this.#fail("client-outcome", "a client request rejected with a non-CoapError: " + String(e));
				},
			);
		}
	}

	// ------------------------------------------------------------------ driving

	async #advance(ms: number): Promise<void> {
		try {
			await this.net.runFor(ms);
		} catch (e) {
			this.#fail("escaped", "an exception escaped an endpoint: " + (e instanceof Error ? e.name + ": " + e.message : String(e)));
		}
	}

	/** Sends one datagram (valid, mostly mutated) to the server or the client. */
	#sendOne(): void {
		const rng = this.#rng;
		const toClient = rng.nextInt(5) < 2;
		let valid: Uint8Array;
		let from: UdpSocket;
		let to: string;
		let port = PORT;
		if (toClient) {
			valid = this.#clientMessage();
			// Mostly from the peer it asked; sometimes from a stranger (responses match the source, RFC 7252 §5.3.2).
			from = rng.nextInt(10) === 0 ? this.#pick(this.#peers) : this.#fake;
			to = CLIENT;
			port = this.client.port;
			this.stats.toClient++;
		} else {
			const peer = this.#pick(this.#peers);
			valid = this.#serverMessage();
			from = peer;
			to = SERVER;
			this.stats.toServer++;
		}
		let bytes = valid;
		if (rng.nextInt(6) === 0) this.stats.unmutated++;
		else bytes = mutate(rng, valid, this.#corpus.length > 0 ? this.#pick(this.#corpus) : valid);
		this.#corpus.push(valid);
		if (this.#corpus.length > 32) this.#corpus.shift();
		this.#recent.push(to + ":" + port + " " + hex(bytes));
		if (this.#recent.length > 12) this.#recent.shift();
		from.write(bytes, to, port);
		this.#sent++;
	}

	/** A plain CON GET /hello from a fresh peer must be answered 2.05 "hello" (piggybacked). */
	async #plainGet(what: string): Promise<void> {
		this.stats.checks++;
		this.#checkMid = (this.#checkMid + 1) & 0xffff;
		this.#checkReply = null;
		this.#checker.write(encode({ type: CON, code: 1, mid: this.#checkMid, token: Uint8Array.of(0xc4, 0xec, this.#checkMid >> 8, this.#checkMid & 0xff), options: [[11, "hello"]] }), SERVER, PORT);
		try {
			await this.net.runUntil(() => this.#checkReply !== null, 5000);
		} catch (e) {
			this.#fail("escaped", "an exception escaped an endpoint: " + String(e));
			return;
		}
		const r = this.#checkReply as Uint8Array | null;
		const ok = r !== null && r[0] === 0x64 && r[1] === 0x45 && r.length >= 8 + 6 && hex(r.subarray(r.length - 6)) === "ff68656c6c6f";
		if (!ok) this.#fail("no-answer", "the server did not answer a plain GET /hello " + what + " (reply: " + (r === null ? "none" : hex(r)) + ")");
	}

	async run(): Promise<FuzzResult> {
		const o = this.#options;
		const checkEvery = o.checkEvery ?? 1000;
		const rng = this.#rng;
		while (this.#sent < o.count && this.#violation === null) {
			this.#feedClient();
			const batch = 1 + rng.nextInt(8);
			for (let i = 0; i < batch && this.#sent < o.count; i++) this.#sendOne();
			// Mostly quick; sometimes long enough for retransmissions, Leisure, handler and block timeouts.
			const u = rng.nextInt(100);
			await this.#advance(u < 90 ? 1 + rng.nextInt(4) : u < 99 ? rng.nextInt(3000) : rng.nextInt(100000));
			const st = this.stats;
			const srv = this.server;
			if (srv.observersInUse > st.maxObservers) st.maxObservers = srv.observersInUse;
			if (srv.transfersInUse > st.maxTransfers) st.maxTransfers = srv.transfersInUse;
			if (srv.serverSlotsInUse > st.maxServerSlots) st.maxServerSlots = srv.serverSlotsInUse;
			if (this.#sent % checkEvery < batch) await this.#plainGet("after " + this.#sent + " datagrams");
			if (o.progress && this.#sent % 10000 < batch) o.progress(this.#sent);
		}
		if (this.#violation === null) await this.#finish();
		this.stats.serverMalformed = this.server.stats.malformed;
		this.stats.serverDuplicates = this.server.stats.duplicates;
		this.stats.serverResets = this.server.stats.resets;
		const result = { sent: this.#sent, violation: this.#violation, time: this.net.clock.now(), stats: this.stats };
		this.close();
		return result;
	}

	/** Fuzzing stops; every timeout passes; then everything must be free, and both endpoints work. */
	async #finish(): Promise<void> {
		this.#honest = true;
		if (this.#observation !== null && this.#observation.active) void this.#observation.cancel();
		await this.#advance(5000);
		// Observers of fuzz peers are dropped when a CON notification goes unanswered (RFC 7641 §4.5).
		for (let i = 0; i < 40 && this.server.observersInUse > 0 && this.#violation === null; i++) {
			for (const r of this.#obs) r.changed();
			await this.#advance(30000);
		}
		await this.#advance(2 * EXCHANGE_LIFETIME);
		if (this.#violation !== null) return;
		for (const [name, ep] of [["server", this.server], ["client", this.client]] as const) {
			const leaks: string[] = [];
			if (ep.clientSlotsInUse !== 0) leaks.push(ep.clientSlotsInUse + " client slots");
			if (ep.serverSlotsInUse !== 0) leaks.push(ep.serverSlotsInUse + " server slots");
			if (ep.transfersInUse !== 0) leaks.push(ep.transfersInUse + " transfers");
			if (ep.observersInUse !== 0) leaks.push(ep.observersInUse + " observers");
			if (ep.nextDeadline() !== -1) leaks.push("a deadline at " + ep.nextDeadline());
			if (leaks.length > 0) this.#fail("leak", "the " + name + " still holds " + leaks.join(", ") + " after the fuzzing stopped and every timeout passed");
		}
		if (this.#clientOutstanding > 0) this.#fail("unsettled", this.#clientOutstanding + " client requests never settled");
		await this.#plainGet("after the fuzzing");
		// The client completes a request again (the fake peer now answers like a server).
		let done = false;
		this.client.request({ address: FAKE, port: PORT, path: "/after", timeoutMs: 10000 }).then(
			(r) => { done = r.code === 0x45; },
			() => {},
		);
		await this.#advance(3000);
		if (!done && this.#violation === null) this.#fail("client-dead", "the client did not complete a request to an ordinary server after the fuzzing");
		// OSCORE still works: a protected GET of a resource that requires it, from another context.
		let secret = "";
		this.#secure.request({ uri: "coap://" + SERVER + "/secret", timeoutMs: 10000 }).then(
			(r) => { secret = r.code === 0x45 ? r.text() : "code " + r.code; },
			(e) => { secret = "error " + String(e); },
		);
		await this.#advance(3000);
		if (secret !== "secret" && this.#violation === null) this.#fail("oscore-dead", "a protected GET /secret after the fuzzing got " + (secret === "" ? "no answer" : secret));
	}

	close(): void {
		this.server.close();
		this.client.close();
		this.#secure.close();
		for (const p of this.#peers) p.close();
		this.#fake.close();
		this.#checker.close();
	}
}

function discard(this: UdpSocket, count: number): void {
	while (count-- > 0) if (this.read() === undefined) return;
}

function fakeReadable(this: UdpSocket, count: number): void {
	const f = this.target as Fuzzer;
	while (count-- > 0) {
		const d = this.read();
		if (d === undefined) return;
		f.fakeReceived(new Uint8Array(d), d.address, d.port);
	}
}

function checkerReadable(this: UdpSocket, count: number): void {
	const f = this.target as Fuzzer;
	while (count-- > 0) {
		const d = this.read();
		if (d === undefined) return;
		f.checkerReceived(new Uint8Array(d));
	}
}

/** Runs `count` datagrams from `seed` against a fresh pair of endpoints. */
export function fuzz(options: FuzzOptions): Promise<FuzzResult> {
	return new Fuzzer(options).run();
}
