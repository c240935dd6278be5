/**
 * Exchange slots: the fixed records an endpoint keeps for messages it must retransmit or
 * answers it waits for (RFC 7252 §4.2, §4.7, §5.2.2). Each slot is allocated once with every
 * field it will ever have, and reused; `generation` changes on every reuse so that a late
 * event for an earlier use (a timer, a promise settling) is recognised and ignored.
 */
import type { Observation } from "../client/observation.js";
import type { EncodedRequest } from "../client/options.js";
import type { ClientResponse } from "../client/response.js";
import type { Transfer } from "../block/transfers.js";
import type { CoapError } from "../errors.js";
import type { Observer } from "../observe/registry.js";
import { RequestBinding } from "../oscore/binding.js";
import type { SecurityContext } from "../oscore/context.js";
import type { Resource } from "../server/router.js";
import { CoapRequest } from "../server/request.js";
import { ResponseBuilder } from "../server/response.js";
import { MessageView } from "../wire/view.js";

export const SLOT_FREE = 0;
/** Client: waiting for NSTART room toward its peer (§4.7). */
export const SLOT_QUEUED = 1;
/** Client: CON sent, retransmitting until ACK/RST (§4.2). Server: CON separate response sent, same. */
export const SLOT_WAIT_ACK = 2;
/** Client: request acknowledged (or NON), waiting for the response. */
export const SLOT_WAIT_RESPONSE = 3;
/** Server: handler still working. */
export const SLOT_WORKING = 4;
/** Client: an established observation waiting for notifications (RFC 7641). */
export const SLOT_OBSERVING = 5;
/** Server: a response to a multicast request waiting out its Leisure (RFC 7252 §8.2). */
export const SLOT_LEISURE = 6;

/** Shared by client and server slots: a message kept for retransmission. */
class Slot {
	state = SLOT_FREE;
	generation = 0;
	/** This slot's message buffer (a view into the endpoint's slot arena). */
	readonly buf: Uint8Array;
	length = 0;
	address = "";
	port = 0;
	/** Message ID of the message kept in `buf`. */
	mid = 0;
	readonly token = new Uint8Array(8);
	tokenLength = 0;
	retransmits = 0;
	/** Current retransmission timeout (doubles each time, §4.2). */
	timeoutMs = 0;
	/** Absolute time of the next retransmission or of the empty-ACK, -1 if none. */
	retransmitAt = -1;
	/** Absolute time the slot gives up, -1 if never. */
	giveUpAt = -1;

	constructor(buf: Uint8Array) {
		this.buf = buf;
	}

	deadline(): number {
		const a = this.retransmitAt;
		const b = this.giveUpAt;
		return a < 0 ? b : b < 0 ? a : a < b ? a : b;
	}
}

export class ClientSlot extends Slot {
	confirmable = true;
	/** Order of request() calls, for NSTART queueing (oldest first). */
	seq = 0;
	/** The socket refused to send the request: it fails with COAP_SOCKET. */
	sendFailed = false;
	/** Why a response matching this request was rejected (said when the request times out), or null. */
	rejected: string | null = null;
	/** RFC 7641: the observation this slot's token belongs to, or null for a plain request. */
	observation: Observation | null = null;
	/** False when No-Response suppresses every response class (RFC 7967). */
	expectResponse = true;
	/** A multicast request (RFC 7252 §8.1): every response from any server goes here until the timeout. */
	onMulticastResponse: ((r: ClientResponse) => void) | null = null;
	multicastResponses = 0;
	multicastDone: ((count: number) => void) | null = null;
	/** The slot carries a deregistration (Observe=1) of its observation. */
	cancelling = false;
	/** Settles cancel() once the deregistration is answered (null) or given up (the error). */
	cancelled: ((error: CoapError | null) => void) | null = null;
	/** How long to wait for the response, counted from the first transmission (not from queueing). */
	waitMs = 0;
	/** Promise settlement for the request() call using this slot. */
	resolve: ((r: ClientResponse) => void) | null = null;
	reject: ((e: CoapError) => void) | null = null;
	/** The request as encoded last (renewals, deregistrations and OSCORE re-protection start from it). */
	request: EncodedRequest | null = null;
	/** RFC 8613: the context the request is protected with, null for a plain request. */
	security: SecurityContext | null = null;
	/** RFC 8613 §8: the request's association with its responses (Partial IV, notification order). */
	readonly binding = new RequestBinding();
}

export class ServerSlot extends Slot {
	/** The request being answered (its view owns the datagram while the handler runs). */
	request: CoapRequest;
	response: ResponseBuilder;
	/** Type and Message ID of the request (to piggyback on the ACK, §5.2.1). */
	requestType = 0;
	requestMid = 0;
	/** Dedup entry of the request, to record what was answered. */
	dedup = -1;
	/** An empty ACK has been sent for the request (§5.2.2). */
	acked = false;
	/** The Block1 transfer whose body the handler works on (RFC 7959 §2.5), or null. */
	transfer: Transfer | null = null;
	/** Block1 value to echo in the final response, -1 for none. */
	block1 = -1;
	/** A GET/FETCH with Observe=0 waiting to be registered when its handler answers, or null. */
	observeResource: Resource | null = null;
	/** `response` was handed to an async handler (retired when the slot is freed, exchanges.ts). */
	handlerHeld = false;
	/** The observer whose confirmable notification this slot retransmits, or null. */
	observer: Observer | null = null;
	/**
	 * The observer's generation when the notification was sent: an entry freed and given to
	 * another registration meanwhile has another one, and nothing done to this slot (Reset,
	 * give-up, acknowledgement) may touch that registration (see `slotObserver`).
	 */
	observerGeneration = 0;

	/** The registration this slot's notification belongs to, if it is still the same one; else null. */
	currentObserver(): Observer | null {
		const o = this.observer;
		return o !== null && o.inUse && o.generation === this.observerGeneration ? o : null;
	}

	constructor(buf: Uint8Array, maxOptions: number) {
		super(buf);
		this.request = new CoapRequest(new MessageView(maxOptions));
		this.response = new ResponseBuilder();
	}
}
