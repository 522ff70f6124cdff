// Brings the real local stack up once for the integration suites (reusing one that is already up)
// and brings it down afterwards only if this run started it.
import { loadConfig } from '../../lib/config.ts';
import { up, down, status } from '../../stack/manager.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const cfg = loadConfig();
  const before = await status(cfg);
  const wasUp = before.every((s) => s.healthy);
  const log = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  if (!wasUp) {
    log('bringing the local stack up for integration tests…');
    await up(cfg, log);
  } else {
    log('reusing the running local stack');
  }
  return async () => {
    if (!wasUp && process.env.PULSO_KEEP_STACK !== '1') {
      log('stopping the stack this run started');
      await down(cfg, {}, log);
    }
  };
}
