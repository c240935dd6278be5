/**
 * Transmission parameters (RFC 7252 §4.8, §4.8.2) and the capacity limits from which every
 * table and buffer of an endpoint is allocated once (DESIGN.md "Memory is fixed at
 * construction"). `memoryBudget()` adds up the preallocated bytes a config costs.
 *
 * RFC 7252 §4.8 defaults:
 *   | ACK_TIMEOUT       | 2 seconds |   | MAX_RETRANSMIT   | 4         |
 *   | ACK_RANDOM_FACTOR | 1.5       |   | NSTART           | 1         |
 *   | DEFAULT_LEISURE   | 5 seconds |   | PROBING_RATE     | 1 byte/s  |
 * Derived (§4.8.2): MAX_TRANSMIT_SPAN 45 s, MAX_TRANSMIT_WAIT 93 s, MAX_LATENCY 100 s,
 * PROCESSING_DELAY 2 s, EXCHANGE_LIFETIME 247 s, NON_LIFETIME 145 s.
 * PROBING_RATE bounds how long a Non-confirmable request counts toward NSTART (client/exchanges.ts).
 * Leaves out: PROBING_RATE enforcement for CON retransmissions (they follow §4.2's back-off).
 */
import { oscoreBudget } from "./oscore/budget.js";

export interface Tuning {
	ackTimeoutMs: number;
	ackRandomFactor: number;
	maxRetransmit: number;
	/** §4.7: outstanding interactions per peer. */
	nstart: number;
	defaultLeisureMs: number;
	maxLatencyMs: number;
	/** How long a server handler may take before the request is acknowledged with an empty ACK and answered later (§5.2.2). */
	emptyAckDelayMs: number;
	/** How long an async server handler may take before the request is answered 5.03. */
	handlerTimeoutMs: number;
	/** RFC 7641 §4.5: every this many notifications one is sent confirmable. */
	observeConEvery: number;
	/** How long a client waits for a response to a request (after any ACK), unless the request says otherwise. */
	requestTimeoutMs: number;
	/**
	 * §4.7 PROBING_RATE in bytes per second: a Non-confirmable request stops counting toward
	 * NSTART once its size in bytes divided by this rate has passed (at least ACK_TIMEOUT).
	 */
	probingRate: number;
}

export interface Limits {
	/** Largest datagram sent or received in full (§4.6: 1152 fits an IPv6 MTU of 1280). */
	maxMessageSize: number;
	/** Most options one message may carry. */
	maxOptions: number;
	/** Client requests outstanding at once (each holds a maxMessageSize retransmit buffer). */
	clientExchanges: number;
	/** Server requests being answered late at once: async handlers and CON separate responses (each holds a maxMessageSize buffer). */
	serverExchanges: number;
	/** Message IDs remembered for duplicate detection (§4.5). */
	dedupEntries: number;
	/** Bytes of the ring that keeps recent piggybacked responses for re-sending to duplicate CONs. */
	dedupCacheBytes: number;
	/** RFC 7959 transfers in progress at once (server Block1 reassembly, kept Block2 bodies, client reassembly). */
	blockTransfers: number;
	/** Largest body a block-wise transfer may carry (each transfer slot holds this many bytes). */
	maxBodySize: number;
	/** Preferred block size in bytes (16..1024, a power of two); the message size may force smaller. */
	blockSize: number;
	/** RFC 7641 observers a server keeps (over the limit a request is served without Observe). */
	observers: number;
	/** Largest registering request an observer keeps a copy of (to run the handler again). */
	observerRequestSize: number;
	/**
	 * RFC 8613 OSCORE security contexts the endpoint can hold (0: the endpoint does not speak
	 * OSCORE, and an OSCORE option is an unrecognised critical option, as for any CoAP server
	 * without it). Above 0 the endpoint keeps OSCORE's working storage and one more message
	 * buffer, and answers OSCORE requests it has no context for with 4.01 (§8.2).
	 */
	oscoreContexts: number;
}

export const DEFAULT_TUNING: Readonly<Tuning> = Object.freeze({
	ackTimeoutMs: 2000,
	ackRandomFactor: 1.5,
	maxRetransmit: 4,
	nstart: 1,
	defaultLeisureMs: 5000,
	maxLatencyMs: 100000,
	emptyAckDelayMs: 100,
	handlerTimeoutMs: 60000,
	observeConEvery: 20,
	requestTimeoutMs: 93000, // MAX_TRANSMIT_WAIT
	probingRate: 1,
});

/** Default limits: the ESP32 profile of DESIGN.md (fits its 24 KiB budget with room to spare). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
	maxMessageSize: 1152,
	maxOptions: 24,
	clientExchanges: 4,
	serverExchanges: 2,
	dedupEntries: 8,
	dedupCacheBytes: 768,
	blockTransfers: 2,
	maxBodySize: 4096,
	blockSize: 1024,
	observers: 4,
	observerRequestSize: 128,
	oscoreContexts: 2,
});

/** §4.8.2: MAX_TRANSMIT_SPAN = ACK_TIMEOUT * (2 ** MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR */
export function maxTransmitSpan(t: Tuning): number {
	return t.ackTimeoutMs * (2 ** t.maxRetransmit - 1) * t.ackRandomFactor;
}

/** §4.8.2: MAX_TRANSMIT_WAIT = ACK_TIMEOUT * (2 ** (MAX_RETRANSMIT + 1) - 1) * ACK_RANDOM_FACTOR */
export function maxTransmitWait(t: Tuning): number {
	return t.ackTimeoutMs * (2 ** (t.maxRetransmit + 1) - 1) * t.ackRandomFactor;
}

