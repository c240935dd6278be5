/**
 * A CoAP file server over a directory (Node host), as aiocoap-fileserver and the file service
 * of draft-amsuess-core-coap-kitchensink: GET of a file (block-wise for large ones, RFC 7959,
 * by the stack's Block2 slicing), Content-Format from the file name's extension, an ETag from
 * the content (RFC 7252 §5.10.6: 2.03 Valid for a GET that names it); GET of a directory (the
 * path ends in "/") as a link-format listing (RFC 6690: `</dir/file>;ct=0;sz=123`,
 * `</dir/sub/>;ct=40`); Observe of a file or directory (RFC 7641: a notification when its
 * content changes, found by polling stat once a second); PUT (2.01 Created or 2.04 Changed,
 * written atomically) and DELETE (2.02 Deleted) only when writing is allowed, with If-Match
 * and If-None-Match honoured (RFC 7252 §5.10.8: 4.12 Precondition Failed).
 *
 * Confinement: nothing outside the directory is ever read, listed or written. A Uri-Path
 * segment that is ".", "..", contains "/", "\" or NUL, or is empty before the last one gets
 * 4.00 (the client decoded any percent-encoding, so "%2e%2e" arrives as ".." and is refused);
 * a path whose real path (symlinks resolved) leaves the directory gets 4.03, as does one that
 * is neither a regular file nor a directory (devices, FIFOs). Leaves out: races with other
 * processes that swap a checked directory for a symlink between the check and the open (as
 * aiocoap, it assumes nobody else rewrites the tree while it serves), directories created or
 * deleted over CoAP, and files larger than `maxFileSize` (5.00 with a diagnostic).
 */
import { createHash, randomBytes } from "node:crypto";
import { promises as fs, type Stats } from "node:fs";
import { extname, join, relative, resolve as resolvePath, sep } from "node:path";
import {
	CODE_BAD_REQUEST,
	CODE_CHANGED,
	CODE_CREATED,
	CODE_DELETED,
	CODE_FORBIDDEN,
	CODE_INTERNAL_SERVER_ERROR,
	CODE_NOT_FOUND,
	CODE_PRECONDITION_FAILED,
	CODE_UNAUTHORIZED,
	FORMAT_LINK_FORMAT,
} from "../../modules/coap/constants.js";
import { OPT_IF_MATCH, OPT_IF_NONE_MATCH, OPT_OBSERVE } from "../../modules/coap/options.js";
import type { CoapRequest } from "../../modules/coap/server/request.js";
import type { ResponseBuilder } from "../../modules/coap/server/response.js";
import { type Resource, Router } from "../../modules/coap/server/router.js";

export interface FileServerOptions {
	/** Allow PUT and DELETE (default false: those methods get 4.05 Method Not Allowed). */
	write?: boolean;
	/**
	 * PUT and DELETE only inside OSCORE (RFC 8613): an unprotected write gets 4.01 Unauthorized
	 * "OSCORE required" (default false). Reads answer both, as aiocoap-fileserver's do.
	 */
	writeNeedsOscore?: boolean;
	/** Largest file served or written, in bytes (default 64 MiB). */
	maxFileSize?: number;
	/** How often observed files are checked for changes (default 1000 ms). */
	pollMs?: number;
	/** Most paths watched for observers at once (default 256; the oldest is dropped). */
	maxWatched?: number;
	/** Told of each request handled: method, path, response code (for `-v`-like logs). */
	onRequest?: (method: string, path: string, code: number) => void;
}

/** File name extensions and their content formats (RFC 7252 §12.3 registry; RFC 8428 §12.3 SenML). */
const EXTENSIONS: Readonly<Record<string, number>> = Object.freeze({
	".txt": 0,
	".text": 0,
	".md": 0,
	".csv": 0,
	".log": 0,
	".html": 0,
	".htm": 0,
	".wlnk": FORMAT_LINK_FORMAT,
	".link": FORMAT_LINK_FORMAT,
	".xml": 41,
	".bin": 42,
	".exi": 47,
	".json": 50,
	".cbor": 60,
	".senmlj": 110,
	".sensmlj": 111,
	".senmlc": 112,
	".sensmlc": 113,
	".senmle": 114,
	".sensmle": 115,
	".senmlx": 310,
	".sensmlx": 311,
	".png": 23,
	".jpg": 22,
	".jpeg": 22,
	".gif": 21,
	".js": 10002,
	".mjs": 10002,
	".css": 20000,
	".svg": 30000,
});

