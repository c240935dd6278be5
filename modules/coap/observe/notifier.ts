/**
 * Notifier: the server's Observe notifications (RFC 7641 §4.2). When a resource changes, the
 * resource's handler runs again on each observer's stored registration request and its answer
 * goes out as a notification: NON, but CON every observeConEvery notifications and at least
 * every 24 hours (§4.5) and for an error code, which ends the observation (§4.2), while a
 * server slot is free to retransmit it. A change signalled
 * while the endpoint is answering a request waits until that answer is sent (the send-side
 * state is shared); a Reset to a NON notification ends the observation (§3.6).
 *
 * A notification to an observation registered with OSCORE is protected by the writer with the
 * observer's binding, with a Partial IV of its own (RFC 8613 §4.1.3.5.2, §8.3).
 *
 * Leaves out: registration (server/responder.ts, RFC 7641 §4.1), the observer table
 * (registry.ts) and the retransmission of CON notifications (server/exchanges.ts).
 */
import { CODE_CONTENT, CODE_METHOD_NOT_ALLOWED, CODE_SERVICE_UNAVAILABLE, TYPE_CON, TYPE_NON } from "../constants.js";
import type { Core } from "../messaging/core.js";
import { SLOT_FREE, SLOT_WAIT_ACK, type ServerSlot } from "../messaging/slots.js";
import { handlerFailed, suppressed } from "../server/responder.js";
import type { CoapRequest } from "../server/request.js";
import type { Resource } from "../server/router.js";
import type { ResponseWriter } from "../server/writer.js";
import { nextSequence } from "./freshness.js";
import type { Observer } from "./registry.js";

export class Notifier {
	readonly #core: Core;
	readonly #writer: ResponseWriter;
	/** Inside receive(): notifications wait until the current answer is sent. */
	receiving = false;
	notifyLater = false;

	constructor(core: Core, writer: ResponseWriter) {
		this.#core = core;
		this.#writer = writer;
	}

