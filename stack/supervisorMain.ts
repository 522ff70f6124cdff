// The supervisor process (`up` starts it detached, `down` stops it first): supervise every service of the stack.
import { loadConfig, withLocalSecrets } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { activeServices, paths } from './manager.ts';
import { onStalePidFile } from './processes.ts';
import { supervise } from './supervisor.ts';

const log = createLogger('supervisor');
const cfg = withLocalSecrets(loadConfig());
const stop = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => stop.abort());
onStalePidFile((message) => log.info(message));

supervise({
  services: activeServices(cfg),
  paths: paths(cfg),
  signal: stop.signal,
  logs: { maxBytes: cfg.disk.logMaxBytes, keep: cfg.disk.logKeep },
}).then(
  () => process.exit(0),
  (e: unknown) => {
    log.error('supervisor failed', { error: (e as Error).stack ?? String(e) });
    process.exit(1);
  },
);
