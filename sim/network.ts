/**
 * A deterministic virtual UDP network (after quinn-proto's test `Pair`, STYLE.md §1.4 and
 * §2.9): virtual hosts with ECMA-419-shaped sockets (`UdpConstructor` in
 * modules/coap/host.ts), links with delay, jitter, loss, duplication, reordering and an MTU,
 * one `VirtualClock`, and a driver that advances time straight to the next event.
 *
 * Determinism: every random choice comes from one PRNG seeded by `seed`, drawn in a fixed
 * pattern (eight draws per datagram that passes the MTU check, whatever the settings), so the
 * same seed and the same sequence of writes give the same deliveries, byte for byte and
 * millisecond for millisecond. Each host's `random(host)` stream is derived from the seed and
 * the host's address only.
 *
 * Buffers: `write()` copies the caller's bytes before it returns (the caller may reuse its
 * buffer at once). Each delivery is a fresh ArrayBuffer owned by the receiver, with the
 * sender's `address` and `port` as properties, as ECMA-419 `read()` returns it. Trace events
 * carry their own copy of the bytes.
 *
 * Driving and promises: the code under test may react to a datagram or a timer in promise
 * jobs (`await`), and on the XS test runner there are no host timers to wait on, only promise
 * jobs. So after each delivery or timer (and before the first one) the driver "settles": it
 * awaits resolved promises in a loop and stops only after `settleTicks` consecutive turns in
 * which nothing touched the network or the clock (no write, read, bind, close, timer
 * create/arm/disarm). Any activity restarts the count. The default of 32 quiet turns covers
 * chains of a dozen nested async calls; raise it if the code under test awaits longer chains
 * between two network actions. Settling that never becomes quiet (a promise loop that keeps
 * writing at the same virtual instant) throws after a million turns.
 *
 * Multicast: a socket opened with the ECMA-419 `multicast` option receives what is sent to
 * that group and port, on every host; it may share its port with the host's unicast socket.
 * Leaves out: ICMP (an unbound port is a silent drop, counted), address
 * normalisation (addresses are compared as strings: write "fd00::1" the same way everywhere),
 * loopback addresses (a host reaches itself through its own address), socket errors
 * (`onError` is never called).
 */

import type { Datagram, RandomFill, UdpOptions, UdpSocket } from "../modules/coap/host.js";
import { VirtualClock } from "./clock.js";
import { DEFAULT_CONDITIONS, Fate, checkConditions, drawFate, type DropReason, type LinkConditions } from "./impairment.js";
import { Prng, deriveSeed } from "./prng.js";

export { DEFAULT_CONDITIONS, type DropReason, type LinkConditions };

/**
 * One entry of the trace (`onDatagram`). "send" is emitted for every `write()`; then either a
 * "drop" with reason "mtu" or "loss" at the same time, or one "deliver" (two with
 * duplication) at arrival time, or a "drop" with reason "unbound" at arrival time when no
 * socket is bound to the destination then.
 */
export interface DatagramEvent {
	readonly kind: "send" | "deliver" | "drop";
	/** Virtual time of the event, ms. */
	readonly time: number;
	/** Sequence number of the write(), from 0; a duplicate carries its original's id. */
	readonly id: number;
	/** 0 for the original, 1 for the duplicate copy. */
	readonly copy: number;
	readonly fromAddress: string;
	readonly fromPort: number;
	readonly toAddress: string;
	readonly toPort: number;
	readonly length: number;
	/** A copy of the datagram's bytes, owned by the event. */
	readonly bytes: Uint8Array;
	/** Set on "drop" events; undefined otherwise. */
	readonly reason: DropReason | undefined;
}

/** Counters since the network was created. */
export interface NetworkStats {
	/** write() calls. */
	sent: number;
	/** Datagrams put into a socket's queue (duplicates count twice). */
	delivered: number;
	/** Extra copies made by `duplicate`. */
	duplicated: number;
	/** Datagrams held back by `reorder` (later ones may overtake them). */
	reordered: number;
	droppedLoss: number;
	droppedMtu: number;
	/** Arrived where no socket was bound to the address and port. */
	droppedUnbound: number;
}

