/**
 * Device configuration: the `config.coap` record of a Moddable manifest (the root
 * manifest.json of this repository fixes the ESP32 profile) turned into endpoint options, and
 * the device memory budget computed from it.
 *
 * Values may arrive as strings: `mcconfig ... name=value` overrides config entries with text,
 * so every number is converted and range-checked here, at start-up, never on the message path.
 *
 * The budget adds `memoryBudget()` (tuning.ts: the buffers an Endpoint allocates today) to
 * reservations for the tables that later issues add to the same device (Block-wise transfer
 * buffers and Observe registrations, RFC 7959 / RFC 7641; OSCORE security contexts, RFC 8613).
 * Reservations are estimates with the per-item sizes stated below; they keep those features'
 * room in the 24 KiB budget (DESIGN.md "Memory budget") visible and tested before they exist.
 */
import { DEFAULT_LIMITS, checkLimits, memoryBudget, type Limits } from "./tuning.js";

/** `config.coap` as a manifest writes it (numbers, or strings from the mcconfig command line). */
export interface CoapDeviceConfig {
	/** UDP port the device listens on (RFC 7252 §6.1: 5683). */
	readonly port?: number | string;
	readonly maxMessageSize?: number | string;
	readonly maxOptions?: number | string;
	readonly clientExchanges?: number | string;
	readonly serverExchanges?: number | string;
	readonly dedupEntries?: number | string;
	readonly dedupCacheBytes?: number | string;
	/** Reserved: concurrent Block-wise transfers (RFC 7959), each with its own buffer. */
	readonly blockTransfers?: number | string;
	/** Reserved: bytes of one Block-wise transfer buffer. */
	readonly blockBufferSize?: number | string;
	/** Reserved: Observe registrations (RFC 7641) the server keeps. */
	readonly observers?: number | string;
	/** Reserved: OSCORE security contexts (RFC 8613). */
	readonly oscoreContexts?: number | string;
}

/** Tables that later features add to the device; sized now so the budget stays honest. */
export interface Reservations {
	blockTransfers: number;
	blockBufferSize: number;
	observers: number;
	oscoreContexts: number;
}

/** What a host needs to build the device's endpoint. */
export interface DeviceSettings {
	port: number;
	limits: Limits;
	reserved: Reservations;
}

/**
 * The ESP32 profile (DESIGN.md "Memory budget"): 1152-byte messages, 4 client exchanges, 8
 * dedup entries, 2 block transfers of 4 KiB, 4 observers, 2 OSCORE contexts. The root
 * manifest.json carries the same values as `config.coap` (a test keeps them equal).
 */
export const ESP32_DEVICE_CONFIG = Object.freeze({
	port: 5683,
	maxMessageSize: DEFAULT_LIMITS.maxMessageSize,
	maxOptions: DEFAULT_LIMITS.maxOptions,
	clientExchanges: DEFAULT_LIMITS.clientExchanges,
	serverExchanges: DEFAULT_LIMITS.serverExchanges,
	dedupEntries: DEFAULT_LIMITS.dedupEntries,
	dedupCacheBytes: DEFAULT_LIMITS.dedupCacheBytes,
	blockTransfers: 2,
	blockBufferSize: 4096,
	observers: 4,
	oscoreContexts: 2,
});

/** The budget the default profile must stay under (DESIGN.md, issue 4). */
export const DEVICE_BUDGET_BYTES = 24 * 1024;

/** Bookkeeping per Block-wise transfer besides its buffer: peer, token, offsets, ETag, timer (estimate). */
export const BLOCK_SLOT_BYTES = 32;
/** Per Observe registration: token (8), peer port and address reference, sequence number, MID, flags (estimate). */
export const OBSERVER_BYTES = 48;
/**
 * Per OSCORE context: sender and recipient keys (2 x 16), common IV (13), sender/recipient
 * IDs and ID context (3 x 8), sender sequence number and replay window (24), nonce and AAD
 * scratch (13 + 64), rounded up (estimate; RFC 8613 §3).
 */
export const OSCORE_CONTEXT_BYTES = 192;

/**
 * Reads a `config.coap` record. Absent fields take the ESP32 profile's values.
 * @throws RangeError naming the first field that is not an integer in range (local misuse).
 */
