// RFC 6690 link-format parsing and writing (modules/coap/rd/links.ts), the filters of RFC 6690
// §4.1 / RFC 9176 §6 and RFC 3986 §5 reference resolution. Portable: also runs on XS.
import * as assert from "../../support/assert.js";
import { isBaseUri, linkParam, paramMatches, parseLinkFormat, resolveReference, serializeLinkFormat, valueMatches, type Link } from "../../../modules/coap/rd/links.js";

function parse(text: string): Link[] {
	const r = parseLinkFormat(text);
	if (typeof r === "string") assert.fail("parse failed: " + r + " in " + JSON.stringify(text));
	return r;
}

describe("link-format (RFC 6690)", () => {
	it("parses targets, quoted and bare values, bare parameters, in order", () => {
		const links = parse('</sensors/temp>;rt="temperature-c";if="core.s";ct=0;obs;title="Temp \\"C\\"",</led>;ct=0');
		assert.equal(links.length, 2);
		assert.equal(links[0]!.href, "/sensors/temp");
		assert.deepEqual(
			links[0]!.params.map((p) => [p.name, p.value, p.quoted]),
			[
				["rt", "temperature-c", true],
				["if", "core.s", true],
				["ct", "0", false],
				["obs", null, false],
				["title", 'Temp "C"', true],
			],
		);
		assert.equal(linkParam(links[0]!, "obs"), "");
		assert.equal(linkParam(links[0]!, "sz"), undefined);
		assert.equal(links[1]!.href, "/led");
	});

	it("the RFC 6690 §5 examples parse (including commas and semicolons inside quotes)", () => {
		const links = parse('</sensors>;ct=40;title="Sensor Index",</sensors/temp>;rt="temperature-c";if="sensor",</sensors/light>;rt="light-lux";if="sensor",<http://www.example.com/sensors/t123>;anchor="/sensors/temp";rel="describedby",</t>;anchor="/sensors/temp";rel="alternate";title="a, b; c"');
		assert.equal(links.length, 5);
		assert.equal(links[3]!.href, "http://www.example.com/sensors/t123");
		assert.equal(linkParam(links[3]!, "anchor"), "/sensors/temp");
		assert.equal(linkParam(links[4]!, "title"), "a, b; c");
	});

	it("tolerates whitespace and line breaks between links and around separators", () => {
		const links = parse(' </a> ; rt="x" ;obs ,\n  </b>;ct=40\r\n');
		assert.deepEqual(
			links.map((l) => l.href),
			["/a", "/b"],
		);
		assert.equal(linkParam(links[0]!, "rt"), "x");
	});

	it("an empty document is no links", () => {
		assert.deepEqual(parse(""), []);
		assert.deepEqual(parse("  \n"), []);
	});

	it("malformed documents give an error naming the offset, never an exception", () => {
		const bad: [string, RegExp][] = [
			["/a", /expected '<' at offset 0/],
			["</a", /unterminated '<'/],
			['</a>;rt="x', /unterminated quoted string/],
			["</a>;=x", /parameter name at offset 5/],
			["</a>;rt=", /expected a value for rt/],
			["</a>,", /trailing ','/],
			["</a> </b>", /expected ',' or ';' at offset 5/],
			["</a b>", /bad character in link target at offset 3/],
			["</a>;rt=x y", /expected ',' or ';'/],
			['</a>;rt="x\\', /unterminated quoted string/],
		];
		for (const [text, re] of bad) {
			const r = parseLinkFormat(text);
			assert.equal(typeof r, "string", JSON.stringify(text));
			assert.match(r as string, re, JSON.stringify(text));
		}
		assert.match(parseLinkFormat("</a>,</b>,</c>", 2) as string, /more than 2 links/);
	});

	it("survives arbitrary bytes (fuzz): parse returns links or an error string", () => {
		let seed = 7;
		const alphabet = '<>;,="\\ a/rt*\n\u00e9';
		for (let n = 0; n < 2000; n++) {
			let s = "";
			const len = n % 40;
			for (let i = 0; i < len; i++) {
				seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
				s += alphabet[seed % alphabet.length];
			}
			const r = parseLinkFormat(s);
			assert.ok(typeof r === "string" || Array.isArray(r));
			if (Array.isArray(r)) {
				// What parses serializes back into something that parses to the same links.
				const again = parseLinkFormat(serializeLinkFormat(r));
				assert.ok(Array.isArray(again), "re-parse of " + JSON.stringify(s));
				assert.deepEqual(again, r);
			}
		}
	});

	it("serializes back (quoted values stay quoted, escapes are restored)", () => {
		const text = '</a>;rt="x y";ct=0;obs;title="q\\"uote",</b>';
		assert.equal(serializeLinkFormat(parse(text)), text);
	});

	it("filters: exact, prefix with *, rt/if lists match by item, bare = presence", () => {
		assert.ok(valueMatches("rt", "temperature-c", "temperature-c humidity"));
		assert.ok(valueMatches("rt", "hum*", "temperature-c humidity"));
		assert.ok(!valueMatches("rt", "temp", "temperature-c"));
		assert.ok(valueMatches("title", "Temp*", "Temperature"));
		assert.ok(!valueMatches("title", "emp*", "Temperature"));
		assert.ok(valueMatches("ep", "*", "anything"));
		const [link] = parse('</a>;rt="x y";obs');
		assert.ok(paramMatches(link!, "obs", null));
		assert.ok(paramMatches(link!, "rt", "y"));
		assert.ok(!paramMatches(link!, "ct", null));
	});

	it("resolves references (RFC 3986 §5.4 examples against http://a/b/c/d;p?q, with coap)", () => {
		const base = "coap://a/b/c/d;p?q";
		const cases: [string, string][] = [
			["g", "coap://a/b/c/g"],
			["./g", "coap://a/b/c/g"],
			["g/", "coap://a/b/c/g/"],
			["/g", "coap://a/g"],
			["//g", "coap://g"],
			["?y", "coap://a/b/c/d;p?y"],
			["g?y", "coap://a/b/c/g?y"],
			["", "coap://a/b/c/d;p?q"],
			[".", "coap://a/b/c/"],
			["..", "coap://a/b/"],
			["../g", "coap://a/b/g"],
			["../../g", "coap://a/g"],
			["../../../g", "coap://a/g"],
			["/./g", "coap://a/g"],
			["g/../h", "coap://a/b/c/h"],
			["coap://x:1/y", "coap://x:1/y"],
		];
		for (const [ref, want] of cases) assert.equal(resolveReference(base, ref), want, ref);
		// A registration's base has no path: relative references resolve from "/".
		assert.equal(resolveReference("coap://[2001:db8::1]:5684", "sensors/t"), "coap://[2001:db8::1]:5684/sensors/t");
		assert.equal(resolveReference("coap://127.0.0.1:5684", "/sensors/t"), "coap://127.0.0.1:5684/sensors/t");
	});

	it("base URIs: absolute with an authority, no query or fragment", () => {
		assert.ok(isBaseUri("coap://127.0.0.1:5684"));
		assert.ok(isBaseUri("coap://[2001:db8::1]"));
		assert.ok(!isBaseUri("/reg/1"));
		assert.ok(!isBaseUri("coap://h/?q"));
		assert.ok(!isBaseUri("coap:///x"));
		assert.ok(!isBaseUri("coap://h x"));
	});
});