export interface NetworkOptions extends Partial<LinkConditions> {
	/** Seed for every random choice of the network and the hosts' `random()`. Default 1. */
	seed?: number;
	/** Quiet promise-job turns that end a settle (see the file header). Default 32. */
	settleTicks?: number;
	/** Trace hook, called synchronously for each event. Also settable as `network.onDatagram`. */
	onDatagram?: (event: DatagramEvent) => void;
}

/** A socket class for one virtual host; its instances have the extra `address` and `port`. */
export type VirtualUdpConstructor = new (options: UdpOptions) => VirtualUdpSocket;

/** Ephemeral range (RFC 6335 §6: dynamic ports). */
const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_LAST = 65535;
const DEFAULT_MAX_STEPS = 100000;
/** Settling that never goes quiet for this many promise turns is a runaway loop. */
const SETTLE_LIMIT = 1000000;

/** What a socket needs from its network (not exported: only this file builds sockets). */
interface Fabric {
	transmit(from: VirtualHost, fromPort: number, bytes: Uint8Array, toAddress: string, toPort: number): void;
	/** Records activity that is not a transmission (bind, close, read), for settling. */
	touch(): void;
}

/** A bound port: its socket, its receive queue and its callback. */
class Binding {
	readonly port: number;
	readonly socket: VirtualUdpSocket;
	readonly onReadable: (this: UdpSocket, count: number) => void;
	readonly queue: Datagram[] = [];
	/** The multicast group a socket opened with the `multicast` option receives; undefined for unicast. */
	readonly group: string | undefined;
	constructor(port: number, socket: VirtualUdpSocket, onReadable: (this: UdpSocket, count: number) => void, group: string | undefined) {
		this.port = port;
		this.socket = socket;
		this.onReadable = onReadable;
		this.group = group;
	}
}

/** IPv4 224.0.0.0/4 or IPv6 ff00::/8. */
export function isMulticastAddress(address: string): boolean {
	if (address.indexOf(":") >= 0) return address.toLowerCase().startsWith("ff");
	const first = Number(address.split(".")[0]);
	return first >= 224 && first <= 239;
}

/** One virtual host: an address, its bound ports and its random stream. */
class VirtualHost {
	readonly address: string;
	readonly fabric: Fabric;
	readonly bindings: Binding[] = [];
	readonly random: RandomFill;
	readonly udpClass: VirtualUdpConstructor;
	/** Latest arrival time scheduled per destination address, for in-order delivery. */
	readonly lastArrival = new Map<string, number>();
	nextEphemeral = EPHEMERAL_FIRST;

	constructor(address: string, fabric: Fabric, seed: number) {
		this.address = address;
		this.fabric = fabric;
		this.random = new Prng(deriveSeed(seed, address)).fill;
		const host = this;
		this.udpClass = class VirtualUdp extends VirtualUdpSocket {
			constructor(options: UdpOptions) {
				super(host, options);
			}
		};
	}

	/** The unicast binding of `port`, or undefined. */
	find(port: number): Binding | undefined {
		for (let i = 0; i < this.bindings.length; i++) {
			const b = this.bindings[i]!;
			if (b.port === port && b.group === undefined) return b;
		}
		return undefined;
	}

	/** A free port: `port`, or the next free ephemeral one when 0. @throws Error when taken. */
	allocate(port: number): number {
		if (port !== 0) {
			if (this.find(port) !== undefined) throw new Error(`port ${port} is already bound on ${this.address}`);
			return port;
		}
		const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
		for (let i = 0; i < span; i++) {
			const candidate = this.nextEphemeral;
			this.nextEphemeral = candidate === EPHEMERAL_LAST ? EPHEMERAL_FIRST : candidate + 1;
			if (this.find(candidate) === undefined) return candidate;
		}
		throw new Error(`no free ephemeral port on ${this.address}`);
	}
}

/**
 * A socket on a virtual host, shaped like ECMA-419 `embedded:io/socket/udp`. Get its class
 * from `VirtualNetwork.udpClass(address)`; the constructor is not meant to be called directly.
 */
export class VirtualUdpSocket implements UdpSocket {
	readonly target: unknown;
	readonly #host: VirtualHost;
	readonly #binding: Binding;
	#closed = false;

