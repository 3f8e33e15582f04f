#!/usr/bin/env node
// The bin entry: runs the CLI and maps errors to exit codes. Everything else is in index.ts.
import { TollgateError } from '../util/errors.js';
import { main } from './index.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof TollgateError) {
      process.stderr.write(`tollgate: ${error.message} (${error.code})\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `tollgate: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
