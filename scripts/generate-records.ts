import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatedRecordFiles } from '../services/shared/sources/record-types.ts';

/** Writes each built-in source's record type from its .avsc (services/shared/sources/record-types.ts). */
for (const { file, text } of generatedRecordFiles()) {
  let before = '';
  try {
    before = readFileSync(file, 'utf8');
  } catch {
    // not generated yet
  }
  if (before === text) {
    console.log(`unchanged  ${path.relative(process.cwd(), file)}`);
  } else {
    writeFileSync(file, text);
    console.log(`written    ${path.relative(process.cwd(), file)}`);
  }
}
