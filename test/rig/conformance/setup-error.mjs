/** The comparison could not run at all (no build, no wasmtime, a fixture that does not assemble): exit 2. */
export class SetupError extends Error {}
