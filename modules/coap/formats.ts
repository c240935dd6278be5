/**
 * The CoAP Content-Formats registry (RFC 7252 §12.3, IANA "CoAP Content-Formats"): numbers and
 * media types with their parameters, for showing a Content-Format or Accept by name (traces,
 * the command line) and for reading a name typed by a person. Matching is lenient the way
 * people type media types: case, blanks around ";" and quotes do not matter, a bare media type
 * picks its one registered entry ("text/plain" is 0), and the common short names ("json",
 * "cbor", "link-format", "senml+cbor", "text") stand for their application/ or text/ type.
 *
 * Nothing here is on the message path; a firmware that never names formats does not import it.
 * Leaves out: Content-Coding other than identity (11050 and 11060, deflate, are named but not
 * decoded by anything in xscoap).
 */

/** Number and media type (with parameters) of every registered content format. */
export const CONTENT_FORMATS: readonly (readonly [number, string])[] = Object.freeze([
	Object.freeze([0, "text/plain; charset=utf-8"] as const),
	Object.freeze([16, 'application/cose; cose-type="cose-encrypt0"'] as const),
	Object.freeze([17, 'application/cose; cose-type="cose-mac0"'] as const),
	Object.freeze([18, 'application/cose; cose-type="cose-sign1"'] as const),
	Object.freeze([19, "application/ace+cbor"] as const),
	Object.freeze([21, "image/gif"] as const),
	Object.freeze([22, "image/jpeg"] as const),
	Object.freeze([23, "image/png"] as const),
	Object.freeze([40, "application/link-format"] as const),
	Object.freeze([41, "application/xml"] as const),
	Object.freeze([42, "application/octet-stream"] as const),
	Object.freeze([47, "application/exi"] as const),
	Object.freeze([50, "application/json"] as const),
	Object.freeze([51, "application/json-patch+json"] as const),
	Object.freeze([52, "application/merge-patch+json"] as const),
	Object.freeze([60, "application/cbor"] as const),
	Object.freeze([61, "application/cwt"] as const),
	Object.freeze([62, "application/multipart-core"] as const),
	Object.freeze([63, "application/cbor-seq"] as const),
	Object.freeze([64, "application/edhoc+cbor-seq"] as const),
	Object.freeze([65, "application/cid-edhoc+cbor-seq"] as const),
	Object.freeze([96, 'application/cose; cose-type="cose-encrypt"'] as const),
	Object.freeze([97, 'application/cose; cose-type="cose-mac"'] as const),
	Object.freeze([98, 'application/cose; cose-type="cose-sign"'] as const),
	Object.freeze([101, "application/cose-key"] as const),
	Object.freeze([102, "application/cose-key-set"] as const),
	Object.freeze([110, "application/senml+json"] as const),
	Object.freeze([111, "application/sensml+json"] as const),
	Object.freeze([112, "application/senml+cbor"] as const),
	Object.freeze([113, "application/sensml+cbor"] as const),
	Object.freeze([114, "application/senml-exi"] as const),
	Object.freeze([115, "application/sensml-exi"] as const),
	Object.freeze([140, "application/yang-data+cbor; id=sid"] as const),
	Object.freeze([256, "application/coap-group+json"] as const),
	Object.freeze([257, "application/concise-problem-details+cbor"] as const),
	Object.freeze([258, "application/swid+cbor"] as const),
	Object.freeze([271, "application/dots+cbor"] as const),
	Object.freeze([272, "application/missing-blocks+cbor-seq"] as const),
	Object.freeze([280, "application/pkcs7-mime; smime-type=server-generated-key"] as const),
	Object.freeze([281, "application/pkcs7-mime; smime-type=certs-only"] as const),
	Object.freeze([284, "application/pkcs8"] as const),
	Object.freeze([285, "application/csrattrs"] as const),
	Object.freeze([286, "application/pkcs10"] as const),
	Object.freeze([287, "application/pkix-cert"] as const),
	Object.freeze([290, "application/aif+cbor"] as const),
	Object.freeze([291, "application/aif+json"] as const),
	Object.freeze([310, "application/senml+xml"] as const),
	Object.freeze([311, "application/sensml+xml"] as const),
	Object.freeze([320, "application/senml-etch+json"] as const),
	Object.freeze([322, "application/senml-etch+cbor"] as const),
	Object.freeze([340, "application/yang-data+cbor"] as const),
	Object.freeze([341, "application/yang-data+cbor; id=name"] as const),
	Object.freeze([432, "application/td+json"] as const),
	Object.freeze([10000, "application/vnd.ocf+cbor"] as const),
	Object.freeze([10001, "application/oscore"] as const),
	Object.freeze([10002, "application/javascript"] as const),
	Object.freeze([11050, "application/json; encoding=deflate"] as const),
	Object.freeze([11060, "application/cbor; encoding=deflate"] as const),
	Object.freeze([11542, "application/vnd.oma.lwm2m+tlv"] as const),
	Object.freeze([11543, "application/vnd.oma.lwm2m+json"] as const),
	Object.freeze([11544, "application/vnd.oma.lwm2m+cbor"] as const),
	Object.freeze([20000, "text/css"] as const),
	Object.freeze([30000, "image/svg+xml"] as const),
]);

/** Short names people type, for the media type they stand for. */
const SHORT: readonly (readonly [string, number])[] = Object.freeze([
	Object.freeze(["text", 0] as const),
	Object.freeze(["plain", 0] as const),
	Object.freeze(["utf8", 0] as const),
	Object.freeze(["octets", 42] as const),
	Object.freeze(["binary", 42] as const),
	Object.freeze(["link", 40] as const),
]);

/** The registered media type of content format `n` ("text/plain; charset=utf-8"), or undefined. */
export function formatName(n: number): string | undefined {
	for (const row of CONTENT_FORMATS) if (row[0] === n) return row[1];
	return undefined;
}

/** A media type as written for comparison: lower case, no blanks around ";" and "=", no quotes. */
function normalize(s: string): string {
	return s.toLowerCase().replace(/"/g, "").replace(/\s*;\s*/g, ";").replace(/\s*=\s*/g, "=").trim();
}

/**
 * The content format a person means by `text`: a number 0..65535, a registered media type with
 * or without its parameters, or a short name. Returns the number, or a string saying why not
 * (unknown, or ambiguous: "application/cose" without its cose-type).
 */
export function parseFormat(text: string): number | string {
	const t = normalize(text);
	if (/^\d+$/.test(t)) {
		const n = Number(t);
		return n <= 65535 ? n : "a content format number is 0..65535";
	}
	for (const row of CONTENT_FORMATS) if (normalize(row[1]) === t) return row[0];
	for (const s of SHORT) if (s[0] === t) return s[1];
	// A bare media type (no parameters): its one entry, or the one without parameters.
	const candidates = (bare: string) => CONTENT_FORMATS.filter((r) => normalize(r[1]).split(";")[0] === bare);
	for (const bare of t.indexOf("/") >= 0 ? [t] : ["application/" + t, "text/" + t, "image/" + t]) {
		if (bare.indexOf(";") >= 0) continue;
		const c = candidates(bare);
		if (c.length === 1) return c[0]![0];
		const plain = c.filter((r) => r[1].indexOf(";") < 0);
		if (plain.length === 1) return plain[0]![0];
		if (c.length > 1) return "ambiguous content format " + JSON.stringify(text) + ": one of " + c.map((r) => r[1] + " (" + r[0] + ")").join(", ");
	}
	return "unknown content format " + JSON.stringify(text);
}
