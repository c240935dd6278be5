/**
 * Every command of `xscoap`, in the order `xscoap --help` lists them. Adding a command: a file
 * under commands/ exporting a `Command` (command.ts), and one line here.
 */
import type { Command } from "./command.js";
import { deviceCommand } from "./commands/device.js";
import { fileserverCommand } from "./commands/fileserver.js";
import { plugtestClientCommand } from "./commands/plugtest-client.js";
import { plugtestServerCommand } from "./commands/plugtest-server.js";
import { requestCommand } from "./commands/request.js";
import { rdCommand } from "./commands/rd.js";
import { serveCommand } from "./commands/serve.js";
import { simCommand } from "./commands/sim.js";

export const COMMANDS: readonly Command[] = Object.freeze([
	requestCommand, // get post put delete fetch patch ipatch
	serveCommand,
	deviceCommand,
	fileserverCommand,
	simCommand,
	rdCommand,
	plugtestServerCommand,
	plugtestClientCommand,
]);

/** The command answering to `name` (lower case), or undefined. */
export function findCommand(name: string): Command | undefined {
	for (const c of COMMANDS) if (c.names.indexOf(name) >= 0) return c;
	return undefined;
}

/**
 * Registry invariants (checked by a test): no name twice, and an option name means the same
 * arity everywhere (options may come before the command, so their arity is looked up across
 * commands). Returns the problems found.
 */
export function registryProblems(commands: readonly Command[] = COMMANDS): string[] {
	const problems: string[] = [];
	const names = new Map<string, string>();
	const arity = new Map<string, boolean>();
	for (const c of commands) {
		for (const n of c.names) {
			if (names.has(n)) problems.push("command name " + n + " used twice");
			names.set(n, c.names[0]!);
		}
		for (const o of c.options) {
			for (const n of o.names) {
				const takes = o.value !== undefined;
				if (arity.has(n) && arity.get(n) !== takes) problems.push("option " + n + " takes a value in one command and not in another");
				arity.set(n, takes);
			}
		}
	}
	return problems;
}
