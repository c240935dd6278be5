/**
 * Credentials files in aiocoap's JSON format (aiocoap/credentials.py, FilesystemSecurityContext
 * of aiocoap/oscore.py), so that xscoap and aiocoap share them:
 *
 *   client: { "coap://[2001:db8::1]/*": { "oscore": { "basedir": "ctx/" } },
 *             "coap://host:5690/*": ":other",  ":other": { "oscore": { "basedir": "other/" } } }
 *   server: { ":client1": { "oscore": { "basedir": "client1/" } } }
 *
 * Keys are URI patterns (`*` for any characters) or ":labels"; a value is a credential object
 * with one key, or a ":label" naming another entry. Only "oscore" credentials exist here
 * (RFC 8613); "dtls", "tlscert", "edhoc-oscore", "any-of", "all-of" are refused with a message.
 * `basedir` is a directory relative to the current directory (as aiocoap reads it) holding
 * settings.json and/or secret.json with the context's parameters: sender-id, recipient-id,
 * secret (the Master Secret), salt, id-context, each as `_hex` or `_ascii` (e.g.
 * "sender-id_hex": "01"); "algorithm" ("AES-CCM-16-64-128", or its COSE number 10);
 * "kdf-hashfun" ("sha256"); "window" (the replay window, a multiple of 32). A key may appear in
 * one of the two files only.
 *
 * The sender sequence number persists in the same directory, in aiocoap's `sequence.json`
 * (`{"next-to-send": N, "received": "unknown"}`, written atomically and durably through
 * FileStore before numbers are used, RFC 8613 Appendix B.1.1), so a directory used by one tool
 * and then the other never reuses a number (not by both at once: aiocoap guards a directory
 * with a lock file, which xscoap does not take). A context found with a stored number starts
 * with an unknown replay window and recovers it with Echo (B.1.2).
 *
 * Every problem is one CredentialsError whose message names the file and the key.
 * Leaves out: aiocoap's CBOR diagnostic (.diag) credentials files; other algorithms than
 * AES-CCM-16-64-128 with HKDF-SHA-256.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { OscoreCrypto } from "../../modules/coap/oscore/aead.js";
import { SecurityContext, type SecurityContextParams } from "../../modules/coap/oscore/context.js";
import { DEFAULT_SEQUENCE_K } from "../../modules/coap/oscore/sequence.js";
import type { Store } from "../../modules/coap/store.js";
import { FileStore } from "./file-store.js";

/** A credentials file or context directory that cannot be used; the message names the file and the key. */
export class CredentialsError extends Error {
	override get name(): string {
		return "CredentialsError";
	}
}

/** What a credentials file yields. */
export interface Credentials {
	/** Client side: URI pattern → the context protecting requests to matching URIs. */
	readonly client: Record<string, SecurityContext>;
	/** Every context of the file once (server side: incoming requests are matched against all). */
	readonly contexts: readonly SecurityContext[];
	/** ":label" → context. */
	readonly labels: Readonly<Record<string, SecurityContext>>;
}

const CREDENTIAL_TYPES = ["dtls", "tlscert", "edhoc-oscore", "any-of", "all-of"];

/**
 * Reads a credentials file (aiocoap's JSON format) and derives its OSCORE contexts with
 * `crypto`. @throws CredentialsError
 */
