/**
 * Endpoint: one UDP socket speaking CoAP (RFC 7252) as client and server. It composes the
 * message layer (§4: CON/NON/ACK/RST, retransmission with exponential back-off, duplicate
 * detection, message IDs, NSTART), the request/response layer (§5: tokens, piggybacked and
 * separate responses, option processing) and the server's resource dispatch.
 *
 * Memory: every buffer and slot is allocated in the constructor from `Limits`; the receive
 * and send paths reuse them. When a table is full the outcome is defined: a client request
 * rejects with CoapError("COAP_CAPACITY"); a server answers 5.03 Service Unavailable with
 * Max-Age (RFC 7252 §5.9.3.4); the dedup table forgets its oldest entry (dedup.ts).
 *
 * I/O comes through the ports of host.ts: the socket is an ECMA-419 UDP class, time is read
 * from `clock.now()` and one timer is re-armed to the earliest slot deadline.
 * Received datagrams are owned by the endpoint once read (ECMA-419 `read()` returns a fresh
 * buffer each time), so a request's bytes stay valid while an async handler works on them.
 *
 * Leaves out (see the issues): Observe, Blockwise, No-Response, Echo/Request-Tag, multicast,
 * OSCORE; proxying (a request with Proxy-Uri or Proxy-Scheme gets 5.05, §5.7.2).
 */
import { ClientResponse } from "./client/response.js";
import { prepareRequest, writeRequestBody, type EncodedRequest, type RequestOptions } from "./client/options.js";
import { fetchRest, requestBlockwise, type BlockContext } from "./client/blockwise.js";
import {
	CODE_BAD_OPTION,
	CODE_CHANGED,
	CODE_CONTENT,
	CODE_DELETE,
	CODE_DELETED,
	CODE_EMPTY,
	CODE_FETCH,
	CODE_GET,
	CODE_INTERNAL_SERVER_ERROR,
	CODE_METHOD_NOT_ALLOWED,
	CODE_NOT_ACCEPTABLE,
	CODE_NOT_FOUND,
	CODE_BAD_REQUEST,
	CODE_CONTINUE,
	CODE_UNAUTHORIZED,
	CODE_PROXYING_NOT_SUPPORTED,
	CODE_REQUEST_ENTITY_INCOMPLETE,
	CODE_REQUEST_ENTITY_TOO_LARGE,
	CODE_SERVICE_UNAVAILABLE,
	CODE_UNSUPPORTED_CONTENT_FORMAT,
	CODE_VALID,
	FORMAT_LINK_FORMAT,
	TYPE_ACK,
	TYPE_CON,
	TYPE_NON,
	TYPE_RST,
	isIdempotent,
	isRequest,
	isResponse,
} from "./constants.js";
import { CoapError, E_FORMAT, E_TOO_MANY_OPTIONS, E_TRUNCATED } from "./errors.js";
import type { Datagram, Ports, Timer, UdpSocket } from "./host.js";
import { DUP_CACHED, DUP_EMPTY_ACK, DUP_RESET, DUP_SEEN, DedupCache } from "./messaging/dedup.js";
import { Observation, type EndHandler, type NotificationHandler } from "./client/observation.js";
import { ClientSlot, SLOT_LEISURE, SLOT_OBSERVING, SLOT_FREE, SLOT_QUEUED, SLOT_WAIT_ACK, SLOT_WAIT_RESPONSE, SLOT_WORKING, ServerSlot } from "./messaging/slots.js";
import { OPT_ACCEPT, OPT_BLOCK1, OPT_BLOCK2, OPT_CONTENT_FORMAT, OPT_ETAG, OPT_ECHO, OPT_MAX_AGE, OPT_NO_RESPONSE, OPT_OBSERVE, OPT_PROXY_SCHEME, OPT_PROXY_URI, OPT_SIZE1, OPT_SIZE2, OPT_URI_QUERY, optionName } from "./options.js";
import { linkFormat } from "./server/linkformat.js";
import { CoapRequest } from "./server/request.js";
import { ResponseBuilder, WirePlan } from "./server/response.js";
import { blockMore, blockNum, blockSize, blockSzx, blockValid, blockValue, szxFor } from "./block/option.js";
import { FNV_OFFSET, TransferPool, XFER_BUSY, XFER_RECEIVING, XFER_SERVING, fnv1a, requestKey, type Transfer } from "./block/transfers.js";
import { pathEquals, type ChangeListener, type Resource, type Router } from "./server/router.js";
import { ObserverTable, type Observer } from "./observe/registry.js";
import { EchoGuard } from "./messaging/echo.js";
import { nextSequence } from "./observe/freshness.js";
import { DEFAULT_LIMITS, DEFAULT_TUNING, checkLimits, checkTuning, exchangeLifetime, nonLifetime, type Limits, type Tuning } from "./tuning.js";
import { utf8Encode } from "./wire/utf8.js";
import { MessageView } from "./wire/view.js";
import { MessageWriter } from "./wire/writer.js";

/** Called for every datagram sent or received (diagnostics, `-v`); bytes are borrowed. */
export type TraceFn = (outgoing: boolean, bytes: Uint8Array, length: number, address: string, port: number) => void;

export interface EndpointOptions {
	ports: Ports;
	/** Local port to bind (default 0: ephemeral). */
	port?: number;
	/** Local address to bind (default: all interfaces). */
	address?: string;
	limits?: Partial<Limits>;
	tuning?: Partial<Tuning>;
	/** Resources to serve. Without one, every request is answered 4.04. */
	router?: Router;
	trace?: TraceFn;
	/** Called if the socket reports an error. */
	onError?: (error: unknown) => void;
	/**
	 * RFC 7252 §8: join this multicast group (e.g. "224.0.1.187", "ff02::fd"). Every request
	 * this endpoint receives is then treated as a multicast request: CON requests are ignored
	 * (§8.1), error responses and Resets are not sent, and responses wait a random Leisure
	 * (§8.2). Use one endpoint per group beside the unicast one.
	 */
	multicast?: string;
	/** RFC 9175 Echo on the server side. */
	echo?: {
		/** How old an Echo value may be to prove freshness (default 10 s). */
		freshnessMs?: number;
		/**
		 * §2.4 amplification mitigation: answer a peer whose address is not verified with 4.01
		 * + Echo instead of a response more than three times the request's size. Off by
		 * default: several deployed clients (aiocoap's among them) answer Echo only inside OSCORE.
		 */
		amplificationLimit?: boolean;
		/** Peers remembered as verified (default 8). */
		verifiedPeers?: number;
	};
}

/** Counters for diagnostics and tests (never reset; wrap-safe for a device's lifetime in practice). */
export interface EndpointStats {
	received: number;
	sent: number;
	retransmitted: number;
	duplicates: number;
	malformed: number;
	resets: number;
	capacityRejected: number;
}

const WELL_KNOWN: readonly Uint8Array[] = Object.freeze([
	Uint8Array.of(0x2e, 0x77, 0x65, 0x6c, 0x6c, 0x2d, 0x6b, 0x6e, 0x6f, 0x77, 0x6e), // ".well-known"
	Uint8Array.of(0x63, 0x6f, 0x72, 0x65), // "core"
]);

export class Endpoint implements ChangeListener {
	readonly limits: Readonly<Limits>;
	readonly tuning: Readonly<Tuning>;
	readonly stats: EndpointStats = { received: 0, sent: 0, retransmitted: 0, duplicates: 0, malformed: 0, resets: 0, capacityRejected: 0 };
	readonly #ports: Ports;
	readonly #socket: UdpSocket;
	readonly #timer: Timer;
	readonly #router: Router | undefined;
	readonly #trace: TraceFn | undefined;
	readonly #onError: ((e: unknown) => void) | undefined;
	readonly #exchangeLifetime: number;
	readonly #nonLifetime: number;
	// Receive side: one view, request and response builder for requests answered at once.
	#view: MessageView;
	#request: CoapRequest;
	#response: ResponseBuilder;
	// Send side: one buffer and writer for everything not kept for retransmission.
	readonly #tx: Uint8Array;
	readonly #writer: MessageWriter;
	readonly #slotWriter: MessageWriter;
	readonly #dedup: DedupCache;
	readonly #clients: ClientSlot[] = [];
	readonly #servers: ServerSlot[] = [];
	readonly #random4 = new Uint8Array(4);
	readonly #plan = new WirePlan();
	readonly #transfers: TransferPool;
	/** Largest block size exponent this endpoint uses (RFC 7959 §2.2), from limits.blockSize. */
	readonly #maxSzx: number;
	/** Scratch for an ETag computed over a sliced body (RFC 7959 §2.4). */
	readonly #autoEtag = new Uint8Array(4);
	readonly #blockContext: BlockContext;
	readonly #observers: ObserverTable;
	readonly #echo: EchoGuard;
	readonly #amplificationLimit: boolean;
	readonly #multicast: boolean;
	/** RFC 7641 §4.4: the Observe sequence, one 24-bit counter for all notifications. */
	#observeSeq = 0;
	/** Set while dispatching a GET/FETCH with Observe=0 on an observable resource. */
	#observeResource: Resource | null = null;
	/** Inside receive(): notifications wait until the current answer is sent. */
	#receiving = false;
	#notifyLater = false;
	/** Code of the response last written (after defaults, 2.03 and 4.02 substitutions). */
	#lastCode = 0;
	#mid = 0;
	#seq = 0;
	#armedAt = -1;
	#closed = false;

