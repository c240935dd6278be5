/**
 * The registrant side of a CoRE Resource Directory (RFC 9176): keeps a device registered with
 * a directory for as long as it runs.
 *
 *   - Discovery of the registration interface (§4.3): GET /.well-known/core?rt=core.rd on the
 *     directory, unless the directory URI already names the path (`coap://192.0.2.1/rd`).
 *   - Registration (§5): POST to the registration interface with `ep`, `d`, `lt`, `base` and
 *     extra attributes as query arguments and the device's links (link-format, ct 40) as the
 *     payload; 2.01 Created names the registration resource (Location-Path).
 *   - Registration update (§5.3.1): a payload-less POST to the registration resource before
 *     the lifetime ends, renewing it. A directory that no longer knows the registration
 *     (4.04) gets a fresh registration at once; so does one that does not support updates
 *     (4.05 or 5.01, libcoap's `coap-rd` before 4.3.5 among them). Changed links are sent by
 *     registering again (`linksChanged()`): §5 lets a registration with the same `ep` and `d`
 *     replace the previous one, and RFC 9176 defines no payload for the update.
 *   - Removal (§5.3.2): `stop()` sends DELETE to the registration resource.
 *   - Simple registration (§5.1, `simple: true`): POST /.well-known/rd?ep=... with no payload;
 *     the directory then reads the device's /.well-known/core itself. It has no registration
 *     resource, so it is refreshed by repeating it and cannot be removed.
 *
 * Requests go out through the device's own Endpoint, so the directory sees the device's
 * address and port and derives the registration's base URI from them (§5: `base` defaults to
 * the source address). Time comes from the host's Clock port (one timer); failed steps are
 * retried with exponential back-off (randomized when a RandomFill is given, so a fleet that
 * lost its directory does not come back in lockstep), a 5.03 after its Max-Age
 * (RFC 7252 §5.9.3.4).
 *
 * Application edge: it allocates (query strings, the payload) once per registration step,
 * never on the message path. Leaves out: discovery by multicast or DHCP/RA options (§4.1),
 * commissioning tools registering other devices (§5.2), and the OSCORE/ACE authorization
 * of §7.
 */
import { CODE_CHANGED, CODE_CREATED, CODE_DELETED, CODE_METHOD_NOT_ALLOWED, CODE_NOT_FOUND, CODE_NOT_IMPLEMENTED, CODE_SERVICE_UNAVAILABLE, FORMAT_LINK_FORMAT, codeText } from "../constants.js";
import type { Endpoint } from "../endpoint.js";
import { CoapError } from "../errors.js";
import type { Clock, RandomFill, Timer } from "../host.js";
import { OPT_LOCATION_PATH, OPT_LOCATION_QUERY } from "../options.js";
import type { ClientResponse } from "../client/response.js";
import { linkFormat } from "../server/linkformat.js";
import type { Router } from "../server/router.js";
import { parseCoapUri } from "../uri/uri.js";
import { utf8Decode, utf8Length } from "../wire/utf8.js";
import { isParmname, linkParam, parseLinkFormat, resolveReference, valueMatches } from "./links.js";

/** RFC 9176 §5: lifetime when a registration names none (25 hours). */
export const DEFAULT_LIFETIME_S = 90000;
/** RFC 9176 §5: longest lifetime (the parameter is a 32-bit count of seconds). */
export const MAX_LIFETIME_S = 4294967295;
/** RFC 9176 §5: longest endpoint name and sector, in bytes of UTF-8. */
export const MAX_NAME_BYTES = 63;

export type RdState = "idle" | "discovering" | "registering" | "registered" | "updating" | "waiting" | "removing" | "stopped";

/** What happened, for logs and status lines. */
export interface RdEvent {
	/**
	 * discovered: the registration interface is known (`detail`: its path);
	 * registered: a registration (or re-registration) was accepted;
	 * updated: a registration update was accepted;
	 * error: a step failed (`detail` says why), the next attempt is in `retryInMs`;
	 * removed: stop() removed the registration (or found none to remove).
	 */
	readonly kind: "discovered" | "registered" | "updated" | "error" | "removed";
	/** The registration resource ("/reg/3"), "" while there is none. */
	readonly location: string;
	readonly detail: string;
	/** For "error": milliseconds until the next attempt; -1 otherwise. */
	readonly retryInMs: number;
}

