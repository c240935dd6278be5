/**
 * The server's resource tree: resources registered by path with per-method handlers and
 * RFC 6690 link attributes. Matching compares the request's Uri-Path option bytes against
 * segments encoded once at registration (no string decoding per request).
 * `/.well-known/core` is served from the registered resources (RFC 6690 §4, see
 * linkformat.ts) unless the application registers that path itself.
 * A resource registered with `subtree: true` also answers every path below its own (a file
 * server, a proxy-like tree): exact paths win over subtrees, a longer subtree over a shorter
 * one, and `/.well-known/core` stays generated unless registered exactly.
 * Leaves out: wildcards inside a path, Uri-Host virtual hosting (Uri-Host is accepted and
 * ignored: one origin per endpoint).
 */
import { CODE_DELETE, CODE_FETCH, CODE_GET, CODE_IPATCH, CODE_PATCH, CODE_POST, CODE_PUT } from "../constants.js";
import { OPT_URI_PATH } from "../options.js";
import { utf8Bytes } from "../wire/utf8.js";
import type { MessageView } from "../wire/view.js";
import type { CoapRequest } from "./request.js";
import type { ResponseBuilder } from "./response.js";

/** A request handler. Sync, or async (returns a Promise): then the request is answered when it settles. */
export type Handler = (request: CoapRequest, response: ResponseBuilder) => void | Promise<void>;

export interface ResourceOptions {
	get?: Handler;
	post?: Handler;
	put?: Handler;
	delete?: Handler;
	fetch?: Handler;
	patch?: Handler;
	ipatch?: Handler;
	/** RFC 6690 §3.1 resource type(s). */
	rt?: string | readonly string[];
	/** RFC 6690 §3.2 interface description(s). */
	if?: string | readonly string[];
	/** Content formats the resource can produce (link attribute `ct`; also enforces Accept: 4.06). */
	ct?: number | readonly number[];
	/** Content formats accepted in request payloads; a request with another gets 4.15. */
	accepts?: readonly number[];
	/** RFC 6690 §3.3 maximum size estimate. */
	sz?: number;
	/** RFC 7641 §6: the resource is observable (link attribute `obs`). */
	obs?: boolean;
	title?: string;
	/** Leave the resource out of /.well-known/core. */
	hidden?: boolean;
	/**
	 * The resource also answers every path below its own (e.g. "/files" answers "/files/a/b";
	 * "/" answers everything not registered otherwise). The handler reads the whole path from
	 * `request.path`; `changed(match)` picks which observers of the tree to notify.
	 */
	subtree?: boolean;
	/**
	 * RFC 9175 §2.3: requests with a method other than GET/FETCH must prove freshness with an
	 * Echo value (the first attempt gets 4.01 Unauthorized with an Echo option to repeat).
	 */
	fresh?: boolean;
	/**
	 * The ETag of the resource's current representation, or null when it has none. With it the
	 * server answers conditional requests itself (RFC 7252 §5.10.8, RFC 8132 §3.2): If-Match
	 * with no matching ETag, or If-None-Match on a resource that exists, gets 4.12 Precondition
	 * Failed before the handler runs.
	 */
	etag?: () => Uint8Array | null;
	/**
	 * The handlers evaluate If-Match and If-None-Match themselves (RFC 7252 §5.10.8), e.g. a
	 * subtree whose paths have representations of their own. Without it and without `etag`,
	 * the stack judges them before the handler runs, knowing only that the resource exists.
	 */
	conditional?: boolean;
	/**
	 * RFC 8613: the resource is served only to requests protected with OSCORE; an unprotected
	 * request gets 4.01 Unauthorized whatever its method. (Any resource answers a protected
	 * request inside the protection; the handler reads the context from `request.oscore`.)
	 */
	requireOscore?: boolean;
}

export class Resource {
	readonly path: string;
	readonly segments: readonly Uint8Array[];
	readonly handlers: readonly (Handler | undefined)[]; // indexed by method code 1..7
	readonly rt: readonly string[];
	readonly if: readonly string[];
	readonly ct: readonly number[];
	readonly accepts: readonly number[] | undefined;
	readonly sz: number;
	readonly obs: boolean;
	readonly title: string | undefined;
	readonly hidden: boolean;
	readonly subtree: boolean;
	readonly fresh: boolean;
	readonly etag: (() => Uint8Array | null) | undefined;
	readonly conditional: boolean;
	readonly requireOscore: boolean;
	readonly #router: Router | null;

