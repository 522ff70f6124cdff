// Applies sql/NNN_<name>.sql in order and records each in schema_migrations with its checksum.
// Idempotent: applied files are skipped; an applied file whose text changed is an error (applied
// migrations are immutable — add a new file instead). Run as the database owner / superuser.
//
//   npm run migrate            (uses loadConfig(): DATABASE_URL or the embedded PostgreSQL)
import { createHash, pbkdf2Sync, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { loadConfig, readSecrets, redactUrl } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { connectWithRetry, type ConnectOptions } from '../lib/postgresClient.ts';
import { PulsoError } from '../lib/errors.ts';

export const SQL_DIR = dirname(fileURLToPath(import.meta.url));
export const MIGRATE_COMMAND = 'npm run migrate';
/** The replication role created by 002_cdc.sql. */
export const REPLICATION_ROLE = 'pulso_cdc';
/** The generator's role and the monitoring role, created by 004_roles.sql. */
export const APP_ROLE = 'pulso_app';
export const MONITOR_ROLE = 'pulso_monitor';

export class MigrationError extends PulsoError {}

export interface MigrationFile {
  readonly version: number;
  readonly name: string; // e.g. "001_schema"
  readonly file: string; // e.g. "sql/001_schema.sql"
  readonly sql: string;
  readonly checksum: string;
}

const FILE_PATTERN = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** The migration files on disk, in order. Checksums ignore CRLF vs LF so a checkout on Windows is not "changed". */
export function readMigrationFiles(dir: string = SQL_DIR): MigrationFile[] {
  const files = readdirSync(dir)
    .filter((f) => FILE_PATTERN.test(f))
    .sort();
  const seen = new Map<number, string>();
  return files.map((f) => {
    const m = FILE_PATTERN.exec(f)!;
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other)
      throw new MigrationError(`sql/${f} and sql/${other} share version ${m[1]}; give each migration its own number.`);
    seen.set(version, f);
    const sql = readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n');
    return {
      version,
      name: f.replace(/\.sql$/, ''),
      file: `sql/${f}`,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    };
  });
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function readApplied(client: pg.Client): Promise<AppliedRow[] | undefined> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('public.schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return undefined;
  const res = await client.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  return res.rows;
}

/** Differences between the files and the database: what is not applied, what changed, what is unknown. */
function compare(files: MigrationFile[], applied: AppliedRow[]) {
  const byVersion = new Map(applied.map((a) => [a.version, a]));
  const pending: MigrationFile[] = [];
  const changed: MigrationFile[] = [];
  for (const f of files) {
    const a = byVersion.get(f.version);
    if (!a) pending.push(f);
    else if (a.checksum !== f.checksum) changed.push(f);
  }
  const known = new Set(files.map((f) => f.version));
  const unknown = applied.filter((a) => !known.has(a.version));
  return { pending, changed, unknown };
}

export interface MigrateOptions {
  /** Password for the pulso_cdc role; set (as a SCRAM verifier, never plain text) when given. */
  readonly replicationPassword?: string;
  /** Passwords for the pulso_app and pulso_monitor roles, the same way. */
  readonly appPassword?: string;
  readonly monitorPassword?: string;
  readonly log?: Logger;
  readonly connect?: ConnectOptions;
  /** Folder of NNN_*.sql files (tests only). */
  readonly dir?: string;
}

// Serialises concurrent runs (bootstrap and tests may race); any constant works, this one spells "pulso".
const MIGRATION_LOCK_KEY = 0x70756c736f;

export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? createLogger('migrate');
  const files = readMigrationFiles(opts.dir);
  const client = await connectWithRetry(databaseUrl, { log, applicationName: 'pulso-migrate', ...opts.connect });
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     int PRIMARY KEY,
      name        text NOT NULL,
      checksum    text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const { pending, changed, unknown } = compare(files, (await readApplied(client)) ?? []);
    if (changed.length > 0) {
      throw new MigrationError(
        `${changed.map((f) => f.file).join(', ')} changed after being applied to ${redactUrl(databaseUrl)}. ` +
          'Applied migrations are immutable: revert the edit and put the change in a new sql/NNN_<name>.sql file.',
      );
    }
    if (unknown.length > 0) {
      throw new MigrationError(
        `The database has migrations this checkout does not know (${unknown.map((u) => u.name).join(', ')}); update your checkout.`,
      );
    }
    const applied: string[] = [];
    for (const f of pending) {
      await client.query('BEGIN');
      try {
        await client.query(f.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          f.version,
          f.name,
          f.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(`${f.file} failed: ${(err as Error).message}`);
      }
      applied.push(f.name);
      log.info('migration applied', { migration: f.name });
    }
    await applyDeclaredPrivileges(client, opts.dir ?? SQL_DIR);
    if (opts.replicationPassword !== undefined)
      await setRolePassword(client, REPLICATION_ROLE, opts.replicationPassword, log);
    if (opts.appPassword !== undefined) await setRolePassword(client, APP_ROLE, opts.appPassword, log);
    if (opts.monitorPassword !== undefined) await setRolePassword(client, MONITOR_ROLE, opts.monitorPassword, log);
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** The repeatable privileges script: every role brought to what sql/privileges.sql declares, on every run. */
export const PRIVILEGES_FILE = 'privileges.sql';

async function applyDeclaredPrivileges(client: pg.Client, dir: string): Promise<void> {
  const path = join(dir, PRIVILEGES_FILE);
  if (!existsSync(path)) return; // a test folder of migrations without one
  await client.query('BEGIN');
  try {
    await client.query(readFileSync(path, 'utf8'));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`sql/${PRIVILEGES_FILE} failed: ${(err as Error).message}`);
  }
}

export interface SchemaCheck {
  readonly ok: boolean;
  /** Migrations not applied, or applied but changed since ("002_cdc (changed)"). */
  readonly missing: string[];
  readonly hint: string;
}

/** Is the database at the schema of this checkout? Never changes anything. */
export async function checkSchema(
  databaseUrl: string,
  opts: { connect?: ConnectOptions; dir?: string } = {},
): Promise<SchemaCheck> {
  const files = readMigrationFiles(opts.dir);
  const client = await connectWithRetry(databaseUrl, {
    attempts: 1,
    applicationName: 'pulso-check-schema',
    ...opts.connect,
  });
  try {
    const applied = await readApplied(client);
    if (!applied) {
      return {
        ok: false,
        missing: files.map((f) => f.name),
        hint: `The database at ${redactUrl(databaseUrl)} has no Pulso schema. Run \`${MIGRATE_COMMAND}\`.`,
      };
    }
    const { pending, changed, unknown } = compare(files, applied);
    const missing = [...pending.map((f) => f.name), ...changed.map((f) => `${f.name} (changed)`)];
    if (unknown.length > 0) {
      return {
        ok: false,
        missing,
        hint: `The database has newer migrations (${unknown.map((u) => u.name).join(', ')}) than this checkout; update your checkout.`,
      };
    }
    if (changed.length > 0) {
      return {
        ok: false,
        missing,
        hint: `Migration files changed after being applied (${changed.map((f) => f.file).join(', ')}); revert them and add a new migration, then run \`${MIGRATE_COMMAND}\`.`,
      };
    }
    if (pending.length > 0) {
      return {
        ok: false,
        missing,
        hint: `The schema is out of date (missing ${missing.join(', ')}). Run \`${MIGRATE_COMMAND}\`.`,
      };
    }
    return { ok: true, missing: [], hint: 'The schema is up to date.' };
  } finally {
    await client.end();
  }
}

// --- replication password -------------------------------------------------------------------------
// The password is sent as a SCRAM-SHA-256 verifier (what psql's \password does), so the plain text
// never reaches the server log even with log_statement=all. When the stored verifier already matches
// the password, nothing is written, so a second migrate changes nothing.

const SCRAM_ITERATIONS = 4096;

export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function verifierMatches(stored: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored);
  if (!m) return false;
  return scramVerifier(password, Buffer.from(m[2]!, 'base64'), Number(m[1])) === stored;
}

