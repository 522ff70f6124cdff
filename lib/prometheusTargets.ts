// Prometheus scrape targets as files (file_sd_configs in prometheus/prometheus.yml): the local stack writes the
// fixed ones, each transformer instance its own, so that every running instance is scraped, on whatever port.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Where the local stack's Prometheus configuration lives: a copy of prometheus/*.yml beside targets/. */
export function prometheusConfDir(home: string): string {
  return resolve(home, 'conf', 'prometheus');
}

export function targetsDir(home: string): string {
  return resolve(prometheusConfDir(home), 'targets');
}

/** Writes targets/<file>.json atomically (Prometheus never reads half a file). */
export function writeScrapeTarget(home: string, file: string, target: string, labels: Record<string, string>): string {
  const dir = targetsDir(home);
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, `${file}.json`);
  writeFileSync(`${path}.tmp`, `${JSON.stringify([{ targets: [target], labels }])}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

export function removeScrapeTarget(path: string): void {
  rmSync(path, { force: true });
}
