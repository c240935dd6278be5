/**
 * Server-side Observe registrations (RFC 7641 §4.1): a fixed table of observers, each with
 * the peer, the token and a copy of its registering request (so the resource's handler can
 * run again to build each notification), the notification count since the last confirmable
 * one and when that was (§4.5: a CON at least every `conEvery` notifications and every
 * 24 hours). A full table, or a request larger than `requestSize`, means the request is
 * served without Observe (§4.1 allows that).
 *
 * OSCORE (RFC 8613 §4.1.3.5): an observer keeps the registration's RequestBinding (context and
 * Partial IV: every notification is bound to the registering request, §8.3), and is found only
 * by requests protected with the same context (a plain request cannot cancel or take over a
 * protected observation).
 */
import { RequestBinding } from "../oscore/binding.js";
import { CoapRequest } from "../server/request.js";
import { ResponseBuilder } from "../server/response.js";
import type { Resource } from "../server/router.js";
import { MessageView } from "../wire/view.js";

export class Observer {
	inUse = false;
	generation = 0;
	address = "";
	port = 0;
	resource: Resource | null = null;
	/** The registering request, copied (its token identifies the observation). */
	readonly request: Uint8Array;
	requestLength = 0;
	/** Notifications sent since the last confirmable one, and when that was (ms). */
	sinceCon = 0;
	lastConAt = 0;
	/** Message ID of the latest notification (a Reset to it ends the observation, §3.6). */
	lastMid = -1;
	/** A notification is being built by an async handler. */
	busy = false;
	/** When that handler is given up on (ms on the clock; -1 when not busy). */
	busyUntil = -1;
	/** Counts notification handler runs: the late result of an abandoned run is dropped. */
	run = 0;
	/** A change came while busy: notify again when done. */
	dirty = false;
	/** The stored request as the handler sees it, and the notification it builds. */
	view: MessageView;
	req: CoapRequest;
	res = new ResponseBuilder();
	readonly #maxOptions: number;

	constructor(requestSize: number, maxOptions: number) {
		this.request = new Uint8Array(requestSize);
		this.#maxOptions = maxOptions;
		this.view = new MessageView(maxOptions);
		this.req = new CoapRequest(this.view, new RequestBinding());
	}

	/**
	 * Gives up on the notification handler still running (it never settled, or the entry is
	 * reused): its late result is dropped, and since it still holds the request and response
	 * objects, the entry gets fresh ones (an allocation on this error path only, as for server
	 * slots whose handler timed out).
	 */
	abandonRun(): void {
		this.run++;
		if (!this.busy) return;
		this.busy = false;
		this.busyUntil = -1;
		this.view = new MessageView(this.#maxOptions);
		// The binding stays: the observation goes on, protected as before.
		this.req = new CoapRequest(this.view, this.req.binding);
		this.res = new ResponseBuilder();
	}
}

export class ObserverTable {
	readonly observers: readonly Observer[];

	constructor(count: number, requestSize: number, maxOptions: number) {
		const list: Observer[] = [];
		for (let i = 0; i < count; i++) list.push(new Observer(requestSize, maxOptions));
		this.observers = list;
	}

	/** The observer for this peer, the token of request `req` and its security context, or undefined. */
	find(address: string, port: number, req: CoapRequest): Observer | undefined {
		const v = req.view;
		const security = req.binding.context;
		for (const o of this.observers) {
			if (!o.inUse || o.port !== port || o.address !== address || o.req.binding.context !== security) continue;
			// The token sits right after the 4-byte header in the stored request.
			const tkl = o.request[0]! & 0x0f;
			if (v.tokenEquals(o.request, 4, tkl)) return o;
		}
		return undefined;
	}

	/**
	 * Registers (or refreshes) an observation of `resource` by request `req`; undefined when
	 * the table is full or the request does not fit `requestSize`.
	 */
	add(address: string, port: number, req: CoapRequest, resource: Resource, now: number): Observer | undefined {
		const v = req.view;
		let o = this.find(address, port, req);
		if (o === undefined) for (const x of this.observers) if (!x.inUse) { o = x; break; }
		if (o === undefined || v.length > o.request.length) return undefined;
		// A re-registration while a notification handler hangs starts afresh (that run is dropped).
		if (o.busy) o.abandonRun();
		o.request.set(v.bytes.subarray(0, v.length));
		o.requestLength = v.length;
		// RFC 8613 §8.3: the first response uses the registration's nonce (the request's own
		// binding does that); every notification takes a new Partial IV (§4.1.3.5.2).
		o.req.binding.copyFrom(req.binding);
		o.req.binding.nonceAvailable = false;
		if (!o.inUse || o.resource !== resource) {
			o.generation++;
			o.sinceCon = 0;
			o.lastConAt = now;
		}
		o.inUse = true;
		o.address = address;
		o.port = port;
		o.resource = resource;
		o.lastMid = -1;
		return o;
	}

	remove(o: Observer): void {
		o.abandonRun();
		o.req.binding.clear();
		o.inUse = false;
		o.resource = null;
		o.generation++;
		o.dirty = false;
	}

	/** The earliest time a notification handler is given up on, or -1. */
	deadline(): number {
		let at = -1;
		for (const o of this.observers) if (o.busy && o.busyUntil >= 0 && (at < 0 || o.busyUntil < at)) at = o.busyUntil;
		return at;
	}

	/** Observers in use (tests, diagnostics). */
	count(): number {
		let n = 0;
		for (const o of this.observers) if (o.inUse) n++;
		return n;
	}
}