	/**
	 * @throws TypeError if options or onReadable are missing; RangeError for a port outside
	 * 0..65535 or an address that is neither a wildcard nor the host's; Error if the port is
	 * already bound on this host.
	 */
	constructor(host: VirtualHost, options: UdpOptions) {
		if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
		if (typeof options.onReadable !== "function") throw new TypeError("options.onReadable must be a function");
		const port = options.port ?? 0;
		if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
			throw new RangeError(`options.port must be an integer in 0..65535, got ${String(port)}`);
		}
		const address = options.address;
		if (address !== undefined && address !== "0.0.0.0" && address !== "::" && address !== host.address) {
			throw new RangeError(`options.address ${String(address)} is not an address of host ${host.address}`);
		}
		const group = options.multicast;
		if (group !== undefined && !(typeof group === "string" && isMulticastAddress(group))) throw new RangeError(`options.multicast ${String(group)} is not a multicast address`);
		this.target = options.target;
		this.#host = host;
		// A multicast socket shares its port with the host's unicast one (as SO_REUSEADDR does);
		// one socket per group and port.
		if (group !== undefined && host.bindings.some((b) => b.group === group && b.port === port)) throw new Error(`group ${group} port ${port} is already bound on ${host.address}`);
		this.#binding = new Binding(group === undefined ? host.allocate(port) : port, this, options.onReadable, group);
		host.bindings.push(this.#binding);
		host.fabric.touch();
	}

	/** The bound port (the chosen one when the socket was opened with port 0). */
	get port(): number {
		return this.#binding.port;
	}

	/** The host's address. */
	get address(): string {
		return this.#host.address;
	}

	/** The next received datagram (owned by the caller from now on), or undefined. */
	read(): Datagram | undefined {
		const datagram = this.#binding.queue.shift();
		if (datagram !== undefined) this.#host.fabric.touch();
		return datagram;
	}

	/**
	 * Sends a copy of `buffer`'s bytes (for a view: only the bytes it covers) to address:port.
	 * The caller may reuse `buffer` as soon as this returns.
	 * @throws TypeError after close(), for a buffer that is not an ArrayBuffer or a view, or a
	 * non-string address; RangeError for a port outside 1..65535.
	 */
	write(buffer: ArrayBufferView | ArrayBuffer, address: string, port: number): void {
		if (this.#closed) throw new TypeError("socket is closed");
		let bytes: Uint8Array;
		if (buffer instanceof ArrayBuffer) bytes = new Uint8Array(buffer).slice();
		else if (ArrayBuffer.isView(buffer)) bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
		else throw new TypeError("buffer must be an ArrayBuffer or an ArrayBuffer view");
		if (typeof address !== "string") throw new TypeError(`address must be a string, got ${typeof address}`);
		if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
			throw new RangeError(`port must be an integer in 1..65535, got ${String(port)}`);
		}
		this.#host.fabric.transmit(this.#host, this.#binding.port, bytes, address, port);
	}

	/** Unbinds the port and discards unread datagrams. Closing twice is harmless. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		const bindings = this.#host.bindings;
		const i = bindings.indexOf(this.#binding);
		if (i >= 0) bindings.splice(i, 1);
		this.#binding.queue.length = 0;
		this.#host.fabric.touch();
	}
}

/** A datagram on its way. Duplicates share `bytes` (never handed out: deliveries copy). */
class InFlight {
	readonly at: number;
	readonly seq: number;
	readonly id: number;
	readonly copy: number;
	readonly from: VirtualHost;
	readonly fromPort: number;
	readonly toAddress: string;
	readonly toPort: number;
	readonly bytes: Uint8Array;
	constructor(at: number, seq: number, id: number, copy: number, from: VirtualHost, fromPort: number, toAddress: string, toPort: number, bytes: Uint8Array) {
		this.at = at;
		this.seq = seq;
		this.id = id;
		this.copy = copy;
		this.from = from;
		this.fromPort = fromPort;
		this.toAddress = toAddress;
		this.toPort = toPort;
		this.bytes = bytes;
	}
}

/** A per-link override, one direction. */
class LinkOverride {
	readonly from: string;
	readonly to: string;
	readonly conditions: Partial<LinkConditions>;
	constructor(from: string, to: string, conditions: Partial<LinkConditions>) {
		this.from = from;
		this.to = to;
		this.conditions = conditions;
	}
}

/**
 * The virtual network: hosts, links, the clock and the driver. See the file header for
 * determinism, buffer ownership and how the driver lets promise jobs run.
 */
export class VirtualNetwork {
	/**
	 * The one clock of the simulation; hand it to every endpoint as its `Clock`. Move time with
	 * the driver (step/run*): advancing the clock directly fires timers without letting promise
	 * jobs run in between, and datagrams whose arrival time it passes arrive late, at "now".
	 */
	readonly clock: VirtualClock = new VirtualClock();
	/** Live counters. */
	readonly stats: NetworkStats = {
		sent: 0,
		delivered: 0,
		duplicated: 0,
		reordered: 0,
		droppedLoss: 0,
		droppedMtu: 0,
		droppedUnbound: 0,
	};
	/** Trace hook; called synchronously for every event (see DatagramEvent). */
	onDatagram: ((event: DatagramEvent) => void) | undefined;