/** §4.8.2: EXCHANGE_LIFETIME = MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY (= ACK_TIMEOUT). */
export function exchangeLifetime(t: Tuning): number {
	return maxTransmitSpan(t) + 2 * t.maxLatencyMs + t.ackTimeoutMs;
}

/** §4.8.2: NON_LIFETIME = MAX_TRANSMIT_SPAN + MAX_LATENCY. */
export function nonLifetime(t: Tuning): number {
	return maxTransmitSpan(t) + t.maxLatencyMs;
}

/** Checks a full Limits record; throws RangeError naming the first bad field (local misuse). */
export function checkLimits(l: Limits): void {
	check("maxMessageSize", l.maxMessageSize, 64, 65507);
	check("maxOptions", l.maxOptions, 4, 4096);
	check("clientExchanges", l.clientExchanges, 0, 4096);
	check("serverExchanges", l.serverExchanges, 0, 4096);
	check("dedupEntries", l.dedupEntries, 1, 65535);
	check("dedupCacheBytes", l.dedupCacheBytes, 0, 1 << 26);
	check("blockTransfers", l.blockTransfers, 0, 1024);
	check("observers", l.observers, 0, 4096);
	check("observerRequestSize", l.observerRequestSize, 16, 65507);
	check("maxBodySize", l.maxBodySize, 16, 1 << 26);
	check("oscoreContexts", l.oscoreContexts, 0, 256);
	if (!(l.blockSize >= 16 && l.blockSize <= 1024 && (l.blockSize & (l.blockSize - 1)) === 0)) throw new RangeError("blockSize must be a power of two 16..1024, got " + l.blockSize);
}

/** Checks a full Tuning record; throws RangeError naming the first bad field. */
export function checkTuning(t: Tuning): void {
	check("ackTimeoutMs", t.ackTimeoutMs, 1, 3600000);
	if (!(t.ackRandomFactor >= 1 && t.ackRandomFactor <= 10)) throw new RangeError("ackRandomFactor must be 1..10, got " + t.ackRandomFactor);
	check("maxRetransmit", t.maxRetransmit, 0, 20);
	check("nstart", t.nstart, 1, 1024);
	check("defaultLeisureMs", t.defaultLeisureMs, 0, 3600000);
	check("maxLatencyMs", t.maxLatencyMs, 0, 3600000);
	check("emptyAckDelayMs", t.emptyAckDelayMs, 0, 3600000);
	check("observeConEvery", t.observeConEvery, 1, 1000000);
	check("handlerTimeoutMs", t.handlerTimeoutMs, 1, 86400000);
	check("requestTimeoutMs", t.requestTimeoutMs, 1, 86400000);
	if (!(t.probingRate > 0 && t.probingRate <= 1e9)) throw new RangeError("probingRate must be > 0 bytes/s, got " + t.probingRate);
}

function check(name: string, v: number, min: number, max: number): void {
	if (!(Number.isInteger(v) && v >= min && v <= max)) throw new RangeError(name + " must be an integer " + min + ".." + max + ", got " + v);
}

/**
 * Bytes of preallocated storage an endpoint built from `l` holds: message buffers, slot
 * buffers, the dedup ring and its index, the option index of each message view, and with
 * OSCORE (oscoreContexts > 0) what oscore/budget.ts computes: the security contexts the
 * application gives it, the working storage and plain-message buffer of the OSCORE layer,
 * and one RequestBinding per request the endpoint tracks (the receive request, each client
 * and server exchange, each observer). Object headers and engine overhead are not counted
 * (they are engine-specific; see BENCHMARKS.md).
 */
// A ResponseBuilder's option table: number, kind, value, order per extra option (12).
const ResponseTableBytes = 12 * (2 + 1 + 8 + 1);

export function memoryBudget(l: Limits): { total: number; parts: Record<string, number> } {
	const view = l.maxOptions * (2 + 2 + 2 + 1); // MessageView: number, offset, length, flags
	const views = 1 + l.serverExchanges; // the receive view and one per server slot
	const parts: Record<string, number> = {
		txBuffer: l.maxMessageSize,
		clientExchanges: l.clientExchanges * (l.maxMessageSize + 8 + 48), // retransmit copy + token + slot fields
		serverExchanges: l.serverExchanges * (l.maxMessageSize + 8 + 48 + ResponseTableBytes),
		dedup: l.dedupEntries * (2 + 2 + 4 + 4 + 4 + 8) + dedupBuckets(l.dedupEntries) * 4 + l.dedupCacheBytes,
		messageViews: views * view,
		blockTransfers: l.blockTransfers * (l.maxBodySize + 8 + 48),
		observers: l.observers * (l.observerRequestSize + view + ResponseTableBytes + 48),
	};
	if (l.oscoreContexts > 0) {
		const o = oscoreBudget({ contexts: l.oscoreContexts, maxMessageSize: l.maxMessageSize, bindings: 1 + l.clientExchanges + l.serverExchanges + l.observers, views: 1, maxOptions: l.maxOptions });
		for (const k in o.parts) parts[k] = o.parts[k]!;
	}
	let total = 0;
	for (const k in parts) total += parts[k]!;
	return { total, parts };
}

/** Hash buckets of the dedup index: a power of two at least twice the entries. */
export function dedupBuckets(entries: number): number {
	let n = 2;
	while (n < entries * 2) n *= 2;
	return n;
}
