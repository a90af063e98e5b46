#!/usr/bin/env node
// The `cxvitals` command: runs the TypeScript CLI through tsx, with a libuv thread pool
// large enough for node-rdkafka and chDB together (both hold pool threads; the default
// of 4 starves them). UV_THREADPOOL_SIZE must be set before the process starts, hence
// this small launcher.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'services/cli/main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { UV_THREADPOOL_SIZE: '16', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
