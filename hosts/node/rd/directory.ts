/**
 * The resource directory (RFC 9176) as CoAP resources on a Router: an Endpoint built with
 * `directory.router` serves it.
 *
 *   /.well-known/core   lists the interfaces below with their RFC 9176 resource types (§4.3)
 *   /rd                 registration interface (rt=core.rd): POST registers (§5)
 *   /reg/N              registration resources: POST updates (§5.3.1), DELETE removes
 *                       (§5.3.2), GET reads the registered links (§5.3.3)
 *   /rd-lookup/ep       endpoint lookup (rt=core.rd-lookup-ep, §6)
 *   /rd-lookup/res      resource lookup (rt=core.rd-lookup-res, §6)
 *   /.well-known/rd     simple registration (§5.1): the directory reads the registrant's
 *                       /.well-known/core itself (needs `attach(endpoint)`)
 *
 * Registrations are keyed by endpoint name and sector (§5: a registration with the same `ep`
 * and `d` replaces the previous one, keeping its registration resource). Each expires when
 * its lifetime passes without an update: one timer on the Clock port, armed for the earliest
 * expiry, so the virtual clock of the tests drives expiry as the real one does. Malformed
 * requests get 4.00 with a diagnostic payload (RFC 7252 §5.5.2); a full directory 5.03 with
 * Max-Age. `snapshot()`/`restore()` carry the registrations through a restart (store.ts
 * writes them to a file).
 *
 * Deviation (named in README): an update (POST to /reg/N) may carry a link-format payload,
 * which replaces the registration's links (the "changed-links" update). RFC 9176 §5.3.1
 * defines only the payload-less update and leaves payloads to future documents (§5.3.3);
 * registrants that want to stay within the RFC register again instead, which the xscoap
 * RD client does.
 *
 * Free of Node APIs: the portable tests run it on the virtual network, on Node and on XS.
 * Leaves out: Observe on the lookups, authorization (§7), the JSON/CBOR link formats, and
 * proxying for registrants behind NATs.
 */
import { CODE_BAD_REQUEST, CODE_CHANGED, CODE_CONTENT, CODE_CREATED, CODE_DELETED, CODE_GATEWAY_TIMEOUT, CODE_NOT_FOUND, CODE_SERVICE_UNAVAILABLE, CODE_UNSUPPORTED_CONTENT_FORMAT, FORMAT_LINK_FORMAT, FORMAT_TEXT } from "../../../modules/coap/constants.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { CoapError } from "../../../modules/coap/errors.js";
import type { Clock, Timer } from "../../../modules/coap/host.js";
import { OPT_URI_PATH } from "../../../modules/coap/options.js";
import { parseLinkFormat, type Link } from "../../../modules/coap/rd/links.js";
import type { CoapRequest } from "../../../modules/coap/server/request.js";
import type { ResponseBuilder } from "../../../modules/coap/server/response.js";
import { Resource, Router } from "../../../modules/coap/server/router.js";
import { utf8Bytes, utf8Decode } from "../../../modules/coap/wire/utf8.js";
import type { MessageView } from "../../../modules/coap/wire/view.js";
import { endpointLookup, readLookupQuery, resourceLookup } from "./lookup.js";
import { DEFAULT_LT, isUtf8, readParams, Registration, sourceBase, type Attribute, type RegistrationParams } from "./registration.js";

/** Paths of the interfaces (RFC 9176 leaves them to the directory; these are its examples'). */
export const RD_PATH = "/rd";
export const EP_LOOKUP_PATH = "/rd-lookup/ep";
export const RES_LOOKUP_PATH = "/rd-lookup/res";
export const SIMPLE_PATH = "/.well-known/rd";

/** What a directory reports as it changes (for logs). */
export type DirectoryEventKind = "registered" | "replaced" | "updated" | "removed" | "expired";

export interface DirectoryOptions {
	readonly clock: Clock;
	/** Most registrations held at once; more get 5.03 (default 100000). */
	readonly maxRegistrations?: number;
	/** Most links in one registration; more get 4.00 (default 1000). */
	readonly maxLinks?: number;
	/** How long simple registration (§5.1) waits for the registrant's /.well-known/core (default 10 s). */
	readonly fetchTimeoutMs?: number;
	/** Called after every change of the registrations (the store saves then). */
	readonly onChange?: () => void;
	/** Called for each registration event. */
	readonly onEvent?: (kind: DirectoryEventKind, registration: Registration) => void;
}

