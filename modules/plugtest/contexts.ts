/**
 * The security contexts of the OSCORE interop test specification (EricssonResearch/OSCOAP
 * test-spec5.md, section 2): A and C on the client, B and D on the server; C and D with the
 * ID Context 0x37cbf3210017a2d3. Every context keeps its sender sequence number in the Store it
 * is given (RFC 8613 Appendix B.1.1), so a series of runs never reuses a number.
 * Leaves out: the specification's Object-Security era parameters (option number 21): RFC 8613's
 * option 9 is used, as test-spec5 says.
 */
import type { OscoreCrypto } from "../coap/oscore/aead.js";
import { SecurityContext, type SecurityContextParams } from "../coap/oscore/context.js";
import type { Store } from "../coap/store.js";

/** Master Secret 0x0102030405060708090a0b0c0d0e0f10 (test-spec5 §2). */
export function plugtestSecret(): Uint8Array {
	return Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
}

/** Master Salt 0x9e7ca92223786340. */
export function plugtestSalt(): Uint8Array {
	return Uint8Array.of(0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40);
}

/** ID Context of contexts C and D: 0x37cbf3210017a2d3. */
export function plugtestIdContext(): Uint8Array {
	return Uint8Array.of(0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3);
}

/** The parameters of context `name` ("a", "b", "c", "d"): the client's have Sender ID 0x, Recipient ID 0x01. */
export function plugtestParams(name: "a" | "b" | "c" | "d"): SecurityContextParams {
	const client = name === "a" || name === "c";
	return {
		masterSecret: plugtestSecret(),
		masterSalt: plugtestSalt(),
		senderId: client ? new Uint8Array(0) : Uint8Array.of(1),
		recipientId: client ? Uint8Array.of(1) : new Uint8Array(0),
		idContext: name === "c" || name === "d" ? plugtestIdContext() : null,
		label: name.toUpperCase(),
	};
}

/**
 * Context `name` with its sequence number kept in `store` under "context-<name>" (null: not
 * persisted, every construction starts at 0; only for tests that build a fresh world).
 */
export function plugtestContext(name: "a" | "b" | "c" | "d", crypto: OscoreCrypto, store: Store | null): SecurityContext {
	return new SecurityContext({ ...plugtestParams(name), sequence: store === null ? null : { store, key: "context-" + name } }, crypto);
}
