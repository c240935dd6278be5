/**
 * Preload-safety check for the modules Moddable preloads into flash (DESIGN.md "Preloaded
 * modules freeze"; Moddable documentation/xs/preload.md and "XS linker warnings.md"): what a
 * module creates while it loads becomes read-only, so a module may keep only constants at
 * top level. This scans TypeScript sources and reports, with file:line, every top-level
 * construct that creates state:
 *
 * - `let` and `var` declarations;
 * - `const` bound to an array or object literal that is not frozen, to `new ...` (typed
 *   arrays, Map, Set, any instance), to a typed array made by `Uint8Array.of/from`, to a
 *   regular expression with the g or y flag (lastIndex is state), or to the result of a call
 *   other than `Object.freeze(...)`, `deepFreeze(...)`, `Symbol(...)` and a few functions that
 *   return primitives; inside `Object.freeze(literal)`, nested literals and instances are
 *   checked the same way (freezing is shallow);
 * - class `static` fields that are not `readonly`, or whose value is not a constant as above,
 *   and `static {}` blocks (statics of preloaded classes are read-only);
 * - `enum` and `namespace` (runtime objects; also not erasable syntax);
 * - top-level statements other than declarations: calls, assignments, `if`, loops... except
 *   `Object.freeze(X)`, e.g. of a prototype.
 *
 * A construct that is safe for a reason the scan cannot see (a typed array only ever read)
 * can be marked on its line or the line above with `// preload-safe: <reason>`.
 *
 * How: a tokenizer that knows TypeScript's comments, strings, template literals (nested
 * `${}`), regular expressions and numeric literals, then a scan of the top-level statements
 * and class bodies with bracket matching. Type annotations, interfaces, type aliases,
 * overloads, `declare` and `import type` are skipped. It is not a full parser: code it does
 * not understand at top level is reported, never passed silently.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export interface Violation {
	readonly file: string;
	readonly line: number;
	readonly message: string;
}

type Kind = "id" | "num" | "str" | "tmpl" | "regex" | "punct";

interface Token {
	readonly kind: Kind;
	readonly value: string;
	readonly line: number;
	/** True if a line break separates this token from the previous one. */
	readonly newline: boolean;
}

const PUNCTUATORS = [
	">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>",
	"{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "!", "~", "?", ":", "=", ".", "@", "#",
];