	readonly #seed: number;
	readonly #rng: Prng;
	/** The fate of the datagram being sent (reused). */
	readonly #fate = new Fate();
	readonly #settleTicks: number;
	readonly #defaults: LinkConditions;
	readonly #links: LinkOverride[] = [];
	readonly #hosts = new Map<string, VirtualHost>();
	readonly #fabric: Fabric;
	/** Sorted by (at, seq). */
	readonly #inFlight: InFlight[] = [];
	#nextId = 0;
	#nextSeq = 0;
	#changes = 0;
	#running = false;

	/**
	 * @throws RangeError for a non-integer seed, a probability outside 0..1, a negative or
	 * non-finite delay, a non-integer jitter, reorder delay or mtu, or settleTicks < 1.
	 */
	constructor(options: NetworkOptions = {}) {
		const seed = options.seed ?? 1;
		this.#seed = seed;
		this.#rng = new Prng(seed); // validates the seed
		const settleTicks = options.settleTicks ?? 32;
		if (!Number.isInteger(settleTicks) || settleTicks < 1) {
			throw new RangeError(`settleTicks must be an integer ≥ 1, got ${String(settleTicks)}`);
		}
		this.#settleTicks = settleTicks;
		this.#defaults = { ...DEFAULT_CONDITIONS };
		this.setConditions(options);
		this.onDatagram = options.onDatagram;
		this.#fabric = {
			transmit: (from, fromPort, bytes, toAddress, toPort) => this.#transmit(from, fromPort, bytes, toAddress, toPort),
			touch: () => {
				this.#changes++;
			},
		};
	}

	/** The seed this network was built with. */
	get seed(): number {
		return this.#seed;
	}

	/**
	 * Changes the default conditions (for links without an override) from now on. Datagrams
	 * already in flight keep their fate. Keys other than LinkConditions' are ignored.
	 * @throws RangeError as the constructor.
	 */
	setConditions(conditions: Partial<LinkConditions>): void {
		checkConditions(conditions);
		const d = this.#defaults;
		if (conditions.loss !== undefined) d.loss = conditions.loss;
		if (conditions.duplicate !== undefined) d.duplicate = conditions.duplicate;
		if (conditions.delayMs !== undefined) d.delayMs = conditions.delayMs;
		if (conditions.jitterMs !== undefined) d.jitterMs = conditions.jitterMs;
		if (conditions.reorder !== undefined) d.reorder = conditions.reorder;
		if (conditions.reorderDelayMs !== undefined) d.reorderDelayMs = conditions.reorderDelayMs;
		if (conditions.mtu !== undefined) d.mtu = conditions.mtu;
	}

	/**
	 * Overrides conditions for datagrams from host `from` to address `to` (one direction; call
	 * twice for both). Fields left out follow the defaults, also when those change later.
	 * `null` removes the override. Replaces an earlier override of the same direction.
	 * @throws RangeError as the constructor.
	 */
	setLink(from: string, to: string, conditions: Partial<LinkConditions> | null): void {
		const links = this.#links;
		for (let i = 0; i < links.length; i++) {
			if (links[i]!.from === from && links[i]!.to === to) {
				links.splice(i, 1);
				break;
			}
		}
		if (conditions === null) return;
		checkConditions(conditions);
		links.push(new LinkOverride(from, to, { ...conditions }));
	}

