// Entry point: `npm run transformer` (or `tsx transformer/main.ts`). Runs until SIGTERM/SIGINT, then
// finishes the chunk in flight, commits it and disconnects. A fatal consumer crash exits 1, so whatever
// supervises the process (npm run up, compose) restarts it, and the restart resumes exactly.
import { loadConfig } from '../lib/config.ts';
import { armCrashPoint } from './crashPoints.ts';
import { createLogger } from '../lib/log.ts';
import { startTransformer, type TransformerHandle } from './consumeLoop.ts';

async function main(): Promise<void> {
  const cfg = loadConfig();
  armCrashPoint(cfg.transformer.crashAt);
  const log = createLogger('transformer', cfg.logLevel);
  let started: TransformerHandle | undefined;
  const handle = await startTransformer(cfg, {
    log,
    onFatal: () => void (started?.stop() ?? Promise.resolve()).finally(() => process.exit(1)),
  });
  started = handle;
  let signals = 0;
  const onSignal = (signal: string) => {
    if (signals++ > 0) {
      log.warn('second signal: exiting without waiting', { signal });
      process.exit(1);
    }
    log.info('stopping on signal', { signal });
    handle.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('stop failed', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

main().catch((e: unknown) => {
  createLogger('transformer').error('transformer failed to start', { error: e instanceof Error ? e.stack : String(e) });
  process.exit(1);
});
