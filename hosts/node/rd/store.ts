/**
 * The resource directory's store file (`xscoap rd --store FILE`): the registrations as JSON,
 * so they survive a restart.
 *
 * Writes are atomic: the new content goes to a temporary file beside FILE, is flushed to disk
 * (fsync) and renamed over FILE, then the directory entry is flushed; a crash leaves either the
 * old file or the new one, never a mix. Lifetimes are stored as the time left plus the wall
 * clock of the save, so registrations that expired while the directory was down are dropped
 * on load.
 *
 * A file that cannot be read as a store (not JSON, not this format, a malformed registration)
 * is an error that names the file and the problem; it is never overwritten: the directory
 * does not start, and the file stays as it was for the user to inspect.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { DirectorySnapshot } from "./directory.js";

export const STORE_FORMAT = "xscoap-rd-store";
export const STORE_VERSION = 1;

/** A store file that cannot be used; the message is for people and names the file. */
export class StoreError extends Error {
	override get name(): string {
		return "StoreError";
	}
}

export interface LoadedStore {
	snapshot: DirectorySnapshot;
	/** Wall-clock milliseconds since the snapshot was saved (0 if the clock went backwards). */
	elapsedMs: number;
}

export class DirectoryStore {
	readonly path: string;
	readonly #tmp: string;

	constructor(path: string) {
		this.path = resolve(path);
		this.#tmp = resolve(dirname(this.path), "." + basename(this.path) + ".tmp-" + process.pid);
	}

	/**
	 * Reads the store. Null when the file does not exist yet (its directory must).
	 * @throws StoreError when the file exists but is not a store this program wrote, or the
	 * folder for it is missing.
	 */
	load(now = Date.now()): LoadedStore | null {
		const dir = dirname(this.path);
		if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new StoreError("--store " + this.path + ": the folder " + dir + " does not exist");
		if (!existsSync(this.path)) return null;
		let text: string;
		try {
			text = readFileSync(this.path, "utf8");
		} catch (e) {
			throw new StoreError("--store " + this.path + ": cannot read it: " + (e as Error).message);
		}
		const problem = (what: string): StoreError =>
			new StoreError("--store " + this.path + " is not a usable resource-directory store: " + what + ". The file was left as it is: move it away (or fix it) to start with an empty directory");
		let data: unknown;
		try {
			data = JSON.parse(text);
		} catch (e) {
			throw problem("not JSON (" + (e as Error).message + ")");
		}
		const d = data as { format?: unknown; version?: unknown; savedAt?: unknown; nextId?: unknown; registrations?: unknown };
		if (d === null || typeof d !== "object" || d.format !== STORE_FORMAT) throw problem('no "format": "' + STORE_FORMAT + '"');
		if (d.version !== STORE_VERSION) throw problem("version " + JSON.stringify(d.version) + ", this program reads version " + STORE_VERSION);
		if (typeof d.savedAt !== "number" || !Number.isFinite(d.savedAt)) throw problem("savedAt is not a time");
		if (!Number.isInteger(d.nextId) || !Array.isArray(d.registrations)) throw problem("nextId or registrations missing");
		return {
			snapshot: { nextId: d.nextId as number, registrations: d.registrations as DirectorySnapshot["registrations"] },
			elapsedMs: Math.max(0, now - d.savedAt),
		};
	}

	/** Writes `snapshot` atomically (see the file header). @throws the file system's error. */
	save(snapshot: DirectorySnapshot, now = Date.now()): void {
		const text = JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION, savedAt: now, nextId: snapshot.nextId, registrations: snapshot.registrations }, null, 1) + "\n";
		const fd = openSync(this.#tmp, "w", 0o644);
		try {
			const bytes = Buffer.from(text, "utf8");
			let off = 0;
			while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
			fsyncSync(fd);
		} catch (e) {
			closeSync(fd);
			try {
				unlinkSync(this.#tmp);
			} catch {
				// nothing left to clean
			}
			throw e;
		}
		closeSync(fd);
		renameSync(this.#tmp, this.path);
		// The rename itself is durable once the folder's entry is flushed (where the OS allows).
		try {
			const dfd = openSync(dirname(this.path), "r");
			try {
				fsyncSync(dfd);
			} finally {
				closeSync(dfd);
			}
		} catch {
			// some file systems refuse fsync on a folder; the rename is still atomic
		}
	}
}