	/** The conditions that apply now from host `from` to address `to` (a fresh object). */
	linkConditions(from: string, to: string): LinkConditions {
		const d = this.#defaults;
		let o: Partial<LinkConditions> | undefined;
		for (let i = 0; i < this.#links.length; i++) {
			const link = this.#links[i]!;
			if (link.from === from && link.to === to) {
				o = link.conditions;
				break;
			}
		}
		if (o === undefined) return { ...d };
		return {
			loss: o.loss ?? d.loss,
			duplicate: o.duplicate ?? d.duplicate,
			delayMs: o.delayMs ?? d.delayMs,
			jitterMs: o.jitterMs ?? d.jitterMs,
			reorder: o.reorder ?? d.reorder,
			reorderDelayMs: o.reorderDelayMs ?? d.reorderDelayMs,
			mtu: o.mtu ?? d.mtu,
		};
	}

	/**
	 * The UDP socket class for host `hostAddress` (created on first use; the same class on
	 * later calls). Port 0 picks the next free port from 49152 up; binding a bound port throws.
	 * @throws TypeError if hostAddress is not a non-empty string.
	 */
	udpClass(hostAddress: string): VirtualUdpConstructor {
		return this.#host(hostAddress).udpClass;
	}

	/**
	 * A `RandomFill` for host `hostAddress`, seeded from the network seed and the address
	 * only: the same function (and stream) on every call for that host.
	 * @throws TypeError if hostAddress is not a non-empty string.
	 */
	random(hostAddress: string): RandomFill {
		return this.#host(hostAddress).random;
	}

	/** Datagrams scheduled and not yet delivered or dropped. */
	get inFlight(): number {
		return this.#inFlight.length;
	}

	/** True when no datagram is in flight and no timer is armed. */
	get idle(): boolean {
		return this.#inFlight.length === 0 && this.clock.nextTimerAt() < 0;
	}

	/** Time of the next delivery or timer, whichever is first; -1 when idle. */
	nextEventAt(): number {
		const t = this.clock.nextTimerAt();
		const d = this.#inFlight[0];
		if (d === undefined) return t;
		const at = d.at > this.clock.now() ? d.at : this.clock.now();
		return t >= 0 && t < at ? t : at;
	}

	/**
	 * Lets pending promise jobs run, then delivers the next datagram or fires the next timer,
	 * whichever is earlier (a delivery first when they are due at the same time), moving the
	 * clock to it, then lets the promise jobs that caused run.
	 * @returns false if there was nothing to do.
	 * @throws what a callback of the code under test throws; Error if another step or run of
	 * this network is in progress.
	 */
	async step(): Promise<boolean> {
		this.#enter();
		try {
			await this.#settle();
			if (!this.#dispatch()) return false;
			await this.#settle();
			return true;
		} finally {
			this.#running = false;
		}
	}

	/**
	 * Steps until no datagram is in flight and no timer is armed.
	 * @returns the number of steps taken.
	 * @throws Error if still busy after `maxSteps` steps (a conversation that never ends).
	 */
	async runUntilIdle(maxSteps = DEFAULT_MAX_STEPS): Promise<number> {
		checkMaxSteps(maxSteps);
		this.#enter();
		try {
			await this.#settle();
			let steps = 0;
			while (!this.idle) {
				if (steps >= maxSteps) {
					throw new Error(
						`runUntilIdle: not idle after ${maxSteps} steps (at ${this.clock.now()} ms, ` +
							`${this.#inFlight.length} datagrams in flight, ${this.clock.armedCount} timers armed)`,
					);
				}
				this.#dispatch();
				steps++;
				await this.#settle();
			}
			return steps;
		} finally {
			this.#running = false;
		}
	}

	/**
	 * Steps through every event due up to now + ms, then sets the clock to now + ms.
	 * @returns the number of steps taken.
	 * @throws RangeError for a negative or non-finite ms; Error after `maxSteps` steps.
	 */
	async runFor(ms: number, maxSteps = DEFAULT_MAX_STEPS): Promise<number> {
		if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
			throw new RangeError(`ms must be a finite number ≥ 0, got ${String(ms)}`);
		}
		checkMaxSteps(maxSteps);
		this.#enter();
		try {
			const end = this.clock.now() + ms;
			await this.#settle();
			let steps = 0;
			for (;;) {
				const next = this.nextEventAt();
				if (next < 0 || next > end) break;
				if (steps >= maxSteps) throw new Error(`runFor: ${maxSteps} steps before reaching ${end} ms`);
				this.#dispatch();
				steps++;
				await this.#settle();
			}
			this.clock.jumpTo(end);
			return steps;
		} finally {
			this.#running = false;
		}
	}

