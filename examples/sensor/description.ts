/**
 * The sensor device's self-description, served as JSON at `/device`: what the device is, how
 * it samples, the CoAP limits it was built with and, per resource, its methods, link
 * attributes and unit. Built once when the app starts (the text is constant while it runs, so
 * a Block2 transfer of it never sees the representation change, RFC 7959 §2.4) and larger than
 * one 1024-byte block, so clients read it block-wise (RFC 7959).
 * Leaves out: a standard data model (no LwM2M object, no SenML); it is plain JSON for people
 * and scripts.
 */
import { METHOD_NAMES } from "../../modules/coap/constants.js";
import type { Limits } from "../../modules/coap/tuning.js";
import type { Router } from "../../modules/coap/server/router.js";

export interface DescriptionInfo {
	readonly name: string;
	/** What runs the app: "Moddable XS", "Node.js", "virtual network". */
	readonly host: string;
	/** What the readings come from (the board's own description). */
	readonly board: string;
	readonly sampleMs: number;
	readonly step: number;
	readonly maxAge: number;
	readonly decimals: number;
	readonly noteBytes: number;
	readonly port: number;
	readonly limits: Limits;
	/** Units of resources by path (SenML unit names, RFC 8428 §12.1). */
	readonly units: Readonly<Record<string, string>>;
}

/** The description text (JSON, one line). */
export function describeDevice(router: Router, info: DescriptionInfo): string {
	const resources: object[] = [];
	for (const r of router.resources) {
		const methods: string[] = [];
		for (let m = 1; m < r.handlers.length; m++) if (r.handlers[m] !== undefined) methods.push(METHOD_NAMES[m]!);
		const entry: Record<string, unknown> = { path: r.path, title: r.title, methods };
		if (r.rt.length > 0) entry.rt = r.rt.join(" ");
		if (r.if.length > 0) entry.if = r.if.join(" ");
		if (r.ct.length > 0) entry.ct = r.ct.length === 1 ? r.ct[0] : r.ct.slice();
		if (r.obs) entry.observable = true;
		const unit = info.units[r.path];
		if (unit !== undefined) entry.unit = unit;
		resources.push(entry);
	}
	return JSON.stringify({
		name: info.name,
		model: "xscoap sensor example",
		software: "xscoap: CoAP (RFC 7252, 7641, 7959, 7967, 9175) on " + info.host,
		board: info.board,
		sampling: {
			periodMs: info.sampleMs,
			notifyStep: info.step,
			maxAgeSeconds: info.maxAge,
			decimals: info.decimals,
			note: "observers of /sensors/temperature hear each change of at least notifyStep and at least once per Max-Age",
		},
		noteBytes: info.noteBytes,
		coap: { port: info.port, ...info.limits },
		resources,
	});
}
