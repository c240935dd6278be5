/**
 * Endpoint: one UDP socket speaking CoAP (RFC 7252) as client and server. It composes the
 * message layer (§4: CON/NON/ACK/RST, retransmission with exponential back-off, duplicate
 * detection, message IDs, NSTART), the request/response layer (§5: tokens, piggybacked and
 * separate responses, option processing) and the server's resource dispatch.
 *
 * This file builds the parts once, in the constructor, and routes between them: it owns the
 * socket and the timer, parses each datagram once and hands it on (empty messages to the
 * slots they acknowledge or reset, requests to server/dispatch.ts, responses to
 * client/client.ts), drives handleTimeout() over the parts and closes them. The shared state
 * and the send and timer primitives live in messaging/core.ts; the client side in client/
 * (client.ts, exchanges.ts), the server side in server/ (dispatch.ts, blockwise.ts,
 * exchanges.ts, responder.ts, writer.ts), Observe notifications in observe/notifier.ts.
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
 * OSCORE (RFC 8613) lives in oscore/ and joins at the seams its layer names (oscore/layer.ts):
 * the server unprotects between parsing and dispatch (server/dispatch.ts), the client between
 * matching and delivery (client/client.ts), and both protect where a message is written
 * (server/writer.ts, client/exchanges.ts). The contexts come from `options.oscore` or
 * addOscoreContext(); limits.oscoreContexts sizes the table (0: no OSCORE at all).
 *
 * Leaves out (see the issues): proxying (a request with Proxy-Uri or Proxy-Scheme gets 5.05,
 * §5.7.2); Group OSCORE.
 */
import { Client } from "./client/client.js";
import { ClientExchanges } from "./client/exchanges.js";
import type { EndHandler, NotificationHandler, Observation } from "./client/observation.js";
import type { RequestOptions } from "./client/options.js";
import type { ClientResponse } from "./client/response.js";
import { CODE_EMPTY, TYPE_ACK, TYPE_CON, TYPE_NON, TYPE_RST, isRequest, isResponse } from "./constants.js";
import { E_FORMAT, E_TOO_MANY_OPTIONS, E_TRUNCATED } from "./errors.js";
import type { Datagram, PeerUnreachable, Ports, UdpSocket } from "./host.js";
import { Core } from "./messaging/core.js";
import { SLOT_FREE } from "./messaging/slots.js";
import { Notifier } from "./observe/notifier.js";
import { ServerBlocks } from "./server/blockwise.js";
import { Dispatcher } from "./server/dispatch.js";
import { ServerExchanges } from "./server/exchanges.js";
import { Responder } from "./server/responder.js";
import type { CoapRequest } from "./server/request.js";
import type { SecurityContext } from "./oscore/context.js";
import type { ChangeListener, Resource, Router } from "./server/router.js";
import { ResponseWriter } from "./server/writer.js";
import type { Limits, Tuning } from "./tuning.js";

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
	/** Called with what a resource handler threw or rejected with (the request got 5.00). */
	onHandlerError?: (error: unknown) => void;
	/**
	 * RFC 7252 §8: join this multicast group (e.g. "224.0.1.187", "ff02::fd"). Every request
	 * this endpoint receives is then treated as a multicast request: CON requests are ignored
	 * (§8.1), error responses and Resets are not sent, and responses wait a random Leisure
	 * (§8.2). Use one endpoint per group beside the unicast one.
	 */
	multicast?: string;
	/**
	 * OSCORE (RFC 8613): security contexts (build them with `new SecurityContext(params,
	 * crypto)`; at most `limits.oscoreContexts`, default 2). Incoming requests protected with
	 * any of them are verified and answered protected; a client request whose URI matches a
	 * pattern of `credentials` is protected with that pattern's context.
	 */
	oscore?: {
		/** Contexts that incoming OSCORE requests are matched against (server side). */
		contexts?: readonly SecurityContext[];
		/**
		 * Client side: URI pattern → context, in aiocoap's pattern syntax (`*` for any
		 * characters, the longest matching pattern wins): "coap://[2001:db8::1]/*". Their
		 * contexts also verify incoming requests (a context is symmetric).
		 */
		credentials?: Readonly<Record<string, SecurityContext>>;
		/**
		 * Appendix B.2 (renewing a context with random ID Contexts) for contexts made with
		 * `b2: true`. Off by default (it needs 287 bytes more working storage).
		 */
		b2?: boolean;
	};
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