export interface RdClientOptions {
	/** The device's endpoint: registration requests leave from its address and port. */
	readonly endpoint: Endpoint;
	/** The host's clock (the same the endpoint uses); the client creates one timer on it. */
	readonly clock: Clock;
	/**
	 * The directory: `coap://HOST[:PORT]` to discover its registration interface, or
	 * `coap://HOST[:PORT]/PATH` to use PATH as the registration interface directly. A host name
	 * needs `address` as well (the portable stack does no DNS).
	 */
	readonly directory: string;
	/** Numeric address of the directory when `directory` names a host. */
	readonly address?: string;
	/** Endpoint name (RFC 9176 §5 `ep`): 1..63 bytes of UTF-8, no control characters. */
	readonly ep: string;
	/** Sector (RFC 9176 §5 `d`), same rules as `ep`. */
	readonly sector?: string;
	/** Lifetime in seconds (RFC 9176 §5 `lt`), 1..4294967295; default 90000. */
	readonly lifetime?: number;
	/** Base URI (RFC 9176 §5 `base`); by default the directory uses the request's source address. */
	readonly base?: string;
	/** Further endpoint attributes, e.g. `{ et: "sensor" }` (RFC 9176 §9.3 registers `et`). */
	readonly attributes?: Readonly<Record<string, string>>;
	/** The links to register: the router's resources (as in its /.well-known/core), or a function returning link-format text. */
	readonly links?: Router | (() => string);
	/** RFC 9176 §5.1 simple registration instead of the registration interface. */
	readonly simple?: boolean;
	/** Give up on one request after this long (default: the endpoint's request timeout). */
	readonly timeoutMs?: number;
	/** First retry delay after a failed step (default 5 s); doubles up to `maxRetryMs` (default 10 min). */
	readonly retryMs?: number;
	readonly maxRetryMs?: number;
	/** Randomizes retry delays by ±25 % (the device RNG); without it retries are exact. */
	readonly random?: RandomFill;
	readonly onEvent?: (event: RdEvent) => void;
}

/** Checks an `ep` or `d` value (RFC 9176 §5); returns an error message or "". */
export function checkName(what: string, value: string): string {
	if (typeof value !== "string" || value.length === 0) return what + " must be a non-empty string";
	if (utf8Length(value) > MAX_NAME_BYTES) return what + " must be at most " + MAX_NAME_BYTES + " bytes of UTF-8, got " + utf8Length(value);
	for (let i = 0; i < value.length; i++) {
		const c = value.charCodeAt(i);
		// §5: no characters in the ranges 0-31 and 127-159.
		if (c <= 31 || (c >= 127 && c <= 159)) return what + " must not contain control characters";
	}
	return "";
}

export class RdClient {
	readonly #endpoint: Endpoint;
	readonly #clock: Clock;
	readonly #timer: Timer;
	readonly #address: string;
	readonly #port: number;
	readonly #hostUri: string;
	/** The registration interface path segments, null until discovered. */
	#interface: string[] | null;
	readonly #ep: string;
	readonly #sector: string | undefined;
	readonly #lifetime: number;
	readonly #query: readonly string[];
	readonly #links: Router | (() => string) | undefined;
	readonly #simple: boolean;
	readonly #timeoutMs: number | undefined;
	readonly #retryMs: number;
	readonly #maxRetryMs: number;
	readonly #random: RandomFill | undefined;
	readonly #randomBytes = new Uint8Array(2);
	readonly #onEvent: ((event: RdEvent) => void) | undefined;
	#state: RdState = "idle";
	/** Registration resource path and query (Location-Path / Location-Query), empty when none. */
	#location: string[] = [];
	#locationQuery: string[] = [];
	#registered = false;
	#failures = 0;
	/** A step in progress (its promise settles when it is done), or null. */
	#step: Promise<void> | null = null;
	#stopping = false;
	/** The next step the timer runs. */
	#next: "discover" | "register" | "update" = "discover";
	/** Set by linksChanged() while a step runs: register again when it is done. */
	#relink = false;
	/** When the registration was last accepted, on the clock (-1: never). */
	#acceptedAt = -1;