export function deviceSettings(config: CoapDeviceConfig | undefined = {}): DeviceSettings {
	const c = config ?? {};
	const d = ESP32_DEVICE_CONFIG;
	const limits: Limits = {
		maxMessageSize: int("maxMessageSize", c.maxMessageSize, d.maxMessageSize),
		maxOptions: int("maxOptions", c.maxOptions, d.maxOptions),
		clientExchanges: int("clientExchanges", c.clientExchanges, d.clientExchanges),
		serverExchanges: int("serverExchanges", c.serverExchanges, d.serverExchanges),
		dedupEntries: int("dedupEntries", c.dedupEntries, d.dedupEntries),
		dedupCacheBytes: int("dedupCacheBytes", c.dedupCacheBytes, d.dedupCacheBytes),
	};
	checkLimits(limits);
	const port = int("port", c.port, d.port);
	if (port < 0 || port > 65535) throw new RangeError("config.coap.port must be 0..65535, got " + port);
	const reserved: Reservations = {
		blockTransfers: int("blockTransfers", c.blockTransfers, d.blockTransfers),
		blockBufferSize: int("blockBufferSize", c.blockBufferSize, d.blockBufferSize),
		observers: int("observers", c.observers, d.observers),
		oscoreContexts: int("oscoreContexts", c.oscoreContexts, d.oscoreContexts),
	};
	if (reserved.blockTransfers < 0 || reserved.blockBufferSize < 0 || reserved.observers < 0 || reserved.oscoreContexts < 0) {
		throw new RangeError("config.coap reservations must not be negative");
	}
	return { port, limits, reserved };
}

function int(name: string, value: number | string | undefined, fallback: number): number {
	if (value === undefined || value === "") return fallback;
	const n = typeof value === "number" ? value : Number(value);
	if (!Number.isInteger(n)) throw new RangeError("config.coap." + name + " must be an integer, got " + JSON.stringify(value));
	return n;
}

/** One line of the budget. */
export interface BudgetPart {
	/** Short name: the limit or reservation it comes from. */
	readonly name: string;
	readonly bytes: number;
	/** True for estimates of tables not allocated yet (see Reservations). */
	readonly reserved: boolean;
}

export interface DeviceBudget {
	readonly total: number;
	/** Preallocated by an Endpoint today (memoryBudget). */
	readonly allocated: number;
	readonly parts: readonly BudgetPart[];
}

/** Adds up the preallocated bytes of a device built from `settings`, reservations included. */
export function deviceBudget(settings: DeviceSettings): DeviceBudget {
	const m = memoryBudget(settings.limits);
	const parts: BudgetPart[] = [];
	for (const k in m.parts) parts.push({ name: k, bytes: m.parts[k]!, reserved: false });
	const r = settings.reserved;
	parts.push({ name: "blockTransfers", bytes: r.blockTransfers * (r.blockBufferSize + BLOCK_SLOT_BYTES), reserved: true });
	parts.push({ name: "observers", bytes: r.observers * OBSERVER_BYTES, reserved: true });
	parts.push({ name: "oscoreContexts", bytes: r.oscoreContexts * OSCORE_CONTEXT_BYTES, reserved: true });
	let total = 0;
	for (const p of parts) total += p.bytes;
	return { total, allocated: m.total, parts };
}

/** What one more unit of a setting costs, in bytes, computed by differencing deviceBudget. */
export interface LimitCost {
	readonly name: keyof Limits | keyof Reservations;
	readonly value: number;
	/** Bytes added by raising the setting by one (one byte, one slot, one entry...). */
	readonly perUnit: number;
	/** Bytes this setting accounts for at its current value: the budget minus the budget with the setting at 0. */
	readonly bytes: number;
}

/** Cost per unit of every limit and reservation of `settings` (the README's table). */
export function limitCosts(settings: DeviceSettings): LimitCost[] {
	const base = deviceBudget(settings).total;
	const out: LimitCost[] = [];
	const limitNames: (keyof Limits)[] = ["maxMessageSize", "maxOptions", "clientExchanges", "serverExchanges", "dedupEntries", "dedupCacheBytes"];
	for (const name of limitNames) {
		const value = settings.limits[name];
		const plus = deviceBudget({ ...settings, limits: { ...settings.limits, [name]: value + 1 } }).total - base;
		const zero = deviceBudget({ ...settings, limits: { ...settings.limits, [name]: 0 } }).total;
		out.push({ name, value, perUnit: plus, bytes: base - zero });
	}
	const reserveNames: (keyof Reservations)[] = ["blockTransfers", "blockBufferSize", "observers", "oscoreContexts"];
	for (const name of reserveNames) {
		const value = settings.reserved[name];
		const plus = deviceBudget({ ...settings, reserved: { ...settings.reserved, [name]: value + 1 } }).total - base;
		const zero = deviceBudget({ ...settings, reserved: { ...settings.reserved, [name]: 0 } }).total;
		out.push({ name, value, perUnit: plus, bytes: base - zero });
	}
	return out;
}
