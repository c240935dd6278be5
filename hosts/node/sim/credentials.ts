/**
 * The client's credentials of `xscoap sim --oscore`: a directory with one OSCORE context
 * directory per simulated device (aiocoap's layout, hosts/node/credentials.ts: settings.json
 * with the client's side of the device's context, RFC 8613 §3.2) and credentials.json mapping
 * each device's `coap://HOST:PORT/*` to its context directory (absolute paths), so that
 * `xscoap get --credentials FILE` and `aiocoap-client --credentials FILE` both work.
 *
 *   DIR/.xscoap-sim              marks a directory this command writes (and may clear)
 *   DIR/credentials.json         { "coap://127.0.0.1:5684/*": {"oscore": {"basedir": "DIR/sensor-001/"}}, ... }
 *   DIR/sensor-001/settings.json { "sender-id_hex": "010001", "recipient-id_hex": "020001", "secret_hex": ..., "salt_hex": ... }
 *
 * The clients keep their sender sequence numbers in the context directories (sequence.json;
 * aiocoap also a lock file). Every run has new keys, so a run first removes the context
 * directories of the last one whole: no sequence number or replay state of old keys is left
 * to confuse the new ones. A directory that is not empty and has no marker is refused rather
 * than cleared (it may be somebody's files). Files are readable by the owner only (0600/0700):
 * they hold the Master Secrets.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { DeviceInfo } from "../../../sim/fleet/shard.js";
import { clientSettingsJson, type DeviceOscoreKeys } from "../../../sim/fleet/oscore.js";
import { makeDirectory } from "../mkdir.js";

/** The marker file of a directory written here. */
export const MARKER = ".xscoap-sim";
/** The credentials file's name in the directory. */
export const CREDENTIALS_FILE = "credentials.json";

/** A directory that cannot take the credentials; the message is one line naming it. */
export class CredentialsDirError extends Error {
	override get name(): string {
		return "CredentialsDirError";
	}
}

/** Where the credentials go without --oscore-dir: one directory per base port under the OS temp directory. */
export function defaultCredentialsDir(basePort: number): string {
	return join(tmpdir(), "xscoap-sim-" + basePort);
}

/**
 * Makes sure `dir` can take the credentials (created when missing; writable; empty or written
 * here before) and marks it. Returns its absolute path. @throws CredentialsDirError
 */
export function prepareCredentialsDir(dir: string): string {
	const abs = resolve(dir);
	let entries: string[];
	try {
		makeDirectory(abs, 0o700);
		entries = readdirSync(abs);
	} catch (e) {
		throw new CredentialsDirError(abs + ": " + why(e));
	}
	if (entries.length > 0 && entries.indexOf(MARKER) < 0) throw new CredentialsDirError(abs + ": not empty, and not a directory xscoap sim wrote (it would clear it): give an empty or new directory");
	try {
		writeFileSync(join(abs, MARKER), "xscoap sim --oscore writes the client's OSCORE credentials here and replaces them at every run\n", { mode: 0o600 });
	} catch (e) {
		throw new CredentialsDirError(abs + ": cannot write there: " + why(e));
	}
	return abs;
}

/**
 * Replaces the last run's contexts in `dir` (prepared above) with those of `devices` and
 * writes the credentials file; returns its path. @throws CredentialsDirError
 */
export function writeFleetCredentials(dir: string, devices: readonly DeviceInfo[], keys: readonly DeviceOscoreKeys[]): string {
	try {
		for (const name of readdirSync(dir)) if (/^sensor-\d+$/.test(name) || /^\.credentials-/.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
		const map: Record<string, { oscore: { basedir: string } }> = {};
		for (const d of devices) {
			const ctx = join(dir, d.name);
			mkdirSync(ctx, { mode: 0o700 });
			writeFileSync(join(ctx, "settings.json"), JSON.stringify(clientSettingsJson(keys[d.index]!.client), null, 1) + "\n", { mode: 0o600 });
			map[d.uri + "/*"] = { oscore: { basedir: ctx + "/" } };
		}
		// Written whole, then renamed over the last one: a reader never sees half a file.
		const file = join(dir, CREDENTIALS_FILE);
		const tmp = join(dir, ".credentials-" + process.pid + ".json");
		writeFileSync(tmp, JSON.stringify(map, null, 1) + "\n", { mode: 0o600 });
		renameSync(tmp, file);
		return file;
	} catch (e) {
		throw new CredentialsDirError(dir + ": cannot write the credentials: " + why(e));
	}
}

function why(e: unknown): string {
	const code = (e as NodeJS.ErrnoException).code;
	if (code === "EACCES" || code === "EPERM") return "permission denied";
	if (code === "ENOTDIR" || code === "EEXIST") return "not a directory";
	if (code === "EROFS") return "read-only file system";
	if (code === "ENOENT") return "cannot create it there";
	if (code === "ENOSPC") return "no space left on the device";
	return (e as Error).message;
}
