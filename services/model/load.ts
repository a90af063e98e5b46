/**
 * Reading the model file at start and on change. The logic is parseModel (model.ts);
 * this file only adds the file system: read, poll, report.
 *
 * Watching polls the file's stat (fs.watchFile) rather than using fs.watch, because
 * editors and config-management tools replace a file by renaming a new one over it,
 * which fs.watch loses track of on some platforms; a poll every second costs nothing.
 * A change that fails validation is reported through `onError` and the caller keeps the
 * model it has: a typo never takes the scoring down.
 */

import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseModel } from './model.ts';
import type { CxModel, ModelIssue, ParseOptions } from './types.ts';

export const DEFAULT_MODEL_PATH = 'schemas/model/cx-model.v1.yaml';

export class ModelError extends Error {
  constructor(
    readonly code: 'MODEL_INVALID' | 'MODEL_UNREADABLE' | 'MODEL_REJECTED',
    readonly file: string,
    readonly issues: ModelIssue[],
  ) {
    super(
      code === 'MODEL_INVALID'
        ? `${file} is not a valid CX model:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`
        : code === 'MODEL_UNREADABLE'
          ? `cannot read the CX model ${file}: ${issues[0]?.message ?? 'unknown error'}`
          : `the CX model ${file} was valid but applying it failed: ${issues[0]?.message ?? 'unknown error'}`,
    );
    this.name = 'ModelError';
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ModelError('MODEL_UNREADABLE', path, [{ code: 'unreadable', path: '(file)', message: (e as Error).message }]);
  }
}

function parseText(path: string, text: string, options: ParseOptions): CxModel {
  const result = parseModel(text, options);
  if (!result.ok) throw new ModelError('MODEL_INVALID', path, result.issues);
  return result.model;
}

async function readModel(path: string, options: ParseOptions): Promise<CxModel> {
  return parseText(path, await readText(path), options);
}

/**
 * Reads and validates the model; rejects with a ModelError listing every problem.
 * `extraKpis`: the KPIs of declared sources, which the model may score too.
 */
export const loadModel = (path: string = DEFAULT_MODEL_PATH, options: ParseOptions = {}): Promise<CxModel> =>
  readModel(path, options);

export interface ModelWatch {
  stop(): void;
}

export interface WatchOptions extends ParseOptions {
  /** How often the file's stat is polled (default 1000 ms). */
  intervalMs?: number;
  /** Hash of the model the caller already has: a rewrite with the same content is not a change.
   * Without it, the first read reports the file's model through `onChange`. */
  currentHash?: string;
}

/**
 * Calls `onChange` with the new model each time the file's content changes, and
 * `onError` when a changed file cannot be read or is invalid. Reloads run one at a time.
 *
 * A file written in place (truncated, then written) can be read half-way: empty, or a
 * prefix that may itself be a valid model. So a reload reads the file twice, a moment
 * apart (the poll interval, at most 100 ms), and acts only on content that read the same
 * both times; content still changing is left to the next poll, which the write's own
 * stat change triggers.
 */
export function watchModel(
  path: string,
  onChange: (model: CxModel) => void,
  onError: (error: ModelError) => void,
  options: WatchOptions = {},
): ModelWatch {
  let currentHash = options.currentHash ?? null;
  let queue = Promise.resolve();
  const settleMs = Math.min(options.intervalMs ?? 1000, 100);
  // A reload already reading when stop() is called reports nothing.
  let stopped = false;
  const reload = async () => {
    let model: CxModel;
    try {
      const text = await readText(path);
      await sleep(settleMs);
      if ((await readText(path)) !== text) return;
      model = parseText(path, text, options);
    } catch (e) {
      if (!stopped) onError(e as ModelError);
      return;
    }
    if (stopped) return;
    if (model.hash === currentHash) return;
    currentHash = model.hash;
    try {
      onChange(model);
    } catch (e) {
      // The model was valid; applying it failed. Reported, so the caller sees it was not applied.
      onError(new ModelError('MODEL_REJECTED', path, [{ code: 'rejected', path: '(onChange)', message: String(e) }]));
    }
  };
  const listener = () => {
    queue = queue.then(reload);
  };
  watchFile(path, { interval: options.intervalMs ?? 1000, persistent: false }, listener);
  // watchFile takes its first stat asynchronously: a change landing before it would never be
  // seen, so read once now (a no-op when the content still has `currentHash`).
  listener();
  return {
    stop: () => {
      stopped = true;
      unwatchFile(path, listener);
    },
  };
}