/** The content format of a file name (by extension), or -1 when unknown. */
export function formatOfName(name: string): number {
	return EXTENSIONS[extname(name).toLowerCase()] ?? -1;
}

/** An 8-byte ETag from content (RFC 7252 §5.10.6: any opaque value that changes with it). */
function etagOf(bytes: Uint8Array | string): Uint8Array {
	return new Uint8Array(createHash("sha256").update(bytes).digest().subarray(0, 8));
}

/** Why a request path cannot be served: a response code and a diagnostic (RFC 7252 §5.5.2). */
class Refusal {
	readonly code: number;
	readonly message: string;
	constructor(code: number, message: string) {
		this.code = code;
		this.message = message;
	}
}

/** A path as the request names it: its segments, and whether it ends in "/" (a directory). */
interface Named {
	segments: string[];
	directory: boolean;
	/** "/a/b" or "/a/" for logs and links. */
	text: string;
}

/** Checks the Uri-Path segments; a Refusal for anything that could name a place outside the root. */
export function checkSegments(path: readonly string[]): Named | Refusal {
	// RFC 7252 §6.5: a trailing empty segment ("/dir/") marks a directory; "/" alone is one empty segment.
	const directory = path.length === 0 || path[path.length - 1] === "";
	const segments = directory ? path.slice(0, -1) : path.slice();
	for (const s of segments) {
		if (s === "") return new Refusal(CODE_BAD_REQUEST, "empty path segment");
		if (s === "." || s === "..") return new Refusal(CODE_BAD_REQUEST, "path segment " + JSON.stringify(s) + " not allowed");
		if (s.indexOf("/") >= 0 || s.indexOf("\\") >= 0 || s.indexOf("\0") >= 0) return new Refusal(CODE_BAD_REQUEST, "path segment with '/', '\\' or NUL not allowed");
	}
	const text = "/" + segments.join("/") + (directory && segments.length > 0 ? "/" : "");
	return { segments, directory, text };
}

