/**
 * Core: the state one endpoint's parts share and the primitives they all use. The Endpoint
 * builds one in its constructor and hands it to each part (client/, server/, observe/); it is
 * internal, not part of the package's API.
 *
 * Holds the ports, limits and tuning, the counters, the receive view, the transmit buffer and
 * its writers, the dedup table (RFC 7252 §4.5), the client and server exchange slots, the
 * WirePlan, the block transfer pool, the observer table, the Echo guard, the OSCORE layer
 * (RFC 8613; null when limits.oscoreContexts is 0), Message IDs (§4.4), sending, and the one
 * timer, re-armed to the earliest slot deadline.
 *
 * Memory: every buffer and slot is allocated here, in the constructor, from `Limits`; the
 * receive and send paths reuse them.
 *
 * Leaves out: every decision about what to send (the parts do that) and the socket's
 * creation (the Endpoint opens it last and stores it here).
 */
import type { EndpointOptions, EndpointStats, TraceFn } from "../endpoint.js";
import { CODE_EMPTY } from "../constants.js";
import type { Ports, Timer, UdpSocket } from "../host.js";
import { DedupCache } from "./dedup.js";
import { EchoGuard } from "./echo.js";
import { ClientSlot, SLOT_FREE, ServerSlot } from "./slots.js";
import { szxFor } from "../block/option.js";
import { TransferPool } from "../block/transfers.js";
import { AddressNormalizer } from "../uri/address.js";
import { ObserverTable } from "../observe/registry.js";
import { OscoreLayer } from "../oscore/layer.js";
import { CoapRequest } from "../server/request.js";
import { ResponseBuilder, WirePlan } from "../server/response.js";
import { DEFAULT_LIMITS, DEFAULT_TUNING, checkLimits, checkTuning, exchangeLifetime, nonLifetime, type Limits, type Tuning } from "../tuning.js";
import { MessageView } from "../wire/view.js";
import { MessageWriter } from "../wire/writer.js";

export class Core {
	readonly limits: Readonly<Limits>;
	readonly tuning: Readonly<Tuning>;
	readonly stats: EndpointStats = { received: 0, sent: 0, retransmitted: 0, duplicates: 0, malformed: 0, resets: 0, capacityRejected: 0 };
	readonly ports: Ports;
	/** The endpoint's socket: set once by the Endpoint, the last step of its constructor. */
	socket!: UdpSocket;
	readonly timer: Timer;
	readonly trace: TraceFn | undefined;
	readonly onError: ((e: unknown) => void) | undefined;
	readonly onHandlerError: ((e: unknown) => void) | undefined;
	readonly exchangeLifetime: number;
	readonly nonLifetime: number;
	// Receive side: one view, request and response builder for requests answered at once.
	view: MessageView;
	request: CoapRequest;
	response: ResponseBuilder;
	// Send side: one buffer and writer for everything not kept for retransmission.
	readonly tx: Uint8Array;
	readonly writer: MessageWriter;
	readonly slotWriter: MessageWriter;
	readonly dedup: DedupCache;
	readonly clients: ClientSlot[] = [];
	readonly servers: ServerSlot[] = [];
	readonly #random4 = new Uint8Array(4);
	readonly plan = new WirePlan();
	readonly transfers: TransferPool;
	/** Largest block size exponent this endpoint uses (RFC 7959 §2.2), from limits.blockSize. */
	readonly maxSzx: number;
	readonly observers: ObserverTable;
	readonly echo: EchoGuard;
	/** Every received source address in one canonical form (uri/address.ts). */
	readonly addresses = new AddressNormalizer();
	readonly amplificationLimit: boolean;
	readonly multicast: boolean;
	/** RFC 8613 OSCORE: contexts, working storage, the seams (null: the endpoint does not speak OSCORE). */
	readonly oscore: OscoreLayer | null;
	/** RFC 7641 §4.4: the Observe sequence, one 24-bit counter for all notifications. */
	observeSeq = 0;
	#mid = 0;
	/** The deadline the timer is armed for, -1 when idle (-2 forces re-arming). */
	armedAt = -1;
	closed = false;

