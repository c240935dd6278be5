// Delta debugging (Zeller and Hildebrandt's ddmin) over a failing step list: the smallest list
// found in which the same invariant still breaks. Each candidate is replayed from scratch in a
// fresh world (same seed), so a subsequence that no longer fails (the network's random choices
// shift when datagrams go) is simply not taken. Portable: no Node APIs.
import { runSoak, type SoakOptions } from "./model.js";
import type { Step } from "./steps.js";

/**
 * True when `steps` still break invariant `inv` (as the violation that stops the run), and
 * when `defect` is given, one attributed to that defect.
 */
export async function stillFails(steps: readonly Step[], inv: string, options: SoakOptions, defect = -1): Promise<boolean> {
	const r = await runSoak(steps, { ...options, log: undefined });
	return r.violation !== null && r.violation.inv === inv && (defect < 0 || r.violation.defect === defect);
}

/**
 * ddmin over any list: the smallest sublist (order kept) found for which `fails` is still true,
 * splitting into n chunks, keeping a chunk or a complement that still fails, else doubling n,
 * down to single items. `budget` bounds the calls of `fails` (the result is then smaller, maybe
 * not 1-minimal). `progress` is told each smaller list found.
 */
export async function ddmin<T>(
	list: readonly T[],
	fails: (candidate: readonly T[]) => Promise<boolean>,
	budget = 2000,
	progress?: (length: number, tries: number) => void,
): Promise<{ list: T[]; tries: number }> {
	let current = list.slice();
	let n = 2;
	let tries = 0;
	while (current.length >= 2 && tries < budget) {
		const size = Math.ceil(current.length / n);
		let reduced = false;
		for (let i = 0; i < n && tries < budget; i++) {
			const chunk = current.slice(i * size, (i + 1) * size);
			if (chunk.length === 0) continue;
			tries++;
			if (await fails(chunk)) {
				current = chunk;
				n = 2;
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			for (let i = 0; i < n && tries < budget; i++) {
				const complement = current.slice(0, i * size).concat(current.slice((i + 1) * size));
				if (complement.length === 0 || complement.length === current.length) continue;
				tries++;
				if (await fails(complement)) {
					current = complement;
					n = Math.max(n - 1, 2);
					reduced = true;
					break;
				}
			}
		}
		if (reduced) {
			progress?.(current.length, tries);
			continue;
		}
		if (n >= current.length) break;
		n = Math.min(current.length, n * 2);
	}
	return { list: current, tries };
}

/**
 * The smallest step list found (ddmin) that still breaks invariant `inv` (and, when given,
 * with a violation attributed to `defect`), replaying each candidate in a fresh world.
 */
export async function shrink(
	steps: readonly Step[],
	inv: string,
	options: SoakOptions,
	budget = 2000,
	progress?: (length: number, replays: number) => void,
	defect = -1,
): Promise<{ steps: Step[]; replays: number }> {
	const r = await ddmin(steps, (candidate) => stillFails(candidate, inv, options, defect), budget, progress);
	return { steps: r.list, replays: r.tries };
}
