// npm run chaos [-- --rate 100 --faults connect,kafka,transformer,druid-indexer,postgres --settle 20 --timeout 600]
// The fault drill against the running stack (npm run up first): see stack/chaosDrill.ts. Exits 1 unless every
// fault recovered with no human involved and PostgreSQL and Druid agree exactly with no duplicate.
import { loadConfig, withLocalSecrets, ConfigError } from '../lib/config.ts';
import { flagsOrExit, numberFlag, parseFlags, UsageError } from '../lib/cliArgs.ts';
import { DEFAULT_FAULTS, runChaosDrill } from '../stack/chaosDrill.ts';
import { buildServices, type ServiceName } from '../stack/services.ts';
import { PROJECT_ROOT } from '../lib/config.ts';
import { status } from '../stack/manager.ts';

const USAGE = `usage: npm run chaos [-- --rate <orders/s> --faults <${DEFAULT_FAULTS.join(',')}> --settle <s> --timeout <s>]`;
const cfg = withLocalSecrets(loadConfig());
const known = buildServices(cfg, PROJECT_ROOT).map((s) => s.name);
const opts = flagsOrExit('chaos', USAGE, () => {
  const { values } = parseFlags(process.argv.slice(2), {
    rate: { type: 'string', default: '100' },
    faults: { type: 'string', default: DEFAULT_FAULTS.join(',') },
    settle: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '600' },
  });
  const faults = values
    .faults!.split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const f of faults)
    if (!known.includes(f as ServiceName))
      throw new UsageError(`--faults: unknown service ${JSON.stringify(f)}; services: ${known.join(', ')}`);
  const positive = (flag: string, raw: string) =>
    numberFlag(flag, raw, { min: 0, exclusiveMin: true, what: 'a positive number' });
  return {
    rate: positive('--rate', values.rate!),
    faults: faults as ServiceName[],
    settleMs: positive('--settle', values.settle!) * 1000,
    recoverTimeoutMs: positive('--timeout', values.timeout!) * 1000,
  };
});

const say = (l: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${l}\n`);
try {
  const r = await runChaosDrill(cfg, opts, say);
  const s = (ms: number | null) => (ms === null ? 'NOT RECOVERED' : `${(ms / 1000).toFixed(1)} s`);
  process.stdout.write('\nfault           service back    fresh rows in Druid   how it died (supervisor)\n');
  for (const f of r.faults)
    process.stdout.write(
      `${f.service.padEnd(16)}${s(f.serviceBackMs).padEnd(16)}${s(f.pipelineFreshMs).padEnd(22)}${f.reason ?? '-'}\n`,
    );
  for (const g of r.groupings)
    process.stdout.write(
      `drift ${g.grouping}: ${g.orderDrift} orders, ${g.centsDrift} cents over ${g.groups} groups\n`,
    );
  for (const e of r.events)
    process.stdout.write(
      `${e.datasource}: ${e.druidRows} rows / ${e.topicRecords} records, ${e.duplicateEventIds} duplicate event ids\n`,
    );
  process.stdout.write(
    'restarts: ' + (await status(cfg)).map((x) => `${x.name} ${x.supervision?.restarts ?? 0}`).join(', ') + '\n',
  );
  process.stdout.write(
    r.ok ? 'every fault recovered with no human involved; 0 drift, 0 duplicates\n' : 'FAILED: see above\n',
  );
  process.exit(r.ok ? 0 : 1);
} catch (e) {
  process.stderr.write(`chaos: ${e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`);
  process.exit(1);
}
