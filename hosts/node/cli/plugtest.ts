/**
 * What the plugtest commands share (xscoap plugtest-server, plugtest-client; the OSCORE
 * interop test specification, modules/plugtest/): the `--state DIR` where the contexts' sequence
 * numbers are kept (RFC 8613 Appendix B.1.1: a series of runs never reuses one), and the crypto.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { FileStore } from "../file-store.js";
import { type Args, type OptionSpec, UsageError } from "./command.js";

export const STATE_OPTION: OptionSpec = Object.freeze({
	names: ["--state"],
	value: "DIR",
	help: "where the security contexts keep their sequence numbers between runs (default $XDG_STATE_HOME/xscoap/<command>, else ~/.local/state/xscoap/<command>)",
});

/** The portable AES-CCM (noble): faster than OpenSSL's per-call ciphers on Node (bench/oscore.mjs). */
export const PLUGTEST_CRYPTO = nobleCrypto;

/** The state directory of `command` as a FileStore (created when missing). */
export function stateStore(args: Args, command: string): FileStore {
	const dir = args.value("--state") ?? join(process.env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "xscoap", command);
	try {
		return new FileStore(dir);
	} catch (e) {
		throw new UsageError("--state " + dir + ": " + (e as Error).message);
	}
}