/** A registration as a snapshot holds it: plain data, expiry as the time left. */
export interface RegistrationRecord {
	id: number;
	ep: string;
	d: string | null;
	lt: number;
	base: string;
	baseExplicit: boolean;
	attributes: [string, string | null][];
	links: string;
	/** Milliseconds of lifetime left when the snapshot was taken. */
	remainingMs: number;
}

export interface DirectorySnapshot {
	nextId: number;
	registrations: RegistrationRecord[];
}

/** A cached lookup result: lookups of a large directory are read block by block (RFC 7959), each block runs the handler. */
class CachedLookup {
	readonly key: string;
	readonly body: Uint8Array;
	readonly etag: Uint8Array;
	constructor(key: string, body: Uint8Array, etag: Uint8Array) {
		this.key = key;
		this.body = body;
		this.etag = etag;
	}
}

const LOOKUP_CACHE_SIZE = 16;

export class ResourceDirectory {
	readonly router: Router;
	readonly #clock: Clock;
	readonly #timer: Timer;
	readonly #maxRegistrations: number;
	readonly #maxLinks: number;
	readonly #fetchTimeoutMs: number;
	readonly #onChange: (() => void) | undefined;
	readonly #onEvent: ((kind: DirectoryEventKind, registration: Registration) => void) | undefined;
	/** By id, in registration order (ids only grow). */
	readonly #byId = new Map<number, Registration>();
	/** By "ep\0d" key. */
	readonly #byKey = new Map<string, Registration>();
	#nextId = 1;
	/** Deadline the timer is armed for, -1 when not armed. */
	#armedAt = -1;
	/** Bumped on every change: lookups cached under an older generation are stale. */
	#generation = 0;
	#cacheGeneration = -1;
	readonly #cache: CachedLookup[] = [];
	#endpoint: Endpoint | undefined;
	#closed = false;
	/** The shared resource behind every /reg/N (found by RdRouter.match). */
	readonly registrationResource: Resource;