	/**
	 * @throws TypeError for a missing endpoint or clock; RangeError for a bad directory URI,
	 * `ep`, `d`, lifetime, base or retry setting (local misuse).
	 */
	constructor(options: RdClientOptions) {
		if (!options || !options.endpoint || !options.clock || typeof options.clock.createTimer !== "function") throw new TypeError("RdClient needs { endpoint, clock, directory, ep }");
		const uri = parseCoapUri(String(options.directory));
		if (typeof uri === "string") throw new RangeError("directory: " + uri);
		if (uri.query.length > 0) throw new RangeError("directory: a directory URI has no query: " + options.directory);
		if (!uri.hostIsLiteral && options.address === undefined) throw new RangeError("directory: host name " + uri.host + " needs `address` (the portable stack does no DNS)");
		if (uri.port === 0) throw new RangeError("directory: port 0 is not a destination port");
		const epError = checkName("ep", options.ep);
		if (epError !== "") throw new RangeError(epError);
		if (options.sector !== undefined) {
			const dError = checkName("sector (d)", options.sector);
			if (dError !== "") throw new RangeError(dError);
		}
		const lifetime = options.lifetime ?? DEFAULT_LIFETIME_S;
		if (!(Number.isInteger(lifetime) && lifetime >= 1 && lifetime <= MAX_LIFETIME_S)) throw new RangeError("lifetime must be a whole number of seconds 1.." + MAX_LIFETIME_S + ", got " + String(options.lifetime));
		const retryMs = options.retryMs ?? 5000;
		const maxRetryMs = options.maxRetryMs ?? 600000;
		if (!(retryMs > 0 && maxRetryMs >= retryMs)) throw new RangeError("retryMs must be > 0 and maxRetryMs >= retryMs");
		if (options.simple === true && options.base !== undefined) throw new RangeError("simple registration (RFC 9176 §5.1) takes no base: the directory uses the source address");
		this.#endpoint = options.endpoint;
		this.#clock = options.clock;
		this.#address = options.address ?? uri.host;
		this.#port = uri.port;
		this.#hostUri = "coap://" + (uri.host.indexOf(":") >= 0 ? "[" + uri.host + "]" : uri.host) + ":" + uri.port;
		this.#interface = uri.path.length > 0 ? uri.path : null;
		this.#ep = options.ep;
		this.#sector = options.sector;
		this.#lifetime = lifetime;
		// RFC 9176 §5: registration parameters as Uri-Query arguments (the options carry UTF-8
		// as it is: no percent-encoding inside an option).
		const query = ["ep=" + options.ep];
		if (options.sector !== undefined) query.push("d=" + options.sector);
		if (options.lifetime !== undefined) query.push("lt=" + lifetime);
		if (options.base !== undefined) query.push("base=" + options.base);
		const attributes = options.attributes ?? {};
		for (const k in attributes) {
			if (k === "ep" || k === "d" || k === "lt" || k === "base" || k === "page" || k === "count") throw new RangeError("attribute " + k + " is a registration parameter, not an extra attribute");
			if (!isParmname(k)) throw new RangeError("attribute name " + JSON.stringify(k) + " is not a link parameter name (RFC 6690 §2)");
			query.push(k + "=" + attributes[k]);
		}
		this.#query = Object.freeze(query);
		this.#links = options.links;
		this.#simple = options.simple === true;
		this.#timeoutMs = options.timeoutMs;
		this.#retryMs = retryMs;
		this.#maxRetryMs = maxRetryMs;
		this.#random = options.random;
		this.#onEvent = options.onEvent;
		this.#timer = this.#clock.createTimer(onTimer, this);
	}