async function setRolePassword(client: pg.Client, role: string, password: string, log: Logger): Promise<void> {
  if (password.length < 8) throw new MigrationError(`The password of role ${role} must have at least 8 characters.`);
  // pg_authid is readable by superusers only; otherwise we cannot compare and simply set it.
  const current = await client
    .query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])
    .then((r) => r.rows[0]?.rolpassword ?? null)
    .catch(() => null);
  if (current && verifierMatches(current, password)) return;
  await client.query(
    `ALTER ROLE ${client.escapeIdentifier(role)} PASSWORD ${client.escapeLiteral(scramVerifier(password))}`,
  );
  log.info(role === REPLICATION_ROLE ? 'replication role password set' : 'role password set', { role });
}

// --- CLI ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const log = createLogger('migrate');
  const cfg = loadConfig();
  // The stack writes the secrets on first `up`; without them the role keeps its current password.
  const secrets = readSecrets(cfg.home);
  const { applied } = await migrate(cfg.pg.url, {
    replicationPassword: secrets?.replicationPassword,
    appPassword: secrets?.appPassword,
    monitorPassword: secrets?.monitorPassword,
    log,
  });
  process.stdout.write(
    applied.length
      ? `Applied ${applied.join(', ')} to ${redactUrl(cfg.pg.url)}\n`
      : `Schema already up to date at ${redactUrl(cfg.pg.url)}\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