export class Endpoint implements ChangeListener {
	readonly limits: Readonly<Limits>;
	readonly tuning: Readonly<Tuning>;
	readonly stats: EndpointStats;
	readonly #core: Core;
	readonly #router: Router | undefined;
	readonly #client: Client;
	readonly #clientExchanges: ClientExchanges;
	readonly #dispatcher: Dispatcher;
	readonly #serverExchanges: ServerExchanges;
	readonly #notifier: Notifier;

	constructor(options: EndpointOptions) {
		if (!options || !options.ports) throw new TypeError("Endpoint needs { ports }");
		const core = new Core(options, this.#onTimer, this);
		this.#core = core;
		this.limits = core.limits;
		this.tuning = core.tuning;
		this.stats = core.stats;
		this.#router = options.router;
		// The parts, each wired once to the parts below it.
		const writer = new ResponseWriter(core);
		const responder = new Responder(core, writer);
		this.#clientExchanges = new ClientExchanges(core);
		this.#client = new Client(core, this.#clientExchanges);
		this.#serverExchanges = new ServerExchanges(core, responder, writer);
		this.#dispatcher = new Dispatcher(core, responder, new ServerBlocks(core, responder), this.#serverExchanges, options.router);
		this.#notifier = new Notifier(core, writer);
		const o = options.oscore;
		if (o !== undefined && o !== null) {
			if (core.oscore === null) throw new RangeError("the oscore option needs limits.oscoreContexts > 0");
			for (const c of o.contexts ?? []) this.addOscoreContext(c);
			const map = o.credentials ?? {};
			for (const pattern in map) this.addOscoreContext(map[pattern]!, [pattern]);
		}
		this.#router?.listen(this);
		// The socket opens last, once everything it can deliver to exists; the parts reach it through the core.
		try {
			core.socket = new options.ports.udp({
				port: options.port ?? 0,
				address: options.address,
				target: this,
				onReadable,
				onError,
				multicast: options.multicast,
			});
		} catch (e) {
			// No socket (a bad port, no memory): release what was set up, then report.
			core.closed = true;
			core.timer.unschedule();
			core.timer.close();
			this.#router?.unlisten(this);
			throw e;
		}
	}

	/** The bound local port, where the socket reports it (Node host and sim do). */
	get port(): number {
		return (this.#core.socket as unknown as { port?: number }).port ?? 0;
	}

	/** The underlying socket (for hosts: multicast membership and the like). */
	get socket(): UdpSocket {
		return this.#core.socket;
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
		return this.#client.request(options);
	}

	/**
	 * Observes a resource (RFC 7641): sends the request with Observe=0 and calls
	 * `onNotification` with the first response and every fresher notification after it, until
	 * the observation ends (cancel(), a response without Observe or with an error code, a
	 * failed renewal); then `onEnd` is called once. Holds one client exchange slot meanwhile.
	 * Notifications larger than one block are completed with Block2 requests before delivery.
	 */
	observe(options: RequestOptions, onNotification: NotificationHandler, onEnd?: EndHandler): Observation {
		return this.#client.observe(options, onNotification, onEnd);
	}

	/**
	 * RFC 7252 §8.1: sends a NON request to a multicast group and calls `onResponse` for every
	 * response from any server until `timeoutMs` (default DEFAULT_LEISURE + ACK_TIMEOUT) has
	 * passed; resolves with the number of responses. Holds one client exchange slot meanwhile.
	 * Never protected (Group OSCORE is not implemented): a security context in `options.oscore`,
	 * or credentials matching the URI, throw RangeError instead of sending in the clear.
	 */
	multicast(options: RequestOptions, onResponse: (response: ClientResponse) => void, timeoutMs?: number): Promise<number> {
		return this.#client.multicast(options, onResponse, timeoutMs);
	}

	// ---------------------------------------------------------------- OSCORE

	/**
	 * Adds an OSCORE security context (RFC 8613): requests protected with it are accepted and
	 * answered protected; client requests to URIs matching one of `uriPatterns` (aiocoap's
	 * syntax, `*` for any characters) are protected with it. Adding a context already held only
	 * adds the patterns.
	 * @throws RangeError when the endpoint has no OSCORE (limits.oscoreContexts 0) or its table
	 *   is full; TypeError for something that is not a SecurityContext or a bad pattern.
	 */
	addOscoreContext(context: SecurityContext, uriPatterns: readonly string[] = []): void {
		const layer = this.#core.oscore;
		if (layer === null) throw new RangeError("this endpoint has no OSCORE: limits.oscoreContexts is 0");
		if (!isSecurityContext(context)) throw new TypeError("addOscoreContext needs a SecurityContext");
		const table = layer.engine.contexts;
		let known = false;
		for (let i = 0; i < table.capacity; i++) if (table.at(i) === context) known = true;
		if (!known) {
			if (table.count >= table.capacity) throw new RangeError("the OSCORE context table is full: limits.oscoreContexts is " + table.capacity);
			table.add(context);
		}
		for (const p of uriPatterns) layer.credentials.set(p, context);
	}

	/** Removes an OSCORE context and the URI patterns that named it; false when it was not held. */
	removeOscoreContext(context: SecurityContext): boolean {
		const layer = this.#core.oscore;
		if (layer === null) return false;
		layer.credentials.remove(context);
		return layer.engine.contexts.remove(context);
	}

	// ---------------------------------------------------------------- receive

	/** Called by the socket's onReadable (module-level function below). */
	receiveDatagram(d: Datagram): void {
		if (this.#core.closed) return;
		const bytes = new Uint8Array(d);
		this.receive(bytes, bytes.length, d.address, d.port);
	}

	/**
	 * Processes one datagram. `bytes` is owned by the endpoint from here on (it may be kept while
	 * an async handler answers the request). Never throws on peer input.
	 */
	receive(bytes: Uint8Array, length: number, address: string, port: number): void {
		// One text form per address (RFC 5952 for IPv6, IPv4-mapped as IPv4), as requests are
		// addressed (client/options.ts), so that matching by address (§5.3.2) holds.
		address = this.#core.addresses.normalize(address);
		const notifier = this.#notifier;
		notifier.receiving = true;
		// The datagram is handled in this frame, not in a helper method: every frame on this
		// path is stack that a Moddable device must reserve (creation.stack, issue 7).
		try {
			const core = this.#core;
			core.stats.received++;
			if (core.trace) core.trace(false, bytes, length, address, port);
			const v = core.view;
			const st = v.parse(bytes, length);
			if (st < 0 && st !== E_TOO_MANY_OPTIONS) {
				core.stats.malformed++;
				// §4.2 / §4.3: a CON with a message format error is rejected with Reset; anything else
				// (NON, ACK, RST, unknown version, shorter than a header) is silently ignored.
				if ((st === E_FORMAT || st === E_TRUNCATED) && length >= 4 && v.type === TYPE_CON && !core.multicast) core.sendEmpty(TYPE_RST, v.mid, address, port);
				return;
			}
			const code = v.code;
			const type = v.type;
			// §8.1: requests to a group are NON; §8.2: no Reset in reply to anything sent to a group.
			if (core.multicast && (type !== TYPE_NON || !isRequest(code))) return;
			if (code === CODE_EMPTY) {
				if (type === TYPE_CON) core.sendEmpty(TYPE_RST, v.mid, address, port); // §4.3: CoAP ping → Reset
				else if (type === TYPE_ACK) this.#onAck(v.mid, address, port);
				else if (type === TYPE_RST) this.#onReset(v.mid, address, port);
				return; // §4.3: an empty NON is ignored
			}
			if (isRequest(code)) {
				if (type === TYPE_CON || type === TYPE_NON) this.#dispatcher.onRequest(st, address, port);
				else core.stats.malformed++; // a request in an ACK or RST: not a valid message (§4.2, §4.3)
				return;
			}
			if (isResponse(code)) {
				this.#client.onResponse(st, address, port);
				return;
			}
			// Classes 1, 3, 6, 7 are reserved (§12.1): treat as a message format error.
			core.stats.malformed++;
			if (type === TYPE_CON) core.sendEmpty(TYPE_RST, v.mid, address, port);
		} finally {
			notifier.receiving = false;
			if (notifier.notifyLater) notifier.flush();
		}
	}

	/** An empty ACK: for a client request (§5.2.2), else for a server slot's CON message. */
	#onAck(mid: number, address: string, port: number): void {
		if (this.#clientExchanges.onAck(mid, address, port)) return;
		this.#serverExchanges.onAck(mid, address, port);
	}

	/** A Reset: for a client request, a server slot's CON message, or a NON notification. */
	#onReset(mid: number, address: string, port: number): void {
		this.#core.stats.resets++;
		if (this.#clientExchanges.onReset(mid, address, port)) return;
		if (this.#serverExchanges.onReset(mid, address, port)) return;
		this.#notifier.onReset(mid, address, port);
	}

	// ---------------------------------------------------------------- server

	/** Router callback: `resource` changed; notify its observers (RFC 7641 §4.2), those `match` accepts when given. */
	resourceChanged(resource: Resource, match?: (request: CoapRequest) => boolean): void {
		this.#notifier.resourceChanged(resource, match);
	}

	/** Observers in use (tests and diagnostics). */
	get observersInUse(): number {
		return this.#core.observers.count();
	}

	// ---------------------------------------------------------------- time

	/** The earliest deadline of any slot (absolute ms on the clock), or -1 when idle. */
	nextDeadline(): number {
		return this.#core.armedAt;
	}

	#onTimer(): void {
		const core = this.#core;
		core.armedAt = -1;
		if (core.closed) return;
		this.handleTimeout(core.ports.clock.now());
	}

	/** Processes everything due at `now`. Calling it early, or twice, is harmless. */
	handleTimeout(now: number): void {
		if (this.#core.closed) return; // close() left nothing due: nextDeadline() stays -1
		this.#clientExchanges.handleTimeout(now);
		this.#serverExchanges.handleTimeout(now);
		this.#notifier.handleTimeout(now);
		this.#core.armedAt = -2; // force re-arming
		this.#core.rearm();
	}

	// ---------------------------------------------------------------- lifecycle

	/** Closes the socket and the timer; outstanding requests reject with COAP_CLOSED. Safe to call twice. */
	close(): void {
		const core = this.#core;
		if (core.closed) return;
		core.closed = true;
		core.armedAt = -1; // nothing is due any more: nextDeadline() reports idle
		core.timer.unschedule();
		core.timer.close();
		try {
			core.socket.close();
		} catch {
			// already closed
		}
		this.#clientExchanges.close();
		this.#serverExchanges.close();
		for (const t of core.transfers.slots) core.transfers.release(t);
		for (const o of core.observers.observers) if (o.inUse) core.observers.remove(o);
		this.#router?.unlisten(this);
		core.dedup.clear();
	}

	/** Block-wise transfer slots in use (tests and diagnostics). */
	get transfersInUse(): number {
		return this.#core.transfers.inUse(this.#core.ports.clock.now());
	}

	/** Number of client exchange slots in use (tests and diagnostics). */
	get clientSlotsInUse(): number {
		let n = 0;
		for (const s of this.#core.clients) if (s.state !== SLOT_FREE) n++;
		return n;
	}

	/** Number of server slots in use (tests and diagnostics). */
	get serverSlotsInUse(): number {
		let n = 0;
		for (const s of this.#core.servers) if (s.state !== SLOT_FREE) n++;
		return n;
	}

	/**
	 * Called by the socket when it fails, or when the network reported a peer unreachable
	 * (host.ts PeerUnreachable): then the client's requests toward that peer end with
	 * COAP_UNREACHABLE, and the socket is still in use.
	 */
	socketError(e: unknown): void {
		const u = e as Partial<PeerUnreachable> | null;
		if (u !== null && typeof u === "object" && typeof u.unreachable === "string" && typeof u.address === "string" && typeof u.port === "number") {
			if (!this.#core.closed) this.#clientExchanges.unreachable(u as PeerUnreachable);
			return;
		}
		this.#core.onError?.(e);
	}
}

function isSecurityContext(c: unknown): c is SecurityContext {
	const x = c as Partial<SecurityContext> | null;
	return x !== null && typeof x === "object" && x.senderId instanceof Uint8Array && x.recipientId instanceof Uint8Array && typeof x.matches === "function";
}

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
