/**
 * The `xscoap` command line: finds the command (registry.ts), parses its options (args.ts),
 * answers --help and --version, runs it and turns what it throws into an exit status
 * (command.ts): a UsageError is one "error: ..." line and status 2.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "./args.js";
import { EXIT_NO_RESPONSE, EXIT_OK, EXIT_USAGE, UsageError } from "./command.js";
import { commandHelp, generalHelp } from "./help.js";
import { COMMANDS, findCommand } from "./registry.js";

/** The package's version (package.json beside build/). */
export function version(): string {
	try {
		const pkg = JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")) as { version?: string };
		return pkg.version ?? "unknown";
	} catch {
		return "unknown";
	}
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
	try {
		const { args, command } = parseArgs(argv, COMMANDS, findCommand);
		if (args.has("--version")) {
			process.stdout.write("xscoap " + version() + "\n");
			return EXIT_OK;
		}
		if (args.command === "help") {
			const about = args.positional[0] === undefined ? undefined : findCommand(args.positional[0].toLowerCase());
			if (args.positional[0] !== undefined && about === undefined) throw new UsageError("unknown command " + args.positional[0]);
			process.stdout.write(about === undefined ? generalHelp(COMMANDS) : commandHelp(about));
			return EXIT_OK;
		}
		if (args.has("--help")) {
			process.stdout.write(command === undefined ? generalHelp(COMMANDS) : commandHelp(command));
			return EXIT_OK;
		}
		if (command === undefined) throw new UsageError(args.command === "" ? "missing command" : "unknown command " + args.command);
		// The reader of stdout went away (`xscoap get ... | head -3`): stop quietly, as a Unix tool
		// ends on SIGPIPE, instead of an unhandled EPIPE's stack trace.
		if (command.handlesOutputLoss !== true) {
			process.stdout.on("error", (e: NodeJS.ErrnoException) => {
				if (e.code === "EPIPE") process.exit(EXIT_OK);
				process.stderr.write("error: stdout: " + e.message + "\n");
				process.exit(EXIT_NO_RESPONSE);
			});
		}
		return await command.run(args);
	} catch (e) {
		if (e instanceof UsageError) {
			process.stderr.write("error: " + e.message + " (xscoap --help shows the usage)\n");
			return EXIT_USAGE;
		}
		process.stderr.write("error: " + ((e as Error)?.message ?? String(e)) + "\n");
		return EXIT_NO_RESPONSE;
	}
}