	/**
	 * Steps until `predicate()` is true (checked before the first step and after each one) or
	 * until the next event would come after now + maxMs; in that case (or when the network
	 * goes idle first) the clock is set to now + maxMs.
	 * @returns true if the predicate became true, false on timeout.
	 * @throws RangeError for a negative or non-finite maxMs; Error after `maxSteps` steps.
	 */
	async runUntil(predicate: () => boolean, maxMs: number, maxSteps = DEFAULT_MAX_STEPS): Promise<boolean> {
		if (typeof predicate !== "function") throw new TypeError("predicate must be a function");
		if (typeof maxMs !== "number" || !Number.isFinite(maxMs) || maxMs < 0) {
			throw new RangeError(`maxMs must be a finite number ≥ 0, got ${String(maxMs)}`);
		}
		checkMaxSteps(maxSteps);
		this.#enter();
		try {
			const end = this.clock.now() + maxMs;
			await this.#settle();
			let steps = 0;
			for (;;) {
				if (predicate()) return true;
				const next = this.nextEventAt();
				if (next < 0 || next > end) {
					this.clock.jumpTo(end);
					return false;
				}
				if (steps >= maxSteps) throw new Error(`runUntil: ${maxSteps} steps without the predicate becoming true`);
				this.#dispatch();
				steps++;
				await this.#settle();
			}
		} finally {
			this.#running = false;
		}
	}

	#enter(): void {
		if (this.#running) throw new Error("the network driver is already running (missing await?)");
		this.#running = true;
	}

	#host(address: string): VirtualHost {
		if (typeof address !== "string" || address.length === 0) {
			throw new TypeError("host address must be a non-empty string");
		}
		let host = this.#hosts.get(address);
		if (host === undefined) {
			host = new VirtualHost(address, this.#fabric, this.#seed);
			this.#hosts.set(address, host);
		}
		return host;
	}

