// Shared pieces of the Endpoint tests (tests/portable/endpoint/*.test.ts): endpoints on
// virtual hosts, a "raw peer" socket that sends hand-written bytes and records what comes
// back, a trace of the network, promise tracking on the virtual clock, and a small CoAP
// encoder/decoder written independently of modules/coap/wire (so the tests do not check the
// codec against itself). Portable: no Node APIs, no timers, no TextEncoder.
import { Endpoint, type EndpointOptions } from "../../../modules/coap/endpoint.js";
import type { Ports, UdpSocket } from "../../../modules/coap/host.js";
import { utf8Bytes, utf8Decode } from "../../../modules/coap/wire/utf8.js";
import { VirtualNetwork, type DatagramEvent, type NetworkOptions } from "../../../sim/index.js";
import { hex } from "../../support/bytes.js";

export const CLIENT = "10.0.0.1";
export const SERVER = "10.0.0.2";
export const SERVER2 = "10.0.0.3";
export const PEER = "10.0.0.9";
export const PEER2 = "10.0.0.10";
export const COAP = 5683;

/** A network with its trace (every send/deliver/drop event, in order). */
export class World {
	readonly net: VirtualNetwork;
	readonly trace: DatagramEvent[] = [];
	readonly endpoints: Endpoint[] = [];

	constructor(options: NetworkOptions = {}) {
		this.net = new VirtualNetwork(options);
		this.net.onDatagram = (e) => this.trace.push(e);
	}

	ports(host: string): Ports {
		return { udp: this.net.udpClass(host), clock: this.net.clock, random: this.net.random(host) };
	}

	/** An endpoint on `host` (port 5683 unless given). */
	endpoint(host: string, options: Partial<EndpointOptions> = {}): Endpoint {
		const ep = new Endpoint({ port: COAP, ...options, ports: this.ports(host) });
		this.endpoints.push(ep);
		return ep;
	}

	/** A raw peer socket on `host`. */
	peer(host = PEER, port = 0): RawPeer {
		return new RawPeer(this.net, host, port);
	}

	/** "send" events from `fromAddress` (optionally only from that port). */
	sent(fromAddress: string, fromPort = -1): DatagramEvent[] {
		return this.trace.filter((e) => e.kind === "send" && e.fromAddress === fromAddress && (fromPort < 0 || e.fromPort === fromPort));
	}

	/** "send" events from fromAddress to toAddress. */
	sentTo(fromAddress: string, toAddress: string): DatagramEvent[] {
		return this.trace.filter((e) => e.kind === "send" && e.fromAddress === fromAddress && e.toAddress === toAddress);
	}

	close(): void {
		for (const ep of this.endpoints) ep.close();
	}
}

/** A datagram as the raw peer received it. */
export interface Received {
	time: number;
	bytes: Uint8Array;
	address: string;
	port: number;
}

/** A socket on the virtual network driven by the test: it sends bytes and records replies. */
export class RawPeer {
	readonly net: VirtualNetwork;
	readonly socket: UdpSocket & { port: number; address: string };
	readonly received: Received[] = [];
	/** Called for each datagram received (after it was recorded). */
	onReceive: ((r: Received, peer: RawPeer) => void) | undefined;

	constructor(net: VirtualNetwork, host: string, port = 0) {
		this.net = net;
		const Udp = net.udpClass(host);
		this.socket = new Udp({ port, onReadable: peerReadable, target: this });
	}

	get port(): number {
		return this.socket.port;
	}

	get address(): string {
		return this.socket.address;
	}

	/** Sends bytes (or hex text) to address:port (default: the server's CoAP port). */
	send(bytes: Uint8Array | string, address = SERVER, port = COAP): void {
		this.socket.write(typeof bytes === "string" ? hex(bytes) : bytes, address, port);
	}

	/** Received datagrams, decoded. */
	messages(): Msg[] {
		return this.received.map((r) => decode(r.bytes));
	}

	/** Forgets what was received so far. */
	clear(): void {
		this.received.length = 0;
	}

	close(): void {
		this.socket.close();
	}
}

function peerReadable(this: UdpSocket, count: number): void {
	const peer = this.target as RawPeer;
	while (count-- > 0) {
		const d = this.read();
		if (d === undefined) return;
		const r: Received = { time: peer.net.clock.now(), bytes: new Uint8Array(d), address: d.address, port: d.port };
		peer.received.push(r);
		peer.onReceive?.(r, peer);
	}
}

/** How a promise settled, and when on the virtual clock. */
export interface Outcome<T> {
	settled: boolean;
	value: T | undefined;
	error: unknown;
	rejected: boolean;
	time: number;
}

/** Tracks a promise without letting its rejection go unhandled. */
export function track<T>(net: VirtualNetwork, p: Promise<T>): Outcome<T> {
	const o: Outcome<T> = { settled: false, value: undefined, error: undefined, rejected: false, time: -1 };
	p.then(
		(v) => {
			o.settled = true;
			o.value = v;
			o.time = net.clock.now();
		},
		(e: unknown) => {
			o.settled = true;
			o.rejected = true;
			o.error = e;
			o.time = net.clock.now();
		},
	);
	return o;
}

/** The value of a settled outcome (fails the test otherwise). */
export function valueOf<T>(o: Outcome<T>): T {
	if (!o.settled) throw new Error("the promise has not settled");
	if (o.rejected) throw new Error("the promise rejected: " + String(o.error));
	return o.value as T;
}

/** The CoapError code of a rejected outcome ("" when it did not reject). */
export function errorCode(o: Outcome<unknown>): string {
	return o.rejected ? String((o.error as { code?: unknown }).code) : "";
}

