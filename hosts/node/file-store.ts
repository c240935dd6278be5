/**
 * The Node host's Store (modules/coap/store.ts): one file per key in a directory, each write
 * atomic and durable: the value goes to a temporary file that is fsync'ed, renamed over the
 * key's file, and the directory is fsync'ed, so after a crash (even SIGKILL or power loss
 * during the write) the key holds either the old or the new value. OSCORE keeps its sender
 * sequence high-water marks here (RFC 8613 Appendix B.1.1).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../../modules/coap/store.js";
import { makeDirectory } from "./mkdir.js";

/** Keys are file names: 1..64 characters of A-Z a-z 0-9 . _ - (no leading dot). */
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export class FileStore implements Store {
	readonly dir: string;

	/** @param dir created (with parents) when missing */
	constructor(dir: string) {
		if (typeof dir !== "string" || dir === "") throw new TypeError("FileStore needs a directory");
		makeDirectory(dir);
		this.dir = dir;
	}

	read(key: string, into: Uint8Array): number {
		let data: Buffer;
		try {
			data = readFileSync(join(this.dir, checkKey(key)));
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
			throw e;
		}
		if (data.length > into.length) throw new RangeError("value of " + key + " is " + data.length + " bytes, buffer holds " + into.length);
		into.set(data);
		return data.length;
	}

	write(key: string, bytes: Uint8Array, length: number): void {
		const file = join(this.dir, checkKey(key));
		if (!(Number.isInteger(length) && length >= 0 && length <= bytes.length)) throw new RangeError("length must be 0.." + bytes.length + ", got " + length);
		const tmp = file + ".tmp-" + process.pid;
		const fd = openSync(tmp, "w", 0o600);
		try {
			let done = 0;
			while (done < length) done += writeSync(fd, bytes, done, length - done);
			fsyncSync(fd);
		} finally {
			closeSync(fd);
		}
		renameSync(tmp, file);
		// The rename itself is durable only once the directory entry is on disk.
		const dfd = openSync(this.dir, "r");
		try {
			fsyncSync(dfd);
		} finally {
			closeSync(dfd);
		}
	}
}

function checkKey(key: string): string {
	if (typeof key !== "string" || !KEY.test(key)) throw new RangeError("store key must be 1..64 characters of A-Z a-z 0-9 . _ -, got " + JSON.stringify(key));
	return key;
}
