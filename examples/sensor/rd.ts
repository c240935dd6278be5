/**
 * Resource-directory registration of the sensor example (RFC 9176), configured by
 * `config.sensor.rd`, through the portable RD client (modules/coap/rd/client.ts). The same
 * module runs in the firmware (main.ts), on the Node host and in every device of
 * `xscoap sim`.
 *
 * `config.sensor.rd` is either the directory's URI or an object:
 *
 *   "rd": "coap://192.168.1.10"                      discover /rd there and register
 *   "rd": { "uri": "coap://192.168.1.10/rd",          the registration interface itself
 *           "ep": "kitchen-1",                        endpoint name (default: config.sensor.name)
 *           "d": "home",                              sector
 *           "lt": 3600,                               lifetime in seconds (default 90000)
 *           "et": "xscoap-sensor",                    endpoint type
 *           "simple": false }                         RFC 9176 §5.1 simple registration
 *
 * Values may be text (mcconfig's command line gives text: `rd=coap://192.168.1.10` sets the
 * top-level `config.rd`, which main.ts passes as `override`). Absent or empty: no registration.
 * The URI's host must be an IP address (the stack does no DNS).
 */
import type { Endpoint } from "../../modules/coap/endpoint.js";
import type { Clock, RandomFill } from "../../modules/coap/host.js";
import { RdClient, type RdEvent } from "../../modules/coap/rd/client.js";
import type { Router } from "../../modules/coap/server/router.js";

/** config.sensor.rd, checked and converted. */
export interface SensorRdSettings {
	readonly directory: string;
	readonly ep: string;
	readonly sector: string | undefined;
	readonly lifetime: number | undefined;
	readonly endpointType: string | undefined;
	readonly simple: boolean;
}

/**
 * Reads `config.sensor.rd` (or `override`, the command line's `rd=`). Null when registration
 * is not configured.
 * @throws RangeError naming the bad field (local misuse).
 */
export function sensorRdSettings(rd: unknown, name: string, override?: unknown): SensorRdSettings | null {
	const value = override !== undefined && override !== "" ? override : rd;
	if (value === undefined || value === null || value === "" || value === false) return null;
	if (typeof value === "string") return { directory: value, ep: name, sector: undefined, lifetime: undefined, endpointType: undefined, simple: false };
	if (typeof value !== "object") throw new RangeError("config.sensor.rd must be a coap:// URI or an object with `uri`, got " + String(value));
	const o = value as Record<string, unknown>;
	for (const k in o) if (k !== "uri" && k !== "ep" && k !== "d" && k !== "lt" && k !== "et" && k !== "simple") throw new RangeError("config.sensor.rd." + k + " is not a known setting (uri, ep, d, lt, et, simple)");
	if (typeof o.uri !== "string" || o.uri === "") throw new RangeError("config.sensor.rd.uri must be the directory's coap:// URI");
	let lifetime: number | undefined;
	if (o.lt !== undefined && o.lt !== "") {
		lifetime = typeof o.lt === "number" ? o.lt : Number(o.lt);
		if (!Number.isInteger(lifetime)) throw new RangeError("config.sensor.rd.lt must be a whole number of seconds, got " + String(o.lt));
	}
	const simple = o.simple === true || o.simple === "true";
	if (o.simple !== undefined && !simple && o.simple !== false && o.simple !== "false") throw new RangeError("config.sensor.rd.simple must be true or false, got " + String(o.simple));
	return {
		directory: o.uri,
		ep: o.ep === undefined ? name : String(o.ep),
		sector: o.d === undefined ? undefined : String(o.d),
		lifetime,
		endpointType: o.et === undefined ? undefined : String(o.et),
		simple,
	};
}

export interface SensorRdOptions {
	/** The device's endpoint (the directory sees its address as the registration's base). */
	readonly endpoint: Endpoint;
	readonly clock: Clock;
	/** The app's resources: what is registered. */
	readonly router: Router;
	readonly settings: SensorRdSettings;
	/** The device RNG: randomizes retries so devices that lost the directory do not return together. */
	readonly random?: RandomFill;
	/** Per-request time limit (default: the endpoint's). */
	readonly timeoutMs?: number;
	readonly onEvent?: (event: RdEvent) => void;
}

/**
 * Starts keeping the device registered; returns the client (call `stop()` on shutdown to
 * remove the registration).
 * @throws RangeError for settings the RD client refuses (a bad URI, name or lifetime).
 */
export function startSensorRd(options: SensorRdOptions): RdClient {
	const s = options.settings;
	const client = new RdClient({
		endpoint: options.endpoint,
		clock: options.clock,
		directory: s.directory,
		ep: s.ep,
		sector: s.sector,
		lifetime: s.lifetime,
		attributes: s.endpointType === undefined ? undefined : { et: s.endpointType },
		links: options.router,
		simple: s.simple,
		random: options.random,
		timeoutMs: options.timeoutMs,
		onEvent: options.onEvent,
	});
	client.start();
	return client;
}