	constructor(path: string, o: ResourceOptions, router: Router | null = null) {
		this.#router = router;
		const segs = path.split("/").filter((s) => s.length > 0);
		this.path = "/" + segs.join("/");
		this.segments = Object.freeze(segs.map((s) => utf8Bytes(s)));
		const h: (Handler | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
		h[CODE_GET] = o.get;
		h[CODE_POST] = o.post;
		h[CODE_PUT] = o.put;
		h[CODE_DELETE] = o.delete;
		h[CODE_FETCH] = o.fetch;
		h[CODE_PATCH] = o.patch;
		h[CODE_IPATCH] = o.ipatch;
		this.handlers = Object.freeze(h);
		this.rt = Object.freeze(list(o.rt));
		this.if = Object.freeze(list(o.if));
		this.ct = Object.freeze(o.ct === undefined ? [] : typeof o.ct === "number" ? [o.ct] : o.ct.slice());
		this.accepts = o.accepts ? Object.freeze(o.accepts.slice()) : undefined;
		this.sz = o.sz ?? -1;
		this.obs = o.obs === true;
		this.title = o.title;
		this.hidden = o.hidden === true;
		this.subtree = o.subtree === true;
		this.fresh = o.fresh === true;
		this.etag = o.etag;
		this.conditional = o.conditional === true;
		this.requireOscore = o.requireOscore === true;
	}

	/**
	 * RFC 7641 §4.2: the resource's state changed: every endpoint serving this router sends
	 * its observers of this resource a notification (the GET/FETCH handler runs again for each).
	 * `match`, when given, picks the observers whose registering request it accepts (for a
	 * subtree: the paths that changed); it is called once per observer of the resource.
	 */
	changed(match?: (request: CoapRequest) => boolean): void {
		this.#router?.changed(this, match);
	}

	/** Handler for a method code, or undefined (→ 4.05). */
	handler(method: number): Handler | undefined {
		return method < this.handlers.length ? this.handlers[method] : undefined;
	}
}

function list(v: string | readonly string[] | undefined): string[] {
	return v === undefined ? [] : typeof v === "string" ? [v] : v.slice();
}

/** Told when an observable resource changed (an endpoint serving the router). */
export interface ChangeListener {
	resourceChanged(resource: Resource, match?: (request: CoapRequest) => boolean): void;
}

export class Router {
	readonly resources: Resource[] = [];
	readonly #listeners: ChangeListener[] = [];

	/** Registers a resource at `path` ("/sensors/temp"). Throws TypeError on a duplicate path. */
	add(path: string, options: ResourceOptions): Resource {
		const r = new Resource(path, options, this);
		for (const other of this.resources) if (other.path === r.path) throw new TypeError("resource " + r.path + " is already registered");
		this.resources.push(r);
		return r;
	}

	/** Notifies the observers of `resource` (or of the resource at a path). See Resource.changed(). */
	changed(resource: Resource | string, match?: (request: CoapRequest) => boolean): void {
		let r: Resource | undefined;
		if (typeof resource === "string") {
			const path = "/" + resource.split("/").filter((s) => s.length > 0).join("/");
			r = this.resources.find((x) => x.path === path);
			if (r === undefined) throw new TypeError("no resource " + path);
		} else r = resource;
		for (let i = 0; i < this.#listeners.length; i++) this.#listeners[i]!.resourceChanged(r, match);
	}

	/** An endpoint serving this router subscribes to changes (once, at its construction). */
	listen(listener: ChangeListener): void {
		if (this.#listeners.indexOf(listener) < 0) this.#listeners.push(listener);
	}

	/** Removes a listener (an endpoint that closed). */
	unlisten(listener: ChangeListener): void {
		const i = this.#listeners.indexOf(listener);
		if (i >= 0) this.#listeners.splice(i, 1);
	}

	/**
	 * The resource whose path equals the request's Uri-Path options, else the subtree resource
	 * with the longest path that begins the request's, or undefined.
	 */
	match(view: MessageView): Resource | undefined {
		const list = this.resources;
		let tree: Resource | undefined;
		for (let k = 0; k < list.length; k++) {
			const r = list[k]!;
			if (pathEquals(view, r.segments)) return r;
			if (r.subtree && (tree === undefined || r.segments.length > tree.segments.length) && pathStartsWith(view, r.segments)) tree = r;
		}
		return tree;
	}
}

/** True when the request's Uri-Path options begin with the pre-encoded segments (a subtree's path). */
export function pathStartsWith(view: MessageView, segments: readonly Uint8Array[]): boolean {
	let s = 0;
	const bytes = view.bytes;
	for (let i = view.find(OPT_URI_PATH); i >= 0 && s < segments.length; i = view.find(OPT_URI_PATH, i + 1)) {
		const seg = segments[s++]!;
		const len = view.optLength[i]!;
		if (seg.length !== len) return false;
		const off = view.optOffset[i]!;
		for (let j = 0; j < len; j++) if (bytes[off + j] !== seg[j]) return false;
	}
	return s === segments.length;
}

/** Compares the Uri-Path options of `view` with pre-encoded segments, byte by byte. */
export function pathEquals(view: MessageView, segments: readonly Uint8Array[]): boolean {
	let s = 0;
	let root = segments.length === 0;
	const bytes = view.bytes;
	for (let i = view.find(OPT_URI_PATH); i >= 0; i = view.find(OPT_URI_PATH, i + 1)) {
		const len = view.optLength[i]!;
		// RFC 7252 §6.4: a single empty Uri-Path segment ("/") equals the root path; a second
		// one ("//") does not.
		if (len === 0 && root) {
			root = false;
			continue;
		}
		if (s >= segments.length) return false;
		const seg = segments[s++]!;
		if (seg.length !== len) return false;
		const off = view.optOffset[i]!;
		for (let j = 0; j < len; j++) if (bytes[off + j] !== seg[j]) return false;
	}
	return s === segments.length;
}