/** A path segment for a link (RFC 3986 §3.3 pchar: everything else percent-encoded). */
function linkSegment(s: string): string {
	return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** A file's content as last read, reused while its stat says it has not changed. */
interface Cached {
	key: string;
	bytes: Uint8Array;
	etag: Uint8Array;
}

/** What a watched path looked like at the last check. */
interface Watched {
	path: string;
	stamp: string;
}

function stampOf(st: Stats | null): string {
	return st === null ? "gone" : st.ino + ":" + st.size + ":" + st.mtimeMs + ":" + st.ctimeMs;
}

/** Node's ErrnoException code, or "". */
function errno(e: unknown): string {
	return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "";
}

export class FileServer {
	readonly router: Router;
	readonly resource: Resource;
	readonly root: string;
	readonly #options: Required<Omit<FileServerOptions, "onRequest">> & Pick<FileServerOptions, "onRequest">;
	/** The root with symlinks resolved (set by start()). */
	#realRoot = "";
	readonly #cache = new Map<string, Cached>();
	#cacheBytes = 0;
	readonly #watched = new Map<string, Watched>();
	#poll: ReturnType<typeof setInterval> | undefined;
	#polling = false;

	constructor(root: string, options: FileServerOptions = {}) {
		this.root = resolvePath(root);
		this.#options = {
			write: options.write === true,
			writeNeedsOscore: options.writeNeedsOscore === true,
			maxFileSize: options.maxFileSize ?? 64 * 1024 * 1024,
			pollMs: options.pollMs ?? 1000,
			maxWatched: options.maxWatched ?? 256,
			onRequest: options.onRequest,
		};
		this.router = new Router();
		const write = this.#options.write;
		// One subtree resource at the root answers every path (router.ts).
		this.resource = this.router.add("/", {
			subtree: true,
			conditional: true, // If-Match / If-None-Match per file, in #preconditions
			obs: true,
			ct: [],
			rt: "tag:chrysn@fsfe.org,2022:fileserver", // the resource type aiocoap-fileserver registers
			title: "Files" + (write ? " (writable)" : ""),
			get: (req, res) => this.#get(req, res),
			put: write ? (req, res) => this.#put(req, res) : undefined,
			delete: write ? (req, res) => this.#delete(req, res) : undefined,
		});
	}

	/** Checks the root (a readable directory) and starts watching observed paths. Throws when it is not one. */
	async start(): Promise<void> {
		const st = await fs.stat(this.root);
		if (!st.isDirectory()) throw new Error(this.root + " is not a directory");
		this.#realRoot = await fs.realpath(this.root);
		this.#poll = setInterval(() => void this.#check(), this.#options.pollMs);
		this.#poll.unref();
	}

	/** Stops watching. */
	close(): void {
		if (this.#poll !== undefined) clearInterval(this.#poll);
		this.#poll = undefined;
		this.#watched.clear();
		this.#cache.clear();
		this.#cacheBytes = 0;
	}

	/** The real path for `named`, checked to be inside the root (a Refusal otherwise); `mustExist` false allows a missing last segment. */
	async #locate(named: Named, mustExist: boolean): Promise<string | Refusal> {
		const target = join(this.#realRoot, ...named.segments);
		let real: string;
		try {
			real = await fs.realpath(target);
		} catch (e) {
			if (errno(e) !== "ENOENT" || mustExist || named.segments.length === 0) return new Refusal(CODE_NOT_FOUND, "not found");
			// A file to create: its directory must exist inside the root.
			try {
				const dir = await fs.realpath(join(this.#realRoot, ...named.segments.slice(0, -1)));
				if (!this.#inside(dir)) return new Refusal(CODE_FORBIDDEN, "outside the served directory");
				return join(dir, named.segments[named.segments.length - 1]!);
			} catch {
				return new Refusal(CODE_NOT_FOUND, "no directory /" + named.segments.slice(0, -1).join("/"));
			}
		}
		if (!this.#inside(real)) return new Refusal(CODE_FORBIDDEN, "outside the served directory");
		return real;
	}

	#inside(real: string): boolean {
		const rel = relative(this.#realRoot, real);
		return rel === "" || (!rel.startsWith(".." + sep) && rel !== ".." && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
	}

	/** A write that must come inside OSCORE and did not (RFC 8613 §8.2 leaves authorization to the server: 4.01). */
	#unprotectedWrite(req: CoapRequest): boolean {
		return this.#options.writeNeedsOscore && req.oscore === null;
	}

	#refuse(res: ResponseBuilder, r: Refusal): void {
		res.code = r.code;
		res.payload = r.message;
	}

	#log(req: CoapRequest, res: ResponseBuilder): void {
		this.#options.onRequest?.(req.methodName, req.pathText, res.code);
	}

	async #get(req: CoapRequest, res: ResponseBuilder): Promise<void> {
		try {
			await this.#serve(req, res);
		} finally {
			this.#log(req, res);
		}
	}

	async #serve(req: CoapRequest, res: ResponseBuilder): Promise<void> {
		const named = checkSegments(req.path);
		if (named instanceof Refusal) return this.#refuse(res, named);
		const real = await this.#locate(named, true);
		if (real instanceof Refusal) return this.#refuse(res, real);
		let st: Stats;
		try {
			st = await fs.stat(real);
		} catch {
			return this.#refuse(res, new Refusal(CODE_NOT_FOUND, "not found"));
		}
		// RFC 7641 §4.1: a registration (Observe=0) makes the path watched for changes.
		if (req.view.uintOf(OPT_OBSERVE, -1) === 0) this.#watch(named.text, real);
		if (st.isDirectory()) {
			if (!named.directory) return this.#refuse(res, new Refusal(CODE_BAD_REQUEST, "a directory: add a trailing slash"));
			const listing = await this.#listing(named, real);
			res.code = 0x45;
			res.contentFormat = FORMAT_LINK_FORMAT;
			res.payload = listing;
			res.etag = etagOf(listing);
			return;
		}
		if (!st.isFile()) return this.#refuse(res, new Refusal(CODE_FORBIDDEN, "not a regular file"));
		if (named.directory) return this.#refuse(res, new Refusal(CODE_BAD_REQUEST, "not a directory: remove the trailing slash"));
		if (st.size > this.#options.maxFileSize) return this.#refuse(res, new Refusal(CODE_INTERNAL_SERVER_ERROR, "file larger than " + this.#options.maxFileSize + " bytes"));
		const file = await this.#read(real, st);
		res.code = 0x45;
		res.payload = file.bytes;
		res.etag = file.etag; // §5.10.6: the stack answers 2.03 Valid to a GET naming it
		const cf = formatOfName(named.segments[named.segments.length - 1]!);
		if (cf >= 0) res.contentFormat = cf;
	}

	/** The file's bytes and ETag, from the cache while stat says nothing changed (each Block2 request reads the file otherwise). */
	async #read(real: string, st: Stats): Promise<Cached> {
		const key = stampOf(st);
		const hit = this.#cache.get(real);
		if (hit !== undefined && hit.key === key) return hit;
		const bytes = new Uint8Array(await fs.readFile(real));
		const entry: Cached = { key, bytes, etag: etagOf(bytes) };
		if (hit !== undefined) this.#cacheBytes -= hit.bytes.length;
		this.#cache.delete(real);
		// Keep at most 64 MiB of recent files (Map order: oldest first).
		for (const [k, v] of this.#cache) {
			if (this.#cacheBytes + bytes.length <= 64 * 1024 * 1024) break;
			this.#cache.delete(k);
			this.#cacheBytes -= v.bytes.length;
		}
		this.#cache.set(real, entry);
		this.#cacheBytes += bytes.length;
		return entry;
	}

	/** RFC 6690 link-format of a directory: files with ct and sz, subdirectories with a trailing slash and ct=40. */
	async #listing(named: Named, real: string): Promise<string> {
		const names = (await fs.readdir(real)).sort();
		const links: string[] = [];
		const prefix = named.segments.map(linkSegment).join("/");
		for (const name of names) {
			let st: Stats;
			let inside: string;
			try {
				inside = await fs.realpath(join(real, name));
				if (!this.#inside(inside)) continue; // a symlink leading out is not listed
				st = await fs.stat(inside);
			} catch {
				continue; // vanished, or a dangling symlink
			}
			const href = "/" + (prefix === "" ? "" : prefix + "/") + linkSegment(name);
			if (st.isDirectory()) links.push("<" + href + "/>;ct=40");
			else if (st.isFile()) {
				const cf = formatOfName(name);
				links.push("<" + href + ">" + (cf >= 0 ? ";ct=" + cf : "") + ";sz=" + st.size);
			}
		}
		return links.join(",");
	}

	/** RFC 7252 §5.10.8: If-Match (a current ETag, or any for an empty value) and If-None-Match (nothing there). */
	#preconditions(req: CoapRequest, current: Uint8Array | null): boolean {
		const v = req.view;
		if (v.find(OPT_IF_NONE_MATCH) >= 0 && current !== null) return false;
		let i = v.find(OPT_IF_MATCH);
		if (i < 0) return true;
		if (current === null) return false;
		for (; i >= 0; i = v.find(OPT_IF_MATCH, i + 1)) {
			const value = v.value(i);
			if (value.length === 0) return true;
			if (value.length === current.length && value.every((b, k) => b === current[k])) return true;
		}
		return false;
	}

	/** The current ETag of the regular file at `real`, or null when there is none. */
	async #currentEtag(real: string): Promise<Uint8Array | null | Refusal> {
		let st: Stats;
		try {
			st = await fs.stat(real);
		} catch {
			return null;
		}
		if (st.isDirectory()) return new Refusal(CODE_BAD_REQUEST, "a directory");
		if (!st.isFile()) return new Refusal(CODE_FORBIDDEN, "not a regular file");
		if (st.size > this.#options.maxFileSize) return new Refusal(CODE_INTERNAL_SERVER_ERROR, "file larger than " + this.#options.maxFileSize + " bytes");
		return (await this.#read(real, st)).etag;
	}

	async #put(req: CoapRequest, res: ResponseBuilder): Promise<void> {
		try {
			if (this.#unprotectedWrite(req)) return this.#refuse(res, new Refusal(CODE_UNAUTHORIZED, "OSCORE required"));
			const named = checkSegments(req.path);
			if (named instanceof Refusal) return this.#refuse(res, named);
			if (named.directory) return this.#refuse(res, new Refusal(CODE_BAD_REQUEST, "cannot write a directory"));
			const real = await this.#locate(named, false);
			if (real instanceof Refusal) return this.#refuse(res, real);
			const current = await this.#currentEtag(real);
			if (current instanceof Refusal) return this.#refuse(res, current);
			if (!this.#preconditions(req, current)) return this.#refuse(res, new Refusal(CODE_PRECONDITION_FAILED, "precondition failed"));
			const body = req.payload;
			if (body.length > this.#options.maxFileSize) return this.#refuse(res, new Refusal(CODE_INTERNAL_SERVER_ERROR, "file larger than " + this.#options.maxFileSize + " bytes"));
			// Written beside the target, then renamed over it: readers see the old or the new file, never half.
			const tmp = real + "." + randomBytes(6).toString("hex") + ".tmp";
			try {
				await fs.writeFile(tmp, body, { flag: "wx" });
				await fs.rename(tmp, real);
			} catch (e) {
				await fs.rm(tmp, { force: true });
				return this.#refuse(res, new Refusal(CODE_INTERNAL_SERVER_ERROR, "cannot write: " + (errno(e) || "error")));
			}
			res.code = current === null ? CODE_CREATED : CODE_CHANGED; // RFC 7252 §5.8.3
			res.etag = etagOf(body);
			this.#changed(real);
		} finally {
			this.#log(req, res);
		}
	}

	async #delete(req: CoapRequest, res: ResponseBuilder): Promise<void> {
		try {
			if (this.#unprotectedWrite(req)) return this.#refuse(res, new Refusal(CODE_UNAUTHORIZED, "OSCORE required"));
			const named = checkSegments(req.path);
			if (named instanceof Refusal) return this.#refuse(res, named);
			if (named.directory) return this.#refuse(res, new Refusal(CODE_BAD_REQUEST, "cannot delete a directory"));
			const real = await this.#locate(named, true);
			if (real instanceof Refusal) return this.#refuse(res, real);
			const current = await this.#currentEtag(real);
			if (current instanceof Refusal) return this.#refuse(res, current);
			if (current === null) return this.#refuse(res, new Refusal(CODE_NOT_FOUND, "not found"));
			if (!this.#preconditions(req, current)) return this.#refuse(res, new Refusal(CODE_PRECONDITION_FAILED, "precondition failed"));
			try {
				await fs.unlink(real);
			} catch (e) {
				return this.#refuse(res, new Refusal(errno(e) === "ENOENT" ? CODE_NOT_FOUND : CODE_INTERNAL_SERVER_ERROR, "cannot delete: " + (errno(e) || "error")));
			}
			res.code = CODE_DELETED;
			this.#changed(real);
		} finally {
			this.#log(req, res);
		}
	}

	/** Remembers an observed (or requested) path so that its changes are noticed; bounded. */
	#watch(text: string, real: string): void {
		if (this.#watched.has(real)) return;
		if (this.#watched.size >= this.#options.maxWatched) {
			const oldest = this.#watched.keys().next().value;
			if (oldest !== undefined) this.#watched.delete(oldest);
		}
		this.#watched.set(real, { path: text, stamp: "" });
		void fs.stat(real).then(
			(st) => {
				const w = this.#watched.get(real);
				if (w !== undefined && w.stamp === "") w.stamp = stampOf(st);
			},
			() => {},
		);
	}

	/** A file changed through PUT or DELETE: its observers (and its directory's) are told now. */
	#changed(real: string): void {
		this.#cache.delete(real);
		void this.#check();
	}

	/** Polls the watched paths; notifies the observers of each one that changed (RFC 7641 §4.2). */
	async #check(): Promise<void> {
		if (this.#polling) return;
		this.#polling = true;
		try {
			for (const [real, w] of [...this.#watched]) {
				let st: Stats | null = null;
				try {
					st = await fs.stat(real);
				} catch {
					st = null;
				}
				const stamp = stampOf(st);
				if (w.stamp === "" || stamp === w.stamp) {
					w.stamp = stamp;
					continue;
				}
				w.stamp = stamp;
				let observed = false;
				this.resource.changed((request) => {
					const named = checkSegments(request.path);
					const hit = !(named instanceof Refusal) && named.text === w.path;
					observed ||= hit;
					return hit;
				});
				// Nobody observes this path any more: stop watching it.
				if (!observed) this.#watched.delete(real);
			}
		} finally {
			this.#polling = false;
		}
	}
}
