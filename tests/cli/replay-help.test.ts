import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerReplayCommands } from '../../services/replay/cli.ts';

const io = (env: Record<string, string | undefined>) => ({
  stderr: () => {},
  stdout: () => {},
  env,
  isTty: false,
  setExitCode: () => {},
});

describe('replay --help', () => {
  it('says CXV_URL is the default server, whatever the environment holds', () => {
    for (const env of [{}, { CXV_URL: 'http://elsewhere:9000' }]) {
      const program = new Command();
      registerReplayCommands(program, io(env));
      const help = program.commands.find((c) => c.name() === 'replay')?.helpInformation() ?? '';
      const url = help.replace(/\s+/g, ' ').match(/--url <url> (.*?) --token/)?.[1];
      expect(url).toBe('cxvitals server (default: $CXV_URL, else http://localhost:8080)');
    }
  });
});
