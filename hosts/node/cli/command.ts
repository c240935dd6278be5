/**
 * What a command of the `xscoap` command line is: its names, a one-line summary, the options it
 * takes (declared, so that parsing, `--help` and the README's option table come from one list)
 * and `run`. Adding a command is a file under commands/ plus one line in registry.ts.
 *
 * Also the exit statuses every command uses, and UsageError (exit status 2, one line on stderr).
 */

/** One command-line option. */
export interface OptionSpec {
	/** Names, long and short, e.g. ["--verbose", "-v"]; the first is the one `Args` is asked for. */
	readonly names: readonly string[];
	/** Placeholder of the value ("SECONDS"); absent for a flag that takes no value. */
	readonly value?: string;
	/** May be given more than once (values are collected in order; a flag is counted). */
	readonly repeat?: boolean;
	/** One or more sentences for `--help`. */
	readonly help: string;
}

/** A parsed command line: the command's options by their first name, and the positional arguments. */
export interface Args {
	/** The command name as typed (lower case), e.g. "get". */
	readonly command: string;
	readonly positional: readonly string[];
	/** True when the flag (or a value option) was given. */
	has(name: string): boolean;
	/** The (last) value of a value option. */
	value(name: string): string | undefined;
	/** Every value of a repeatable value option, in order. */
	values(name: string): readonly string[];
	/** How often a flag was given (-v -v). */
	count(name: string): number;
}

export interface Command {
	/** Names the command answers to (the first one is shown in help), lower case. */
	readonly names: readonly string[];
	/** Arguments after the command name, e.g. "URI" or "DIR". */
	readonly synopsis: string;
	/** One line for `xscoap --help`. */
	readonly summary: string;
	/** Paragraphs for `xscoap COMMAND --help` (after the synopsis, before the options). */
	readonly description?: string;
	readonly options: readonly OptionSpec[];
	/** Extra sections for `xscoap COMMAND --help` (e.g. the content-format names). */
	readonly helpSections?: readonly ("formats" | "exit")[];
	/**
	 * True when the command handles the loss of its stdout reader itself (EPIPE: `| head`
	 * exited), e.g. to clean up first; otherwise the CLI exits quietly with status 0 then.
	 */
	readonly handlesOutputLoss?: boolean;
	/** Runs the command; resolves to the exit status. Throws UsageError for a bad command line. */
	run(args: Args): Promise<number>;
}

/** Exit statuses (also listed by `--help`). */
export const EXIT_OK = 0;
/** A response came, with a code other than 2.xx (or, to --observe, a first response without Observe). */
export const EXIT_RESPONSE = 1;
/** The command line was wrong (one line on stderr). */
export const EXIT_USAGE = 2;
/** No response came: timeout, Reset, an unreachable host or port, a socket or file error, a port that cannot be bound. */
export const EXIT_NO_RESPONSE = 3;
/** An observation was stopped (Ctrl-C, --duration, --count) but the server did not confirm the deregistration. */
export const EXIT_DEREGISTRATION = 4;

export const EXIT_STATUSES: readonly (readonly [number, string])[] = Object.freeze([
	[EXIT_OK, "success: a 2.xx response (or a server that stopped on SIGINT/SIGTERM)"],
	[EXIT_RESPONSE, "a response with another code (4.xx, 5.xx; printed on stderr with its name), or to --observe a response without Observe (the resource is not observable)"],
	[EXIT_USAGE, "usage error (one line on stderr)"],
	[EXIT_NO_RESPONSE, "no response: timeout, Reset, host or port unreachable, socket or file error, port in use"],
	[EXIT_DEREGISTRATION, "an observation was stopped but its deregistration got no answer"],
]);

/** A command line that cannot be run: printed as one line, exit status 2. */
export class UsageError extends Error {
	override get name(): string {
		return "UsageError";
	}
}