export function loadCredentials(file: string, crypto: OscoreCrypto): Credentials {
	const top = readJson(file);
	if (top === null || typeof top !== "object" || Array.isArray(top)) throw new CredentialsError(file + ": a credentials file is a JSON object (URI patterns and :labels as keys)");
	const entries = top as Record<string, unknown>;
	const byDir = new Map<string, SecurityContext>();
	const direct = new Map<string, SecurityContext>();
	for (const key of Object.keys(entries)) {
		const v = entries[key];
		if (v === null || typeof v === "string") continue; // null: removed (aiocoap); strings: references, below
		if (typeof v !== "object" || Array.isArray(v)) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": a credential is an object such as {\"oscore\": {\"basedir\": \"DIR/\"}} or a \":label\"");
		const kinds = Object.keys(v as object);
		if (kinds.length !== 1) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": a credential object has exactly one key (found " + (kinds.join(", ") || "none") + ")");
		const kind = kinds[0]!;
		if (kind !== "oscore") {
			if (CREDENTIAL_TYPES.indexOf(kind) >= 0) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": credential type " + JSON.stringify(kind) + " is not supported by xscoap (only \"oscore\")");
			throw new CredentialsError(file + ": " + JSON.stringify(key) + ": unknown credential type " + JSON.stringify(kind) + " (xscoap knows \"oscore\")");
		}
		const o = (v as Record<string, unknown>).oscore;
		if (o === null || typeof o !== "object" || Array.isArray(o)) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": \"oscore\" takes an object {\"basedir\": \"DIR/\"}");
		const keys = Object.keys(o as object);
		const rec = o as Record<string, unknown>;
		// aiocoap's old name of basedir is contextfile.
		const dirKey = "basedir" in rec ? "basedir" : "contextfile" in rec ? "contextfile" : "";
		if (dirKey === "") throw new CredentialsError(file + ": " + JSON.stringify(key) + ": \"oscore\" needs \"basedir\" (the context's directory)");
		for (const k of keys) if (k !== dirKey) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": unknown key " + JSON.stringify(k) + " in \"oscore\" (it takes \"basedir\")");
		const dir = rec[dirKey];
		if (typeof dir !== "string" || dir === "") throw new CredentialsError(file + ": " + JSON.stringify(key) + ": \"" + dirKey + "\" must be a directory name");
		const abs = resolve(dir);
		let ctx = byDir.get(abs);
		if (ctx === undefined) {
			// The directory itself is named with the file and the key that point to it; what is
			// wrong inside it names settings.json or secret.json and the key there.
			let isDir: boolean;
			try {
				isDir = statSync(abs).isDirectory();
			} catch {
				throw new CredentialsError(file + ": " + JSON.stringify(key) + ": \"" + dirKey + "\" " + dir + ": no such OSCORE context directory (relative names are from the current directory, as in aiocoap)");
			}
			if (!isDir) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": \"" + dirKey + "\" " + dir + ": not a directory (an OSCORE context's basedir holds settings.json and secret.json)");
			ctx = loadContextDirectory(dir, crypto, key.startsWith(":") ? key.slice(1) : key);
			byDir.set(abs, ctx);
		}
		direct.set(key, ctx);
	}
	const client: Record<string, SecurityContext> = {};
	const labels: Record<string, SecurityContext> = {};
	for (const key of Object.keys(entries)) {
		let ctx = direct.get(key);
		if (ctx === undefined) {
			if (entries[key] === null) continue;
			// A reference: ":label", followed (aiocoap resolves a chain of them).
			let target = entries[key] as string;
			const seen = [key];
			for (;;) {
				if (!target.startsWith(":")) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": a reference must start with ':' (got " + JSON.stringify(target) + ")");
				if (seen.indexOf(target) >= 0) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": the references go round in a circle (" + seen.concat(target).join(" -> ") + ")");
				seen.push(target);
				if (!(target in entries) || entries[target] === null) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": refers to " + JSON.stringify(target) + ", which the file does not define");
				ctx = direct.get(target);
				if (ctx !== undefined) break;
				target = entries[target] as string;
			}
		}
		if (key.startsWith(":")) labels[key] = ctx;
		else client[key] = ctx;
	}
	return { client, contexts: [...byDir.values()], labels };
}

/** Key names of settings.json / secret.json (without the _hex / _ascii suffix of byte strings). */
const BYTES_KEYS = ["sender-id", "recipient-id", "secret", "salt", "id-context"];
const OTHER_KEYS = ["algorithm", "kdf-hashfun", "window"];

/**
 * Derives the security context kept in directory `dir` (aiocoap's FilesystemSecurityContext
 * layout, see the file header), its sequence number persisted in dir/sequence.json.
 * @throws CredentialsError naming the file and the key
 */
