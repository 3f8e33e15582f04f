import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ArgumentError } from '../util/errors.js';

/** A CLI command: parses its own arguments and returns the process exit code. */
export interface Command {
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * util.parseArgs with the conventions of every tollgate command: `--help` prints the
 * command's help and exits 0; an unknown or malformed option becomes an ArgumentError
 * naming the option.
 */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  help: string,
  allowPositionals = false,
): {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>>['values'];
  positionals: string[];
} | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return null;
  }
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const option = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? 'arguments';
    throw new ArgumentError(option, message);
  }
}
