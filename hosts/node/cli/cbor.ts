/**
 * CBOR (RFC 8949) for the command line, from cbor-x (DESIGN.md): decoding for display, where
 * every tag stays a Tag (no Dates, typed arrays or Sets: a display shows what was sent), maps
 * stay Maps (integer keys stay integers), byte strings stay plain bytes, 64-bit integers stay
 * exact (bigint); and encoding, with byte strings as plain byte strings (`tagUint8Array:
 * false`: no tag 64).
 *
 * This file is the package's only import of cbor-x: the build bundles cbor-x's portable code
 * into its output (package.json "build"), so an installed xscoap depends on no cbor-x and on
 * no native add-on.
 */
import { Decoder, Encoder, Tag, addExtension } from "cbor-x";

export { Tag };

/** Tags cbor-x would turn into other objects (dates, bignums, typed arrays, sets, records, packed values). */
const CONVERTED_TAGS: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 14, 15, 21, 22, 23, 25, 27, 28, 29, 51, 105, 256, 258, 259, 55799]);

function keepTags(): void {
	const keep = (tag: number) => addExtension({ tag, decode: (value: unknown) => new Tag(value, tag) } as unknown as Parameters<typeof addExtension>[0]);
	for (const t of CONVERTED_TAGS) keep(t);
	for (let t = 64; t <= 87; t++) keep(t); // RFC 8746 typed arrays
	for (let t = 216; t <= 255; t++) keep(t); // cbor-x's packed-value prefixes and suffixes
}

let decoder: Decoder | undefined;

/** Every item of a CBOR sequence (RFC 8742; one item for plain CBOR). Throws on bytes that are not well-formed. */
export function decodeItems(bytes: Uint8Array): unknown[] {
	if (decoder === undefined) {
		keepTags();
		decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsType: "bigint" } as ConstructorParameters<typeof Decoder>[0]);
	}
	const items: unknown[] = [];
	decoder.decodeMultiple(bytes, (item: unknown) => {
		items.push(item);
	});
	return items;
}

/** One value as CBOR (byte strings untagged, maps as maps). */
export function encodeItem(value: unknown): Uint8Array {
	const e = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false } as ConstructorParameters<typeof Encoder>[0]);
	return e.encode(value);
}