	/** Sum of the network's and the clock's change counters: changes iff either does. */
	#activity(): number {
		return this.#changes + this.clock.changeCount;
	}

	/** Awaits until `settleTicks` consecutive promise turns pass with no activity. */
	async #settle(): Promise<void> {
		let mark = this.#activity();
		let quiet = 0;
		let turns = 0;
		while (quiet < this.#settleTicks) {
			await Promise.resolve();
			if (++turns > SETTLE_LIMIT) {
				throw new Error(`promise jobs kept using the network for ${SETTLE_LIMIT} turns at ${this.clock.now()} ms`);
			}
			const now = this.#activity();
			if (now !== mark) {
				mark = now;
				quiet = 0;
			} else {
				quiet++;
			}
		}
	}

	/** Runs the next event synchronously. @returns false when idle. */
	#dispatch(): boolean {
		const d = this.#inFlight[0];
		const t = this.clock.nextTimerAt();
		if (d !== undefined && (t < 0 || d.at <= t)) {
			this.#deliver();
			return true;
		}
		return this.clock.fireNext();
	}

	#transmit(from: VirtualHost, fromPort: number, bytes: Uint8Array, toAddress: string, toPort: number): void {
		this.#changes++;
		const stats = this.stats;
		const now = this.clock.now();
		const id = this.#nextId++;
		const c = this.linkConditions(from.address, toAddress);
		stats.sent++;
		this.#emit("send", now, id, 0, from.address, fromPort, toAddress, toPort, bytes, undefined);
		// The link model (impairment.ts): MTU, loss, duplication, delay, jitter, reordering.
		const fate = this.#fate;
		drawFate(this.#rng, c, now, bytes.length, from.lastArrival, toAddress, fate);
		if (fate.dropped !== undefined) {
			if (fate.dropped === "mtu") stats.droppedMtu++;
			else stats.droppedLoss++;
			this.#emit("drop", now, id, 0, from.address, fromPort, toAddress, toPort, bytes, fate.dropped);
			return;
		}
		this.#schedule(fate.at0, fate.reordered0, id, 0, from, fromPort, toAddress, toPort, bytes);
		if (fate.copies === 2) {
			stats.duplicated++;
			this.#schedule(fate.at1, fate.reordered1, id, 1, from, fromPort, toAddress, toPort, bytes);
		}
	}

	#schedule(at: number, reordered: boolean, id: number, copy: number, from: VirtualHost, fromPort: number, toAddress: string, toPort: number, bytes: Uint8Array): void {
		if (reordered) this.stats.reordered++;
		const entry = new InFlight(at, this.#nextSeq++, id, copy, from, fromPort, toAddress, toPort, bytes);
		// Insert after every entry due at or before `at` (seq grows, so ties stay FIFO).
		const queue = this.#inFlight;
		let lo = 0;
		let hi = queue.length;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (queue[mid]!.at <= at) lo = mid + 1;
			else hi = mid;
		}
		queue.splice(lo, 0, entry);
	}

	/** Delivers the first in-flight datagram (the caller checked it is due first). */
	#deliver(): void {
		const d = this.#inFlight.shift()!;
		const now = d.at > this.clock.now() ? d.at : this.clock.now();
		this.clock.jumpTo(now);
		this.#changes++;
		if (isMulticastAddress(d.toAddress)) {
			// To every socket that joined the group on that port, on every host (the sender's too).
			let n = 0;
			for (const host of this.#hosts.values()) {
				for (const b of host.bindings.slice()) {
					if (b.group !== d.toAddress || b.port !== d.toPort) continue;
					n++;
					this.#enqueue(b, d, now);
				}
			}
			if (n === 0) {
				this.stats.droppedUnbound++;
				this.#emit("drop", now, d.id, d.copy, d.from.address, d.fromPort, d.toAddress, d.toPort, d.bytes, "unbound");
			}
			return;
		}
		const host = this.#hosts.get(d.toAddress);
		const binding = host === undefined ? undefined : host.find(d.toPort);
		if (binding === undefined) {
			this.stats.droppedUnbound++;
			this.#emit("drop", now, d.id, d.copy, d.from.address, d.fromPort, d.toAddress, d.toPort, d.bytes, "unbound");
			return;
		}
		this.#enqueue(binding, d, now);
	}

	#enqueue(binding: Binding, d: InFlight, now: number): void {
		this.stats.delivered++;
		this.#emit("deliver", now, d.id, d.copy, d.from.address, d.fromPort, d.toAddress, d.toPort, d.bytes, undefined);
		const buffer = new ArrayBuffer(d.bytes.length) as ArrayBuffer & { address: string; port: number };
		new Uint8Array(buffer).set(d.bytes);
		buffer.address = d.from.address;
		buffer.port = d.fromPort;
		binding.queue.push(buffer);
		binding.onReadable.call(binding.socket, binding.queue.length);
	}

	#emit(
		kind: DatagramEvent["kind"],
		time: number,
		id: number,
		copy: number,
		fromAddress: string,
		fromPort: number,
		toAddress: string,
		toPort: number,
		bytes: Uint8Array,
		reason: DropReason | undefined,
	): void {
		const hook = this.onDatagram;
		if (hook === undefined) return;
		hook({ kind, time, id, copy, fromAddress, fromPort, toAddress, toPort, length: bytes.length, bytes: bytes.slice(), reason });
	}
}

function checkMaxSteps(maxSteps: number): void {
	if (typeof maxSteps !== "number" || !Number.isInteger(maxSteps) || maxSteps < 0) {
		throw new RangeError(`maxSteps must be an integer ≥ 0, got ${String(maxSteps)}`);
	}
}
