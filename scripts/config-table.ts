// Prints the README's configuration table, generated from lib/config.ts' CONFIG_VARS:
//   npm run config:table              (print)
//   npm run config:table -- --write   (replace the table in README.md)
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configTableMarkdown, PROJECT_ROOT } from '../lib/config.ts';
import { parseFlags } from '../lib/cliArgs.ts';
import { PulsoError } from '../lib/errors.ts';

const { values } = parseFlags(process.argv.slice(2), { write: { type: 'boolean', default: false } });
const table = configTableMarkdown();
if (!values.write) {
  process.stdout.write(`${table}\n`);
} else {
  const path = resolve(PROJECT_ROOT, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const start = readme.indexOf('| variable | meaning | default |');
  if (start < 0)
    throw new PulsoError('README.md has no configuration table (a line "| variable | meaning | default |")');
  let end = readme.indexOf('\n', start);
  while (readme.startsWith('|', end + 1)) end = readme.indexOf('\n', end + 1);
  writeFileSync(path, `${readme.slice(0, start)}${table}${readme.slice(end)}`);
  process.stdout.write('README.md: configuration table rewritten from CONFIG_VARS\n');
}