/** Resolves after `ms` of virtual time (a timer on the network's clock). */
export function sleep(net: VirtualNetwork, ms: number): Promise<void> {
	return new Promise<void>((resolve) => {
		const timer = net.clock.createTimer(() => {
			timer.close();
			resolve();
		}, null);
		timer.schedule(net.clock.now() + ms);
	});
}

/** A promise with its resolve and reject at hand. */
export interface Gate {
	promise: Promise<void>;
	open(): void;
	fail(e: unknown): void;
}

export function gate(): Gate {
	let open!: () => void;
	let fail!: (e: unknown) => void;
	const promise = new Promise<void>((res, rej) => {
		open = res;
		fail = rej;
	});
	return { promise, open, fail };
}

/** Lets promise jobs run (a few turns) without touching the network. */
export async function microtasks(turns = 8): Promise<void> {
	for (let i = 0; i < turns; i++) await Promise.resolve();
}

// ---------------------------------------------------------------- an independent codec

export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

export type OptValue = Uint8Array | string | number;

export interface MsgSpec {
	type?: number;
	code?: number;
	mid?: number;
	token?: Uint8Array | string;
	options?: readonly (readonly [number, OptValue])[];
	payload?: Uint8Array | string;
}

/** A decoded message (what the tests assert on). */
export interface Msg {
	version: number;
	type: number;
	code: number;
	mid: number;
	token: string; // hex
	options: { number: number; value: Uint8Array }[];
	payload: Uint8Array;
}

function optBytes(v: OptValue): Uint8Array {
	if (typeof v === "string") return utf8Bytes(v);
	if (v instanceof Uint8Array) return v;
	const out: number[] = [];
	for (let x = v; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
	return Uint8Array.from(out);
}

function ext(n: number, out: number[]): number {
	if (n < 13) return n;
	if (n < 269) {
		out.push(n - 13);
		return 13;
	}
	out.push((n - 269) >> 8, (n - 269) & 0xff);
	return 14;
}

/** Encodes a message (RFC 7252 §3). Options are sorted by number (stable). Token: hex text or bytes. */
export function encode(m: MsgSpec): Uint8Array {
	const token = m.token === undefined ? new Uint8Array(0) : typeof m.token === "string" ? hex(m.token) : m.token;
	const out: number[] = [0x40 | ((m.type ?? CON) << 4) | token.length, m.code ?? 1, ((m.mid ?? 0) >> 8) & 0xff, (m.mid ?? 0) & 0xff];
	for (const b of token) out.push(b);
	const opts = (m.options ?? []).map((o, i) => ({ n: o[0], v: optBytes(o[1]), i }));
	opts.sort((a, b) => a.n - b.n || a.i - b.i);
	let last = 0;
	for (const o of opts) {
		const extra: number[] = [];
		const d = ext(o.n - last, extra);
		const l = ext(o.v.length, extra);
		out.push((d << 4) | l, ...extra);
		for (const b of o.v) out.push(b);
		last = o.n;
	}
	if (m.payload !== undefined) {
		const p = typeof m.payload === "string" ? utf8Bytes(m.payload) : m.payload;
		if (p.length > 0) {
			out.push(0xff);
			for (const b of p) out.push(b);
		}
	}
	return Uint8Array.from(out);
}

/** Decodes a well-formed message; throws on malformed input (the tests only decode what the endpoint sent). */
export function decode(b: Uint8Array): Msg {
	if (b.length < 4) throw new Error("decode: short datagram");
	const tkl = b[0]! & 15;
	let token = "";
	for (let i = 0; i < tkl; i++) token += (b[4 + i]! < 16 ? "0" : "") + b[4 + i]!.toString(16);
	const m: Msg = { version: b[0]! >> 6, type: (b[0]! >> 4) & 3, code: b[1]!, mid: (b[2]! << 8) | b[3]!, token, options: [], payload: new Uint8Array(0) };
	let p = 4 + tkl;
	let num = 0;
	const nib = (n: number): number => {
		if (n === 13) return b[p++]! + 13;
		if (n === 14) {
			const v = ((b[p]! << 8) | b[p + 1]!) + 269;
			p += 2;
			return v;
		}
		if (n === 15) throw new Error("decode: reserved nibble");
		return n;
	};
	while (p < b.length) {
		const h = b[p++]!;
		if (h === 0xff) {
			if (p >= b.length) throw new Error("decode: empty payload after marker");
			m.payload = b.slice(p);
			break;
		}
		const delta = nib(h >> 4);
		const len = nib(h & 15);
		num += delta;
		if (p + len > b.length) throw new Error("decode: truncated option");
		m.options.push({ number: num, value: b.slice(p, p + len) });
		p += len;
	}
	return m;
}

/** First value of option `n` in a decoded message, or undefined. */
export function opt(m: Msg, n: number): Uint8Array | undefined {
	for (const o of m.options) if (o.number === n) return o.value;
	return undefined;
}

/** uint value of option `n`, or -1. */
export function optUint(m: Msg, n: number): number {
	const v = opt(m, n);
	if (v === undefined) return -1;
	let x = 0;
	for (const b of v) x = x * 256 + b;
	return x;
}

/** Payload as text. */
export function text(m: Msg | Uint8Array): string {
	const p = m instanceof Uint8Array ? m : m.payload;
	return utf8Decode(p);
}

/** Code byte from "c.dd". */
export function c(s: string): number {
	const [cls, detail] = s.split(".");
	return (Number(cls) << 5) | Number(detail);
}