	/** `onTimer` is called with `this` = `target` when the timer fires (host.ts Clock.createTimer). */
	constructor(options: EndpointOptions, onTimer: (this: any) => void, target: unknown) {
		const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
		const tuning: Tuning = { ...DEFAULT_TUNING, ...options.tuning };
		checkLimits(limits);
		checkTuning(tuning);
		this.limits = Object.freeze(limits);
		this.tuning = Object.freeze(tuning);
		this.ports = options.ports;
		this.trace = options.trace;
		this.onError = options.onError;
		this.onHandlerError = options.onHandlerError;
		this.exchangeLifetime = exchangeLifetime(tuning);
		this.nonLifetime = nonLifetime(tuning);
		const m = limits.maxMessageSize;
		this.view = new MessageView(limits.maxOptions);
		this.request = new CoapRequest(this.view);
		this.response = new ResponseBuilder();
		this.tx = new Uint8Array(m);
		this.writer = new MessageWriter(this.tx);
		this.slotWriter = new MessageWriter(this.tx);
		this.dedup = new DedupCache(limits.dedupEntries, limits.dedupCacheBytes);
		this.transfers = new TransferPool(limits.blockTransfers, limits.maxBodySize);
		this.observers = new ObserverTable(limits.observers, limits.observerRequestSize, limits.maxOptions);
		// A block plus header, token and options must fit one message: keep 64 bytes for them.
		this.maxSzx = Math.min(szxFor(limits.blockSize), szxFor(Math.max(16, m - 64)));
		// One arena for all slot buffers, cut into views once.
		const arena = new Uint8Array((limits.clientExchanges + limits.serverExchanges) * m);
		for (let i = 0; i < limits.clientExchanges; i++) this.clients.push(new ClientSlot(arena.subarray(i * m, (i + 1) * m)));
		for (let i = 0; i < limits.serverExchanges; i++) {
			const o = (limits.clientExchanges + i) * m;
			this.servers.push(new ServerSlot(arena.subarray(o, o + m), limits.maxOptions));
		}
		const r = this.#random4;
		this.ports.random(r);
		this.#mid = (r[0]! << 8) | r[1]!; // §4.4: the initial Message ID SHOULD be randomized
		this.timer = options.ports.clock.createTimer(onTimer, target);
		this.echo = new EchoGuard(options.ports.random, options.echo?.verifiedPeers ?? 8, options.echo?.freshnessMs ?? 10000);
		this.amplificationLimit = options.echo?.amplificationLimit === true;
		this.multicast = options.multicast !== undefined;
		this.oscore = limits.oscoreContexts === 0 ? null : new OscoreLayer({
			contexts: limits.oscoreContexts,
			maxMessageSize: m,
			maxOptions: limits.maxOptions,
			random: options.oscore?.b2 === true ? options.ports.random : null,
		});
	}

	nextMid(): number {
		this.#mid = (this.#mid + 1) & 0xffff;
		return this.#mid;
	}

	random01(): number {
		const r = this.#random4;
		this.ports.random(r);
		return ((r[0]! << 8) | r[1]!) / 65536;
	}

	sendEmpty(type: number, mid: number, address: string, port: number): void {
		const w = this.writer;
		w.header(type, CODE_EMPTY, mid, null, 0, 0);
		this.send(this.tx, 4, address, port);
	}

	/** Sends a datagram; false when the socket refused it at once (reported through onError too). */
	send(bytes: Uint8Array, length: number, address: string, port: number): boolean {
		this.stats.sent++;
		if (this.trace) this.trace(true, bytes, length, address, port);
		try {
			this.socket.write(bytes.subarray(0, length), address, port);
			return true;
		} catch (e) {
			// A send failure (no route, bad address) is reported, not thrown into the protocol.
			this.onError?.(e);
			return false;
		}
	}

	rearm(): void {
		if (this.closed) return;
		let at = -1;
		for (const s of this.clients) {
			if (s.state === SLOT_FREE) continue;
			const t = s.deadline();
			if (t >= 0 && (at < 0 || t < at)) at = t;
		}
		for (const s of this.servers) {
			if (s.state === SLOT_FREE) continue;
			const t = s.deadline();
			if (t >= 0 && (at < 0 || t < at)) at = t;
		}
		const o = this.observers.deadline(); // notification handlers given up on (RFC 7641 §4.2)
		if (o >= 0 && (at < 0 || o < at)) at = o;
		if (at === this.armedAt) return;
		this.armedAt = at;
		if (at < 0) this.timer.unschedule();
		else this.timer.schedule(at);
	}
}
