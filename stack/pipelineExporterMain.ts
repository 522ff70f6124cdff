// Entry point of the pipeline exporter service (stack/pipelineExporter.ts), started by `npm run up`.
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { startPipelineExporter } from './pipelineExporter.ts';

const log = createLogger('pipeline-exporter');
const exporter = await startPipelineExporter(loadConfig(), log);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => {
    void exporter.stop().then(() => process.exit(0));
  });