export function loadContextDirectory(dir: string, crypto: OscoreCrypto, label = ""): SecurityContext {
	let isDir = false;
	try {
		isDir = statSync(dir).isDirectory();
	} catch {
		throw new CredentialsError(dir + ": no such OSCORE context directory");
	}
	if (!isDir) throw new CredentialsError(dir + ": not a directory (an OSCORE context's basedir holds settings.json and secret.json)");
	const values: Record<string, { value: unknown; file: string; key: string }> = {};
	let found = 0;
	for (const name of ["secret.json", "settings.json"]) {
		const file = join(dir, name);
		if (!existsSync(file)) continue;
		found++;
		const data = readJson(file);
		if (data === null || typeof data !== "object" || Array.isArray(data)) throw new CredentialsError(file + ": must be a JSON object");
		for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
			let base = key;
			let form = "";
			if (key.endsWith("_hex")) {
				base = key.slice(0, -4);
				form = "hex";
			} else if (key.endsWith("_ascii")) {
				base = key.slice(0, -6);
				form = "ascii";
			}
			const known = form !== "" ? BYTES_KEYS.indexOf(base) >= 0 : OTHER_KEYS.indexOf(base) >= 0;
			if (!known) {
				const hint = BYTES_KEYS.indexOf(key) >= 0 ? " (byte strings are written " + key + "_hex or " + key + "_ascii)" : " (known: " + BYTES_KEYS.map((k) => k + "_hex/_ascii").concat(OTHER_KEYS).join(", ") + ")";
				throw new CredentialsError(file + ": unknown key " + JSON.stringify(key) + hint);
			}
			if (base in values) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": " + base + " is given in " + values[base]!.file + " already (each parameter in one file only)");
			let v: unknown = value;
			if (form === "hex") v = parseHex(value, file, key);
			else if (form === "ascii") v = parseAscii(value, file, key);
			values[base] = { value: v, file, key };
		}
	}
	if (found === 0) throw new CredentialsError(dir + ": neither settings.json nor secret.json (an OSCORE context directory needs them)");
	const need = (name: string): Uint8Array => {
		const v = values[name];
		if (v === undefined) throw new CredentialsError(join(dir, "settings.json") + ": " + name + " is missing (" + name + "_hex or " + name + "_ascii, in settings.json or secret.json)");
		return v.value as Uint8Array;
	};
	const alg = values.algorithm;
	if (alg !== undefined && alg.value !== "AES-CCM-16-64-128" && alg.value !== 10) throw new CredentialsError(alg.file + ": \"algorithm\": " + JSON.stringify(alg.value) + " is not supported (xscoap: \"AES-CCM-16-64-128\", COSE algorithm 10)");
	const kdf = values["kdf-hashfun"];
	if (kdf !== undefined && kdf.value !== "sha256") throw new CredentialsError(kdf.file + ": \"kdf-hashfun\": " + JSON.stringify(kdf.value) + " is not supported (xscoap: \"sha256\")");
	const win = values.window;
	if (win !== undefined && !(typeof win.value === "number" && Number.isInteger(win.value) && win.value >= 32 && win.value % 32 === 0 && win.value <= 1024)) throw new CredentialsError(win.file + ": \"window\": " + JSON.stringify(win.value) + " must be a multiple of 32 up to 1024 (xscoap's replay windows)");
	const senderId = need("sender-id");
	const recipientId = need("recipient-id");
	for (const [name, id] of [["sender-id", senderId], ["recipient-id", recipientId]] as const) {
		if (id.length > 7) throw new CredentialsError(values[name]!.file + ": " + JSON.stringify(values[name]!.key) + ": " + id.length + " bytes; an ID is at most 7 bytes with AES-CCM-16-64-128 (RFC 8613 §3.3)");
	}
	if (senderId.length === recipientId.length && senderId.every((b, i) => b === recipientId[i])) throw new CredentialsError(values["recipient-id"]!.file + ": sender-id and recipient-id must differ (RFC 8613 §3.3)");
	const idContext = values["id-context"];
	if (idContext !== undefined && (idContext.value as Uint8Array).length > 255) throw new CredentialsError(idContext.file + ": " + JSON.stringify(idContext.key) + ": at most 255 bytes");
	const params: SecurityContextParams = {
		masterSecret: need("secret"),
		masterSalt: (values.salt?.value as Uint8Array | undefined) ?? null,
		senderId,
		recipientId,
		idContext: (idContext?.value as Uint8Array | undefined) ?? null,
		replayWindow: win === undefined ? 32 : (win.value as number),
		sequence: { store: new SequenceJsonStore(dir), key: "sequence" },
		label,
	};
	try {
		return new SecurityContext(params, crypto);
	} catch (e) {
		if (e instanceof CredentialsError) throw e;
		throw new CredentialsError(dir + ": " + (e as Error).message);
	}
}

