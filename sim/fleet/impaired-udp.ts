/**
 * A real UDP socket (hosts/node/udp.ts over node:dgram) whose link is impaired by the
 * simulator's model (sim/impairment.ts: the virtual network's loss, duplication, delay,
 * jitter and reordering, drawn from a seeded PRNG): `xscoap sim --loss 0.1 --delay 20`.
 * It impairs both directions of one device's link: what the device sends, and what arrives
 * for it. Delayed datagrams wait in a delay line per direction (their bytes copied), released
 * in the order of their arrival times by one timer, so datagrams the model keeps in order stay
 * in order (host timers alone would not: they round); `close()` drops the ones still waiting.
 *
 * The class has the ECMA-419 shape the stack expects (modules/coap/host.ts `UdpConstructor`);
 * `impairedUdpClass()` makes one per device, holding that device's PRNG and conditions.
 * Leaves out: ICMP and MTU discovery (an oversized datagram is dropped, as on the virtual
 * network).
 */
import type { Datagram, UdpConstructor, UdpOptions, UdpSocket } from "../../modules/coap/host.js";
import { NodeUdp } from "../../hosts/node/udp.js";
import { Fate, drawFate, type LinkConditions } from "../impairment.js";
import type { Prng } from "../prng.js";

/** The UDP class of one device whose link has `conditions`, drawing fates from `rng`. */
export function impairedUdpClass(conditions: LinkConditions, rng: Prng): UdpConstructor {
	const c: LinkConditions = { ...conditions };
	return class DeviceUdp extends ImpairedUdp {
		constructor(options: UdpOptions) {
			super(options, c, rng);
		}
	};
}

export class ImpairedUdp implements UdpSocket {
	readonly target: unknown;
	readonly #inner: NodeUdp;
	readonly #options: UdpOptions;
	readonly #conditions: LinkConditions;
	readonly #rng: Prng;
	readonly #fate = new Fate();
	/** Latest in-order arrival per destination, each direction (the model's ordering state). */
	readonly #lastOut = new Map<string, number>();
	readonly #lastIn = new Map<string, number>();
	readonly #queue: Datagram[] = [];
	readonly #outgoing: DelayLine;
	readonly #incoming: DelayLine;
	#closed = false;

	constructor(options: UdpOptions, conditions: LinkConditions, rng: Prng) {
		this.#options = options;
		this.target = options.target;
		this.#conditions = conditions;
		this.#rng = rng;
		this.#inner = new NodeUdp({ ...options, target: this, onReadable: innerReadable, onError: innerError });
		this.#outgoing = new DelayLine((e) => {
			if (!this.#closed) this.#inner.write(e.bytes!, e.address, e.port);
		});
		this.#incoming = new DelayLine((e) => {
			if (this.#closed) return;
			this.#queue.push(e.datagram!);
			this.#options.onReadable.call(this, this.#queue.length);
		});
	}

	/** Resolves when the socket is bound (see NodeUdp). */
	ready(): Promise<void> {
		return this.#inner.ready();
	}

	get port(): number {
		return this.#inner.port;
	}

	read(): Datagram | undefined {
		return this.#queue.shift();
	}

	write(buffer: ArrayBufferView | ArrayBuffer, address: string, port: number): void {
		if (this.#closed) throw new Error("socket closed");
		const view = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
		const now = performance.now();
		const fate = this.#fate;
		drawFate(this.#rng, this.#conditions, now, view.length, this.#lastOut, address, fate);
		if (fate.dropped !== undefined) return;
		this.#send(view, address, port, now, fate.at0);
		if (fate.copies === 2) this.#send(view, address, port, now, fate.at1);
	}

	/** Sends now, or at `at` (on the performance.now() clock) through the delay line. */
	#send(view: Uint8Array, address: string, port: number, now: number, at: number): void {
		if (at - now < 0.5 && this.#outgoing.empty) {
			this.#inner.write(view, address, port);
			return;
		}
		// The caller reuses its buffer at once: the delay line keeps a copy.
		this.#outgoing.add(at, view.slice(), undefined, address, port);
	}

	/** A datagram arrived on the real socket: impaired on its way in. */
	arrive(d: Datagram): void {
		if (this.#closed) return;
		const now = performance.now();
		const fate = this.#fate;
		drawFate(this.#rng, this.#conditions, now, d.byteLength, this.#lastIn, d.address, fate);
		if (fate.dropped !== undefined) return;
		this.#deliver(d, now, fate.at0);
		if (fate.copies === 2) {
			const twin = d.slice(0) as Datagram;
			(twin as { address: string }).address = d.address;
			(twin as { port: number }).port = d.port;
			this.#deliver(twin, now, fate.at1);
		}
	}

	#deliver(d: Datagram, now: number, at: number): void {
		if (at - now < 0.5 && this.#incoming.empty) {
			this.#queue.push(d);
			this.#options.onReadable.call(this, this.#queue.length);
			return;
		}
		this.#incoming.add(at, undefined, d, d.address, d.port);
	}

	/** The real socket failed. */
	fail(error: unknown): void {
		if (!this.#closed) this.#options.onError?.call(this, error);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#outgoing.clear();
		this.#incoming.clear();
		this.#queue.length = 0;
		this.#inner.close();
	}
}

/** A datagram waiting in a delay line. */
interface Delayed {
	readonly at: number;
	readonly bytes: Uint8Array | undefined;
	readonly datagram: Datagram | undefined;
	readonly address: string;
	readonly port: number;
}

/**
 * Datagrams held until their arrival times, released in that order (ties in the order they
 * came) by one host timer armed for the earliest.
 */
class DelayLine {
	readonly #release: (e: Delayed) => void;
	readonly #entries: Delayed[] = [];
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(release: (e: Delayed) => void) {
		this.#release = release;
	}

	get empty(): boolean {
		return this.#entries.length === 0;
	}

	add(at: number, bytes: Uint8Array | undefined, datagram: Datagram | undefined, address: string, port: number): void {
		const entries = this.#entries;
		let i = entries.length;
		while (i > 0 && entries[i - 1]!.at > at) i--;
		entries.splice(i, 0, { at, bytes, datagram, address, port });
		if (i === 0) this.#arm();
	}

	#arm(): void {
		if (this.#timer !== undefined) clearTimeout(this.#timer);
		this.#timer = undefined;
		const head = this.#entries[0];
		if (head === undefined) return;
		this.#timer = setTimeout(() => this.#fire(), Math.max(0, head.at - performance.now()));
	}

	#fire(): void {
		this.#timer = undefined;
		const now = performance.now() + 0.5;
		const entries = this.#entries;
		while (entries.length > 0 && entries[0]!.at <= now) this.#release(entries.shift()!);
		this.#arm();
	}

	clear(): void {
		if (this.#timer !== undefined) clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#entries.length = 0;
	}
}

function innerReadable(this: UdpSocket, count: number): void {
	const outer = this.target as ImpairedUdp;
	while (count-- > 0) {
		const d = this.read();
		if (d === undefined) return;
		outer.arrive(d);
	}
}

function innerError(this: UdpSocket, error?: unknown): void {
	(this.target as ImpairedUdp).fail(error);
}
