/**
 * Option classes (RFC 8613 §4.1, Figure 5): Class E options travel encrypted inside the COSE
 * object (Inner), Class U options stay in the OSCORE message for proxies (Outer). Some are
 * both: an Inner value for the other endpoint and an Outer one for intermediaries.
 *
 *   U only : Uri-Host (3), Uri-Port (7), Proxy-Uri (35), Proxy-Scheme (39) (§4.1.3.2, §4.1.3.3);
 *            Hop-Limit (16, RFC 8768 §3); OSCORE (9) itself (§4.1.3.7).
 *   E and U: Observe (6, §4.1.3.5), Max-Age (14, §4.1.3.1), Block2 (23), Block1 (27),
 *            Size2 (28), Size1 (60) (§4.1.3.4), No-Response (258, §4.1.3.6).
 *   E only : every other option, known or not (§4.1: "Options that are unknown or for which
 *            OSCORE processing is not defined SHALL be processed as Class E"), among them
 *            Echo (252) and Request-Tag (292) (RFC 9175 §2.2.1, §3.2.1).
 *
 * There are no Class I options (§4.1.2).
 */
import {
	OPT_BLOCK1, OPT_BLOCK2, OPT_HOP_LIMIT, OPT_MAX_AGE, OPT_NO_RESPONSE, OPT_OBSERVE, OPT_OSCORE, OPT_PROXY_SCHEME,
	OPT_PROXY_URI, OPT_SIZE1, OPT_SIZE2, OPT_URI_HOST, OPT_URI_PORT,
} from "../options.js";

/** Inner: encrypted and integrity protected. */
export const CLASS_E = 1;
/** Outer: unprotected. */
export const CLASS_U = 2;

/** CLASS_E, CLASS_U or both (a bit set) for option `number`. */
export function optionClass(number: number): number {
	switch (number) {
		case OPT_URI_HOST:
		case OPT_URI_PORT:
		case OPT_OSCORE:
		case OPT_HOP_LIMIT:
		case OPT_PROXY_URI:
		case OPT_PROXY_SCHEME:
			return CLASS_U;
		case OPT_OBSERVE:
		case OPT_MAX_AGE:
		case OPT_BLOCK2:
		case OPT_BLOCK1:
		case OPT_SIZE2:
		case OPT_SIZE1:
		case OPT_NO_RESPONSE:
			return CLASS_E | CLASS_U;
		default:
			return CLASS_E;
	}
}

/**
 * True for the Outer options a receiver keeps in the decrypted message (§8.2 step 1, §8.4
 * step 1: "Discard Code and all Class E options present in the received message"; Outer
 * Observe and Block options get their own treatment in unprotect.ts).
 */
export function keptOuter(number: number): boolean {
	return optionClass(number) === CLASS_U && number !== OPT_OSCORE;
}