/**
 * The Store behind a context directory's sender sequence number: aiocoap's sequence.json.
 * SenderSequence (modules/coap/oscore/sequence.ts) stores a number SSN1 before using it and
 * uses numbers below SSN1 + K until it stores again; here that is written as "next-to-send":
 * SSN1 + K, aiocoap's meaning (every number used is below it). Read back, "next-to-send" is
 * handed out as the stored number, so the next start is past it by K + F (B.1.1).
 */
export class SequenceJsonStore implements Store {
	readonly file: string;
	readonly #files: FileStore;
	readonly #k: number;

	constructor(dir: string, k = DEFAULT_SEQUENCE_K) {
		this.file = join(dir, "sequence.json");
		this.#files = new FileStore(dir);
		this.#k = k;
	}

	read(_key: string, into: Uint8Array): number {
		if (!existsSync(this.file)) return 0;
		const data = readJson(this.file) as { "next-to-send"?: unknown } | null;
		const n = data === null || typeof data !== "object" ? undefined : data["next-to-send"];
		if (!(typeof n === "number" && Number.isInteger(n) && n >= 0 && n < 2 ** 40)) throw new CredentialsError(this.file + ": \"next-to-send\" must be a whole number below 2^40 (the sender sequence number), got " + JSON.stringify(n));
		const digits = String(n);
		if (digits.length > into.length) throw new RangeError("sequence number does not fit the buffer");
		for (let i = 0; i < digits.length; i++) into[i] = digits.charCodeAt(i);
		return digits.length;
	}

	write(_key: string, bytes: Uint8Array, length: number): void {
		let v = 0;
		for (let i = 0; i < length; i++) v = v * 10 + (bytes[i]! - 0x30);
		const json = JSON.stringify({ "next-to-send": v + this.#k, received: "unknown" });
		const out = new TextEncoder().encode(json);
		this.#files.write("sequence.json", out, out.length);
	}
}

function readJson(file: string): unknown {
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	} catch (e) {
		throw new CredentialsError(file + ": cannot read: " + ((e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message));
	}
	try {
		return JSON.parse(text);
	} catch (e) {
		throw new CredentialsError(file + ": not valid JSON: " + (e as Error).message);
	}
}

function parseHex(value: unknown, file: string, key: string): Uint8Array {
	if (typeof value !== "string") throw new CredentialsError(file + ": " + JSON.stringify(key) + ": must be a string of hex digits");
	// aiocoap's hex objects allow "-", " " and ":" between bytes; plain _hex values are unhexlified as they are.
	if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": " + JSON.stringify(value) + " is not an even number of hex digits");
	const out = new Uint8Array(value.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(value.slice(2 * i, 2 * i + 2), 16);
	return out;
}

function parseAscii(value: unknown, file: string, key: string): Uint8Array {
	if (typeof value !== "string") throw new CredentialsError(file + ": " + JSON.stringify(key) + ": must be a string");
	const out = new Uint8Array(value.length);
	for (let i = 0; i < value.length; i++) {
		const ch = value.charCodeAt(i);
		if (ch > 0x7f) throw new CredentialsError(file + ": " + JSON.stringify(key) + ": not ASCII (use the _hex form for other bytes)");
		out[i] = ch;
	}
	return out;
}
