/**
 * Command-line parsing from the commands' declared options (command.ts): options may come
 * before or after the command name and the positional arguments, as `--name VALUE`,
 * `--name=VALUE`, `-x VALUE` or `-xVALUE` for a short option with a value; `--` ends the
 * options. An option's arity is looked up in every command's list, so the command need not
 * come first; registry.ts checks that a name means the same arity everywhere.
 */
import { type Args, type Command, type OptionSpec, UsageError } from "./command.js";

/** Options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = Object.freeze([
	{ names: ["--help", "-h"], help: "print this help and exit" },
	{ names: ["--version"], help: "print the version and exit" },
]);

class ParsedArgs implements Args {
	readonly command: string;
	readonly positional: string[];
	readonly #values = new Map<string, string[]>();
	readonly #counts = new Map<string, number>();

	constructor(command: string, positional: string[]) {
		this.command = command;
		this.positional = positional;
	}

	add(key: string, value: string | undefined): void {
		this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
		if (value === undefined) return;
		const list = this.#values.get(key);
		if (list) list.push(value);
		else this.#values.set(key, [value]);
	}

	has(name: string): boolean {
		return this.#counts.has(name);
	}

	value(name: string): string | undefined {
		const list = this.#values.get(name);
		return list === undefined ? undefined : list[list.length - 1];
	}

	values(name: string): readonly string[] {
		return this.#values.get(name) ?? [];
	}

	count(name: string): number {
		return this.#counts.get(name) ?? 0;
	}
}

/** Index of option names to their spec, over a list of option lists. */
function index(lists: readonly (readonly OptionSpec[])[]): Map<string, OptionSpec> {
	const m = new Map<string, OptionSpec>();
	for (const list of lists) for (const o of list) for (const n of o.names) if (!m.has(n)) m.set(n, o);
	return m;
}

/** Splits one argument into an option name and an attached value ("--a=b", "-xVALUE"), given the known options. */
function split(arg: string, known: Map<string, OptionSpec>): [string, string | undefined] {
	if (arg.startsWith("--")) {
		const eq = arg.indexOf("=");
		return eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
	}
	// "-O12,abc": a short option with its value attached.
	if (arg.length > 2 && !known.has(arg)) {
		const short = known.get(arg.slice(0, 2));
		if (short?.value !== undefined) return [arg.slice(0, 2), arg.slice(2)];
	}
	return [arg, undefined];
}

/**
 * Finds the command (the first positional argument) in `argv`, then parses `argv` against that
 * command's options and the global ones. `commands` gives the arity of options met before the
 * command name. Throws UsageError.
 */
export function parseArgs(argv: readonly string[], commands: readonly Command[], find: (name: string) => Command | undefined): { args: Args; command: Command | undefined } {
	const everywhere = index([GLOBAL_OPTIONS, ...commands.map((c) => c.options)]);
	// Pass 1: the command name (skipping options and their values).
	let name = "";
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i]!;
		if (a === "--") {
			name = argv[i + 1] ?? "";
			break;
		}
		if (a.startsWith("-") && a.length > 1) {
			const [n, attached] = split(a, everywhere);
			if (everywhere.get(n)?.value !== undefined && attached === undefined) i++;
			continue;
		}
		name = a;
		break;
	}
	const command = find(name.toLowerCase());
	const known = index([GLOBAL_OPTIONS, command?.options ?? []]);
	// Pass 2: everything, against the command's own options.
	const positional: string[] = [];
	let seenName = false;
	const parsed = new ParsedArgs(name.toLowerCase(), positional);
	let helpWanted = false;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i]!;
		if (a === "--") {
			for (const rest of argv.slice(i + 1)) {
				if (!seenName) seenName = true;
				else positional.push(rest);
			}
			break;
		}
		if (a.startsWith("-") && a.length > 1) {
			const [n, attached] = split(a, known);
			const spec = known.get(n);
			if (spec === undefined) {
				// An option of another command: say which; anything else is unknown.
				if (everywhere.has(n) && command !== undefined) throw new UsageError("option " + n + " does not apply to " + command.names[0]);
				if (helpWanted) continue;
				throw new UsageError("unknown option " + n);
			}
			const key = spec.names[0]!;
			if (key === "--help") helpWanted = true;
			if (spec.value === undefined) {
				if (attached !== undefined) throw new UsageError(n + " takes no value");
				parsed.add(key, undefined);
				continue;
			}
			const value = attached ?? argv[++i];
			if (value === undefined) throw new UsageError(n + " needs a value (" + spec.value + ")");
			if (!spec.repeat && parsed.has(key) && parsed.value(key) !== value) throw new UsageError(n + " given twice");
			parsed.add(key, value);
			continue;
		}
		if (!seenName) {
			seenName = true;
			continue;
		}
		positional.push(a);
	}
	return { args: parsed, command };
}
