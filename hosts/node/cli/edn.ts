/**
 * CBOR diagnostic notation (RFC 8949 §8, RFC 8610 Appendix G) of values decoded by cbor.ts:
 * integers (also bigint), floats (NaN, Infinity, -0.0), text strings as JSON strings, byte
 * strings as h'..', arrays, maps with their keys as they are, tags as N(value), bignums (tags
 * 2 and 3) as the integer they stand for, simple values true/false/null/undefined. Short
 * values stay on one line; longer ones are indented by two spaces per level.
 *
 * Leaves out: the width a float had on the wire (cbor-x decodes every float to a number, so an
 * integral float prints as an integer) and indefinite-length encodings (shown as definite).
 */
import { Tag } from "./cbor.js";

const LINE = 72;

function hex(b: Uint8Array): string {
	let s = "";
	for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s;
}

function bignum(tag: number, bytes: Uint8Array): string {
	let n = 0n;
	for (const b of bytes) n = (n << 8n) | BigInt(b);
	return (tag === 3 ? -1n - n : n).toString();
}

function number(v: number): string {
	if (Number.isNaN(v)) return "NaN";
	if (v === Infinity) return "Infinity";
	if (v === -Infinity) return "-Infinity";
	if (Object.is(v, -0)) return "-0.0";
	return String(v);
}

/** The items of an array or map (each already formatted), on one line or indented. */
function group(open: string, close: string, items: string[], indent: string): string {
	if (items.length === 0) return open + close;
	const flat = open + items.join(", ") + close;
	if (flat.length + indent.length <= LINE && flat.indexOf("\n") < 0) return flat;
	const inner = indent + "  ";
	return open + "\n" + items.map((i) => inner + i).join(",\n") + "\n" + indent + close;
}

/** Diagnostic notation of `v`, indented by `indent` when it spans lines. */
export function diagnostic(v: unknown, indent = ""): string {
	if (v === null) return "null";
	if (v === undefined) return "undefined";
	if (typeof v === "boolean") return String(v);
	if (typeof v === "number") return number(v);
	if (typeof v === "bigint") return v.toString();
	if (typeof v === "string") return JSON.stringify(v);
	if (v instanceof Uint8Array) return "h'" + hex(v) + "'";
	if (v instanceof Tag) {
		const t = v as unknown as { tag: number; value: unknown };
		if ((t.tag === 2 || t.tag === 3) && t.value instanceof Uint8Array) return bignum(t.tag, t.value);
		return t.tag + "(" + diagnostic(t.value, indent) + ")";
	}
	const inner = indent + "  ";
	if (Array.isArray(v)) return group("[", "]", v.map((x) => diagnostic(x, inner)), indent);
	if (v instanceof Map) return group("{", "}", [...v.entries()].map(([k, x]) => diagnostic(k, inner) + ": " + diagnostic(x, inner)), indent);
	if (typeof v === "object") return group("{", "}", Object.entries(v as object).map(([k, x]) => JSON.stringify(k) + ": " + diagnostic(x, inner)), indent);
	return String(v);
}
