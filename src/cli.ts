import { ConfigError } from './config.ts';
import { HISTORICAL_USAGE, runHistorical } from './cli/historical.ts';
import { keysCommand, KEYS_USAGE } from './cli/keys.ts';
import { CliError } from './cli/historical.ts';
import { DataDirLockedError } from './infra/data-lock.ts';

/**
 * Operators' command line: `keys` (through a running service's API, else the database; see
 * `cli/keys.ts`), `import` and `rescan` (over HTTP, see `cli/historical.ts`).
 */

const USAGE = `usage: npm run cli -- <command>
${KEYS_USAGE}
${HISTORICAL_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'keys') return keysCommand(rest);
  if (command === 'import' || command === 'rescan') return runHistorical(command, rest);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const expected = error instanceof ConfigError || error instanceof CliError || error instanceof DataDirLockedError;
    process.stderr.write(expected ? `${(error as Error).message}\n` : `error: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