/** After these, a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_KEYWORDS = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);

function isIdStart(c: string): boolean {
	return /[A-Za-z_$\u0080-\uffff]/.test(c);
}
function isIdPart(c: string): boolean {
	return /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

/** Splits TypeScript source into tokens. @throws Error on an unterminated string, comment, template or regex. */
export function tokenize(src: string): Token[] {
	const tokens: Token[] = [];
	let i = 0;
	let line = 1;
	let newline = true;
	const n = src.length;
	const push = (kind: Kind, value: string, startLine: number) => {
		tokens.push({ kind, value, line: startLine, newline });
		newline = false;
	};
	const fail = (what: string, at: number): never => {
		throw new Error("unterminated " + what + " starting on line " + at);
	};
	const regexAllowed = (): boolean => {
		const prev = tokens[tokens.length - 1];
		if (prev === undefined) return true;
		if (prev.kind === "num" || prev.kind === "str" || prev.kind === "tmpl" || prev.kind === "regex") return false;
		if (prev.kind === "id") return REGEX_AFTER_KEYWORDS.has(prev.value);
		return prev.value !== ")" && prev.value !== "]";
	};
	// Skips a string body starting after the quote; returns the index after the closing quote.
	const skipString = (start: number, quote: string): number => {
		let j = start;
		while (j < n) {
			const c = src[j]!;
			if (c === "\\") {
				if (src[j + 1] === "\n") line++;
				j += 2;
				continue;
			}
			if (c === quote) return j + 1;
			if (c === "\n") fail("string", line);
			j++;
		}
		return fail("string", line);
	};
	// Skips a template body starting after the backtick (substitutions included).
	const skipTemplate = (start: number): { end: number; substitutions: boolean } => {
		const startLine = line;
		let j = start;
		let substitutions = false;
		while (j < n) {
			const c = src[j]!;
			if (c === "\\") {
				if (src[j + 1] === "\n") line++;
				j += 2;
				continue;
			}
			if (c === "\n") line++;
			if (c === "`") return { end: j + 1, substitutions };
			if (c === "$" && src[j + 1] === "{") {
				substitutions = true;
				j = skipCode(j + 2, "}");
				continue;
			}
			j++;
		}
		return fail("template literal", startLine);
	};
	// Skips code up to the matching closer (inside a template substitution); returns the index after it.
	const skipCode = (start: number, closer: string): number => {
		let depth = 0;
		let j = start;
		while (j < n) {
			const c = src[j]!;
			if (c === "\n") line++;
			if (c === "'" || c === '"') j = skipString(j + 1, c);
			else if (c === "`") j = skipTemplate(j + 1).end;
			else if (c === "/" && src[j + 1] === "/") while (j < n && src[j] !== "\n") j++;
			else if (c === "/" && src[j + 1] === "*") {
				const e = src.indexOf("*/", j + 2);
				if (e < 0) fail("comment", line);
				for (let k = j; k < e; k++) if (src[k] === "\n") line++;
				j = e + 2;
			} else {
				if (c === "{") depth++;
				else if (c === closer && depth === 0) return j + 1;
				else if (c === "}") depth--;
				j++;
			}
		}
		return fail("template substitution", line);
	};
	while (i < n) {
		const c = src[i]!;
		if (c === "\n") {
			line++;
			newline = true;
			i++;
			continue;
		}
		if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\ufeff") {
			i++;
			continue;
		}
		if (c === "/" && src[i + 1] === "/") {
			while (i < n && src[i] !== "\n") i++;
			continue;
		}
		if (c === "/" && src[i + 1] === "*") {
			const e = src.indexOf("*/", i + 2);
			if (e < 0) fail("comment", line);
			for (let k = i; k < e; k++) if (src[k] === "\n") {
				line++;
				newline = true;
			}
			i = e + 2;
			continue;
		}
		const startLine = line;
		if (c === "'" || c === '"') {
			const e = skipString(i + 1, c);
			push("str", src.slice(i, e), startLine);
			i = e;
			continue;
		}
		if (c === "`") {
			const t = skipTemplate(i + 1);
			push("tmpl", t.substitutions ? "`${...}`" : src.slice(i, t.end), startLine);
			i = t.end;
			continue;
		}
		if (c === "/" && regexAllowed()) {
			let j = i + 1;
			let inClass = false;
			while (j < n) {
				const d = src[j]!;
				if (d === "\\") j += 2;
				else if (d === "\n") fail("regular expression", line);
				else if (d === "[") (inClass = true), j++;
				else if (d === "]") (inClass = false), j++;
				else if (d === "/" && !inClass) break;
				else j++;
			}
			j++;
			while (j < n && isIdPart(src[j]!)) j++; // flags
			push("regex", src.slice(i, j), startLine);
			i = j;
			continue;
		}
		if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
			let j = i + 1;
			while (j < n && /[0-9A-Za-z_.]/.test(src[j]!)) {
				if ((src[j] === "e" || src[j] === "E") && (src[j + 1] === "+" || src[j + 1] === "-") && !/^0[xX]/.test(src.slice(i, j))) j++;
				j++;
			}
			push("num", src.slice(i, j), startLine);
			i = j;
			continue;
		}
		if (isIdStart(c)) {
			let j = i + 1;
			while (j < n && isIdPart(src[j]!)) j++;
			push("id", src.slice(i, j), startLine);
			i = j;
			continue;
		}
		let matched = "";
		for (const p of PUNCTUATORS) {
			if (src.startsWith(p, i)) {
				matched = p;
				break;
			}
		}
		if (matched === "") throw new Error("unexpected character " + JSON.stringify(c) + " on line " + line);
		push("punct", matched, startLine);
		i += matched.length;
	}
	return tokens;
}

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

/** Keywords that begin a new top-level statement (used to end a statement without `;` by ASI). */
const STATEMENT_STARTS = new Set(["export", "import", "const", "let", "var", "function", "class", "interface", "type", "declare", "enum", "namespace", "module", "abstract", "async", "if", "for", "while", "do", "switch", "try", "throw", "return"]);

/** Calls whose result is a primitive or a frozen/immutable value. */
const SAFE_CALLS = new Set(["Object.freeze", "deepFreeze", "Symbol", "Symbol.for", "String", "Number", "Boolean", "BigInt", "parseInt", "parseFloat", "Math.abs", "Math.floor", "Math.ceil", "Math.round", "Math.min", "Math.max", "Math.pow", "Math.trunc", "Math.sqrt", "Number.parseInt", "Number.parseFloat"]);

