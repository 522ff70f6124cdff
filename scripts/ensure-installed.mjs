// Installs what a fresh clone lacks before `npm test` / `npm start`: npm packages (npm ci when
// node_modules is missing or older than package-lock.json), and checks Java 17+ and Maven.
// Plain Node (no dependencies), because it runs before node_modules exists.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const marker = resolve(root, 'node_modules/.package-lock.json');
const lock = resolve(root, 'package-lock.json');

function fail(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(1);
}

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node ${process.versions.node} found; Pulso needs Node 20 or newer.`);

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('installing npm packages (npm ci)…\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('npm ci failed (see above).');
}

const java = process.env.JAVA_HOME ? resolve(process.env.JAVA_HOME, 'bin/java') : 'java';
const jv = spawnSync(java, ['-version'], { encoding: 'utf8' });
if (jv.error)
  fail(
    `java not found (${java}). Install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.`,
  );
const m = /version "(\d+)(?:\.(\d+))?/.exec(`${jv.stdout}${jv.stderr}`);
const javaMajor = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
if (javaMajor < 17)
  fail(
    `Java ${javaMajor || '?'} found at ${java}; Kafka 4 and Druid need Java 17+. Install a JDK 17+ or set JAVA_HOME.`,
  );

if (!existsSync(resolve(root, '.pulso/lib/druid/.resolved')) && spawnSync('mvn', ['-v'], { stdio: 'ignore' }).error) {
  fail(
    'mvn (Apache Maven 3.8+) not found; it resolves the Kafka, Connect and Druid jars from Maven Central on first start. Install it (Debian: apt-get install maven).',
  );
}
