/**
 * Outcomes of OSCORE processing as numbers (no exceptions, no allocation on the message path),
 * and what an endpoint answers for each (RFC 8613 §8.2, §8.4, §7.4). Statuses are negative;
 * protect and unprotect return a message length (>= 0) on success.
 *
 * The §8.2 error responses are plain (unprotected) CoAP responses: writeErrorResponse builds
 * one, with Outer Max-Age 0 (§4.1.3.1: the error is cacheable, but caching it is useless) and
 * the diagnostic payload the RFC suggests.
 */
import { CODE_BAD_OPTION, CODE_BAD_REQUEST, CODE_INTERNAL_SERVER_ERROR, CODE_UNAUTHORIZED } from "../constants.js";
import { OPT_MAX_AGE } from "../options.js";
import type { MessageWriter } from "../wire/writer.js";

/** §8.2 step 2: the OSCORE option or the COSE object does not decode (also: OSCORE option and no payload, §2). */
export const E_OSCORE_DECOMPRESS = -20;
/** §8.2 step 2: no Recipient Context for the 'kid' (and 'kid context'). */
export const E_OSCORE_NO_CONTEXT = -21;
/** §7.4 / §8.2 step 3: the Partial IV was received before, or is older than the replay window. */
export const E_OSCORE_REPLAY = -22;
/** §8.2 step 6 / §8.4 step 5: the AEAD did not verify. No plaintext is released. */
export const E_OSCORE_DECRYPT = -23;
/** §8.4: a response without OSCORE option to a protected request (or an unprotected message where protection was required). */
export const E_OSCORE_NOT_PROTECTED = -24;
/** §4.1.3.4.2, §8.2.1: Outer Block options: the blocks must be reassembled before OSCORE processing. */
export const E_OSCORE_OUTER_BLOCK = -25;
/** The output does not fit the caller's buffer (a local limit). */
export const E_OSCORE_OVERFLOW = -26;
/** §7.2.1: the Sender Sequence Number reached 2^40 - 1; the context must not protect any more. */
export const E_OSCORE_SEQUENCE_EXHAUSTED = -27;
/** Appendix B.1.1: the sequence number could not be persisted, so it was not used. */
export const E_OSCORE_SEQUENCE_STORE = -28;
/** §7.4.1, §8.4.2: a notification that is not newer than the Notification Number (or a second one without Partial IV). */
export const E_OSCORE_STALE_NOTIFICATION = -29;
/** §4.1.3.7: the message to protect already carries an OSCORE option (nested OSCORE is not supported). */
export const E_OSCORE_NESTED = -30;
/** §4.1.3.3: Proxy-Uri must be decomposed into Proxy-Scheme, Uri-Host, Uri-Port, Uri-Path, Uri-Query before protection (not done here). */
export const E_OSCORE_PROXY_URI = -31;
/** A binding that belongs to no context (local misuse that the endpoint reports rather than throws). */
export const E_OSCORE_NO_BINDING = -32;
/**
 * Client, Appendix B.2 step 3: the response carried a new 'kid context' and verified under
 * it; the context was derived again (ID Context R2 || R3). Not a response for the
 * application: send the request again (it is protected with the new context).
 */
export const E_OSCORE_B2_RETRY = -33;

/** True for an OSCORE status (as opposed to a length). */
export function isOscoreError(n: number): boolean {
	return n <= -20 && n >= -33;
}

/** The response code a server sends for a failed request (§8.2), or 0 when it sends none. */
export function oscoreErrorCode(status: number): number {
	switch (status) {
		case E_OSCORE_DECOMPRESS:
			return CODE_BAD_OPTION; // 4.02
		case E_OSCORE_NO_CONTEXT:
		case E_OSCORE_REPLAY:
			return CODE_UNAUTHORIZED; // 4.01
		case E_OSCORE_DECRYPT:
			return CODE_BAD_REQUEST; // 4.00
		case E_OSCORE_OUTER_BLOCK:
			return CODE_BAD_OPTION; // until outer block-wise reassembly exists
		case E_OSCORE_SEQUENCE_EXHAUSTED:
		case E_OSCORE_SEQUENCE_STORE:
			return CODE_INTERNAL_SERVER_ERROR; // cannot protect: an unprotected 5.00
		default:
			return 0;
	}
}

/** The diagnostic payload §8.2 / §7.4 suggest, or "" (ASCII). */
export function oscoreDiagnostic(status: number): string {
	switch (status) {
		case E_OSCORE_DECOMPRESS:
			return "Failed to decode COSE";
		case E_OSCORE_NO_CONTEXT:
			return "Security context not found";
		case E_OSCORE_REPLAY:
			return "Replay detected";
		case E_OSCORE_DECRYPT:
			return "Decryption failed";
		default:
			return "";
	}
}

/** A short name for logs and errors. */
export function oscoreStatusName(status: number): string {
	switch (status) {
		case E_OSCORE_DECOMPRESS: return "OSCORE_DECOMPRESS";
		case E_OSCORE_NO_CONTEXT: return "OSCORE_NO_CONTEXT";
		case E_OSCORE_REPLAY: return "OSCORE_REPLAY";
		case E_OSCORE_DECRYPT: return "OSCORE_DECRYPT";
		case E_OSCORE_NOT_PROTECTED: return "OSCORE_NOT_PROTECTED";
		case E_OSCORE_OUTER_BLOCK: return "OSCORE_OUTER_BLOCK";
		case E_OSCORE_OVERFLOW: return "OSCORE_OVERFLOW";
		case E_OSCORE_SEQUENCE_EXHAUSTED: return "OSCORE_SEQUENCE_EXHAUSTED";
		case E_OSCORE_SEQUENCE_STORE: return "OSCORE_SEQUENCE_STORE";
		case E_OSCORE_STALE_NOTIFICATION: return "OSCORE_STALE_NOTIFICATION";
		case E_OSCORE_NESTED: return "OSCORE_NESTED";
		case E_OSCORE_PROXY_URI: return "OSCORE_PROXY_URI";
		case E_OSCORE_NO_BINDING: return "OSCORE_NO_BINDING";
		case E_OSCORE_B2_RETRY: return "OSCORE_B2_RETRY";
		default: return status >= 0 ? "OK" : "E" + status;
	}
}

/**
 * Writes the unprotected error response for a request that failed OSCORE verification
 * (§8.2, §8.3: "sent as simple CoAP responses, without OSCORE processing"): the code of
 * oscoreErrorCode(status), Outer Max-Age 0 and the diagnostic payload. Header fields are the
 * caller's (type ACK/NON/CON, mid, token echo the request as for any response).
 * Returns the message length, or -1 if it does not fit, or 0 if `status` has no response.
 */
export function writeErrorResponse(w: MessageWriter, status: number, type: number, mid: number, token: Uint8Array | null, tokenOffset: number, tokenLength: number): number {
	const code = oscoreErrorCode(status);
	if (code === 0) return 0;
	w.header(type, code, mid, token, tokenOffset, tokenLength).uintOption(OPT_MAX_AGE, 0);
	const text = oscoreDiagnostic(status);
	if (text.length > 0) w.payloadText(text);
	return w.finish();
}
