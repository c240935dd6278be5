/**
 * What OSCORE costs in preallocated memory (the counterpart of tuning.ts memoryBudget for the
 * OSCORE parts of an endpoint), computed from the same constants the code allocates with, so
 * device.ts can replace its "reserved" OSCORE estimate with this figure. A test checks these
 * numbers against real objects (SecurityContext.stateBytes, AesCcm.stateBytes).
 *
 * Per security context (RFC 8613 §3.1): Sender and Recipient ID, room for the ID Context,
 * Common IV (13), two AEAD key states (AES-CCM: the expanded AES key, 176 bytes, and a block
 * of scratch each), the replay window (window/8 bytes and counters), the sender sequence state
 * (with its 16-byte store buffer), Master Secret and Salt (kept for re-derivation, B.2), and
 * scalar fields. Per endpoint: the working storage of one Oscore object (nonce, AAD, parsed
 * option, cursor), one message buffer for the plain side of a protected exchange (see
 * NOTES/README: unprotect writes the plain request or response there; the server protects its
 * response into it again), and one RequestBinding per exchange slot and observer.
 * Object headers and engine overhead are not counted, as in memoryBudget.
 */
import { AEAD_NONCE_LENGTH } from "./aead.js";
import { BINDING_BYTES } from "./binding.js";
import { B2_NONCE_LENGTH, CONTEXT_FIELDS_BYTES, MAX_ID_CONTEXT_LENGTH, SEQUENCE_STATE_BYTES } from "./context.js";
import { OSCORE_WORKING_BYTES } from "./oscore.js";

/** Bytes a MessageView holds per option it can index (number, offset, length: 2 each; flags 1), as tuning.ts counts. */
export const VIEW_OPTION_BYTES = 2 + 2 + 2 + 1;

/** AesCcm.stateBytes: expanded AES-128 key (44 words), 16-byte staging block, 8 scalar fields. */
export const AES_CCM_STATE_BYTES = 44 * 4 + 16 + 8 * 8;

export interface OscoreBudgetConfig {
	/** Security contexts (the device profile: 2). */
	readonly contexts: number;
	/** Largest message (the extra plain-message buffer has this size). */
	readonly maxMessageSize: number;
	/** RequestBindings: client exchanges + server exchanges + observers. */
	readonly bindings: number;
	/** Replay window size in sequence numbers (default 32). */
	readonly replayWindow?: number;
	/** Sender + Recipient ID bytes (default 2: one byte each, as in most deployments). */
	readonly idBytes?: number;
	/** Room for the ID Context per context (default 8). */
	readonly maxIdContextLength?: number;
	/** Master Secret length (default 16) and Master Salt length (default 8). */
	readonly masterSecretLength?: number;
	readonly masterSaltLength?: number;
	/** State of one AEAD key (default the portable AES-CCM's). */
	readonly aeadStateBytes?: number;
	/** Extra message buffers of maxMessageSize (default 1). */
	readonly messageBuffers?: number;
	/** Message views the OSCORE layer parses plain messages with (default 1), of maxOptions options each. */
	readonly views?: number;
	readonly maxOptions?: number;
}

/** Bytes one security context holds with these parameters. */
export function contextBytes(c: OscoreBudgetConfig): number {
	const window = c.replayWindow ?? 32;
	return (c.idBytes ?? 2) + (c.maxIdContextLength ?? 8) + AEAD_NONCE_LENGTH + 2 * (c.aeadStateBytes ?? AES_CCM_STATE_BYTES) +
		(window / 8 + 3 * 8) + SEQUENCE_STATE_BYTES + (c.masterSecretLength ?? 16) + (c.masterSaltLength ?? 8) + CONTEXT_FIELDS_BYTES;
}

/** The OSCORE memory of an endpoint: total and parts (bytes). */
export function oscoreBudget(c: OscoreBudgetConfig): { total: number; perContext: number; parts: Record<string, number> } {
	const perContext = contextBytes(c);
	const parts: Record<string, number> = {
		oscoreContexts: c.contexts * perContext,
		oscoreWorking: OSCORE_WORKING_BYTES + (c.views ?? 1) * (c.maxOptions ?? 24) * VIEW_OPTION_BYTES,
		oscoreMessageBuffer: (c.messageBuffers ?? 1) * c.maxMessageSize,
		oscoreBindings: c.bindings * BINDING_BYTES,
	};
	let total = 0;
	for (const k in parts) total += parts[k]!;
	return { total, perContext, parts };
}

/** Working storage Appendix B.2 adds when enabled: the ID Context scratch and two pending R2 values with their contexts. */
export const B2_WORKING_BYTES = MAX_ID_CONTEXT_LENGTH + 2 * (B2_NONCE_LENGTH + 8);
