// Command-line flags for every Pulso command, on node:util parseArgs: one parser, one style of error. A
// usage error names the flag and what it accepts, and the command exits 2 after printing its usage.
import { parseArgs } from 'node:util';
import { PulsoError } from './errors.ts';

export class UsageError extends PulsoError {}

type FlagSpec = {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: false;
  readonly default?: string | boolean;
};
type FlagValues<O extends Record<string, FlagSpec>> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

/**
 * Parses `argv` against `options` (strict: unknown flags are errors). Node's own errors become UsageErrors
 * that list the valid flags.
 */
export function parseFlags<O extends Record<string, FlagSpec>>(
  argv: readonly string[],
  options: O,
  opts: { readonly positionals?: boolean } = {},
): { values: FlagValues<O>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...argv], options, strict: true, allowPositionals: opts.positionals ?? false });
    return { values: r.values as FlagValues<O>, positionals: r.positionals };
  } catch (e) {
    const valid = Object.keys(options)
      .map((k) => `--${k}`)
      .join(', ');
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`Unknown option ${JSON.stringify(unknown[1])}. Valid options: ${valid}.`);
    const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(msg);
    if (missing) throw new UsageError(`${missing[1]} needs a value.`);
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional)
      throw new UsageError(`Unexpected argument ${JSON.stringify(positional[1])}. Valid options: ${valid}.`);
    throw new UsageError(msg);
  }
}

/** A flag's number, validated: the error says which flag and what it accepts. */
export function numberFlag(
  flag: string,
  raw: string | undefined,
  opts: { integer?: boolean; min: number; max?: number; exclusiveMin?: boolean; what: string },
): number {
  if (raw === undefined || raw.startsWith('--')) throw new UsageError(`${flag} needs a value: ${opts.what}.`);
  const n = Number(raw.replace(/_/g, ''));
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(n) &&
    (!opts.integer || Number.isInteger(n)) &&
    (opts.exclusiveMin ? n > opts.min : n >= opts.min) &&
    (opts.max === undefined || n <= opts.max);
  if (!ok) throw new UsageError(`${flag} ${JSON.stringify(raw)} is not valid: expected ${opts.what}.`);
  return n;
}

/**
 * Parses a command's flags at start: a UsageError prints "<command>: <message>" and the usage on stderr and
 * exits 2; what `parse` returns is the command's options.
 */
export function flagsOrExit<T>(command: string, usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${command}: ${e.message}\n${usage}\n`);
    process.exit(2);
  }
}

/**
 * Runs a command's main: a UsageError prints "<command>: <message>" and the usage on stderr and exits 2;
 * any other failure prints its stack and exits 1.
 */
export function runCommand(command: string, usage: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`${command}: ${e.message}\n\n${usage}\n`);
        process.exit(2);
      }
      process.stderr.write(`${command} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
