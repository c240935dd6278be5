/**
 * The `xscoap` command line (Node host): bin/xscoap.js calls `main`. The commands live in
 * cli/commands/, one file each, listed in cli/registry.ts; cli/main.ts runs them.
 */
export { main } from "./cli/main.js";