	constructor(options: DirectoryOptions) {
		if (!options || !options.clock || typeof options.clock.createTimer !== "function") throw new TypeError("ResourceDirectory needs { clock }");
		this.#clock = options.clock;
		this.#maxRegistrations = options.maxRegistrations ?? 100000;
		this.#maxLinks = options.maxLinks ?? 1000;
		this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 10000;
		if (!(this.#maxRegistrations >= 1 && this.#maxLinks >= 1 && this.#fetchTimeoutMs > 0)) throw new RangeError("maxRegistrations, maxLinks and fetchTimeoutMs must be positive");
		this.#onChange = options.onChange;
		this.#onEvent = options.onEvent;
		this.#timer = this.#clock.createTimer(onExpiryTimer, this);
		const rd = this;
		this.registrationResource = new Resource("/reg", {
			ct: FORMAT_LINK_FORMAT,
			hidden: true,
			get(req, res) {
				rd.#readRegistration(req, res);
			},
			post(req, res) {
				rd.#update(req, res);
			},
			delete(req, res) {
				rd.#delete(req, res);
			},
		});
		const router = new RdRouter(this);
		this.router = router;
		// RFC 9176 §4.3: the interfaces advertise their resource types in /.well-known/core;
		// ct=40 says they take and give link-format.
		router.add(RD_PATH, {
			rt: "core.rd",
			ct: FORMAT_LINK_FORMAT,
			title: "Resource directory: registration (RFC 9176)",
			post(req, res) {
				rd.#register(req, res);
			},
		});
		router.add(EP_LOOKUP_PATH, {
			rt: "core.rd-lookup-ep",
			ct: FORMAT_LINK_FORMAT,
			title: "Endpoint lookup",
			get(req, res) {
				rd.#lookup(req, res, false);
			},
		});
		router.add(RES_LOOKUP_PATH, {
			rt: "core.rd-lookup-res",
			ct: FORMAT_LINK_FORMAT,
			title: "Resource lookup",
			get(req, res) {
				rd.#lookup(req, res, true);
			},
		});
		router.add(SIMPLE_PATH, {
			hidden: true,
			post(req, res) {
				return rd.#simpleRegister(req, res);
			},
		});
	}

	/** Lets simple registration (§5.1) send its GET through the endpoint serving the directory. */
	attach(endpoint: Endpoint): void {
		this.#endpoint = endpoint;
	}

	/** Number of registrations. */
	get size(): number {
		return this.#byId.size;
	}

	/** The registrations in registration order (a copy). */
	registrations(): Registration[] {
		return [...this.#byId.values()];
	}

	/** The registration at a registration resource number, if any. */
	byId(id: number): Registration | undefined {
		return this.#byId.get(id);
	}

	/** The registration of endpoint `ep` in sector `d`, if any. */
	find(ep: string, d?: string): Registration | undefined {
		return this.#byKey.get(key(ep, d));
	}

	/** Stops the expiry timer; the registrations stay readable (snapshot). Safe to call twice. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#timer.close();
		this.#armedAt = -1;
	}

	// ---------------------------------------------------------------- registration (§5)

	#register(req: CoapRequest, res: ResponseBuilder): void {
		const params = readParams(req.query);
		if (typeof params === "string") return badRequest(res, params);
		if (params.ep === undefined) return badRequest(res, "ep (endpoint name) is required (RFC 9176 §5)");
		const links = this.#readLinks(req, res);
		if (links === null) return;
		const reg = this.#store(params, links, params.base ?? sourceBase(req.address, req.port), params.base !== undefined, res);
		if (reg === null) return;
		// §5: 2.01 Created, the registration resource in Location-Path.
		res.code = CODE_CREATED;
		res.locationPath = ["reg", String(reg.id)];
	}

	/** §5.1: POST /.well-known/rd?ep=...; the links come from the registrant's /.well-known/core. */
	async #simpleRegister(req: CoapRequest, res: ResponseBuilder): Promise<void> {
		const params = readParams(req.query);
		if (typeof params === "string") return badRequest(res, params);
		if (params.ep === undefined) return badRequest(res, "ep (endpoint name) is required (RFC 9176 §5.1)");
		if (params.base !== undefined) return badRequest(res, "simple registration takes no base: the directory uses the source address (RFC 9176 §5.1)");
		if (req.payload.length > 0) return badRequest(res, "simple registration has no payload: the directory reads /.well-known/core (RFC 9176 §5.1)");
		const endpoint = this.#endpoint;
		if (endpoint === undefined) {
			res.send(CODE_SERVICE_UNAVAILABLE, "simple registration is not available here", FORMAT_TEXT);
			return;
		}
		const address = req.address;
		const port = req.port;
		const base = sourceBase(address, port);
		let text: string;
		try {
			const got = await endpoint.request({ method: "GET", address, port, path: [".well-known", "core"], accept: FORMAT_LINK_FORMAT, timeoutMs: this.#fetchTimeoutMs });
			if (!got.ok) return badRequest(res, "GET " + base + "/.well-known/core answered " + got.codeText);
			if (got.contentFormat >= 0 && got.contentFormat !== FORMAT_LINK_FORMAT) return badRequest(res, base + "/.well-known/core is not link-format (ct " + got.contentFormat + ")");
			if (!isUtf8(got.payload)) return badRequest(res, base + "/.well-known/core is not UTF-8");
			text = got.text();
		} catch (e) {
			const why = e instanceof CoapError ? e.code : String(e);
			res.send(CODE_GATEWAY_TIMEOUT, "no answer from " + base + "/.well-known/core (" + why + ")", FORMAT_TEXT);
			return;
		}
		const links = parseLinkFormat(text, this.#maxLinks);
		if (typeof links === "string") return badRequest(res, base + "/.well-known/core: " + links);
		if (this.#store(params, links, base, false, res) === null) return;
		res.code = CODE_CHANGED; // §5.1: 2.04 Changed
	}

	/** Creates the registration, or replaces the one with the same ep and d (§5). Null when refused (res filled). */
	#store(params: RegistrationParams, links: Link[], base: string, baseExplicit: boolean, res: ResponseBuilder): Registration | null {
		const k = key(params.ep!, params.d);
		const old = this.#byKey.get(k);
		if (old === undefined && this.#byId.size >= this.#maxRegistrations) {
			// RFC 7252 §5.9.3.4: 5.03 with Max-Age: try later.
			res.send(CODE_SERVICE_UNAVAILABLE, "directory full (" + this.#maxRegistrations + " registrations)", FORMAT_TEXT);
			res.maxAge = 60;
			return null;
		}
		const lt = params.lt ?? DEFAULT_LT;
		const expiresAt = this.#clock.now() + lt * 1000;
		let reg: Registration;
		if (old !== undefined) {
			// Replaced in place: same registration resource, new everything else.
			old.lt = lt;
			old.base = base;
			old.baseExplicit = baseExplicit;
			old.attributes = params.attributes;
			old.setLinks(links);
			old.expiresAt = expiresAt;
			reg = old;
		} else {
			reg = new Registration(this.#nextId++, params.ep!, params.d, lt, base, baseExplicit, params.attributes, links, expiresAt);
			this.#byId.set(reg.id, reg);
			this.#byKey.set(k, reg);
		}
		this.#changed(old !== undefined ? "replaced" : "registered", reg);
		this.#arm(expiresAt);
		return reg;
	}

	/** The request's links: link-format (ct 40, or no Content-Format), UTF-8, parsed. Null when refused (res filled). */
	#readLinks(req: CoapRequest, res: ResponseBuilder): Link[] | null {
		const cf = req.contentFormat;
		if (cf >= 0 && cf !== FORMAT_LINK_FORMAT) {
			res.send(CODE_UNSUPPORTED_CONTENT_FORMAT, "registration payloads are application/link-format (ct 40), got ct " + cf, FORMAT_TEXT);
			return null;
		}
		const payload = req.payload;
		if (!isUtf8(payload)) {
			badRequest(res, "payload is not UTF-8");
			return null;
		}
		const links = parseLinkFormat(utf8Decode(payload), this.#maxLinks);
		if (typeof links === "string") {
			badRequest(res, "payload is not link-format (RFC 6690): " + links);
			return null;
		}
		return links;
	}

	// ---------------------------------------------------------------- registration resources

	/** The registration a /reg/N request names (RdRouter.match found it, but it may have expired meanwhile). */
	#target(req: CoapRequest, res: ResponseBuilder): Registration | null {
		const path = req.path;
		const reg = path.length === 2 ? this.#byId.get(Number(path[1])) : undefined;
		if (reg === undefined) {
			res.code = CODE_NOT_FOUND; // expired or removed meanwhile
			return null;
		}
		return reg;
	}

	/** §5.3.1: registration update; renews the lifetime, applies lt, base and attributes. */
	#update(req: CoapRequest, res: ResponseBuilder): void {
		const reg = this.#target(req, res);
		if (reg === null) return;
		const params = readParams(req.query);
		if (typeof params === "string") return badRequest(res, params);
		if (params.ep !== undefined || params.d !== undefined) return badRequest(res, "ep and d cannot be changed by an update: register again (RFC 9176 §5.3.1)");
		let links: Link[] | null = null;
		if (req.payload.length > 0) {
			// The changed-links update (an extension, see the file header).
			links = this.#readLinks(req, res);
			if (links === null) return;
		}
		if (params.lt !== undefined) reg.lt = params.lt;
		if (params.base !== undefined) {
			reg.base = params.base;
			reg.baseExplicit = true;
		} else if (!reg.baseExplicit) reg.base = sourceBase(req.address, req.port); // §5.3.1: follows the source address
		for (const a of params.attributes) setAttribute(reg.attributes, a);
		if (links !== null) reg.setLinks(links);
		reg.expiresAt = this.#clock.now() + reg.lt * 1000;
		this.#changed("updated", reg);
		this.#arm(reg.expiresAt);
		res.code = CODE_CHANGED;
	}

	/** §5.3.2: registration removal. */
	#delete(req: CoapRequest, res: ResponseBuilder): void {
		const reg = this.#target(req, res);
		if (reg === null) return;
		this.#remove(reg, "removed");
		res.code = CODE_DELETED;
	}

	/** §5.3.3: GET on a registration resource gives its links as registered. */
	#readRegistration(req: CoapRequest, res: ResponseBuilder): void {
		const reg = this.#target(req, res);
		if (reg === null) return;
		res.send(CODE_CONTENT, reg.linksText, FORMAT_LINK_FORMAT);
	}

	#remove(reg: Registration, why: "removed" | "expired"): void {
		this.#byId.delete(reg.id);
		this.#byKey.delete(key(reg.ep, reg.d));
		this.#changed(why, reg);
	}

	// ---------------------------------------------------------------- lookup (§6)

	#lookup(req: CoapRequest, res: ResponseBuilder, resources: boolean): void {
		const query = req.query;
		const cacheKey = (resources ? "res?" : "ep?") + query.join("&");
		if (this.#cacheGeneration !== this.#generation) {
			this.#cache.length = 0;
			this.#cacheGeneration = this.#generation;
		}
		let hit: CachedLookup | undefined;
		for (const c of this.#cache) if (c.key === cacheKey) hit = c;
		if (hit === undefined) {
			const q = readLookupQuery(query);
			if (typeof q === "string") return badRequest(res, q);
			const text = resources ? resourceLookup(this.#byId.values(), q) : endpointLookup(this.#byId.values(), q);
			const body = utf8Bytes(text);
			hit = new CachedLookup(cacheKey, body, etagOf(body));
			if (this.#cache.length >= LOOKUP_CACHE_SIZE) this.#cache.shift();
			this.#cache.push(hit);
		}
		res.send(CODE_CONTENT, hit.body, FORMAT_LINK_FORMAT);
		res.etag = hit.etag;
	}

	// ---------------------------------------------------------------- lifetime

	/** Arms the expiry timer for `at` unless it is armed for an earlier time. */
	#arm(at: number): void {
		if (this.#closed) return;
		if (this.#armedAt >= 0 && this.#armedAt <= at) return;
		this.#armedAt = at;
		this.#timer.schedule(at);
	}

	/** The timer fired: removes what expired, re-arms for the earliest remaining expiry. */
	expire(): void {
		this.#armedAt = -1;
		if (this.#closed) return;
		const now = this.#clock.now();
		let next = -1;
		for (const reg of [...this.#byId.values()]) {
			if (reg.expiresAt <= now) this.#remove(reg, "expired");
			else if (next < 0 || reg.expiresAt < next) next = reg.expiresAt;
		}
		if (next >= 0) this.#arm(next);
	}

	#changed(kind: DirectoryEventKind, reg: Registration): void {
		this.#generation++;
		try {
			this.#onEvent?.(kind, reg);
		} finally {
			this.#onChange?.();
		}
	}

	// ---------------------------------------------------------------- persistence

	/** The registrations as plain data (expiry as the time left now). */
	snapshot(): DirectorySnapshot {
		const now = this.#clock.now();
		const registrations: RegistrationRecord[] = [];
		for (const r of this.#byId.values()) {
			registrations.push({
				id: r.id,
				ep: r.ep,
				d: r.d ?? null,
				lt: r.lt,
				base: r.base,
				baseExplicit: r.baseExplicit,
				attributes: r.attributes.map((a) => [a.name, a.value]),
				links: r.linksText,
				remainingMs: Math.max(0, Math.round(r.expiresAt - now)),
			});
		}
		return { nextId: this.#nextId, registrations };
	}

	/**
	 * Loads registrations from a snapshot, `elapsedMs` after it was taken (those whose time ran
	 * out are dropped). Replaces nothing: call on an empty directory.
	 * @throws TypeError naming the first malformed record (a store that is not what this wrote).
	 */
	restore(snapshot: DirectorySnapshot, elapsedMs = 0): void {
		if (this.#byId.size > 0) throw new TypeError("restore() needs an empty directory");
		if (snapshot === null || typeof snapshot !== "object" || !Number.isInteger(snapshot.nextId) || snapshot.nextId < 1 || !Array.isArray(snapshot.registrations)) throw new TypeError("not a directory snapshot (needs nextId and registrations)");
		const now = this.#clock.now();
		const loaded: Registration[] = [];
		const seenIds = new Set<number>();
		const seenKeys = new Set<string>();
		snapshot.registrations.forEach((r, i) => {
			const where = "registration " + i;
			if (r === null || typeof r !== "object") throw new TypeError(where + " is not an object");
			if (!Number.isInteger(r.id) || r.id < 1 || r.id >= snapshot.nextId || seenIds.has(r.id)) throw new TypeError(where + ": bad or repeated id");
			if (typeof r.ep !== "string" || (r.d !== null && typeof r.d !== "string") || typeof r.base !== "string" || typeof r.lt !== "number") throw new TypeError(where + ": ep, d and base must be strings, lt a number");
			const query = ["ep=" + r.ep, "lt=" + String(r.lt), "base=" + r.base];
			if (r.d !== null) query.push("d=" + r.d);
			const params = readParams(query);
			if (typeof params === "string") throw new TypeError(where + ": " + params);
			if (!Array.isArray(r.attributes) || !r.attributes.every((a) => Array.isArray(a) && a.length === 2 && typeof a[0] === "string" && a[0].length > 0 && (a[1] === null || typeof a[1] === "string"))) throw new TypeError(where + ": attributes must be [name, value] pairs");
			if (typeof r.links !== "string") throw new TypeError(where + ": links must be link-format text");
			const links = parseLinkFormat(r.links, this.#maxLinks);
			if (typeof links === "string") throw new TypeError(where + ": links: " + links);
			if (typeof r.remainingMs !== "number" || !(r.remainingMs >= 0)) throw new TypeError(where + ": remainingMs must be a number >= 0");
			if (typeof r.baseExplicit !== "boolean") throw new TypeError(where + ": baseExplicit must be true or false");
			const k = key(r.ep, r.d ?? undefined);
			if (seenKeys.has(k)) throw new TypeError(where + ": endpoint " + r.ep + " is registered twice");
			seenIds.add(r.id);
			seenKeys.add(k);
			const left = r.remainingMs - elapsedMs;
			if (left <= 0) return; // expired while the directory was down
			const attributes: Attribute[] = r.attributes.map((a) => ({ name: a[0], value: a[1] }));
			loaded.push(new Registration(r.id, r.ep, r.d ?? undefined, params.lt!, r.base, r.baseExplicit, attributes, links, now + left));
		});
		loaded.sort((a, b) => a.id - b.id);
		for (const reg of loaded) {
			this.#byId.set(reg.id, reg);
			this.#byKey.set(key(reg.ep, reg.d), reg);
			this.#arm(reg.expiresAt);
		}
		this.#nextId = snapshot.nextId;
		this.#generation++;
	}
}

/**
 * The directory's router: the fixed interfaces, plus /reg/N for every registration (a path the
 * Router's exact matching cannot hold, so match() looks it up).
 */
class RdRouter extends Router {
	readonly #rd: ResourceDirectory;
	constructor(rd: ResourceDirectory) {
		super();
		this.#rd = rd;
	}

	override match(view: MessageView): Resource | undefined {
		const fixed = super.match(view);
		if (fixed !== undefined) return fixed;
		// /reg/N: exactly two Uri-Path options, "reg" and the decimal number of a registration.
		const first = view.find(OPT_URI_PATH);
		if (first < 0 || view.string(first) !== "reg") return undefined;
		const second = view.find(OPT_URI_PATH, first + 1);
		if (second < 0 || view.find(OPT_URI_PATH, second + 1) >= 0) return undefined;
		const n = view.string(second);
		if (!/^[1-9][0-9]{0,14}$/.test(n) || this.#rd.byId(Number(n)) === undefined) return undefined;
		return this.#rd.registrationResource;
	}
}

function onExpiryTimer(this: ResourceDirectory): void {
	this.expire();
}

function key(ep: string, d: string | undefined): string {
	return d === undefined ? ep : ep + "\u0000" + d;
}

/** RFC 7252 §5.9.2.1 4.00 Bad Request with a diagnostic payload (§5.5.2). */
function badRequest(res: ResponseBuilder, diagnostic: string): void {
	res.send(CODE_BAD_REQUEST, diagnostic, FORMAT_TEXT);
}

/** Replaces the value of attribute `a.name`, or appends it. */
function setAttribute(list: Attribute[], a: Attribute): void {
	for (let i = 0; i < list.length; i++) {
		if (list[i]!.name === a.name) {
			list[i] = a;
			return;
		}
	}
	list.push(a);
}

/** A 4-byte ETag from the body's content (FNV-1a), so an unchanged lookup validates (2.03) across changes elsewhere. */
function etagOf(body: Uint8Array): Uint8Array {
	let h = 0x811c9dc5;
	for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body[i]!, 0x01000193) >>> 0;
	return Uint8Array.of(h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
}