const TYPED_ARRAYS = new Set(["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "DataView", "ArrayBuffer", "SharedArrayBuffer"]);
const COLLECTIONS = new Set(["Map", "Set", "WeakMap", "WeakSet"]);

class Scanner {
	readonly violations: Violation[] = [];
	readonly #t: Token[];
	readonly #file: string;
	readonly #safeLines: Set<number>;
	#i = 0;

	constructor(tokens: Token[], file: string, safeLines: Set<number>) {
		this.#t = tokens;
		this.#file = file;
		this.#safeLines = safeLines;
	}

	#report(line: number, message: string): void {
		if (this.#safeLines.has(line) || this.#safeLines.has(line - 1)) return;
		this.violations.push({ file: this.#file, line, message });
	}

	#peek(k = 0): Token | undefined {
		return this.#t[this.#i + k];
	}

	#is(value: string, k = 0): boolean {
		const t = this.#t[this.#i + k];
		return t !== undefined && (t.kind === "id" || t.kind === "punct") && t.value === value;
	}

	/** Index just past the bracket group that opens at `start`. */
	#matchGroup(start: number): number {
		const open = this.#t[start]!.value;
		const close = OPENERS[open]!;
		let depth = 0;
		for (let j = start; j < this.#t.length; j++) {
			const v = this.#t[j]!;
			if (v.kind !== "punct") continue;
			if (v.value === "(" || v.value === "[" || v.value === "{") depth++;
			else if (v.value === ")" || v.value === "]" || v.value === "}") {
				depth--;
				if (depth === 0) {
					if (v.value !== close) throw new Error("mismatched " + open + " on line " + this.#t[start]!.line + " closed by " + v.value + " on line " + v.line);
					return j + 1;
				}
			}
		}
		throw new Error("unclosed " + open + " on line " + this.#t[start]!.line);
	}

	/**
	 * End (exclusive) of the statement or expression starting at `start`: the first `;` or `,`
	 * (when `commaEnds`) outside brackets, or a line break before a token that starts a new
	 * statement (automatic semicolon insertion), or `limit`.
	 */
	#statementEnd(start: number, commaEnds: boolean, limit = this.#t.length): number {
		let j = start;
		while (j < limit) {
			const v = this.#t[j]!;
			if (j > start && v.newline && v.kind === "id" && STATEMENT_STARTS.has(v.value)) {
				const prev = this.#t[j - 1]!;
				if (!(prev.kind === "punct" && prev.value !== ")" && prev.value !== "]" && prev.value !== "}")) return j;
			}
			if (v.kind === "punct") {
				if (v.value === ";" || (commaEnds && v.value === ",")) return j;
				if (OPENERS[v.value] !== undefined) {
					j = this.#matchGroup(j);
					continue;
				}
				if (v.value === "}" || v.value === ")" || v.value === "]") return j;
			}
			j++;
		}
		return j;
	}

	run(): void {
		while (this.#i < this.#t.length) this.#statement();
	}

	#statement(): void {
		const t = this.#peek()!;
		if (t.kind === "punct" && t.value === ";") {
			this.#i++;
			return;
		}
		if (this.#is("export")) {
			this.#i++;
			if (this.#is("default")) {
				this.#i++;
				if (this.#is("class") || this.#is("function") || (this.#is("async") && this.#is("function", 1)) || (this.#is("abstract") && this.#is("class", 1))) return this.#statement();
				const end = this.#statementEnd(this.#i, false);
				this.#checkValue(this.#i, end, "export default");
				this.#i = end;
				return;
			}
			if (this.#is("{") || this.#is("*") || (this.#is("type") && (this.#is("{", 1) || this.#is("*", 1)))) {
				this.#i = this.#statementEnd(this.#i, false); // re-exports
				return;
			}
			if (this.#is("=")) {
				this.#report(t.line, "`export =` is not an ES module export");
				this.#i = this.#statementEnd(this.#i, false);
				return;
			}
			return this.#statement();
		}
		if (this.#is("import")) {
			this.#i = this.#statementEnd(this.#i, false);
			return;
		}
		if (this.#is("declare")) return this.#skipDeclaration();
		if (this.#is("interface")) return this.#skipBlockDeclaration();
		if (this.#is("type") && this.#peek(1)?.kind === "id") {
			this.#i = this.#statementEnd(this.#i, false);
			return;
		}
		if (this.#is("function") || (this.#is("async") && this.#is("function", 1))) return this.#skipFunction();
		if (this.#is("class") || (this.#is("abstract") && this.#is("class", 1))) return this.#class();
		if (this.#is("enum") || (this.#is("const") && this.#is("enum", 1))) {
			this.#report(t.line, "enum creates a mutable runtime object; use exported const numbers (and it is not erasable syntax)");
			return this.#skipBlockDeclaration();
		}
		if ((this.#is("namespace") || this.#is("module")) && this.#peek(1) !== undefined && (this.#peek(1)!.kind === "id" || this.#peek(1)!.kind === "str")) {
			this.#report(t.line, "namespace creates a runtime object at load time (and it is not erasable syntax)");
			return this.#skipBlockDeclaration();
		}
		if (this.#is("let") || this.#is("var")) {
			const names = this.#declaredNames(this.#i + 1);
			this.#report(t.line, "top-level `" + t.value + " " + names + "`: mutable module state (read-only once preloaded); move it into an instance");
			this.#i = this.#statementEnd(this.#i, false);
			return;
		}
		if (this.#is("const")) return this.#const();
		if (t.kind === "str" && (this.#peek(1) === undefined || this.#is(";", 1) || this.#peek(1)!.newline)) {
			this.#i++; // directive ("use strict")
			return;
		}
		// Anything else runs code at load time.
		const end = this.#statementEnd(this.#i, false);
		if (!this.#isFreezeCall(this.#i, end)) this.#report(t.line, "top-level statement `" + this.#text(this.#i, end, 6) + "` runs at load time; keep module bodies to declarations");
		this.#i = end === this.#i ? end + 1 : end;
		if (this.#i < this.#t.length && this.#is("}") && end !== this.#i - 1) this.#i++;
	}

	#text(from: number, to: number, max: number): string {
		const parts: string[] = [];
		for (let j = from; j < to && j < from + max; j++) parts.push(this.#t[j]!.value);
		return parts.join(" ") + (to - from > max ? " ..." : "");
	}

	#declaredNames(from: number): string {
		const t = this.#t[from];
		if (t === undefined) return "";
		if (t.kind === "id") return t.value;
		return this.#text(from, this.#statementEnd(from, true), 5);
	}

	/** `declare ...`: skip to the end of the declaration (a block or a `;`). */
	#skipDeclaration(): void {
		let j = this.#i + 1;
		while (j < this.#t.length) {
			const v = this.#t[j]!;
			if (v.kind === "punct" && v.value === ";") {
				this.#i = j + 1;
				return;
			}
			if (v.kind === "punct" && v.value === "{") {
				const prev = this.#t[j - 1]!;
				const end = this.#matchGroup(j);
				// `declare const x: { a: number };` — a type literal, not the declaration's block.
				if (prev.kind === "punct" && (prev.value === ":" || prev.value === "|" || prev.value === "&" || prev.value === "<" || prev.value === ",")) {
					j = end;
					continue;
				}
				this.#i = end;
				return;
			}
			if (j > this.#i + 1 && v.newline && v.kind === "id" && STATEMENT_STARTS.has(v.value) && this.#t[j - 1]!.kind !== "punct") {
				this.#i = j;
				return;
			}
			if (v.kind === "punct" && (v.value === "(" || v.value === "[")) {
				j = this.#matchGroup(j);
				continue;
			}
			j++;
		}
		this.#i = j;
	}

	/** `interface X<...> extends ... { ... }`, `enum X { }`, `namespace X { }`: skip through the body. */
	#skipBlockDeclaration(): void {
		const j = this.#bodyOpen(this.#i);
		this.#i = j < this.#t.length ? this.#matchGroup(j) : j;
	}

	/**
	 * Index of the `{` that opens the body of a class or interface declared at `from`: the
	 * first `{` outside type arguments (`class A<T = {}> extends B<{ x: 1 }> {`).
	 */
	#bodyOpen(from: number): number {
		let j = from;
		let angle = 0;
		while (j < this.#t.length) {
			const v = this.#t[j]!;
			if (v.kind === "punct") {
				if (v.value === "{" && angle <= 0) return j;
				if (v.value === "<") angle++;
				else if (v.value === ">") angle--;
				else if (v.value === ">>") angle -= 2;
				else if (v.value === ">>>") angle -= 3;
				if (OPENERS[v.value] !== undefined) {
					j = this.#matchGroup(j);
					continue;
				}
			}
			j++;
		}
		return j;
	}

	/** Index just past a type annotation that starts at `from`, ending before a token in `stops` at depth 0. */
	#skipType(from: number, stops: Set<string>): number {
		let j = from;
		let angle = 0;
		while (j < this.#t.length) {
			const v = this.#t[j]!;
			if (v.kind === "punct") {
				if (angle === 0 && stops.has(v.value)) return j;
				if (v.value === "<") angle++;
				else if (v.value === ">") angle--;
				else if (v.value === ">>") angle -= 2;
				else if (v.value === ">>>") angle -= 3;
				if (OPENERS[v.value] !== undefined) {
					j = this.#matchGroup(j);
					continue;
				}
				if (v.value === ")" || v.value === "]" || v.value === "}") return j;
			}
			j++;
		}
		return j;
	}

	/** Index of the `{` that opens a function body after a parameter list ending at `from`, or -1 (overload). */
	#bodyStart(from: number): number {
		let j = from;
		if (this.#t[j]?.kind === "punct" && this.#t[j]!.value === ":") {
			// Return type: a `{` right after `:`, `|`, `&`, `<`, `,` or `=>` is a type literal.
			j++;
			for (;;) {
				const v = this.#t[j];
				if (v === undefined) return -1;
				if (v.kind === "punct" && v.value === "{") {
					const prev = this.#t[j - 1]!;
					if (prev.kind === "punct" && (prev.value === ":" || prev.value === "|" || prev.value === "&" || prev.value === "<" || prev.value === "," || prev.value === "=>")) {
						j = this.#matchGroup(j);
						continue;
					}
					return j;
				}
				if (v.kind === "punct" && v.value === ";") return -1;
				if (v.kind === "punct" && (v.value === "(" || v.value === "[")) {
					j = this.#matchGroup(j);
					continue;
				}
				if (v.newline && v.kind === "id" && STATEMENT_STARTS.has(v.value)) return -1;
				j++;
			}
		}
		const v = this.#t[j];
		return v !== undefined && v.kind === "punct" && v.value === "{" ? j : -1;
	}

	#skipFunction(): void {
		let j = this.#i;
		while (j < this.#t.length && !(this.#t[j]!.kind === "punct" && this.#t[j]!.value === "(")) j++;
		if (j >= this.#t.length) throw new Error("function without parameters on line " + this.#t[this.#i]!.line);
		const params = this.#matchGroup(j);
		const body = this.#bodyStart(params);
		if (body < 0) {
			// Overload signature (or `declare function`): ends at `;` or the line.
			let k = params;
			while (k < this.#t.length && !(this.#t[k]!.kind === "punct" && this.#t[k]!.value === ";") && !(k > params && this.#t[k]!.newline && this.#t[k]!.kind === "id" && STATEMENT_STARTS.has(this.#t[k]!.value))) k++;
			this.#i = k < this.#t.length && this.#t[k]!.value === ";" ? k + 1 : k;
			return;
		}
		this.#i = this.#matchGroup(body);
	}

	#class(): void {
		const j = this.#bodyOpen(this.#i);
		if (j >= this.#t.length) throw new Error("class without a body on line " + this.#t[this.#i]!.line);
		const end = this.#matchGroup(j);
		this.#classBody(j + 1, end - 1);
		this.#i = end;
	}

	/** Checks the members between `from` and `to` (the body's braces excluded). */
	#classBody(from: number, to: number): void {
		const MODIFIERS = new Set(["static", "readonly", "public", "private", "protected", "declare", "override", "abstract", "accessor", "async", "get", "set"]);
		let j = from;
		while (j < to) {
			const first = this.#t[j]!;
			if (first.kind === "punct" && first.value === ";") {
				j++;
				continue;
			}
			const mods = new Set<string>();
			// Modifiers are keywords only when another member name follows them.
			while (j < to && this.#t[j]!.kind === "id" && MODIFIERS.has(this.#t[j]!.value)) {
				const next = this.#t[j + 1];
				if (next === undefined || (next.kind === "punct" && (next.value === "(" || next.value === "=" || next.value === ";" || next.value === ":" || next.value === "?" || next.value === "!" || next.value === "<"))) break;
				if (next.newline && !(next.kind === "id" || (next.kind === "punct" && (next.value === "#" || next.value === "[" || next.value === "*")))) break;
				mods.add(this.#t[j]!.value);
				j++;
			}
			if (mods.has("static") && this.#t[j]?.kind === "punct" && this.#t[j]!.value === "{") {
				this.#report(first.line, "static initialization block runs at load time (statics of preloaded classes are read-only)");
				j = this.#matchGroup(j);
				continue;
			}
			if (this.#t[j]?.kind === "punct" && this.#t[j]!.value === "*") j++; // generator method
			// Member name: identifier, #private, string, number or [computed].
			const nameToken = this.#t[j]!;
			let name = nameToken.value;
			if (nameToken.kind === "punct" && nameToken.value === "#") {
				name = "#" + this.#t[j + 1]!.value;
				j += 2;
			} else if (nameToken.kind === "punct" && nameToken.value === "[") j = this.#matchGroup(j);
			else j++;
			if (this.#t[j]?.kind === "punct" && (this.#t[j]!.value === "?" || this.#t[j]!.value === "!")) j++;
			const v = this.#t[j];
			if (v !== undefined && v.kind === "punct" && (v.value === "(" || v.value === "<")) {
				// Method, getter, setter, constructor (or an overload / abstract signature).
				let k = j;
				if (v.value === "<") k = this.#skipType(j, new Set(["("]));
				const params = this.#matchGroup(k);
				const body = this.#bodyStart(params);
				if (body < 0) {
					let e = params;
					while (e < to && !(this.#t[e]!.kind === "punct" && this.#t[e]!.value === ";")) e++;
					j = e + 1;
				} else j = this.#matchGroup(body);
				continue;
			}
			// Field: optional type, optional initializer.
			let k = j;
			if (v !== undefined && v.kind === "punct" && v.value === ":") k = this.#skipType(j + 1, new Set(["=", ";"]));
			let initStart = -1;
			let initEnd = k;
			if (this.#t[k]?.kind === "punct" && this.#t[k]!.value === "=") {
				initStart = k + 1;
				initEnd = this.#statementEnd(initStart, false, to);
			}
			if (mods.has("static")) {
				if (!mods.has("readonly")) this.#report(first.line, "static field `" + name + "` is not readonly: statics of a preloaded class are read-only at run time");
				else if (initStart >= 0) this.#checkValue(initStart, initEnd, "static " + name);
			}
			// Next member: after `;`, or at a line break (ASI).
			j = initEnd;
			if (j < to && this.#t[j]!.kind === "punct" && this.#t[j]!.value === ";") j++;
			else if (j === k && j < to && !this.#t[j]!.newline) j++; // unexpected token: make progress
		}
	}

	#const(): void {
		this.#i++; // const
		for (;;) {
			const nameToken = this.#peek();
			if (nameToken === undefined) return;
			let j = this.#i;
			let name = nameToken.value;
			if (nameToken.kind === "punct" && (nameToken.value === "{" || nameToken.value === "[")) {
				j = this.#matchGroup(j); // destructuring: the values are whatever they are in the source object
				name = "destructured";
			} else j++;
			if (this.#t[j]?.kind === "punct" && this.#t[j]!.value === "!") j++;
			if (this.#t[j]?.kind === "punct" && this.#t[j]!.value === ":") j = this.#skipType(j + 1, new Set(["=", ";", ","]));
			if (!(this.#t[j]?.kind === "punct" && this.#t[j]!.value === "=")) {
				this.#i = this.#statementEnd(j, false);
				return;
			}
			const start = j + 1;
			const end = this.#statementEnd(start, true);
			if (name !== "destructured") this.#checkValue(start, end, name);
			else this.#checkValue(start, end, name, true);
			this.#i = end;
			if (this.#is(",")) {
				this.#i++;
				continue;
			}
			if (this.#is(";")) this.#i++;
			return;
		}
	}

	#isFreezeCall(from: number, to: number): boolean {
		return this.#calleeAt(from) === "Object.freeze" && this.#callEnd(from) === to;
	}

	/** Dotted name at `from` (a.b.c), or "" if the tokens there are not one. */
	#calleeAt(from: number): string {
		let j = from;
		const parts: string[] = [];
		for (;;) {
			const v = this.#t[j];
			if (v === undefined || v.kind !== "id") return "";
			parts.push(v.value);
			j++;
			if (this.#t[j]?.kind === "punct" && this.#t[j]!.value === ".") j++;
			else break;
		}
		return parts.join(".");
	}

	/** If a call `a.b(...)` starts at `from`, the index after its `)`; else -1. */
	#callEnd(from: number): number {
		let j = from;
		while (this.#t[j]?.kind === "id" && this.#t[j + 1]?.kind === "punct" && this.#t[j + 1]!.value === ".") j += 2;
		if (this.#t[j]?.kind !== "id") return -1;
		j++;
		if (this.#t[j]?.kind === "punct" && this.#t[j]!.value === "<") j = this.#skipType(j, new Set(["("]));
		if (!(this.#t[j]?.kind === "punct" && this.#t[j]!.value === "(")) return -1;
		return this.#matchGroup(j);
	}

	/** Drops a trailing `as T`, `satisfies T` or `!` from an expression range. */
	#trimTypeSuffix(from: number, to: number): number {
		let depth = 0;
		for (let j = from; j < to; j++) {
			const v = this.#t[j]!;
			if (v.kind === "punct") {
				if (OPENERS[v.value] !== undefined) depth++;
				else if (v.value === ")" || v.value === "]" || v.value === "}") depth--;
			} else if (depth === 0 && v.kind === "id" && (v.value === "as" || v.value === "satisfies") && j > from) return j;
		}
		if (to - 1 > from && this.#t[to - 1]!.kind === "punct" && this.#t[to - 1]!.value === "!") return to - 1;
		return to;
	}

	/** Checks the value of a top-level binding (or static field, or frozen-literal element) in [from, to). */
	#checkValue(from: number, to: number, name: string, destructuring = false): void {
		to = this.#trimTypeSuffix(from, to);
		if (from >= to) return;
		const t = this.#t[from]!;
		// Parenthesized: look inside, unless it is an arrow function's parameter list.
		if (t.kind === "punct" && t.value === "(" && this.#matchGroup(from) === to) return this.#checkValue(from + 1, to - 1, name, destructuring);
		if (to - from === 1) {
			if (t.kind === "regex") {
				const flags = t.value.slice(t.value.lastIndexOf("/") + 1);
				if (flags.indexOf("g") >= 0 || flags.indexOf("y") >= 0) this.#report(t.line, "`" + name + "` is a regular expression with the g or y flag: its lastIndex is state; create it where it is used");
			}
			return; // literal or a reference to another binding
		}
		// Functions: arrow (any `=>` at depth 0) or `function` / `async function` / `class` expressions.
		if (this.#is2(from, "function") || (this.#is2(from, "async") && (this.#is2(from + 1, "function") || this.#hasArrow(from, to))) || this.#is2(from, "class") || this.#hasArrow(from, to)) return;
		if (t.kind === "punct" && t.value === "[" && this.#matchGroup(from) === to) {
			if (!destructuring) this.#report(t.line, "`" + name + "` is an array literal that is not frozen; wrap it in Object.freeze([...])");
			return;
		}
		if (t.kind === "punct" && t.value === "{" && this.#matchGroup(from) === to) {
			this.#report(t.line, "`" + name + "` is an object literal that is not frozen; wrap it in Object.freeze({...})");
			return;
		}
		if (this.#is2(from, "new")) {
			const cls = this.#calleeAt(from + 1);
			if (TYPED_ARRAYS.has(cls)) this.#report(t.line, "`" + name + "` is a module-level " + cls + ": writes to it throw once preloaded; allocate it in a constructor");
			else if (COLLECTIONS.has(cls)) this.#report(t.line, "`" + name + "` is a module-level " + cls + ": set/delete throw once preloaded, and freezing does not help; keep it in an instance");
			else this.#report(t.line, "`" + name + "` is `new " + (cls || "...") + "` at load time: module-level instance state; create it in a constructor or function");
			return;
		}
		const callee = this.#calleeAt(from);
		const callEnd = callee === "" ? -1 : this.#callEnd(from);
		if (callEnd === to) {
			const head = callee.split(".")[0]!;
			if (TYPED_ARRAYS.has(head)) {
				this.#report(t.line, "`" + name + "` is a module-level " + head + " (" + callee + "): writes to it throw once preloaded; allocate it in a constructor");
				return;
			}
			if (callee === "Object.freeze") {
				this.#checkFrozenContent(from, to, name);
				return;
			}
			if (SAFE_CALLS.has(callee) || callee.startsWith("Math.")) return;
			this.#report(t.line, "`" + name + "` is the result of " + callee + "() at load time: cannot tell it is immutable; wrap it in Object.freeze(...) or mark it preload-safe");
			return;
		}
		// An expression of literals, names, member accesses and operators is a constant (or an alias).
		for (let j = from; j < to; j++) {
			const v = this.#t[j]!;
			if (v.kind === "punct" && (v.value === "[" || v.value === "{")) {
				// `a[0]`-style member access of a constant is fine; a literal is not.
				const prev = this.#t[j - 1];
				if (v.value === "[" && prev !== undefined && (prev.kind === "id" || (prev.kind === "punct" && (prev.value === ")" || prev.value === "]")))) {
					j = this.#matchGroup(j) - 1;
					continue;
				}
				this.#report(v.line, "`" + name + "` contains an array or object literal that is not frozen");
				return;
			}
			if (v.kind === "id" && v.value === "new") {
				this.#report(v.line, "`" + name + "` creates an instance at load time (`new " + this.#calleeAt(j + 1) + "`)");
				return;
			}
			if (v.kind === "punct" && v.value === "(") {
				const prev = this.#t[j - 1];
				if (prev !== undefined && (prev.kind === "id" || (prev.kind === "punct" && (prev.value === ")" || prev.value === "]")))) {
					const c = this.#calleeBefore(j);
					if (!(SAFE_CALLS.has(c) || c.startsWith("Math."))) {
						this.#report(v.line, "`" + name + "` calls " + (c || "a function") + "() at load time: cannot tell the result is immutable; wrap it in Object.freeze(...) or mark it preload-safe");
						return;
					}
				}
				j = this.#matchGroup(j) - 1;
				continue;
			}
			if (v.kind === "regex") return this.#checkValue(j, j + 1, name);
		}
	}

	/** Dotted callee name ending just before the `(` at `paren`. */
	#calleeBefore(paren: number): string {
		const parts: string[] = [];
		let j = paren - 1;
		while (j >= 0 && this.#t[j]!.kind === "id") {
			parts.unshift(this.#t[j]!.value);
			if (j >= 1 && this.#t[j - 1]!.kind === "punct" && this.#t[j - 1]!.value === ".") j -= 2;
			else break;
		}
		return parts.join(".");
	}

	#is2(j: number, value: string): boolean {
		const t = this.#t[j];
		return t !== undefined && t.kind === "id" && t.value === value;
	}

	#hasArrow(from: number, to: number): boolean {
		for (let j = from; j < to; j++) {
			const v = this.#t[j]!;
			if (v.kind === "punct" && v.value === "=>") return true;
			if (v.kind === "punct" && (v.value === "(" || v.value === "[" || v.value === "{")) {
				// `(a, b) => ...`: the group may be the parameter list.
				const e = this.#matchGroup(j);
				if (this.#t[e]?.kind === "punct" && this.#t[e]!.value === "=>") return true;
				if (this.#t[e]?.kind === "punct" && this.#t[e]!.value === ":") {
					// `(a): T => ...`: a return type between the parameters and the arrow.
					for (let k = e; k < to; k++) if (this.#t[k]!.kind === "punct" && this.#t[k]!.value === "=>") return true;
				}
				return false;
			}
		}
		return false;
	}

	/** `Object.freeze(arg[, deep])` in [from, to): checks nested literals and instances of a literal argument. */
	#checkFrozenContent(from: number, to: number, name: string): void {
		let j = from;
		while (!(this.#t[j]!.kind === "punct" && this.#t[j]!.value === "(")) j++;
		const argStart = j + 1;
		const argEnd = this.#trimTypeSuffix(argStart, this.#statementEnd(argStart, true, to - 1));
		const a = this.#t[argStart];
		if (a === undefined || argStart >= argEnd) return;
		// Moddable's Object.freeze(x, true) freezes deeply: literals inside are then frozen too.
		const deep = argEnd < to - 1 && this.#t[argEnd]!.value === "," && this.#is2(argEnd + 1, "true");
		if (a.kind === "punct" && (a.value === "[" || a.value === "{") && this.#matchGroup(argStart) === argEnd) {
			this.#checkElements(argStart + 1, argEnd - 1, name, a.value === "{", deep);
			return;
		}
		// Freezing something else (a call's result, a prototype): its top level is frozen.
		if (this.#is2(argStart, "new")) this.#checkValue(argStart, argEnd, name);
	}

	#checkElements(from: number, to: number, name: string, isObject: boolean, deep: boolean): void {
		let j = from;
		while (j < to) {
			const end = this.#statementEnd(j, true, to);
			let valueStart = j;
			if (isObject) {
				// key: value | [computed]: value | shorthand | method() {} | ...spread
				let k = j;
				if (this.#t[k]!.kind === "punct" && this.#t[k]!.value === "[") k = this.#matchGroup(k);
				else k++;
				if (this.#t[k]?.kind === "punct" && this.#t[k]!.value === ":") valueStart = k + 1;
				else valueStart = end; // shorthand, method or spread: nothing created here
			} else if (this.#t[j]!.kind === "punct" && this.#t[j]!.value === "...") valueStart = end;
			if (valueStart < end) {
				const v = this.#t[valueStart]!;
				const literal = v.kind === "punct" && (v.value === "[" || v.value === "{") && this.#matchGroup(valueStart) === end;
				if (literal && deep) this.#checkElements(valueStart + 1, end - 1, name, v.value === "{", deep);
				else this.#checkValue(valueStart, end, name + (isObject ? "." + this.#t[j]!.value.replace(/^["']|["']$/g, "") : "[]"));
			}
			j = end < to && this.#t[end]!.kind === "punct" && this.#t[end]!.value === "," ? end + 1 : end === j ? j + 1 : end;
		}
	}
}

/** Lines that carry a `// preload-safe: <reason>` mark (a reason is required). */
function safeLines(src: string): Set<number> {
	const lines = new Set<number>();
	const all = src.split("\n");
	for (let i = 0; i < all.length; i++) if (/\/\/\s*preload-safe:\s*\S/.test(all[i]!)) lines.add(i + 1);
	return lines;
}

/** Checks one source text; `file` names it in the violations. Tokenizer or bracket errors are reported as violations. */
export function checkSource(src: string, file: string): Violation[] {
	try {
		const scanner = new Scanner(tokenize(src), file, safeLines(src));
		scanner.run();
		return scanner.violations;
	} catch (e) {
		return [{ file, line: Number(/line (\d+)/.exec(String(e))?.[1] ?? 0), message: "cannot scan: " + (e as Error).message }];
	}
}

/** An accepted exception for a file this check cannot annotate. */
export interface Allowance {
	readonly file: string;
	/** A substring of the violation message (e.g. the binding name in backquotes). */
	readonly match: string;
	readonly reason: string;
}

/**
 * Checks every `.ts` file (not `.d.ts`, not `main.ts`: a firmware entry is not preloaded)
 * under `dirs`, relative to `root`. Returns violations not covered by `allow`.
 */
export function checkTree(root: string, dirs: readonly string[], allow: readonly Allowance[] = []): { files: number; violations: Violation[] } {
	const violations: Violation[] = [];
	let files = 0;
	const walk = (dir: string): void => {
		for (const name of readdirSync(dir).sort()) {
			const path = join(dir, name);
			if (statSync(path).isDirectory()) walk(path);
			else if (name.endsWith(".ts") && !name.endsWith(".d.ts") && name !== "main.ts") {
				files++;
				const rel = relative(root, path);
				for (const v of checkSource(readFileSync(path, "utf8"), rel)) {
					if (!allow.some((a) => a.file === rel && v.message.indexOf(a.match) >= 0)) violations.push(v);
				}
			}
		}
	};
	for (const d of dirs) walk(join(root, d));
	return { files, violations };
}

/** "file:line: message" lines. */
export function formatViolations(violations: readonly Violation[]): string {
	return violations.map((v) => v.file + ":" + v.line + ": " + v.message).join("\n");
}