	constructor(options: EndpointOptions) {
		if (!options || !options.ports) throw new TypeError("Endpoint needs { ports }");
		const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
		const tuning: Tuning = { ...DEFAULT_TUNING, ...options.tuning };
		checkLimits(limits);
		checkTuning(tuning);
		this.limits = Object.freeze(limits);
		this.tuning = Object.freeze(tuning);
		this.#ports = options.ports;
		this.#router = options.router;
		this.#trace = options.trace;
		this.#onError = options.onError;
		this.#exchangeLifetime = exchangeLifetime(tuning);
		this.#nonLifetime = nonLifetime(tuning);
		const m = limits.maxMessageSize;
		this.#view = new MessageView(limits.maxOptions);
		this.#request = new CoapRequest(this.#view);
		this.#response = new ResponseBuilder();
		this.#tx = new Uint8Array(m);
		this.#writer = new MessageWriter(this.#tx);
		this.#slotWriter = new MessageWriter(this.#tx);
		this.#dedup = new DedupCache(limits.dedupEntries, limits.dedupCacheBytes);
		this.#transfers = new TransferPool(limits.blockTransfers, limits.maxBodySize);
		this.#observers = new ObserverTable(limits.observers, limits.observerRequestSize, limits.maxOptions);
		// A block plus header, token and options must fit one message: keep 64 bytes for them.
		this.#maxSzx = Math.min(szxFor(limits.blockSize), szxFor(Math.max(16, m - 64)));
		// One arena for all slot buffers, cut into views once.
		const arena = new Uint8Array((limits.clientExchanges + limits.serverExchanges) * m);
		for (let i = 0; i < limits.clientExchanges; i++) this.#clients.push(new ClientSlot(arena.subarray(i * m, (i + 1) * m)));
		for (let i = 0; i < limits.serverExchanges; i++) {
			const o = (limits.clientExchanges + i) * m;
			this.#servers.push(new ServerSlot(arena.subarray(o, o + m), limits.maxOptions));
		}
		const r = this.#random4;
		this.#ports.random(r);
		this.#mid = (r[0]! << 8) | r[1]!; // §4.4: the initial Message ID SHOULD be randomized
		this.#timer = options.ports.clock.createTimer(this.#onTimer, this);
		const clock = options.ports.clock;
		this.#blockContext = Object.freeze({
			exchange: (r: EncodedRequest) => this.#exchangeEcho(r),
			transfers: this.#transfers,
			maxSzx: this.#maxSzx,
			random: options.ports.random,
			now: () => clock.now(),
			lifetimeMs: this.#exchangeLifetime,
		});
		this.#echo = new EchoGuard(options.ports.random, options.echo?.verifiedPeers ?? 8, options.echo?.freshnessMs ?? 10000);
		this.#amplificationLimit = options.echo?.amplificationLimit === true;
		this.#multicast = options.multicast !== undefined;
		this.#router?.listen(this);
		this.#socket = new options.ports.udp({
			port: options.port ?? 0,
			address: options.address,
			target: this,
			onReadable,
			onError,
			multicast: options.multicast,
		});
	}

	/** The bound local port, where the socket reports it (Node host and sim do). */
	get port(): number {
		return (this.#socket as unknown as { port?: number }).port ?? 0;
	}

	/** The underlying socket (for hosts: multicast membership and the like). */
	get socket(): UdpSocket {
		return this.#socket;
	}

	// ---------------------------------------------------------------- client

	/**
	 * Sends a request and resolves with the response (any code: check `response.ok`), or
	 * rejects with CoapError: COAP_TIMEOUT, COAP_RESET, COAP_CAPACITY (no free exchange slot),
	 * COAP_OVERFLOW (request larger than maxMessageSize), COAP_BAD_URI, COAP_SOCKET (the
	 * socket refused to send), COAP_BAD_RESPONSE, COAP_CLOSED. Local misuse (a bad method, port
	 * or timeout) throws TypeError/RangeError at the call.
	 */
	request(options: RequestOptions): Promise<ClientResponse> {
		let r: EncodedRequest;
		try {
			r = prepareRequest(options, this.tuning.requestTimeoutMs);
		} catch (e) {
			if (e instanceof CoapError) return Promise.reject(e);
			throw e;
		}
		if (this.#closed) return Promise.reject(new CoapError("COAP_CLOSED", "endpoint is closed"));
		return requestBlockwise(this.#blockContext, r, r.blockSzx);
	}

	/**
	 * Observes a resource (RFC 7641): sends the request with Observe=0 and calls
	 * `onNotification` with the first response and every fresher notification after it, until
	 * the observation ends (cancel(), a response without Observe or with an error code, a
	 * failed renewal); then `onEnd` is called once. Holds one client exchange slot meanwhile.
	 * Notifications larger than one block are completed with Block2 requests before delivery.
	 */
	observe(options: RequestOptions, onNotification: NotificationHandler, onEnd?: EndHandler): Observation {
		const r = prepareRequest({ ...options, options: [...(options.options ?? []), [OPT_OBSERVE, 0]] }, this.tuning.requestTimeoutMs);
		const obs = new Observation(r, onNotification, onEnd);
		try {
			if (this.#closed) throw new CoapError("COAP_CLOSED", "endpoint is closed");
			const slot = this.#begin(r, null, null, obs);
			const generation = slot.generation;
			obs.cancelHook = () => this.#cancelObservation(slot, generation);
		} catch (e) {
			if (!(e instanceof CoapError)) throw e;
			obs.end(e);
		}
		return obs;
	}

	/**
	 * RFC 9175 §2.3: a 4.01 carrying an Echo option asks for the request again with that
	 * value; the client does so once.
	 */
	async #exchangeEcho(r: EncodedRequest): Promise<ClientResponse> {
		const res = await this.#exchange(r);
		if (res.code !== CODE_UNAUTHORIZED) return res;
		const echo = res.option(OPT_ECHO);
		if (echo === undefined || r.options.some((o) => o[0] === OPT_ECHO)) return res;
		const options = r.options.slice();
		options.push([OPT_ECHO, echo]);
		options.sort((a, b) => a[0] - b[0]);
		return this.#exchange({ ...r, options });
	}

	/**
	 * RFC 7252 §8.1: sends a NON request to a multicast group and calls `onResponse` for every
	 * response from any server until `timeoutMs` (default DEFAULT_LEISURE + ACK_TIMEOUT) has
	 * passed; resolves with the number of responses. Holds one client exchange slot meanwhile.
	 */
	multicast(options: RequestOptions, onResponse: (response: ClientResponse) => void, timeoutMs?: number): Promise<number> {
		const wait = timeoutMs ?? this.tuning.defaultLeisureMs + this.tuning.ackTimeoutMs;
		const r = prepareRequest({ ...options, confirmable: false, timeoutMs: wait }, wait);
		return new Promise<number>((resolve) => {
			const slot = this.#begin(r, null, null, null);
			slot.onMulticastResponse = onResponse;
			slot.multicastResponses = 0;
			slot.multicastDone = resolve;
		});
	}

	/** One request/response exchange on the message layer (block-wise sits above it). */
	#exchange(r: EncodedRequest): Promise<ClientResponse> {
		return new Promise<ClientResponse>((resolve, reject) => {
			this.#begin(r, resolve, reject, null);
		});
	}

	/** Takes a client slot, encodes `r` into it and starts it (§4.7: queued behind NSTART). Throws CoapError. */
	#begin(r: EncodedRequest, resolve: ((r: ClientResponse) => void) | null, reject: ((e: CoapError) => void) | null, observation: Observation | null): ClientSlot {
		{
			if (this.#closed) throw new CoapError("COAP_CLOSED", "endpoint is closed");
			let slot: ClientSlot | undefined;
			for (const s of this.#clients) if (s.state === SLOT_FREE) { slot = s; break; }
			if (slot === undefined) {
				this.stats.capacityRejected++;
				throw new CoapError("COAP_CAPACITY", "all " + this.limits.clientExchanges + " client exchange slots are in use");
			}
			const now = this.#ports.clock.now();
			this.#newToken(slot);
			slot.mid = this.#nextMid();
			const length = this.#encodeInto(slot, r);
			if (length < 0) throw new CoapError("COAP_OVERFLOW", "request does not fit maxMessageSize " + this.limits.maxMessageSize);
			slot.generation++;
			slot.observation = observation;
			slot.expectResponse = r.expectResponse;
			slot.onMulticastResponse = slot.multicastDone = null;
			slot.cancelling = false;
			slot.cancelled = null;
			slot.seq = ++this.#seq;
			slot.sendFailed = false;
			slot.length = length;
			slot.address = r.address;
			slot.port = r.port;
			slot.confirmable = r.confirmable;
			slot.resolve = resolve;
			slot.reject = reject;
			slot.retransmits = 0;
			slot.waitMs = r.timeoutMs;
			slot.giveUpAt = -1; // set when sent: time spent queued behind NSTART does not count
			slot.retransmitAt = -1;
			slot.state = SLOT_QUEUED;
			this.#startQueued(now, slot.address, slot.port);
			this.#rearm();
			return slot;
		}
	}

	/** Encodes request `r` with the slot's token and MID into the slot's buffer; the length or -1. */
	#encodeInto(slot: ClientSlot, r: EncodedRequest): number {
		const w = this.#slotWriter;
		w.buf = slot.buf;
		w.header(r.confirmable ? TYPE_CON : TYPE_NON, r.method, slot.mid, slot.token, 0, slot.tokenLength);
		writeRequestBody(w, r);
		const length = w.finish();
		w.buf = this.#tx;
		return length;
	}

	/** Sends the slot's message again with a new MID (an observation's renewal or deregistration). */
	#resend(slot: ClientSlot, now: number): void {
		slot.mid = this.#nextMid();
		slot.buf[2] = slot.mid >> 8;
		slot.buf[3] = slot.mid & 0xff;
		slot.retransmits = 0;
		slot.state = SLOT_QUEUED;
		slot.giveUpAt = slot.retransmitAt = -1;
		this.#startQueued(now, slot.address, slot.port);
		this.#rearm();
	}

	/** RFC 7641 §3.6: deregisters with a GET carrying Observe=1 and the observation's token. */
	#cancelObservation(slot: ClientSlot, generation: number): Promise<void> {
		return new Promise<void>((resolve) => {
			const obs = slot.observation;
			if (slot.generation !== generation || obs === null || !obs.active || this.#closed) {
				resolve();
				return;
			}
			if (slot.cancelling) {
				const before = slot.cancelled;
				slot.cancelled = () => { before?.(); resolve(); };
				return;
			}
			const r = obs.request;
			const options = r.options.map((o): [number, typeof o[1]] => (o[0] === OPT_OBSERVE ? [OPT_OBSERVE, 1] : o));
			const length = this.#encodeInto(slot, { ...r, options, confirmable: true });
			if (length < 0) {
				this.#finishClient(slot, null, null);
				resolve();
				return;
			}
			slot.length = length;
			slot.confirmable = true;
			slot.cancelling = true;
			slot.cancelled = resolve;
			this.#resend(slot, this.#ports.clock.now());
		});
	}

	/** §5.3.1: tokens are random (32 bits here) and unique among this endpoint's outstanding requests. */
	#newToken(slot: ClientSlot): void {
		const t = slot.token;
		for (;;) {
			this.#ports.random(t.subarray(0, 4));
			slot.tokenLength = 4;
			let clash = false;
			for (const o of this.#clients) {
				if (o !== slot && o.state !== SLOT_FREE && o.tokenLength === 4 && o.token[0] === t[0] && o.token[1] === t[1] && o.token[2] === t[2] && o.token[3] === t[3]) clash = true;
			}
			if (!clash) return;
		}
	}

	#nextMid(): number {
		this.#mid = (this.#mid + 1) & 0xffff;
		return this.#mid;
	}

	/** §4.7 NSTART: outstanding interactions toward a peer. */
	#outstanding(address: string, port: number): number {
		let n = 0;
		for (const s of this.#clients) {
			if ((s.state === SLOT_WAIT_ACK || (s.state === SLOT_WAIT_RESPONSE && !s.confirmable)) && s.port === port && s.address === address) n++;
		}
		return n;
	}

	/** Starts queued requests toward address:port while NSTART allows, oldest first. */
	#startQueued(now: number, address: string, port: number): void {
		let room = this.tuning.nstart - this.#outstanding(address, port);
		while (room > 0) {
			let next: ClientSlot | undefined;
			for (const s of this.#clients) {
				if (s.state === SLOT_QUEUED && s.port === port && s.address === address && (next === undefined || s.seq < next.seq)) next = s;
			}
			if (next === undefined) return;
			room--;
			next.giveUpAt = now + next.waitMs;
			if (next.confirmable) {
				next.state = SLOT_WAIT_ACK;
				// §4.2: initial timeout random between ACK_TIMEOUT and ACK_TIMEOUT * ACK_RANDOM_FACTOR.
				next.timeoutMs = this.tuning.ackTimeoutMs * (1 + (this.tuning.ackRandomFactor - 1) * this.#random01());
				next.retransmitAt = now + next.timeoutMs;
			} else {
				next.state = SLOT_WAIT_RESPONSE;
				next.retransmitAt = -1;
			}
			if (!this.#send(next.buf, next.length, next.address, next.port)) this.#sendFailed(next, now);
			// RFC 7967: a NON request that wants no response is done once sent (at the next tick).
			else if (!next.confirmable && !next.expectResponse) next.giveUpAt = now;
		}
	}

	#random01(): number {
		const r = this.#random4;
		this.#ports.random(r);
		return ((r[0]! << 8) | r[1]!) / 65536;
	}

	#finishClient(slot: ClientSlot, response: ClientResponse | null, error: CoapError | null): void {
		const resolve = slot.resolve;
		const reject = slot.reject;
		const obs = slot.observation;
		const cancelled = slot.cancelled;
		const multicastDone = slot.multicastDone;
		const count = slot.multicastResponses;
		slot.onMulticastResponse = slot.multicastDone = null;
		slot.state = SLOT_FREE;
		slot.resolve = slot.reject = null;
		slot.observation = null;
		slot.cancelled = null;
		slot.cancelling = false;
		slot.retransmitAt = slot.giveUpAt = -1;
		slot.generation++;
		this.#startQueued(this.#ports.clock.now(), slot.address, slot.port);
		this.#rearm();
		// Call out last: our tables are consistent before user code runs.
		if (multicastDone !== null) {
			multicastDone(count); // the collection time is over (a timeout is the normal end)
			return;
		}
		if (obs !== null) {
			if (response !== null) obs.deliverFinal(response);
			else obs.end(cancelled !== null ? null : error);
			cancelled?.();
			return;
		}
		if (response !== null) resolve!(response);
		else reject!(error!);
	}

	// ---------------------------------------------------------------- receive

	/** Called by the socket's onReadable (module-level function below). */
	receiveDatagram(d: Datagram): void {
		if (this.#closed) return;
		const bytes = new Uint8Array(d);
		this.receive(bytes, bytes.length, d.address, d.port);
	}

	/**
	 * Processes one datagram. `bytes` is owned by the endpoint from here on (it may be kept while
	 * an async handler answers the request). Never throws on peer input.
	 */
	receive(bytes: Uint8Array, length: number, address: string, port: number): void {
		this.#receiving = true;
		try {
			this.#receive(bytes, length, address, port);
		} finally {
			this.#receiving = false;
		}
		if (this.#notifyLater) this.#flushNotifications();
	}

	#receive(bytes: Uint8Array, length: number, address: string, port: number): void {
		this.stats.received++;
		if (this.#trace) this.#trace(false, bytes, length, address, port);
		const v = this.#view;
		const st = v.parse(bytes, length);
		if (st < 0 && st !== E_TOO_MANY_OPTIONS) {
			this.stats.malformed++;
			// §4.2 / §4.3: a CON with a message format error is rejected with Reset; anything else
			// (NON, ACK, RST, unknown version, shorter than a header) is silently ignored.
			if ((st === E_FORMAT || st === E_TRUNCATED) && length >= 4 && v.type === TYPE_CON && !this.#multicast) this.#sendEmpty(TYPE_RST, v.mid, address, port);
			return;
		}
		const code = v.code;
		const type = v.type;
		// §8.1: requests to a group are NON; §8.2: no Reset in reply to anything sent to a group.
		if (this.#multicast && (type !== TYPE_NON || !isRequest(code))) return;
		if (code === CODE_EMPTY) {
			if (type === TYPE_CON) this.#sendEmpty(TYPE_RST, v.mid, address, port); // §4.3: CoAP ping → Reset
			else if (type === TYPE_ACK) this.#onAck(v.mid, address, port);
			else if (type === TYPE_RST) this.#onReset(v.mid, address, port);
			return; // §4.3: an empty NON is ignored
		}
		if (isRequest(code)) {
			if (type === TYPE_CON || type === TYPE_NON) this.#onRequest(st, address, port);
			else this.stats.malformed++; // a request in an ACK or RST: not a valid message (§4.2, §4.3)
			return;
		}
		if (isResponse(code)) {
			this.#onResponse(st, address, port);
			return;
		}
		// Classes 1, 3, 6, 7 are reserved (§12.1): treat as a message format error.
		this.stats.malformed++;
		if (type === TYPE_CON) this.#sendEmpty(TYPE_RST, v.mid, address, port);
	}

	#onAck(mid: number, address: string, port: number): void {
		for (const s of this.#clients) {
			if (s.state === SLOT_WAIT_ACK && s.mid === mid && s.port === port && s.address === address) {
				// RFC 7967: with No-Response for every class the ACK is all that comes.
				if (!s.expectResponse && s.observation === null) {
					this.#finishClient(s, ClientResponse.none(address, port), null);
					return;
				}
				// §5.2.2: an empty ACK means the response comes separately; stop retransmitting.
				s.state = SLOT_WAIT_RESPONSE;
				s.retransmitAt = -1;
				this.#startQueued(this.#ports.clock.now(), address, port);
				this.#rearm();
				return;
			}
		}
		for (const s of this.#servers) {
			if (s.state === SLOT_WAIT_ACK && s.mid === mid && s.port === port && s.address === address) {
				this.#freeServer(s);
				return;
			}
		}
	}

	#onReset(mid: number, address: string, port: number): void {
		this.stats.resets++;
		for (const s of this.#clients) {
			if ((s.state === SLOT_WAIT_ACK || s.state === SLOT_WAIT_RESPONSE) && s.mid === mid && s.port === port && s.address === address) {
				this.#finishClient(s, null, new CoapError("COAP_RESET", "the server answered with Reset"));
				return;
			}
		}
		for (const s of this.#servers) {
			if (s.state === SLOT_WAIT_ACK && s.mid === mid && s.port === port && s.address === address) {
				// §4.2: the peer rejected our separate response; RFC 7641 §3.6: a Reset to a
				// notification ends the observation.
				if (s.observer !== null) this.#observers.remove(s.observer);
				this.#freeServer(s);
				return;
			}
		}
		for (const o of this.#observers.observers) {
			if (o.inUse && o.lastMid === mid && o.port === port && o.address === address) {
				this.#observers.remove(o); // RFC 7641 §3.6: Reset to a NON notification
				return;
			}
		}
	}

	#onResponse(st: number, address: string, port: number): void {
		const v = this.#view;
		const type = v.type;
		if (type === TYPE_RST) {
			this.stats.malformed++; // §4.3: a Reset carries no response
			return;
		}
		// Match token and source (§5.3.2); a piggybacked response must also match the MID.
		let slot: ClientSlot | undefined;
		for (const s of this.#clients) {
			// §8.2: responses to a multicast request come from the servers' own addresses.
			if ((s.state === SLOT_WAIT_ACK || s.state === SLOT_WAIT_RESPONSE || s.state === SLOT_OBSERVING) && (s.onMulticastResponse !== null || (s.port === port && s.address === address)) && v.tokenEquals(s.token, 0, s.tokenLength)) {
				if (type !== TYPE_ACK || s.mid === v.mid) slot = s;
				break;
			}
		}
		if (type === TYPE_CON) {
			// §4.5: a duplicate CON response is acknowledged again, not delivered twice.
			const now = this.#ports.clock.now();
			const d = this.#dedup.find(address, port, v.mid, now);
			if (d >= 0) {
				this.stats.duplicates++;
				this.#sendEmpty(this.#dedup.state(d) === DUP_RESET ? TYPE_RST : TYPE_ACK, v.mid, address, port);
				return;
			}
			const e = this.#dedup.insert(address, port, v.mid, now, this.#exchangeLifetime);
			// §5.4.1: unrecognised critical options in a CON response → reject it.
			if (slot === undefined || st < 0 || v.firstBadCritical() >= 0) {
				this.#dedup.setState(e, DUP_RESET);
				this.#sendEmpty(TYPE_RST, v.mid, address, port);
				if (slot !== undefined && st === E_TOO_MANY_OPTIONS) {
					this.#finishClient(slot, null, new CoapError("COAP_BAD_RESPONSE", "response has more than " + this.limits.maxOptions + " options"));
				}
				return;
			}
			this.#dedup.setState(e, DUP_EMPTY_ACK);
			this.#sendEmpty(TYPE_ACK, v.mid, address, port);
		} else if (slot === undefined || st < 0 || v.firstBadCritical() >= 0) {
			// §5.3.2: a NON response nobody waits for may be rejected with Reset; an ACK
			// carrying an unknown or bad response is ignored (its request will time out).
			if (type === TYPE_NON) this.#sendEmpty(TYPE_RST, v.mid, address, port);
			// A response we wait for but cannot read whole (more options than maxOptions) ends
			// the request with a clear error rather than a timeout.
			if (slot !== undefined && st === E_TOO_MANY_OPTIONS) {
				this.#finishClient(slot, null, new CoapError("COAP_BAD_RESPONSE", "response has more than " + this.limits.maxOptions + " options"));
			}
			return;
		}
		if (slot.observation !== null) this.#onNotification(slot, address, port);
		else if (slot.onMulticastResponse !== null) {
			slot.multicastResponses++;
			slot.onMulticastResponse(new ClientResponse(v, address, port));
		} else this.#finishClient(slot, new ClientResponse(v, address, port), null);
	}

	/** A response or notification for an observation's token (RFC 7641 §3.2-§3.4). */
	#onNotification(slot: ClientSlot, address: string, port: number): void {
		const v = this.#view;
		const obs = slot.observation!;
		const now = this.#ports.clock.now();
		if (slot.cancelling) {
			this.#finishClient(slot, null, null); // the answer to Observe=1 (or a last notification)
			return;
		}
		const response = new ClientResponse(v, address, port);
		const seqAt = v.find(OPT_OBSERVE);
		if (seqAt < 0 || v.code >> 5 !== 2) {
			// §3.2: no Observe option (not observable, or no room), or §3.2 an error: final.
			this.#finishClient(slot, response, null);
			return;
		}
		const seq = v.uint(seqAt);
		// §3.4: a notification older than the newest one delivered is dropped (it was ACKed).
		if (!obs.isFresh(seq, now)) return;
		// §3.3.1: renew the registration if Max-Age passes without a fresher notification.
		const maxAge = v.uintOf(OPT_MAX_AGE, 60);
		const wasObserving = slot.state === SLOT_OBSERVING;
		slot.state = SLOT_OBSERVING;
		slot.retransmitAt = -1;
		slot.giveUpAt = now + maxAge * 1000 + this.tuning.ackTimeoutMs;
		if (!wasObserving) this.#startQueued(now, address, port);
		this.#rearm();
		const b2 = v.uintOf(OPT_BLOCK2, -1);
		if (b2 >= 0 && blockMore(b2)) {
			// A notification larger than one block: fetch the rest without Observe (§3.8 of RFC 7959).
			const r = obs.request;
			const plain = { ...r, options: r.options.filter((o) => o[0] !== OPT_OBSERVE) };
			fetchRest(this.#blockContext, plain, response).then(
				(whole) => { if (obs.active) obs.deliver(whole, seq, now); },
				() => {},
			);
			return;
		}
		obs.deliver(response, seq, now);
	}

	// ---------------------------------------------------------------- server

	#onRequest(st: number, address: string, port: number): void {
		const v = this.#view;
		this.#plan.reset();
		this.#observeResource = null;
		const now = this.#ports.clock.now();
		const con = v.type === TYPE_CON;
		const mid = v.mid;
		let d = this.#dedup.find(address, port, mid, now);
		if (d >= 0) {
			this.stats.duplicates++;
			// §4.5: a duplicate NON is ignored; a duplicate CON gets the same reply again.
			if (!con) return;
			const state = this.#dedup.state(d);
			if (state === DUP_CACHED) {
				const off = this.#dedup.cachedOffset(d);
				this.#send(this.#dedup.arena.subarray(off), this.#dedup.cachedLength(d), address, port);
				return;
			}
			if (state === DUP_EMPTY_ACK || state === DUP_RESET) {
				this.#sendEmpty(state === DUP_RESET ? TYPE_RST : TYPE_ACK, mid, address, port);
				return;
			}
			if (state === DUP_SEEN) return; // still being processed: the reply will come
			// DUP_LOST: the reply fell out of the cache. §4.5 allows processing an idempotent
			// request again; a non-idempotent one is not repeated: 5.03 (capacity).
			if (!isIdempotent(v.code)) {
				this.#replyNow(d, CODE_SERVICE_UNAVAILABLE, "reply no longer cached", address, port);
				return;
			}
			this.#dedup.setState(d, DUP_SEEN);
		} else {
			d = this.#dedup.insert(address, port, mid, now, con ? this.#exchangeLifetime : this.#nonLifetime);
		}
		if (st === E_TOO_MANY_OPTIONS) {
			// More options than maxOptions: we cannot know all of them, so we cannot process it.
			this.#replyNow(d, CODE_BAD_OPTION, "too many options (limit " + this.limits.maxOptions + ")", address, port);
			return;
		}
		if (v.length > this.limits.maxMessageSize) {
			// §5.9.2.9 / §5.10.9: larger than this endpoint takes in one message → 4.13 with
			// Size1 (hosts with smaller receive buffers never see such a datagram whole).
			const res = this.#response;
			res.reset();
			res.code = CODE_REQUEST_ENTITY_TOO_LARGE;
			this.#plan.size1 = this.limits.maxMessageSize;
			res.payload = "request larger than " + this.limits.maxMessageSize + " bytes";
			this.#respond(d, v, res, address, port);
			return;
		}
		// §5.7.2: this endpoint is not a proxy.
		if (v.find(OPT_PROXY_URI) >= 0 || v.find(OPT_PROXY_SCHEME) >= 0) {
			this.#replyNow(d, CODE_PROXYING_NOT_SUPPORTED, "not a proxy", address, port);
			return;
		}
		const bad = v.firstBadCritical();
		if (bad >= 0) {
			// §5.4.1: unrecognised critical option in a CON request → 4.02 with a diagnostic;
			// in a NON request → reject the message (§4.3), here with a Reset.
			if (con) this.#replyNow(d, CODE_BAD_OPTION, "unrecognised critical option " + optionName(v.optNumber[bad]!), address, port);
			else if (!this.#multicast) {
				this.#dedup.setState(d, DUP_RESET);
				this.#sendEmpty(TYPE_RST, mid, address, port);
			}
			return;
		}
		this.#dispatch(d, address, port);
	}

	/**
	 * Answers the request in #view at once with `code` and a diagnostic payload (§5.5.2):
	 * piggybacked for CON, a NON response for NON (§5.2.3).
	 */
	#replyNow(d: number, code: number, diagnostic: string, address: string, port: number): void {
		const res = this.#response;
		res.reset();
		this.#plan.reset();
		this.#observeResource = null;
		res.code = code;
		res.payload = diagnostic;
		if (code === CODE_SERVICE_UNAVAILABLE) res.maxAge = 1; // §5.9.3.4: Max-Age says when to retry
		this.#respond(d, this.#view, res, address, port);
	}

	#dispatch(d: number, address: string, port: number): void {
		const v = this.#view;
		const res = this.#response;
		const req = this.#request;
		res.reset();
		this.#plan.reset();
		req.address = address;
		req.port = port;
		req.body = null;
		const router = this.#router;
		const resource = router?.match(v);
		if (resource === undefined) {
			if (router !== undefined && pathEquals(v, WELL_KNOWN) && v.code === CODE_GET) {
				this.#wellKnown(router.resources);
				this.#respond(d, v, res, address, port);
				return;
			}
			res.code = CODE_NOT_FOUND;
			this.#respond(d, v, res, address, port);
			return;
		}
		const handler = resource.handler(v.code);
		if (handler === undefined) {
			res.code = CODE_METHOD_NOT_ALLOWED; // §5.9.2.6
			this.#respond(d, v, res, address, port);
			return;
		}
		// §5.10.4: an Accept the resource cannot produce → 4.06.
		const accept = v.uintOf(OPT_ACCEPT, -1);
		if (accept >= 0 && resource.ct.length > 0 && resource.ct.indexOf(accept) < 0) {
			res.code = CODE_NOT_ACCEPTABLE;
			this.#respond(d, v, res, address, port);
			return;
		}
		// §5.10.3 / §5.9.2.9: a payload in a format the resource does not take → 4.15.
		if (resource.accepts !== undefined && v.payloadLength > 0 && resource.accepts.indexOf(v.uintOf(OPT_CONTENT_FORMAT, -1)) < 0) {
			res.code = CODE_UNSUPPORTED_CONTENT_FORMAT;
			this.#respond(d, v, res, address, port);
			return;
		}
		// RFC 9175 §2.3: a resource that requires freshness for state-changing requests.
		if (resource.fresh && v.code !== CODE_GET && v.code !== CODE_FETCH && !this.#echo.fresh(v, address, port, this.#ports.clock.now())) {
			this.#askForEcho(res, address, port);
			this.#respond(d, v, res, address, port);
			return;
		}
		const obs = v.find(OPT_OBSERVE);
		if (obs >= 0 && (v.code === CODE_GET || v.code === CODE_FETCH)) {
			const value = v.uint(obs);
			if (value === 1) {
				// RFC 7641 §3.6: Observe=1 deregisters; the request is then served as usual.
				const o = this.#observers.find(address, port, v);
				if (o !== undefined) this.#observers.remove(o);
			} else if (value === 0 && resource.obs) this.#observeResource = resource; // §4.1: registered with a 2.xx answer
		}
		let transfer: Transfer | null = null;
		if (v.find(OPT_BLOCK1) >= 0) {
			transfer = this.#receiveBlock1(d, address, port);
			if (transfer === null) return; // answered: 2.31 Continue or an error
			req.body = transfer.buf.subarray(0, transfer.length);
		} else if (blockNum(v.uintOf(OPT_BLOCK2, 0)) > 0) {
			// RFC 7959 §2.6: later blocks of the response to a request that carried a body, or
			// is not idempotent, come from the body kept when the handler ran; the handler must
			// not run again (without its body it would answer something else).
			const kept = this.#transfers.find(XFER_SERVING, address, port, requestKey(v, false), this.#ports.clock.now());
			if (kept !== undefined || !isIdempotent(v.code)) {
				this.#serveKeptBlock(d, kept, address, port);
				return;
			}
		}
		let result: void | Promise<void>;
		try {
			result = handler(req, res);
		} catch (e) {
			this.#handlerFailed(res, e);
			result = undefined;
		}
		if (result === undefined || typeof (result as Promise<void>).then !== "function") {
			this.#respond(d, v, res, address, port, transfer);
			return;
		}
		this.#parkAsync(result as Promise<void>, d, address, port, transfer);
	}

	/**
	 * RFC 7959 §2.5: one Block1 block of a request body. Returns the transfer holding the whole
	 * body once the last block is in (state XFER_BUSY), or null after answering the block
	 * (2.31 Continue) or an error (4.00, 4.08, 4.13 with Size1, 5.03).
	 */
	#receiveBlock1(d: number, address: string, port: number): Transfer | null {
		const v = this.#view;
		const res = this.#response;
		const plan = this.#plan;
		const now = this.#ports.clock.now();
		const value = v.uintOf(OPT_BLOCK1, -1);
		const max = this.#transfers.maxBodySize;
		if (!blockValid(value)) {
			// §2.2: SZX 7 is reserved (BERT is for reliable transports only).
			this.#replyNow(d, CODE_BAD_REQUEST, "invalid Block1", address, port);
			return null;
		}
		const num = blockNum(value);
		const more = blockMore(value);
		const szx = blockSzx(value);
		const size = blockSize(szx);
		const length = v.payloadLength;
		// §4: Size1 announces the total size; refuse early what cannot fit.
		if (v.uintOf(OPT_SIZE1, 0) > max) return this.#tooLarge(d, null, address, port);
		// §2.2: every block but the last carries exactly the block size.
		if (more && length !== size) {
			this.#replyNow(d, CODE_BAD_REQUEST, "Block1 payload is not the block size", address, port);
			return null;
		}
		const key = requestKey(v, true); // RFC 9175 §3.3: Request-Tag keeps transfers apart
		let t = this.#transfers.find(XFER_RECEIVING, address, port, key, now);
		if (num === 0) {
			t ??= this.#transfers.allocate(XFER_RECEIVING, address, port, key, now, this.#exchangeLifetime);
			if (t === undefined) {
				this.stats.capacityRejected++;
				this.#replyNow(d, CODE_SERVICE_UNAVAILABLE, "no block transfer slot free", address, port);
				return null;
			}
			t.length = 0;
		}
		// §2.5: a block out of sequence (or a transfer we do not know) → 4.08.
		if (t === undefined || num * size !== t.length) {
			this.#replyNow(d, CODE_REQUEST_ENTITY_INCOMPLETE, "expected block " + (t === undefined ? 0 : Math.floor(t.length / size)), address, port);
			return null;
		}
		if (t.length + length > max) return this.#tooLarge(d, t, address, port);
		t.buf.set(v.bytes.subarray(v.payloadOffset, v.length), t.length);
		t.length += length;
		t.expiresAt = now + this.#exchangeLifetime;
		if (more) {
			res.reset();
			res.code = CODE_CONTINUE; // §2.3: 2.31 asks for the next block
			plan.block1 = blockValue(num, true, szx);
			this.#respond(d, v, res, address, port);
			return null;
		}
		t.state = XFER_BUSY;
		plan.block1 = blockValue(num, false, szx); // §2.3: the final response echoes Block1
		return t;
	}

	/** §2.9.3: 4.13 Request Entity Too Large with Size1 = the largest body this endpoint takes. */
	#tooLarge(d: number, t: Transfer | undefined | null, address: string, port: number): null {
		if (t) this.#transfers.release(t);
		const res = this.#response;
		res.reset();
		res.code = CODE_REQUEST_ENTITY_TOO_LARGE;
		res.payload = "body larger than " + this.#transfers.maxBodySize + " bytes";
		this.#plan.size1 = this.#transfers.maxBodySize;
		this.#respond(d, this.#view, res, address, port);
		return null;
	}

	/** Serves Block2 number N > 0 of a kept response body (§2.6), or 4.08 if none is kept. */
	#serveKeptBlock(d: number, t: Transfer | undefined, address: string, port: number): void {
		const v = this.#view;
		const res = this.#response;
		if (t === undefined) {
			this.#replyNow(d, CODE_REQUEST_ENTITY_INCOMPLETE, "no response body kept for this request", address, port);
			return;
		}
		res.code = t.code;
		res.contentFormat = t.contentFormat;
		res.payload = t.buf.subarray(0, t.length);
		res.etag = t.etag.subarray(0, t.etagLength);
		this.#respond(d, v, res, address, port, null, t);
	}

	#handlerFailed(res: ResponseBuilder, e: unknown): void {
		// Handler errors are demoted to 5.00 (as aiocoap does); the message names no internals.
		res.reset();
		res.code = CODE_INTERNAL_SERVER_ERROR;
		res.payload = "internal server error";
		void e;
	}

	#wellKnown(resources: readonly Resource[]): void {
		const v = this.#view;
		const res = this.#response;
		const query: string[] = [];
		for (let i = v.find(OPT_URI_QUERY); i >= 0; i = v.find(OPT_URI_QUERY, i + 1)) query.push(v.string(i));
		res.code = CODE_CONTENT;
		res.contentFormat = FORMAT_LINK_FORMAT;
		res.payload = linkFormat(resources, query);
		// RFC 6690 §4.1: a filtered query that matches nothing SHOULD get 4.04... for multicast;
		// for unicast an empty 2.05 is returned (the common behaviour, also libcoap's).
	}

	/** An async handler is working: move the request into a server slot until it settles. */
	#parkAsync(result: Promise<void>, d: number, address: string, port: number, transfer: Transfer | null): void {
		let slot: ServerSlot | undefined;
		for (const s of this.#servers) if (s.state === SLOT_FREE) { slot = s; break; }
		const v = this.#view;
		if (slot === undefined) {
			// No slot to wait in: 5.03 now, and the handler's outcome is dropped.
			result.then(ignore, ignore);
			this.stats.capacityRejected++;
			if (transfer !== null) this.#transfers.release(transfer);
			this.#plan.reset();
			this.#replyNow(d, CODE_SERVICE_UNAVAILABLE, "server busy", address, port);
			// The handler still holds the receive request and response and may write to them
			// after its await: they must not serve (or be swapped into a slot for) a later
			// request. Fresh ones for the endpoint (an allocation on this error path only).
			this.#view = new MessageView(this.limits.maxOptions);
			this.#request = new CoapRequest(this.#view);
			this.#response = new ResponseBuilder();
			return;
		}
		const now = this.#ports.clock.now();
		// Swap the receive view/request/response with the slot's spares: no copy.
		const req = this.#request;
		const res = this.#response;
		this.#request = slot.request;
		this.#response = slot.response;
		this.#view = slot.request.view;
		slot.request = req;
		slot.response = res;
		slot.generation++;
		slot.state = SLOT_WORKING;
		slot.address = address;
		slot.port = port;
		slot.requestType = v.type;
		slot.requestMid = v.mid;
		slot.dedup = d;
		slot.acked = false;
		slot.transfer = transfer;
		slot.block1 = this.#plan.block1;
		slot.observeResource = this.#observeResource;
		this.#observeResource = null;
		slot.retransmitAt = v.type === TYPE_CON ? now + this.tuning.emptyAckDelayMs : -1;
		slot.giveUpAt = now + this.tuning.handlerTimeoutMs;
		const generation = slot.generation;
		result.then(
			() => this.#asyncDone(slot!, generation, null),
			(e: unknown) => this.#asyncDone(slot!, generation, e === undefined ? new Error("rejected") : e),
		);
		this.#rearm();
	}

	/**
	 * The dedup entry of the request in `slot`, or -1 if the ring has since given that entry to
	 * another message (a full ring forgets its oldest entry, dedup.ts). RFC 7252 §4.5: a
	 * duplicate gets the reply to *its* message, so nothing is recorded in a reused entry.
	 */
	#slotDedup(slot: ServerSlot): number {
		const d = slot.dedup;
		if (d < 0) return -1;
		return this.#dedup.find(slot.address, slot.port, slot.requestMid, this.#ports.clock.now()) === d ? d : -1;
	}

	#asyncDone(slot: ServerSlot, generation: number, error: unknown): void {
		if (slot.generation !== generation || slot.state !== SLOT_WORKING || this.#closed) return;
		const v = slot.request.view;
		if (error !== null) this.#handlerFailed(slot.response, error);
		const transfer = slot.transfer;
		slot.transfer = null;
		this.#plan.reset();
		this.#plan.block1 = slot.block1;
		this.#observeResource = slot.observeResource;
		slot.observeResource = null;
		if (slot.requestType === TYPE_NON || !slot.acked) {
			// Still in time to piggyback on the ACK (§5.2.1), or a NON response (§5.2.3).
			this.#respond(this.#slotDedup(slot), v, slot.response, slot.address, slot.port, transfer);
			this.#freeServer(slot);
			return;
		}
		// §5.2.2: separate response, sent as CON and retransmitted from the slot's buffer.
		const w = this.#slotWriter;
		w.buf = slot.buf;
		this.#register(v, slot.response, slot.address, slot.port);
		const length = this.#writeResponse(w, TYPE_CON, this.#nextMid(), v, slot.response);
		w.buf = this.#tx;
		this.#afterBlocks(v, slot.response, slot.address, slot.port, transfer, null);
		if (suppressed(v, this.#lastCode)) {
			this.#freeServer(slot); // RFC 7967: the empty ACK was all the client wanted
			return;
		}
		slot.mid = (slot.buf[2]! << 8) | slot.buf[3]!;
		slot.length = length;
		slot.state = SLOT_WAIT_ACK;
		slot.retransmits = 0;
		slot.timeoutMs = this.tuning.ackTimeoutMs * (1 + (this.tuning.ackRandomFactor - 1) * this.#random01());
		const now = this.#ports.clock.now();
		slot.retransmitAt = now + slot.timeoutMs;
		slot.giveUpAt = -1;
		this.#send(slot.buf, length, slot.address, slot.port);
		this.#rearm();
	}

	#freeServer(slot: ServerSlot): void {
		const o = slot.observer;
		// An observation that ended with an error notification is forgotten once that is done.
		if (o !== null && o.inUse && o.resource === null) this.#observers.remove(o);
		slot.observer = null;
		slot.state = SLOT_FREE;
		slot.generation++;
		slot.retransmitAt = slot.giveUpAt = -1;
		slot.response.reset();
		this.#rearm();
	}

	/**
	 * Sends the response for request view `v`: piggybacked on the ACK for CON (§5.2.1), as NON
	 * for NON (§5.2.3), and records it for duplicate detection. `transfer` is the Block1
	 * transfer whose body the handler had (released, or kept for §2.6), `kept` the body a
	 * later block is served from (released after its last block).
	 */
	#respond(d: number, v: MessageView, res: ResponseBuilder, address: string, port: number, transfer: Transfer | null = null, kept: Transfer | null = null): void {
		const con = v.type === TYPE_CON;
		this.#register(v, res, address, port);
		const mid = con ? v.mid : this.#nextMid();
		let length = this.#writeResponse(this.#writer, con ? TYPE_ACK : TYPE_NON, mid, v, res);
		if (this.#amplificationLimit && length > 3 * v.length && !this.#echo.fresh(v, address, port, this.#ports.clock.now()) && !this.#echo.verified(address, port)) {
			// RFC 9175 §2.4: no more than three times the request's size to an unverified address.
			if (transfer !== null) this.#transfers.release(transfer);
			if (kept !== null) this.#transfers.release(kept);
			transfer = kept = null;
			this.#askForEcho(res, address, port);
			length = this.#writeResponse(this.#writer, con ? TYPE_ACK : TYPE_NON, mid, v, res);
		}
		if (this.#multicast) {
			// §8.2 (and RFC 7967 §2.1's default for multicast): no error responses to a group
			// request; a response waits a random Leisure so that the servers do not all answer at once.
			if (this.#lastCode >> 5 === 2 && !suppressed(v, this.#lastCode)) this.#leisure(length, address, port);
			this.#afterBlocks(v, res, address, port, transfer, kept);
			return;
		}
		if (suppressed(v, this.#lastCode)) {
			// RFC 7967 §2: the client asked for no response of this class; a CON still gets
			// its (empty) ACK (§2.1).
			if (con) {
				this.#sendEmpty(TYPE_ACK, v.mid, address, port);
				if (d >= 0) this.#dedup.setState(d, DUP_EMPTY_ACK);
			}
		} else {
			this.#send(this.#tx, length, address, port);
			// A duplicate NON is ignored whatever was answered; a CON's reply is kept for its duplicates.
			if (con && d >= 0) this.#dedup.storeReply(d, this.#tx, length);
		}
		this.#afterBlocks(v, res, address, port, transfer, kept);
	}

	/**
	 * RFC 7641 §4.1: a GET/FETCH with Observe=0 on an observable resource that gets a 2.xx
	 * answer registers its sender; the answer then carries an Observe sequence number. A full
	 * observer table (or a request too large to keep) serves the request without Observe.
	 */
	#register(v: MessageView, res: ResponseBuilder, address: string, port: number): void {
		const resource = this.#observeResource;
		this.#observeResource = null;
		if (resource === null || (res.code !== 0 && res.code >> 5 !== 2)) return;
		const o = this.#observers.add(address, port, v, resource, this.#ports.clock.now());
		if (o === undefined) return;
		this.#observeSeq = nextSequence(this.#observeSeq);
		this.#plan.observe = this.#observeSeq;
	}

	/** Router callback: `resource` changed; notify its observers (RFC 7641 §4.2). */
	resourceChanged(resource: Resource): void {
		if (this.#closed) return;
		for (const o of this.#observers.observers) {
			if (!o.inUse || o.resource !== resource) continue;
			// While a request is being answered (a handler calling changed()), the shared
			// send-side state is in use: notify right after that response has gone out.
			if (this.#receiving) {
				o.dirty = true;
				this.#notifyLater = true;
			} else this.#notify(o);
		}
	}

	#flushNotifications(): void {
		this.#notifyLater = false;
		for (const o of this.#observers.observers) {
			if (o.inUse && o.dirty && !o.busy && o.resource !== null) {
				o.dirty = false;
				this.#notify(o);
			}
		}
	}

	/** Builds a notification by running the resource's handler on the stored request. */
	#notify(o: Observer): void {
		if (o.busy) {
			o.dirty = true; // one more notification once the running handler is done
			return;
		}
		const v = o.view;
		v.parse(o.request, o.requestLength);
		const handler = o.resource!.handler(v.code);
		const req = o.req;
		const res = o.res;
		req.address = o.address;
		req.port = o.port;
		req.body = null;
		res.reset();
		let result: void | Promise<void>;
		try {
			result = handler === undefined ? undefined : handler(req, res);
			if (handler === undefined) res.code = CODE_METHOD_NOT_ALLOWED;
		} catch (e) {
			this.#handlerFailed(res, e);
			result = undefined;
		}
		if (result === undefined || typeof (result as Promise<void>).then !== "function") {
			this.#sendNotification(o);
			return;
		}
		o.busy = true;
		const generation = o.generation;
		const done = (e: unknown) => {
			if (o.generation !== generation || !o.inUse || this.#closed) return;
			o.busy = false;
			if (e !== null) this.#handlerFailed(o.res, e);
			this.#sendNotification(o);
			if (o.dirty && o.inUse) {
				o.dirty = false;
				this.#notify(o);
			}
		};
		(result as Promise<void>).then(() => done(null), (e: unknown) => done(e ?? new Error("rejected")));
	}

	/**
	 * Sends the notification in o.res (RFC 7641 §4.2): NON, but CON every observeConEvery
	 * notifications and at least every 24 hours (§4.5), and always for a non-2.xx code, which
	 * also ends the observation (§4.2). A CON still unacknowledged for this observer is
	 * replaced by the newer notification, keeping its retransmission state (§4.5.2).
	 */
	#sendNotification(o: Observer): void {
		const v = o.view;
		const res = o.res;
		const now = this.#ports.clock.now();
		const ok = res.code === 0 || res.code >> 5 === 2;
		const plan = this.#plan;
		plan.reset();
		if (ok) {
			this.#observeSeq = nextSequence(this.#observeSeq);
			plan.observe = this.#observeSeq;
		}
		let slot: ServerSlot | undefined;
		for (const s of this.#servers) if (s.state === SLOT_WAIT_ACK && s.observer === o) { slot = s; break; }
		let con = slot !== undefined || !ok || o.sinceCon + 1 >= this.tuning.observeConEvery || now - o.lastConAt >= 86400000;
		const fresh = slot === undefined;
		if (con && slot === undefined) {
			for (const s of this.#servers) if (s.state === SLOT_FREE) { slot = s; break; }
			if (slot === undefined) con = false; // no retransmission slot free: NON this time
		}
		const mid = this.#nextMid();
		if (suppressed(v, ok ? CODE_CONTENT : res.code)) {
			// RFC 7967 §2: No-Response in the registration applies to its notifications too.
			if (!ok) this.#observers.remove(o);
			return;
		}
		if (con) {
			const w = this.#slotWriter;
			w.buf = slot!.buf;
			const length = this.#writeResponse(w, TYPE_CON, mid, v, res);
			w.buf = this.#tx;
			const s = slot!;
			if (fresh) {
				s.generation++;
				s.retransmits = 0;
				s.timeoutMs = this.tuning.ackTimeoutMs * (1 + (this.tuning.ackRandomFactor - 1) * this.#random01());
				s.retransmitAt = now + s.timeoutMs;
			}
			s.state = SLOT_WAIT_ACK;
			s.observer = o;
			s.address = o.address;
			s.port = o.port;
			s.mid = mid;
			s.length = length;
			s.giveUpAt = -1;
			s.transfer = null;
			o.sinceCon = 0;
			o.lastConAt = now;
			this.#send(s.buf, length, o.address, o.port);
			this.#rearm();
		} else {
			const length = this.#writeResponse(this.#writer, TYPE_NON, mid, v, res);
			o.sinceCon++;
			this.#send(this.#tx, length, o.address, o.port);
		}
		o.lastMid = mid;
		if (!ok && !con) this.#observers.remove(o);
		else if (!ok) o.resource = null; // ended; the slot frees the entry once acknowledged or given up
	}

	/** Observers in use (tests and diagnostics). */
	get observersInUse(): number {
		return this.#observers.count();
	}

	/**
	 * §8.2: holds the response in #tx in a server slot until a random time within
	 * DEFAULT_LEISURE; with no slot free the response is dropped (multicast is best effort).
	 */
	#leisure(length: number, address: string, port: number): void {
		let slot: ServerSlot | undefined;
		for (const s of this.#servers) if (s.state === SLOT_FREE) { slot = s; break; }
		if (slot === undefined) {
			this.stats.capacityRejected++;
			return;
		}
		slot.buf.set(this.#tx.subarray(0, length));
		slot.length = length;
		slot.address = address;
		slot.port = port;
		slot.generation++;
		slot.state = SLOT_LEISURE;
		slot.giveUpAt = -1;
		slot.retransmitAt = this.#ports.clock.now() + Math.floor(this.tuning.defaultLeisureMs * this.#random01());
		this.#rearm();
	}

	/** RFC 9175 §2.3: 4.01 Unauthorized with an Echo value the client repeats its request with. */
	#askForEcho(res: ResponseBuilder, address: string, port: number): void {
		res.reset();
		res.code = CODE_UNAUTHORIZED;
		this.#plan.reset();
		this.#plan.echo = this.#echo.issue(address, port, this.#ports.clock.now());
		this.#observeResource = null;
	}

	/** Transfer bookkeeping once a response is sent (RFC 7959 §2.5, §2.6). */
	#afterBlocks(v: MessageView, res: ResponseBuilder, address: string, port: number, transfer: Transfer | null, kept: Transfer | null): void {
		const plan = this.#plan;
		const more = plan.block2 >= 0 && blockMore(plan.block2);
		if (kept !== null) {
			if (!more) this.#transfers.release(kept);
			else kept.expiresAt = this.#ports.clock.now() + this.#exchangeLifetime;
			return;
		}
		if (!more || (isIdempotent(v.code) && transfer === null && v.payloadLength === 0)) {
			// Idempotent requests without a body are answered block by block by running the
			// handler again.
			if (transfer !== null) this.#transfers.release(transfer);
			return;
		}
		// §2.6: keep the body of a non-idempotent request's response for its later blocks.
		const now = this.#ports.clock.now();
		const key = requestKey(v, false);
		let t = transfer;
		if (t === null) {
			t = this.#transfers.find(XFER_SERVING, address, port, key, now) ?? this.#transfers.allocate(XFER_SERVING, address, port, key, now, this.#exchangeLifetime) ?? null;
			if (t === null) return; // no slot: later blocks get 4.08 (documented bounded outcome)
		}
		const body = res.payload;
		const length = res.bodyLength();
		if (body === null || length > t.buf.length) {
			this.#transfers.release(t);
			return;
		}
		if (typeof body === "string") utf8Encode(body, t.buf, 0);
		else if (!(body.buffer === t.buf.buffer && body.byteOffset === t.buf.byteOffset)) t.buf.set(body);
		t.state = XFER_SERVING;
		t.key = key;
		t.address = address;
		t.port = port;
		t.length = length;
		t.code = this.#lastCode;
		t.contentFormat = res.contentFormat;
		const etag = res.etag ?? this.#autoEtag;
		t.etag.set(etag.subarray(0, Math.min(etag.length, 8)));
		t.etagLength = Math.min(etag.length, 8);
		t.expiresAt = now + this.#exchangeLifetime;
	}

	/**
	 * Serializes a response to request `v` with `w`: default code, ETag validation, and Block2
	 * slicing of a body larger than one block (RFC 7959 §2.4) with Size2 (§4) and an ETag (so a
	 * client sees a representation change between blocks). Falls back to 5.00 if it does not fit.
	 */
	#writeResponse(w: MessageWriter, type: number, mid: number, v: MessageView, res: ResponseBuilder): number {
		const plan = this.#plan;
		let code = res.code;
		if (code === 0) code = v.code === CODE_GET || v.code === CODE_FETCH ? CODE_CONTENT : v.code === CODE_DELETE ? CODE_DELETED : CODE_CHANGED;
		let skipPayload = false;
		// §5.10.6.2: a GET whose ETag matches the current representation's → 2.03 Valid.
		if (code === CODE_CONTENT && res.etag !== null && v.code === CODE_GET) {
			for (let i = v.find(OPT_ETAG); i >= 0; i = v.find(OPT_ETAG, i + 1)) {
				if (bytesEqual(v.bytes, v.optOffset[i]!, v.optLength[i]!, res.etag)) {
					code = CODE_VALID;
					skipPayload = true;
					break;
				}
			}
		}
		plan.block2 = plan.size2 = plan.sliceLength = -1;
		plan.sliceOffset = 0;
		if (!skipPayload && code !== CODE_CONTINUE) {
			const bodyLength = res.bodyLength();
			const asked = v.uintOf(OPT_BLOCK2, -1);
			let szx = -1;
			let num = 0;
			if (asked >= 0 && blockValid(asked)) {
				// §2.4: the server may answer with a smaller block size; the block number scales.
				szx = Math.min(blockSzx(asked), this.#maxSzx);
				num = blockNum(asked) * (1 << (blockSzx(asked) - szx));
			} else if (bodyLength > blockSize(this.#maxSzx)) szx = this.#maxSzx;
			if (szx >= 0) {
				const size = blockSize(szx);
				const offset = num * size;
				if (offset > 0 && offset >= bodyLength) {
					code = CODE_BAD_OPTION; // §2.2: a block beyond the end of the representation
					skipPayload = true;
				} else {
					plan.block2 = blockValue(num, offset + size < bodyLength, szx);
					plan.sliceOffset = offset;
					plan.sliceLength = Math.min(size, bodyLength - offset);
					if (num === 0 || v.find(OPT_SIZE2) >= 0) plan.size2 = bodyLength; // §4
					if (res.etag === null) {
						this.#bodyEtag(res);
						res.etag = this.#autoEtag;
					}
				}
			}
		}
		this.#lastCode = code;
		w.header(type, code, mid, v.bytes, v.tokenOffset, v.tokenLength);
		res.writeBody(w, skipPayload, plan);
		let length = w.finish();
		if (length < 0) {
			// Options too large for one message even with the body sliced: a clear error.
			w.header(type, CODE_INTERNAL_SERVER_ERROR, mid, v.bytes, v.tokenOffset, v.tokenLength);
			w.payloadText("response too large");
			length = w.finish();
		}
		return length;
	}

	/** A 4-byte ETag from the body's content (FNV-1a), for bodies sent in blocks. */
	#bodyEtag(res: ResponseBuilder): void {
		const body = res.payload;
		let h = FNV_OFFSET;
		if (typeof body === "string") {
			for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body.charCodeAt(i), 0x01000193) >>> 0;
		} else if (body !== null) h = fnv1a(h, body, 0, body.length);
		const e = this.#autoEtag;
		e[0] = h >>> 24;
		e[1] = (h >>> 16) & 0xff;
		e[2] = (h >>> 8) & 0xff;
		e[3] = h & 0xff;
	}

	#sendEmpty(type: number, mid: number, address: string, port: number): void {
		const w = this.#writer;
		w.header(type, CODE_EMPTY, mid, null, 0, 0);
		this.#send(this.#tx, 4, address, port);
	}

	/** Sends a datagram; false when the socket refused it at once (reported through onError too). */
	#send(bytes: Uint8Array, length: number, address: string, port: number): boolean {
		this.stats.sent++;
		if (this.#trace) this.#trace(true, bytes, length, address, port);
		try {
			this.#socket.write(bytes.subarray(0, length), address, port);
			return true;
		} catch (e) {
			// A send failure (no route, bad address) is reported, not thrown into the protocol.
			this.#onError?.(e);
			return false;
		}
	}

	/** A client request could not be sent: it fails with COAP_SOCKET at the next timer tick. */
	#sendFailed(slot: ClientSlot, now: number): void {
		slot.sendFailed = true;
		slot.retransmitAt = -1;
		slot.giveUpAt = now;
	}

	// ---------------------------------------------------------------- time

	#rearm(): void {
		if (this.#closed) return;
		let at = -1;
		for (const s of this.#clients) {
			if (s.state === SLOT_FREE) continue;
			const t = s.deadline();
			if (t >= 0 && (at < 0 || t < at)) at = t;
		}
		for (const s of this.#servers) {
			if (s.state === SLOT_FREE) continue;
			const t = s.deadline();
			if (t >= 0 && (at < 0 || t < at)) at = t;
		}
		if (at === this.#armedAt) return;
		this.#armedAt = at;
		if (at < 0) this.#timer.unschedule();
		else this.#timer.schedule(at);
	}

	/** The earliest deadline of any slot (absolute ms on the clock), or -1 when idle. */
	nextDeadline(): number {
		return this.#armedAt;
	}

	#onTimer(): void {
		this.#armedAt = -1;
		if (this.#closed) return;
		this.handleTimeout(this.#ports.clock.now());
	}

	/** Processes everything due at `now`. Calling it early, or twice, is harmless. */
	handleTimeout(now: number): void {
		for (const s of this.#clients) {
			if (s.state === SLOT_FREE) continue;
			if (s.state === SLOT_OBSERVING) {
				if (s.giveUpAt >= 0 && now >= s.giveUpAt) this.#resend(s, now); // RFC 7641 §3.3.1: renew
				continue;
			}
			if (s.giveUpAt >= 0 && now >= s.giveUpAt && !s.expectResponse && !s.sendFailed && s.state === SLOT_WAIT_RESPONSE) {
				this.#finishClient(s, ClientResponse.none(s.address, s.port), null);
				continue;
			}
			if (s.giveUpAt >= 0 && now >= s.giveUpAt) {
				this.#finishClient(s, null, s.sendFailed ? new CoapError("COAP_SOCKET", "the socket could not send to " + s.address + " port " + s.port) : new CoapError("COAP_TIMEOUT", "no response before the request timeout"));
				continue;
			}
			if (s.state === SLOT_WAIT_ACK && now >= s.retransmitAt) {
				if (s.retransmits >= this.tuning.maxRetransmit) {
					// §4.2: MAX_RETRANSMIT reached: give up.
					this.#finishClient(s, null, new CoapError("COAP_TIMEOUT", "no ACK after " + (s.retransmits + 1) + " transmissions"));
					continue;
				}
				s.retransmits++;
				s.timeoutMs *= 2; // §4.2: exponential back-off
				s.retransmitAt = now + s.timeoutMs;
				this.stats.retransmitted++;
				if (!this.#send(s.buf, s.length, s.address, s.port)) this.#sendFailed(s, now);
			}
		}
		for (const s of this.#servers) {
			if (s.state === SLOT_LEISURE) {
				if (now >= s.retransmitAt) {
					this.#send(s.buf, s.length, s.address, s.port);
					this.#freeServer(s);
				}
				continue;
			}
			if (s.state === SLOT_WORKING) {
				if (s.giveUpAt >= 0 && now >= s.giveUpAt) {
					// The handler never settled: answer 5.03 so the client is not left waiting. The
					// handler still holds the slot's request and response objects, so the slot gets
					// fresh ones (an allocation on this error path only).
					const res = s.response;
					res.reset();
					res.code = CODE_SERVICE_UNAVAILABLE;
					res.maxAge = 1;
					res.payload = "handler timed out";
					this.#asyncDone(s, s.generation, null);
					s.request = new CoapRequest(new MessageView(this.limits.maxOptions));
					s.response = new ResponseBuilder();
					continue;
				}
				if (s.retransmitAt >= 0 && now >= s.retransmitAt && !s.acked) {
					// §5.2.2: the handler takes long: acknowledge now, respond separately later.
					s.acked = true;
					s.retransmitAt = -1;
					const d = this.#slotDedup(s);
					if (d >= 0) this.#dedup.setState(d, DUP_EMPTY_ACK);
					this.#sendEmpty(TYPE_ACK, s.requestMid, s.address, s.port);
				}
			} else if (s.state === SLOT_WAIT_ACK && now >= s.retransmitAt) {
				if (s.retransmits >= this.tuning.maxRetransmit) {
					// §4.2: give up on the separate response; RFC 7641 §4.5: an unacknowledged
					// confirmable notification ends the observation.
					if (s.observer !== null) this.#observers.remove(s.observer);
					this.#freeServer(s);
					continue;
				}
				s.retransmits++;
				s.timeoutMs *= 2;
				s.retransmitAt = now + s.timeoutMs;
				this.stats.retransmitted++;
				this.#send(s.buf, s.length, s.address, s.port);
			}
		}
		this.#armedAt = -2; // force re-arming
		this.#rearm();
	}

	// ---------------------------------------------------------------- lifecycle

	/** Closes the socket and the timer; outstanding requests reject with COAP_CLOSED. Safe to call twice. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#armedAt = -1; // nothing is due any more: nextDeadline() reports idle
		this.#timer.unschedule();
		this.#timer.close();
		try {
			this.#socket.close();
		} catch {
			// already closed
		}
		for (const s of this.#clients) {
			if (s.state === SLOT_FREE) continue;
			const reject = s.reject;
			const obs = s.observation;
			const cancelled = s.cancelled;
			const multicastDone = s.multicastDone;
			s.onMulticastResponse = s.multicastDone = null;
			s.state = SLOT_FREE;
			s.resolve = s.reject = null;
			s.observation = null;
			s.cancelled = null;
			s.cancelling = false;
			s.generation++;
			const error = new CoapError("COAP_CLOSED", "endpoint closed");
			if (obs !== null) obs.end(cancelled !== null ? null : error);
			cancelled?.();
			multicastDone?.(s.multicastResponses);
			reject?.(error);
		}
		for (const s of this.#servers) {
			s.state = SLOT_FREE;
			s.generation++;
			s.transfer = null;
		}
		for (const t of this.#transfers.slots) this.#transfers.release(t);
		for (const o of this.#observers.observers) if (o.inUse) this.#observers.remove(o);
		this.#router?.unlisten(this);
		this.#dedup.clear();
	}

	/** Block-wise transfer slots in use (tests and diagnostics). */
	get transfersInUse(): number {
		return this.#transfers.inUse(this.#ports.clock.now());
	}

	/** Number of client exchange slots in use (tests and diagnostics). */
	get clientSlotsInUse(): number {
		let n = 0;
		for (const s of this.#clients) if (s.state !== SLOT_FREE) n++;
		return n;
	}

	/** Number of server slots in use (tests and diagnostics). */
	get serverSlotsInUse(): number {
		let n = 0;
		for (const s of this.#servers) if (s.state !== SLOT_FREE) n++;
		return n;
	}

	/** Called by the socket when it fails. */
	socketError(e: unknown): void {
		this.#onError?.(e);
	}
}

/** RFC 7967 §2.1: does the request's No-Response option suppress responses of `code`'s class? */
function suppressed(v: MessageView, code: number): boolean {
	const i = v.find(OPT_NO_RESPONSE);
	if (i < 0) return false;
	const cls = code >> 5;
	const bit = cls === 2 ? 2 : cls === 4 ? 8 : cls === 5 ? 16 : 0; // 2.xx, 4.xx, 5.xx
	return (v.uint(i) & bit) !== 0;
}

function bytesEqual(a: Uint8Array, offset: number, length: number, b: Uint8Array): boolean {
	if (length !== b.length) return false;
	for (let i = 0; i < length; i++) if (a[offset + i] !== b[i]) return false;
	return true;
}

function ignore(): void {}

// Shared socket callbacks: `this` is the socket, its target the endpoint (no per-socket closures).
function onReadable(this: UdpSocket, count: number): void {
	const ep = this.target as Endpoint;
	while (count-- > 0) {
		const d = this.read();
		if (d === undefined) return;
		ep.receiveDatagram(d);
	}
}

function onError(this: UdpSocket, error?: unknown): void {
	(this.target as Endpoint).socketError(error);
}
