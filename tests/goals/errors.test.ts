import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GoalsError, goalsErrorCodes } from '../../services/goals/errors.ts';
import { GOALS_ERROR_STATUS } from '../../services/goals/http.ts';

/**
 * Goals code speaks in domain errors; HTTP statuses are given once, at the edge
 * (services/goals/http.ts, used by the goals route plugin).
 */

const goalsDir = path.resolve(import.meta.dirname, '../../services/goals');

describe('goals domain errors', () => {
  it('no file in services/goals imports the API error class or builds an HttpError', async () => {
    const offenders: string[] = [];
    for (const file of await readdir(goalsDir)) {
      if (!file.endsWith('.ts')) continue;
      const text = await readFile(path.join(goalsDir, file), 'utf8');
      if (/api\/errors(\.ts)?['"]/.test(text) || /\bHttpError\b/.test(text)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });

  it('every domain code has exactly one HTTP status, and the statuses are the documented ones', () => {
    expect(Object.keys(GOALS_ERROR_STATUS).sort()).toEqual([...goalsErrorCodes].sort());
    expect(GOALS_ERROR_STATUS.STALE_VERSION).toBe(409);
    expect(GOALS_ERROR_STATUS.CYCLE_CLOSED).toBe(409);
    expect(GOALS_ERROR_STATUS.NOT_FOUND).toBe(404);
    expect(GOALS_ERROR_STATUS.FORBIDDEN_READ).toBe(403);
    expect(GOALS_ERROR_STATUS.UNAUTHENTICATED).toBe(401);
    expect(GOALS_ERROR_STATUS.INVALID_REQUEST).toBe(400);
  });

  it('a domain error carries its code, message and fields, and nothing about HTTP', () => {
    const err = new GoalsError('DUE_OUTSIDE_CYCLE', 'Invalid body.dueDate: after the cycle ends', [
      { field: 'body.dueDate', message: 'after the cycle ends' },
    ]);
    expect({ code: err.code, message: err.message, fields: err.fields }).toEqual({
      code: 'DUE_OUTSIDE_CYCLE',
      message: 'Invalid body.dueDate: after the cycle ends',
      fields: [{ field: 'body.dueDate', message: 'after the cycle ends' }],
    });
    expect('statusCode' in err).toBe(false);
  });
});
