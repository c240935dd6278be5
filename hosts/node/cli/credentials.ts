/**
 * `--credentials FILE`: OSCORE (RFC 8613) security contexts for a command's endpoint, from a
 * credentials file in aiocoap's JSON format (hosts/node/credentials.ts): a client file maps URI
 * patterns to contexts (requests to matching URIs are protected), a server file labels them
 * (requests protected with any of them are accepted). A file that cannot be used is a usage
 * error: one line naming the file and the key, exit status 2.
 */
import type { EndpointOptions } from "../../../modules/coap/endpoint.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { CredentialsError, loadCredentials } from "../credentials.js";
import { type Args, type OptionSpec, UsageError } from "./command.js";

export const CREDENTIALS_OPTION: OptionSpec = Object.freeze({
	names: ["--credentials"],
	value: "FILE",
	help:
		"OSCORE (RFC 8613) credentials in aiocoap's JSON format: {\"coap://HOST/*\": {\"oscore\": {\"basedir\": \"DIR/\"}}} for a client, {\":name\": {\"oscore\": {\"basedir\": \"DIR/\"}}} for a server. " +
		"DIR holds settings.json and/or secret.json (sender-id_hex, recipient-id_hex, secret_hex, salt_hex, id-context_hex, or the _ascii forms) and keeps the sequence number in sequence.json.",
});

/** What `--credentials` adds to a command's endpoint. */
export interface CommandCredentials {
	/** The endpoint's `oscore` option, or undefined without --credentials. */
	readonly oscore: EndpointOptions["oscore"];
	/** Security contexts the endpoint must hold (for limits.oscoreContexts; at least 1). */
	readonly contexts: number;
}

/** The portable AES-CCM (noble): on Node faster than OpenSSL's per-call ciphers (bench/oscore.mjs). */
const CRYPTO = nobleCrypto;

function load(args: Args): ReturnType<typeof loadCredentials> | undefined {
	const file = args.value("--credentials");
	if (file === undefined) return undefined;
	try {
		return loadCredentials(file, CRYPTO);
	} catch (e) {
		if (e instanceof CredentialsError) throw new UsageError("--credentials " + e.message);
		throw e;
	}
}

/** Client: requests to URIs matching the file's patterns are protected with their contexts. */
export async function clientCredentials(args: Args): Promise<CommandCredentials> {
	const c = load(args);
	if (c === undefined) return { oscore: undefined, contexts: 1 };
	if (Object.keys(c.client).length === 0) throw new UsageError("--credentials " + args.value("--credentials") + ": no URI pattern in the file (a client needs entries such as \"coap://host/*\")");
	return { oscore: { credentials: c.client }, contexts: Math.max(1, c.contexts.length) };
}

/** Server: requests protected with any context of the file are accepted and answered protected. */
export async function serverCredentials(args: Args): Promise<CommandCredentials> {
	const c = load(args);
	if (c === undefined) return { oscore: undefined, contexts: 1 };
	if (c.contexts.length === 0) throw new UsageError("--credentials " + args.value("--credentials") + ": no OSCORE context in the file");
	return { oscore: { contexts: c.contexts }, contexts: c.contexts.length };
}