	/**
	 * Router callback: `resource` changed; notify its observers (RFC 7641 §4.2), or those whose
	 * registering request `match` accepts (a subtree resource, router.ts).
	 */
	resourceChanged(resource: Resource, match?: (request: CoapRequest) => boolean): void {
		if (this.#core.closed) return;
		for (const o of this.#core.observers.observers) {
			if (!o.inUse || o.resource !== resource) continue;
			if (match !== undefined) {
				// The stored request, as the handler will see it (parsing it again is harmless
				// while an async notification is being built from it: the bytes are the same).
				o.view.parse(o.request, o.requestLength);
				o.req.address = o.address;
				o.req.port = o.port;
				if (!match(o.req)) continue;
			}
			// While a request is being answered (a handler calling changed()), the shared
			// send-side state is in use: notify right after that response has gone out.
			if (this.receiving) {
				o.dirty = true;
				this.notifyLater = true;
			} else this.#notify(o);
		}
	}

	/** Sends the notifications deferred while a request was answered. */
	flush(): void {
		this.notifyLater = false;
		for (const o of this.#core.observers.observers) {
			if (o.inUse && o.dirty && !o.busy && o.resource !== null) {
				o.dirty = false;
				this.#notify(o);
			}
		}
	}

	/** A Reset from address:port; false if it answers no NON notification. */
	onReset(mid: number, address: string, port: number): boolean {
		const observers = this.#core.observers;
		for (const o of observers.observers) {
			if (o.inUse && o.lastMid === mid && o.port === port && o.address === address) {
				observers.remove(o); // RFC 7641 §3.6: Reset to a NON notification
				return true;
			}
		}
		return false;
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
			handlerFailed(res, e, this.#core.onHandlerError);
			result = undefined;
		}
		if (result === undefined || typeof (result as Promise<void>).then !== "function") {
			this.#sendNotification(o);
			return;
		}
		o.busy = true;
		// The same limit as for requests (server/exchanges.ts): a handler that never settles
		// must not pin the observer (handleTimeout below).
		o.busyUntil = this.#core.ports.clock.now() + this.#core.tuning.handlerTimeoutMs;
		const run = o.run;
		const done = (e: unknown) => {
			if (o.run !== run || !o.inUse || this.#core.closed) return;
			o.busy = false;
			o.busyUntil = -1;
			if (e !== null) handlerFailed(o.res, e, this.#core.onHandlerError);
			this.#sendNotification(o);
			// An error notification ended the observation (resource cleared): nothing more to send.
			if (o.dirty && o.inUse && o.resource !== null) {
				o.dirty = false;
				this.#notify(o);
			}
		};
		(result as Promise<void>).then(() => done(null), (e: unknown) => done(e ?? new Error("rejected")));
		this.#core.rearm();
	}

	/**
	 * Notification handlers that have not settled after handlerTimeoutMs: the run is dropped
	 * and the observer gets 5.03 Service Unavailable with Max-Age, as a request would; an
	 * error notification ends the observation (RFC 7641 §4.2), so the entry is freed once it
	 * is acknowledged or given up, and the client may register again.
	 */
	handleTimeout(now: number): void {
		for (const o of this.#core.observers.observers) {
			if (!o.inUse || !o.busy || o.busyUntil < 0 || now < o.busyUntil) continue;
			o.abandonRun();
			o.dirty = false;
			const v = o.view;
			v.parse(o.request, o.requestLength);
			const res = o.res;
			res.code = CODE_SERVICE_UNAVAILABLE;
			res.maxAge = 1;
			res.payload = "handler timed out";
			this.#sendNotification(o);
		}
	}

	/**
	 * Sends the notification in o.res (RFC 7641 §4.2): NON, but CON every observeConEvery
	 * notifications and at least every 24 hours (§4.5), and always for a non-2.xx code, which
	 * also ends the observation (§4.2). A CON still unacknowledged for this observer is
	 * replaced by the newer notification, keeping its retransmission state (§4.5.2).
	 */
	#sendNotification(o: Observer): void {
		const core = this.#core;
		const v = o.view;
		const res = o.res;
		const now = core.ports.clock.now();
		const ok = res.code === 0 || res.code >> 5 === 2;
		const plan = core.plan;
		plan.reset();
		if (ok) {
			core.observeSeq = nextSequence(core.observeSeq);
			plan.observe = core.observeSeq;
		}
		let slot: ServerSlot | undefined;
		// A CON of this same registration still unacknowledged (not of an earlier one that used this entry).
		for (const s of core.servers) if (s.state === SLOT_WAIT_ACK && s.currentObserver() === o) { slot = s; break; }
		let con = slot !== undefined || !ok || o.sinceCon + 1 >= core.tuning.observeConEvery || now - o.lastConAt >= 86400000;
		const fresh = slot === undefined;
		if (con && slot === undefined) {
			for (const s of core.servers) if (s.state === SLOT_FREE) { slot = s; break; }
			if (slot === undefined) con = false; // no retransmission slot free: NON this time
		}
		const mid = core.nextMid();
		if (suppressed(v, ok ? CODE_CONTENT : res.code)) {
			// RFC 7967 §2: No-Response in the registration applies to its notifications too.
			if (!ok) core.observers.remove(o);
			res.seal();
			return;
		}
		if (con) {
			const w = core.slotWriter;
			w.buf = slot!.buf;
			const length = this.#writer.write(w, TYPE_CON, mid, o.req, res);
			w.buf = core.tx;
			const s = slot!;
			if (fresh) {
				s.generation++;
				s.retransmits = 0;
				s.timeoutMs = core.tuning.ackTimeoutMs * (1 + (core.tuning.ackRandomFactor - 1) * core.random01());
				s.retransmitAt = now + s.timeoutMs;
			}
			s.state = SLOT_WAIT_ACK;
			s.observer = o;
			s.observerGeneration = o.generation;
			s.address = o.address;
			s.port = o.port;
			s.mid = mid;
			s.length = length;
			s.giveUpAt = -1;
			s.transfer = null;
			o.sinceCon = 0;
			o.lastConAt = now;
			core.send(s.buf, length, o.address, o.port);
			core.rearm();
		} else {
			const length = this.#writer.write(core.writer, TYPE_NON, mid, o.req, res);
			o.sinceCon++;
			core.send(core.tx, length, o.address, o.port);
		}
		o.lastMid = mid;
		res.seal(); // a late write by the handler throws until the next notification (response.ts)
		if (!ok && !con) core.observers.remove(o);
		else if (!ok) o.resource = null; // ended; the slot frees the entry once acknowledged or given up
	}
}
