import { addScenarios, addedScenarios } from '../backends/sim/scenario.js';
import { readCapped, readFailure } from '../registry/read-capped.js';

/** A scenario file describes devices, not data sets: the shipped one is about 30 KiB. */
export const MAX_SCENARIO_FILE_BYTES = 1024 * 1024;

/**
 * Add the sim scenarios of the user's scenario file `path` (scenarios.json's schema), before any worker
 * thread starts: workers add the same at their start. Throws an Error of one line naming the file (and
 * the JSON path at fault); nothing is added then. A file added already is not added again.
 */
export async function loadScenarios(path: string): Promise<void> {
  if (addedScenarios().some((s) => s.file === path)) return;
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(path, MAX_SCENARIO_FILE_BYTES);
  } catch (e) {
    throw new Error(`cannot read scenario file ${path}: ${readFailure(e)}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`cannot read scenario file ${path}: it is not UTF-8 text`);
  }
  addScenarios({ file: path, text });
}
