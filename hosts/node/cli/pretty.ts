/**
 * Payloads as a person wants to read them, by Content-Format (for stdout on a terminal, or with
 * --pretty): JSON indented, CBOR and CBOR sequences in diagnostic notation (edn.ts), link-format
 * one link per line, SenML packs as a table (senml.ts), text as it is, anything else as a hex
 * dump. A payload that does not parse as its format is shown as text or hex, after a note.
 */
import { formatName } from "../../../modules/coap/formats.js";
import { isPrintableText } from "../../../modules/coap/wire/describe.js";
import { decodeItems } from "./cbor.js";
import { diagnostic } from "./edn.js";
import { senmlTable } from "./senml.js";

/** How a content format is shown. */
export type Rendering = "text" | "json" | "cbor" | "cbor-seq" | "link-format" | "senml-json" | "senml-cbor" | "binary";

/** The rendering for content format `cf` (-1: none given). */
export function renderingOf(cf: number): Rendering {
	if (cf === 40) return "link-format";
	if (cf === 110 || cf === 111) return "senml-json";
	if (cf === 112 || cf === 113) return "senml-cbor";
	const name = cf < 0 ? undefined : formatName(cf);
	if (name === undefined) return "text"; // text when printable, else binary (below)
	const type = name.split(";")[0]!;
	if (name.indexOf("encoding=") >= 0) return "binary";
	if (type.endsWith("cbor-seq")) return "cbor-seq";
	if (type === "application/json" || type.endsWith("+json")) return "json";
	if (type === "application/cbor" || type.endsWith("+cbor") || type === "application/cwt" || type === "application/cose" || type.startsWith("application/cose-key")) return "cbor";
	if (type.startsWith("text/") || type.endsWith("xml") || type === "application/javascript") return "text";
	return "binary";
}

/** Splits link-format (RFC 6690 §2) at the commas between links (not inside <...> or quotes). */
export function splitLinks(text: string): string[] {
	const links: string[] = [];
	let start = 0;
	let quoted = false;
	let inUri = false;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (quoted) {
			if (c === "\\") i++;
			else if (c === '"') quoted = false;
		} else if (inUri) {
			if (c === ">") inUri = false;
		} else if (c === '"') quoted = true;
		else if (c === "<") inUri = true;
		else if (c === ",") {
			links.push(text.slice(start, i).trim());
			start = i + 1;
		}
	}
	const last = text.slice(start).trim();
	if (last !== "" || links.length > 0) links.push(last);
	return links.filter((l) => l !== "");
}

/** A hex dump: offset, 16 bytes in hex, and their printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
	let s = "";
	for (let o = 0; o < bytes.length; o += 16) {
		const row = bytes.subarray(o, o + 16);
		let hex = "";
		let ascii = "";
		for (let i = 0; i < 16; i++) {
			if (i < row.length) {
				const b = row[i]!;
				hex += (b < 16 ? "0" : "") + b.toString(16) + " ";
				ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
			} else hex += "   ";
			if (i === 7) hex += " ";
		}
		s += o.toString(16).padStart(8, "0") + "  " + hex + " |" + ascii + "|\n";
	}
	return s;
}

function text(bytes: Uint8Array): string {
	return Buffer.from(bytes).toString("utf8");
}

function withNewline(s: string): string {
	return s.endsWith("\n") ? s : s + "\n";
}

/** Text if printable, else a hex dump, after a note when a format did not parse. */
function fallback(bytes: Uint8Array, note: string | undefined): string {
	const head = note === undefined ? "" : "(" + note + ")\n";
	if (isPrintableText(bytes, 0, bytes.length)) return head + withNewline(text(bytes));
	return head + hexDump(bytes);
}

/** `bytes` of content format `cf` (-1 when the response had none), ready for a terminal (ends with a newline; "" when empty). */
export function prettyPayload(bytes: Uint8Array, cf: number): string {
	if (bytes.length === 0) return "";
	const r = renderingOf(cf);
	const name = formatName(cf) ?? "content format " + cf;
	try {
		switch (r) {
			case "json":
				return JSON.stringify(JSON.parse(text(bytes)), null, 2) + "\n";
			case "senml-json": {
				const pack = JSON.parse(text(bytes)) as unknown;
				return senmlTable(pack) ?? JSON.stringify(pack, null, 2) + "\n";
			}
			case "cbor":
				return decodeItems(bytes).map((v) => diagnostic(v)).join("\n") + "\n";
			case "cbor-seq":
				return decodeItems(bytes).map((v) => diagnostic(v)).join(",\n") + "\n";
			case "senml-cbor": {
				const items = decodeItems(bytes);
				return (items.length === 1 ? senmlTable(items[0]) : undefined) ?? items.map((v) => diagnostic(v)).join("\n") + "\n";
			}
			case "link-format":
				return splitLinks(text(bytes)).join(",\n") + "\n";
			case "binary":
				return hexDump(bytes);
			default:
				return fallback(bytes, undefined);
		}
	} catch (e) {
		return fallback(bytes, "not valid " + name + ": " + ((e as Error).message ?? String(e)).split("\n")[0]);
	}
}
