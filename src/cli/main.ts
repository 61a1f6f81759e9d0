import { ConfigError } from '../config.ts';
import { DataDirLockedError } from '../infra/data-lock.ts';
import { CliError } from './api-client.ts';
import { IMPORTS_RESCANS_USAGE, runImportOrRescan } from './imports-rescans.ts';
import { keysCommand, KEYS_USAGE } from './keys.ts';

/**
 * Operators' command line (`npm run cli -- <command>`): `keys` (through a running service's
 * API, else the database; see `keys.ts`), `import` and `rescan` (over HTTP, see
 * `imports-rescans.ts`).
 */

const USAGE = `usage: npm run cli -- <command>
${KEYS_USAGE}
${IMPORTS_RESCANS_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'keys') return keysCommand(rest);
  if (command === 'import' || command === 'rescan') return runImportOrRescan(command, rest);
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
