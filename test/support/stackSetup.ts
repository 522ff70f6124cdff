// Brings the real local stack up once for the integration suites — infrastructure, bootstrap and the
// transformer — reusing whatever is already running (up is idempotent), and stops it afterwards only
// if this run started it (PULSO_KEEP_STACK=1 keeps it). PULSO_TEST_PROVIDER=compose uses docker compose instead.
import { exportEnv, loadConfig } from '../../lib/config.ts';
import { up, down, status } from '../../stack/manager.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const cfg = loadConfig();
  if (cfg.test.provider === 'compose') {
    const { startComposeStack } = await import('./composeProvider.ts');
    const stack = await startComposeStack();
    exportEnv(stack.env);
    return stack.stop;
  }
  const log = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  const wasUp = (await status(cfg)).every((s) => s.healthy);
  log(wasUp ? 'reusing the running local stack' : 'bringing the local stack up for the integration tests…');
  await up(cfg, log);
  return async () => {
    if (!wasUp && !cfg.test.keepStack) {
      log('stopping the stack this run started');
      await down(cfg, {}, log);
    }
  };
}
