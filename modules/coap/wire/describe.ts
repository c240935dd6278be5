/**
 * One-line human-readable description of a CoAP message, for traces (`xscoap -v`, xsbug), in
 * the shape libcoap prints: type, code with its name, Message ID, token, every option by name
 * with its value decoded, and the payload:
 *
 *   CON GET mid=0x1234 token=a1b2c3d4 [ Uri-Path:"hello", Accept:text/plain;charset=utf-8 ]
 *   ACK 2.05 Content mid=0x1234 token=a1b2c3d4 [ ETag:0x5c1e, Content-Format:application/json, Block2:0/M/1024, Size2:5500 ] :: 1024 bytes '{"a":...'
 *
 * Content-Format and Accept by media type, Block1/Block2 as NUM/M/SIZE ("_" when no more
 * blocks follow), uint options as numbers, strings quoted, opaque values (ETag, Echo, ...) in
 * hex; a payload as text when it is printable UTF-8, else in hex (both cut after 200).
 * Allocates strings: diagnostics only, never on the message path.
 */
import { codeName } from "../constants.js";
import { formatName } from "../formats.js";
import { FMT_EMPTY, FMT_STRING, FMT_UINT, OPT_ACCEPT, OPT_BLOCK1, OPT_BLOCK2, OPT_CONTENT_FORMAT, optionFormat, optionName } from "../options.js";
import { readUint } from "./uint.js";
import { utf8Decode } from "./utf8.js";
import { MessageView } from "./view.js";

const TYPES: readonly string[] = Object.freeze(["CON", "NON", "ACK", "RST"]);
/** Payload bytes shown before "...". */
const SHOWN = 200;

function hexOf(b: Uint8Array, from: number, to: number): string {
	let s = "";
	for (let i = from; i < to; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s;
}

/** "NUM/M/SIZE" of a Block1/Block2 value (RFC 7959 §2.2); "_" for M=0, like libcoap. */
export function describeBlock(value: number): string {
	const szx = value & 7;
	return (value >>> 4) + "/" + (value & 8 ? "M" : "_") + "/" + (szx === 7 ? "reserved" : String(1 << (szx + 4)));
}

/** A Content-Format or Accept number by its media type (blanks removed), or the number when unregistered. */
export function describeFormat(n: number): string {
	const name = formatName(n);
	return name === undefined ? String(n) : name.replace(/; /g, ";");
}

/** The value of option `number` as a trace shows it. */
export function describeOptionValue(number: number, bytes: Uint8Array, offset: number, length: number): string {
	const f = optionFormat(number);
	if (f === FMT_EMPTY && length === 0) return "";
	if (f === FMT_UINT) {
		const n = readUint(bytes, offset, length);
		if (number === OPT_CONTENT_FORMAT || number === OPT_ACCEPT) return describeFormat(n);
		if (number === OPT_BLOCK1 || number === OPT_BLOCK2) return describeBlock(n);
		return String(n);
	}
	if (f === FMT_STRING) return JSON.stringify(utf8Decode(bytes, offset, length));
	return "0x" + hexOf(bytes, offset, offset + length);
}

/** True when the bytes are UTF-8 text without control characters other than tab, CR and LF. */
export function isPrintableText(bytes: Uint8Array, offset: number, length: number): boolean {
	let i = offset;
	const end = offset + length;
	while (i < end) {
		const b = bytes[i]!;
		if (b < 0x80) {
			if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b === 0x7f) return false;
			i++;
			continue;
		}
		// RFC 3629 §4: a well-formed multi-byte sequence (overlong and surrogate forms refused).
		const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
		if (n < 0 || i + n >= end) return false;
		for (let k = 1; k <= n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return false;
		const b1 = bytes[i + 1]!;
		if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 > 0x9f) || (b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 > 0x8f)) return false;
		i += n + 1;
	}
	return true;
}

/** A payload as a trace shows it: `13 bytes "text"` or `4 bytes h'a1b2c3d4'`, cut after 200. */
export function describePayload(bytes: Uint8Array, offset: number, length: number): string {
	const shown = Math.min(length, SHOWN);
	const more = shown < length ? "..." : "";
	const head = length + (length === 1 ? " byte " : " bytes ");
	if (isPrintableText(bytes, offset, length)) {
		// Cutting may split a character: decode the whole text, then cut by characters.
		const text = utf8Decode(bytes, offset, length);
		return head + JSON.stringify(text.length > SHOWN ? text.slice(0, SHOWN) : text) + (text.length > SHOWN ? "..." : "");
	}
	return head + "h'" + hexOf(bytes, offset, offset + shown) + "'" + more;
}

/** The message in `bytes`, described on one line (see the file comment). */
export function describeMessage(bytes: Uint8Array, length = bytes.length, maxOptions = 64): string {
	const v = new MessageView(maxOptions);
	const st = v.parse(bytes, length);
	if (st < 0 && length < 4) return "malformed (" + length + " bytes)";
	let s = TYPES[v.type] + " " + codeName(v.code) + " mid=0x" + v.mid.toString(16).padStart(4, "0");
	if (v.tokenLength) s += " token=" + hexOf(v.bytes, v.tokenOffset, v.tokenOffset + v.tokenLength);
	if (v.optionCount > 0) {
		s += " [ ";
		for (let i = 0; i < v.optionCount; i++) {
			const n = v.optNumber[i]!;
			const value = describeOptionValue(n, v.bytes, v.optOffset[i]!, v.optLength[i]!);
			s += (i > 0 ? ", " : "") + optionName(n) + (value === "" ? "" : ":" + value);
		}
		s += " ]";
	}
	if (st < 0) return s + " (malformed, status " + st + ")";
	if (v.payloadLength > 0) s += " :: " + describePayload(v.bytes, v.payloadOffset, v.payloadLength);
	return s;
}
