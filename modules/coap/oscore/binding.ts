/**
 * What links a request to its responses (RFC 8613 §7.1, §8: "both endpoints MUST keep the
 * association (Token, {Security Context, Partial IV of the request})"): the context, the
 * request's 'kid' (implied by the context and the side) and Partial IV, and the state that
 * the processing of several responses to one request needs (§8.3 nonce reuse, §7.4.1 and
 * §8.4.2 notification order). One RequestBinding lives in each exchange slot and observation
 * of an endpoint, allocated once with the slot, reused by clear().
 */
import type { SecurityContext } from "./context.js";

export class RequestBinding {
	/** The security context, or null when the exchange is not protected. */
	context: SecurityContext | null = null;
	/** The request's Partial IV (value) and its length on the wire (1..5 bytes). */
	piv = 0;
	pivLength = 0;
	/**
	 * True when this endpoint sent the request (client): the request 'kid' is the context's
	 * Sender ID; false on the server, where it is the Recipient ID.
	 */
	local = false;
	/** The request was an Observe registration (Observe 0 inside and outside, §4.1.3.5.1). */
	observe = false;
	/**
	 * Server: the request's nonce may still protect one response (§5.2, §8.3 step 3). False
	 * once used, and from the start when the request's freshness is unknown (B.1.2).
	 */
	nonceAvailable = false;
	/**
	 * Server, Appendix B.1.2: the request verified, but the replay window was lost, so it may be
	 * a replay. The endpoint answers 4.01 with Echo (protected, with its own Partial IV) unless
	 * the request carries a valid Echo, then calls Oscore.acceptFresh().
	 */
	freshnessUnknown = false;
	/** Client §8.4.2: a response without Partial IV (the request's nonce) was accepted. */
	requestNonceUsed = false;
	/** Client §7.4.1: the Notification Number, the largest Partial IV accepted; -1 before the first. */
	notificationNumber = -1;
	/**
	 * Client: notifications accepted so far. The rebuilt message carries this count (mod 2^24)
	 * as its Observe value (§4.1.3.5.2 lets the client choose it): it grows with every accepted
	 * notification, so RFC 7641's freshness rule orders them exactly as their Partial IVs.
	 */
	notifications = 0;
	/**
	 * Server, Appendix B.2 step 2: the request was a request #1 (an unknown ID Context, verified
	 * with it): the index of the server's random R2 in the Oscore object's table, -1 otherwise.
	 * The endpoint must not dispatch the request but answer 4.01 (Unauthorized) through
	 * protectResponse, which sends R2 as 'kid context' under the context R2 || ID1.
	 */
	renewal = -1;

	/** Back to "not protected". */
	clear(): void {
		this.context = null;
		this.piv = 0;
		this.pivLength = 0;
		this.local = false;
		this.observe = false;
		this.nonceAvailable = false;
		this.freshnessUnknown = false;
		this.requestNonceUsed = false;
		this.notificationNumber = -1;
		this.notifications = 0;
		this.renewal = -1;
	}

	/** Copies `other` (e.g. into an observer slot that outlives the exchange). */
	copyFrom(other: RequestBinding): void {
		this.context = other.context;
		this.piv = other.piv;
		this.pivLength = other.pivLength;
		this.local = other.local;
		this.observe = other.observe;
		this.nonceAvailable = other.nonceAvailable;
		this.freshnessUnknown = other.freshnessUnknown;
		this.requestNonceUsed = other.requestNonceUsed;
		this.notificationNumber = other.notificationNumber;
		this.notifications = other.notifications;
		this.renewal = other.renewal;
	}
}

/** Bytes of one RequestBinding's fields (11 fields, 8 bytes each), for the memory budget. */
export const BINDING_BYTES = 11 * 8;
