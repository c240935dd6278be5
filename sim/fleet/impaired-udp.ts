/**
 * A real UDP socket (hosts/node/udp.ts over node:dgram) whose link is impaired by the
 * simulator's model (sim/impairment.ts: the virtual network's loss, duplication, delay,
 * jitter and reordering, drawn from a seeded PRNG): `xscoap sim --loss 0.1 --delay 20`.
 * It impairs both directions of one device's link: what the device sends, and what arrives
 * for it. Delayed datagrams wait on timers (their bytes copied); `close()` drops the ones
 * still waiting.
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
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	#closed = false;

	constructor(options: UdpOptions, conditions: LinkConditions, rng: Prng) {
		this.#options = options;
		this.target = options.target;
		this.#conditions = conditions;
		this.#rng = rng;
		this.#inner = new NodeUdp({ ...options, target: this, onReadable: innerReadable, onError: innerError });
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
		this.#send(view, address, port, fate.at0 - now);
		if (fate.copies === 2) this.#send(view, address, port, fate.at1 - now);
	}

	#send(view: Uint8Array, address: string, port: number, delayMs: number): void {
		if (delayMs < 0.5) {
			this.#inner.write(view, address, port);
			return;
		}
		const copy = view.slice(); // the caller reuses its buffer at once
		const t = setTimeout(() => {
			this.#timers.delete(t);
			if (!this.#closed) this.#inner.write(copy, address, port);
		}, delayMs);
		this.#timers.add(t);
	}

	/** A datagram arrived on the real socket: impaired on its way in. */
	arrive(d: Datagram): void {
		if (this.#closed) return;
		const now = performance.now();
		const fate = this.#fate;
		drawFate(this.#rng, this.#conditions, now, d.byteLength, this.#lastIn, d.address, fate);
		if (fate.dropped !== undefined) return;
		this.#deliver(d, fate.at0 - now);
		if (fate.copies === 2) {
			const twin = d.slice(0) as Datagram;
			(twin as { address: string }).address = d.address;
			(twin as { port: number }).port = d.port;
			this.#deliver(twin, fate.at1 - now);
		}
	}

	#deliver(d: Datagram, delayMs: number): void {
		if (delayMs < 0.5) {
			this.#queue.push(d);
			this.#options.onReadable.call(this, this.#queue.length);
			return;
		}
		const t = setTimeout(() => {
			this.#timers.delete(t);
			if (this.#closed) return;
			this.#queue.push(d);
			this.#options.onReadable.call(this, this.#queue.length);
		}, delayMs);
		this.#timers.add(t);
	}

	/** The real socket failed. */
	fail(error: unknown): void {
		if (!this.#closed) this.#options.onError?.call(this, error);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const t of this.#timers) clearTimeout(t);
		this.#timers.clear();
		this.#queue.length = 0;
		this.#inner.close();
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
