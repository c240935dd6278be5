/**
 * SenML packs (RFC 8428) as a table for people: one row per record with its resolved name,
 * time, value and unit (§4.6: base name, base time, base unit and base value applied; §4.5.3:
 * times below 2**28 are relative to now, larger ones seconds since 1970). JSON (§5) and CBOR
 * (§6, integer labels) packs, SensML streams alike.
 *
 * Leaves out: base sum and the "ut" update time (shown only when present), versions (bver).
 */

/** RFC 8428 §6 Table 6: CBOR labels to JSON labels. */
const CBOR_LABELS: ReadonlyMap<number, string> = new Map([
	[-1, "bver"], [-2, "bn"], [-3, "bt"], [-4, "bu"], [-5, "bv"], [-6, "bs"],
	[0, "n"], [1, "u"], [2, "v"], [3, "vs"], [4, "vb"], [5, "s"], [6, "t"], [7, "ut"], [8, "vd"],
]);

type Record = { [label: string]: unknown };

/** A decoded pack (a JSON array of objects, or a CBOR array of maps) as records with JSON labels; undefined when it is not one. */
function records(pack: unknown): Record[] | undefined {
	if (!Array.isArray(pack)) return undefined;
	const out: Record[] = [];
	for (const r of pack) {
		if (r instanceof Map) {
			const o: Record = {};
			for (const [k, v] of r) o[typeof k === "number" ? (CBOR_LABELS.get(k) ?? String(k)) : String(k)] = v;
			out.push(o);
		} else if (r !== null && typeof r === "object" && !Array.isArray(r) && !(r instanceof Uint8Array)) out.push(r as Record);
		else return undefined;
	}
	return out;
}

function time(t: number): string {
	// §4.5.3: 2**28 and above is absolute (seconds since 1970), below it relative to now.
	if (t >= 2 ** 28) {
		const d = new Date(t * 1000);
		return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace(".000Z", "Z");
	}
	return t === 0 ? "now" : (t > 0 ? "+" : "") + t + " s";
}

function value(r: Record, bv: number): string {
	if (typeof r.v === "number") return String(bv + r.v);
	if (typeof r.vs === "string") return JSON.stringify(r.vs);
	if (typeof r.vb === "boolean") return String(r.vb);
	if (r.vd instanceof Uint8Array) return "h'" + Buffer.from(r.vd).toString("hex") + "'";
	if (typeof r.vd === "string") return "data " + r.vd; // base64url in JSON (§5)
	if (bv !== 0 && r.s === undefined) return String(bv);
	return "";
}

/** The pack as a table, or undefined when `pack` is not a SenML pack. */
export function senmlTable(pack: unknown): string | undefined {
	const list = records(pack);
	if (list === undefined || list.length === 0) return undefined;
	let bn = "";
	let bt = 0;
	let bu = "";
	let bv = 0;
	const rows: string[][] = [];
	for (const r of list) {
		// §4.6: a base field applies to this record and the ones after it.
		if (typeof r.bn === "string") bn = r.bn;
		if (typeof r.bt === "number") bt = r.bt;
		if (typeof r.bu === "string") bu = r.bu;
		if (typeof r.bv === "number") bv = r.bv;
		const name = bn + (typeof r.n === "string" ? r.n : "");
		const t = bt + (typeof r.t === "number" ? r.t : 0);
		const unit = typeof r.u === "string" ? r.u : bu;
		const extra: string[] = [];
		if (typeof r.s === "number") extra.push("sum " + r.s);
		if (typeof r.ut === "number") extra.push("update every " + r.ut + " s");
		rows.push([name, time(t), value(r, bv), unit, extra.join(", ")]);
	}
	const header = ["name", "time", "value", "unit", ""];
	const used = header.map((_, c) => c < 3 || rows.some((row) => row[c] !== ""));
	const width = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
	const line = (cells: string[]) =>
		cells
			.map((cell, c) => (used[c] ? (c === 2 ? cell.padStart(width[c]!) : cell.padEnd(width[c]!)) : ""))
			.filter((_, c) => used[c])
			.join("  ")
			.trimEnd();
	return [line(header), ...rows.map(line)].join("\n") + "\n";
}
