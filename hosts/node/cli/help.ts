/**
 * `--help` texts, generated from the commands' declarations (command.ts): `xscoap --help` lists
 * the commands; `xscoap COMMAND --help` gives its synopsis, description, every option, the
 * content-format names and the exit statuses.
 */
import { CONTENT_FORMATS } from "../../../modules/coap/formats.js";
import { EXIT_STATUSES, type Command, type OptionSpec } from "./command.js";
import { GLOBAL_OPTIONS } from "./args.js";

const WIDTH = 100;

/** Wraps `text` to WIDTH columns, each line indented by `indent` spaces (the first by `first`). */
export function wrap(text: string, indent: number, first = indent): string {
	const words = text.split(/\s+/).filter((w) => w.length > 0);
	const lines: string[] = [];
	let line = " ".repeat(first);
	let empty = true;
	for (const w of words) {
		if (!empty && line.length + 1 + w.length > WIDTH) {
			lines.push(line);
			line = " ".repeat(indent) + w;
		} else {
			line += (empty ? "" : " ") + w;
		}
		empty = false;
	}
	lines.push(line);
	return lines.join("\n") + "\n";
}

function optionLine(o: OptionSpec): string {
	const names = o.names.join(", ") + (o.value !== undefined ? " " + o.value : "");
	const head = "  " + names;
	if (head.length < 28) return head.padEnd(28) + wrap(o.help, 28, 28).slice(28);
	return head + "\n" + wrap(o.help, 28);
}

/** The content-format names section. */
export function formatsHelp(): string {
	let s = "content formats (for --content-format and --accept: the number, the media type with or without its\n";
	s += "parameters, or a short name such as text, json, cbor, link-format, senml+json, octet-stream):\n";
	for (const [n, name] of CONTENT_FORMATS) s += "  " + String(n).padStart(5) + "  " + name + "\n";
	return s;
}

/** The exit statuses section. */
export function exitHelp(): string {
	let s = "exit status:\n";
	for (const [n, what] of EXIT_STATUSES) s += "  " + n + "   " + wrap(what, 6, 6).slice(6);
	return s;
}

/** `xscoap --help`. */
export function generalHelp(commands: readonly Command[]): string {
	let s = "usage: xscoap COMMAND [ARGUMENTS] [OPTIONS]   (options before or after the arguments)\n\ncommands:\n";
	for (const c of commands) {
		const head = "  xscoap " + c.names.join("|") + " " + c.synopsis;
		s += head + "\n" + wrap(c.summary, 6);
	}
	s += "\nglobal options:\n";
	for (const o of GLOBAL_OPTIONS) s += optionLine(o);
	s += "\n`xscoap COMMAND --help` lists a command's options, the content-format names and the exit statuses.\n\n";
	s += exitHelp();
	return s;
}

/** `xscoap COMMAND --help`. */
export function commandHelp(c: Command): string {
	let s = "usage: xscoap " + c.names.join("|") + " " + c.synopsis + "\n\n";
	s += wrap(c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + ".", 0);
	if (c.description) for (const p of c.description.split("\n\n")) s += "\n" + wrap(p, 0);
	s += "\noptions:\n";
	for (const o of c.options) s += optionLine(o);
	for (const o of GLOBAL_OPTIONS) s += optionLine(o);
	for (const section of c.helpSections ?? []) s += "\n" + (section === "formats" ? formatsHelp() : exitHelp());
	return s;
}