	/** Where the client is. */
	get state(): RdState {
		return this.#state;
	}

	/** True while the directory holds an accepted, unexpired registration (as far as the client knows). */
	get registered(): boolean {
		return this.#registered && this.#clock.now() - this.#acceptedAt < this.#lifetime * 1000;
	}

	/** The registration resource ("/reg/3"), "" while there is none (and always with simple registration). */
	get location(): string {
		if (this.#location.length === 0) return "";
		return "/" + this.#location.join("/") + (this.#locationQuery.length > 0 ? "?" + this.#locationQuery.join("&") : "");
	}

	/** The registration interface's path ("/rd"), "" until discovered. */
	get registrationInterface(): string {
		return this.#interface === null ? "" : "/" + this.#interface.join("/");
	}

	/** The endpoint name registered. */
	get ep(): string {
		return this.#ep;
	}

	/** The directory as `coap://HOST:PORT`. */
	get directory(): string {
		return this.#hostUri;
	}

	/** Starts registering (discovery first where needed). Starting twice is harmless. @throws TypeError after stop(). */
	start(): void {
		if (this.#stopping) throw new TypeError("RdClient was stopped");
		if (this.#state !== "idle") return;
		this.#next = this.#simple || this.#interface !== null ? "register" : "discover";
		this.#run();
	}

	/**
	 * The device's links changed: register them again (RFC 9176 §5: a registration with the
	 * same ep and d replaces the previous one). Harmless before start().
	 */
	linksChanged(): void {
		if (this.#stopping || this.#state === "idle") return;
		if (this.#step !== null) {
			this.#relink = true;
			return;
		}
		this.#timer.unschedule(); // a renewal or retry waiting: this registration replaces it
		this.#next = this.#interface === null && !this.#simple ? "discover" : "register";
		this.#run();
	}

	/**
	 * Stops: no further updates; removes the registration (RFC 9176 §5.3.2, DELETE) once any
	 * step in progress is done. Resolves with true when the directory confirmed the removal
	 * (2.02, or 4.04: it was gone already) or there was nothing to remove, false when it did
	 * not answer or refused. Bound the wait by closing the endpoint (requests then end with
	 * COAP_CLOSED). Calling it twice returns the same outcome.
	 */
	stop(): Promise<boolean> {
		if (this.#stopped !== null) return this.#stopped;
		this.#stopping = true;
		this.#timer.unschedule();
		this.#stopped = this.#remove();
		return this.#stopped;
	}

	#stopped: Promise<boolean> | null = null;

	async #remove(): Promise<boolean> {
		if (this.#step !== null) await this.#step;
		this.#timer.close();
		let ok = true;
		if (this.#location.length > 0) {
			this.#state = "removing";
			try {
				const res = await this.#send("DELETE", this.#location, this.#locationQuery, false);
				ok = res.code === CODE_DELETED || res.code === CODE_NOT_FOUND;
				this.#emit("removed", ok ? "removed (" + res.codeText + ")" : "removal refused: " + describe(res), -1);
			} catch (e) {
				ok = false;
				this.#emit("removed", "removal failed: " + errorText(e), -1);
			}
		} else this.#emit("removed", this.#simple && this.#registered ? "simple registration: nothing to remove, it expires after its lifetime" : "not registered", -1);
		this.#location = [];
		this.#locationQuery = [];
		this.#registered = false;
		this.#state = "stopped";
		return ok;
	}

	/** The timer fired: run the scheduled step. */
	fire(): void {
		if (this.#stopping || this.#step !== null) return;
		this.#run();
	}

	#run(): void {
		const which = this.#next;
		const step = which === "discover" ? this.#discover() : which === "register" ? this.#register() : this.#update();
		const settled = (): void => {
			this.#step = null;
			if (this.#relink && !this.#stopping) {
				this.#relink = false;
				this.#timer.unschedule();
				this.#next = this.#interface === null && !this.#simple ? "discover" : "register";
				this.#run();
			}
		};
		this.#step = step.then(settled, (e: unknown) => {
			// A step's own failures are handled inside it; this is a bug's way out: report it
			// and try the step again later rather than stop keeping the registration alive.
			this.#step = null;
			this.#fail("internal error in " + which + ": " + errorText(e), which);
		});
	}

	/** RFC 9176 §4.3: finds the registration interface in the directory's /.well-known/core. */
	async #discover(): Promise<void> {
		this.#state = "discovering";
		let res: ClientResponse;
		try {
			res = await this.#send("GET", [".well-known", "core"], ["rt=core.rd"], false);
		} catch (e) {
			return this.#fail("discovery of " + this.#hostUri + " failed: " + errorText(e), "discover");
		}
		if (this.#stopping) return;
		if (!res.ok) return this.#fail("discovery: " + this.#hostUri + "/.well-known/core answered " + describe(res), "discover");
		const links = parseLinkFormat(res.text(), 64);
		if (typeof links === "string") return this.#fail("discovery: " + this.#hostUri + "/.well-known/core is not link-format: " + links, "discover");
		for (const link of links) {
			const rt = linkParam(link, "rt");
			if (rt === undefined || !valueMatches("rt", "core.rd", rt)) continue;
			// The target, resolved against the directory (RFC 3986 §5); another host is not followed.
			const target = parseCoapUri(resolveReference(this.#hostUri + "/", link.href));
			if (typeof target === "string" || (target.hostIsLiteral && (target.host !== this.#address || target.port !== this.#port))) continue;
			this.#interface = target.path;
			this.#failures = 0;
			this.#emit("discovered", this.registrationInterface, -1);
			this.#next = "register";
			return this.#register();
		}
		return this.#fail("discovery: " + this.#hostUri + " lists no registration interface (rt=core.rd)", "discover");
	}

	/** RFC 9176 §5 (or §5.1 with `simple`): registers, or registers again. */
	async #register(): Promise<void> {
		this.#state = "registering";
		const simple = this.#simple;
		const path = simple ? [".well-known", "rd"] : this.#interface!;
		let res: ClientResponse;
		try {
			res = await this.#send("POST", path, this.#query, !simple);
		} catch (e) {
			return this.#fail("registration failed: " + errorText(e), "register");
		}
		if (this.#stopping && res.code !== CODE_CREATED) return;
		if (simple ? res.code !== CODE_CHANGED : !res.ok) {
			// §5.1: simple registration is answered 2.04 Changed; §5: registration 2.01 Created.
			if (res.code === CODE_NOT_FOUND && !simple && this.#interface !== null) {
				// The interface moved: discover it again (unless it was configured).
				return this.#fail("registration: " + this.registrationInterface + " answered 4.04", "discover");
			}
			return this.#fail("registration refused: " + describe(res), "register", res);
		}
		const location = res.optionAll(OPT_LOCATION_PATH).map((s) => utf8Decode(s));
		const locationQuery = res.optionAll(OPT_LOCATION_QUERY).map((s) => utf8Decode(s));
		this.#location = location;
		this.#locationQuery = locationQuery;
		this.#accepted();
		this.#emit("registered", simple ? "simple registration accepted (" + res.codeText + ")" : location.length > 0 ? "registered (" + res.codeText + ")" : "registered without a location: refreshed by registering again", -1);
		// With a location the registration is kept alive by updates (§5.3.1); without one
		// (simple registration, or a directory that named none) by registering again.
		this.#next = location.length > 0 ? "update" : "register";
		this.#scheduleRenewal();
	}

	/** RFC 9176 §5.3.1: a payload-less POST to the registration resource renews the lifetime. */
	async #update(): Promise<void> {
		this.#state = "updating";
		let res: ClientResponse;
		try {
			res = await this.#send("POST", this.#location, this.#locationQuery, false);
		} catch (e) {
			// No answer: the registration may still exist; try the update again while it may
			// (after that, the directory has dropped it and a fresh registration is needed).
			return this.#fail("update failed: " + errorText(e), this.registered ? "update" : "register");
		}
		if (this.#stopping) return;
		if (res.code === CODE_NOT_FOUND || res.code === CODE_METHOD_NOT_ALLOWED || res.code === CODE_NOT_IMPLEMENTED) {
			// 4.04: the directory forgot the registration (expired, restarted without a store):
			// register afresh at once. 4.05/5.01: it does not implement updates: registering
			// again is the only way to renew.
			this.#emit("error", "update answered " + res.codeText + ": registering again", 0);
			this.#location = [];
			this.#locationQuery = [];
			this.#registered = false;
			return this.#register();
		}
		if (!res.ok) return this.#fail("update refused: " + describe(res), this.registered ? "update" : "register", res);
		this.#accepted();
		this.#emit("updated", "updated (" + res.codeText + ")", -1);
		this.#next = "update";
		this.#scheduleRenewal();
	}

	#accepted(): void {
		this.#registered = true;
		this.#acceptedAt = this.#clock.now();
		this.#failures = 0;
		this.#state = "registered";
	}

	/**
	 * The next renewal: ahead of the lifetime by a quarter of it, at most 2 minutes (room for
	 * CON retransmissions, RFC 7252 §4.8.2, before the directory drops the registration).
	 */
	#scheduleRenewal(): void {
		if (this.#stopping) return;
		const lifetimeMs = this.#lifetime * 1000;
		const margin = Math.min(lifetimeMs / 4, 120000);
		this.#timer.schedule(this.#acceptedAt + lifetimeMs - margin);
	}

	/** A failed step: report it and try `next` again after the back-off (or the 5.03's Max-Age). */
	#fail(detail: string, next: "discover" | "register" | "update", res?: ClientResponse): void {
		if (this.#stopping) return;
		this.#failures++;
		let delay = Math.min(this.#maxRetryMs, this.#retryMs * 2 ** Math.min(this.#failures - 1, 30));
		const random = this.#random;
		if (random !== undefined) {
			const b = this.#randomBytes;
			random(b);
			delay *= 0.75 + (0.5 * ((b[0]! << 8) | b[1]!)) / 65536;
		}
		// RFC 7252 §5.9.3.4: 5.03 with Max-Age says when to try again.
		if (res !== undefined && res.code === CODE_SERVICE_UNAVAILABLE) delay = Math.max(delay, res.maxAge * 1000);
		delay = Math.round(delay);
		if (next !== "update") {
			this.#registered = false;
			if (next === "discover") this.#interface = null;
		}
		this.#next = next;
		this.#state = "waiting";
		this.#emit("error", detail, delay);
		this.#timer.schedule(this.#clock.now() + delay);
	}

	#send(method: string, path: readonly string[], query: readonly string[], withLinks: boolean): Promise<ClientResponse> {
		let payload: string | undefined;
		if (withLinks) {
			const source = this.#links;
			payload = source === undefined ? "" : typeof source === "function" ? source() : linkFormat(source.resources, []);
		}
		return this.#endpoint.request({
			method,
			address: this.#address,
			port: this.#port,
			path: path as string[],
			query,
			payload,
			contentFormat: withLinks ? FORMAT_LINK_FORMAT : undefined,
			timeoutMs: this.#timeoutMs,
		});
	}

	#emit(kind: RdEvent["kind"], detail: string, retryInMs: number): void {
		const onEvent = this.#onEvent;
		if (onEvent === undefined) return;
		try {
			onEvent({ kind, location: this.location, detail, retryInMs });
		} catch {
			// a listener's error is not the registration's
		}
	}
}

function onTimer(this: RdClient): void {
	this.fire();
}

/** "4.00 (diagnostic payload)". */
function describe(res: ClientResponse): string {
	const text = res.payload.length > 0 && res.payload.length <= 200 ? " (" + res.text() + ")" : "";
	return codeText(res.code) + text;
}

function errorText(e: unknown): string {
	if (e instanceof CoapError) return e.code + (e.message !== e.code ? ": " + e.message : "");
	return String((e as Error)?.message ?? e);
}
