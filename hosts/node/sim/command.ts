export const SIM_USAGE = "";
export async function simCommand(_argv: readonly string[]): Promise<number> {
	return 2;
}
