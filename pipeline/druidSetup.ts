// Druid as druid-specs/ declares it: supervisors submitted unless Druid runs exactly that spec (its hash rides in
// the spec's context), retired supervisors of ours terminated, auto-compaction and retention set field by field.
import { createHash } from 'node:crypto';
import type { PulsoConfig } from '../lib/config.ts';
import {
  activeTaskIds,
  compactionConfig,
  deleteCompactionConfig,
  dropDataSource,
  DruidError,
  listSupervisors,
  resetSupervisor,
  retentionRules,
  setCompactionConfig,
  setRetentionRules,
  submitSupervisorSpec,
  supervisorSpec,
  supervisorStatus,
  terminateSupervisor,
} from '../lib/druidClient.ts';
import type { RetentionRules } from '../druid-specs/renderSpec.ts';
import { BootstrapError, waitUntil } from './bootstrapError.ts';

/** The Druid client's refusal as the bootstrap's error: Druid's own words, which file was refused. */
const refused = (source: string) => (e: Error) => {
  throw new BootstrapError(`Druid rejected ${source}: ${e instanceof DruidError ? e.detail : e.message}`, { cause: e });
};

/** The version of the rows a spec writes: its context's `pulsoRowsVersion`, 1 when absent. */
const rowsVersion = (spec: { context?: Record<string, unknown> } | undefined): number =>
  Number(spec?.context?.pulsoRowsVersion ?? 1);

/**
 * Submits a supervisor unless Druid already runs exactly this spec. The spec's hash rides in its context,
 * so "unchanged" is decided without diffing the defaults Druid adds. Druid's own error on rejection. A spec whose
 * rows version is newer than the running one's rebuilds the datasource from its topic (dropRowsForRebuild).
 */
export async function submitSupervisor(
  cfg: PulsoConfig,
  id: string,
  spec: object,
  source: string,
  waitS = 300,
): Promise<'submitted' | 'updated' | 'rebuilt' | 'unchanged'> {
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  const context = { ...((spec as { context?: Record<string, unknown> }).context ?? {}), pulsoSpecHash: hash };
  const withHash = { ...spec, context };
  const cur = await supervisorSpec(cfg, id);
  if (cur?.context?.pulsoSpecHash === hash && !cur?.suspended) return 'unchanged';
  const rebuild = cur !== undefined && rowsVersion(cur) < rowsVersion(withHash);
  if (rebuild) {
    const suspended = { ...withHash, suspended: true, context: { ...context, pulsoRowsVersion: rowsVersion(cur) } };
    await dropRowsForRebuild(cfg, id, suspended, source, waitS);
  }
  await submitSupervisorSpec(cfg, withHash, source).catch(refused(source));
  return cur === undefined ? 'submitted' : rebuild ? 'rebuilt' : 'updated';
}

/**
 * The first half of rebuilding a datasource from its topic, for a spec whose rows gain columns its transforms compute
 * (rows already ingested lack them: customer_risk_minute's window starts). Only for a datasource whose topic keeps as
 * long as its retention (order_deltas and customer_risk_minute: 30 days), so nothing is lost:
 * - auto-compaction off: a compaction task would publish the old rows again (the bootstrap's next step sets it);
 * - the new spec submitted suspended, still marked with the old rows version, so a bootstrap that stops half-way
 *   rebuilds again: the running tasks publish what they hold and stop;
 * - once no task of the datasource is active, its segments marked unused and the supervisor's offsets forgotten.
 * The caller then submits the spec: the supervisor reads the topic from its earliest offset. The panels over it are
 * empty meanwhile.
 */
async function dropRowsForRebuild(cfg: PulsoConfig, id: string, suspended: object, source: string, waitS: number) {
  await deleteCompactionConfig(cfg, id);
  await submitSupervisorSpec(cfg, suspended, source).catch(refused(source));
  await waitUntil(
    `the tasks of ${id} to publish and stop`,
    waitS,
    async () => (await activeTaskIds(cfg, id)).length === 0,
    () =>
      `tasks of ${id} still active after ${waitS}s (Druid console: Tasks); run the bootstrap again to finish the rebuild`,
  );
  await dropDataSource(cfg, id);
  await resetSupervisor(cfg, id);
}

/** Terminates supervisors Pulso submitted earlier (they carry its spec hash) whose spec file is gone. */
export async function terminateRetiredSupervisors(cfg: PulsoConfig, current: readonly string[]): Promise<string[]> {
  const ids = await listSupervisors(cfg).catch(() => [] as string[]);
  const retired: string[] = [];
  for (const id of ids.filter((x) => !current.includes(x))) {
    const spec = await supervisorSpec(cfg, id).catch(() => undefined);
    if (!spec?.context?.pulsoSpecHash) continue; // not ours: leave it alone
    await terminateSupervisor(cfg, id).catch((e: Error) => {
      throw new BootstrapError(`could not terminate the retired supervisor ${id}: ${e.message}`, { cause: e });
    });
    retired.push(id);
  }
  return retired;
}

/** True when `have` holds every field of `want`, recursively (Druid answers with its defaults filled in). */
function containsAll(have: unknown, want: unknown): boolean {
  return want !== null && typeof want === 'object'
    ? have !== null &&
        typeof have === 'object' &&
        Object.entries(want).every(([k, v]) => containsAll((have as Record<string, unknown>)[k], v))
    : have === want;
}

/**
 * Sets a datasource's auto-compaction config unless the coordinator already holds exactly these settings
 * (compared field by field: the coordinator fills in defaults for what the file leaves out).
 */
export async function submitCompactionConfig(
  cfg: PulsoConfig,
  config: { dataSource: string; [key: string]: unknown },
  source: string,
): Promise<'submitted' | 'updated' | 'unchanged'> {
  const cur = await compactionConfig(cfg, config.dataSource);
  if (cur !== undefined && containsAll(cur, config)) return 'unchanged';
  await setCompactionConfig(cfg, config, source).catch(refused(source));
  return cur !== undefined ? 'updated' : 'submitted';
}

/** Sets a datasource's retention rules unless the coordinator already holds exactly these. */
export async function submitRetentionRules(
  cfg: PulsoConfig,
  spec: RetentionRules,
  source: string,
): Promise<'set' | 'unchanged'> {
  const cur = await retentionRules(cfg, spec.dataSource).catch(() => [] as unknown[]);
  // The coordinator answers with its defaults filled in (useDefaultTierForNull): each rule must contain ours.
  const same = cur.length === spec.rules.length && spec.rules.every((r, i) => containsAll(cur[i], r));
  if (same) return 'unchanged';
  await setRetentionRules(cfg, spec.dataSource, spec.rules, `from ${source}`).catch(refused(source));
  return 'set';
}

/** Waits until the supervisor runs; an unhealthy one ends the wait at once with its recent errors. */
export async function waitForSupervisorRunning(
  cfg: PulsoConfig,
  ds: string,
  waitS: number,
  log: (l: string) => void,
): Promise<void> {
  let last = '';
  const probe = async () => {
    const p = await supervisorStatus(cfg, ds).catch(() => undefined);
    if (!p) return false;
    last = `${p.state}/${p.detailedState}`;
    if (p.state === 'UNHEALTHY_SUPERVISOR' || p.state === 'UNHEALTHY_TASKS') {
      const errs = (p.recentErrors ?? []).map((e) => e.message ?? e.exceptionClass).join('; ');
      throw new BootstrapError(`supervisor ${ds} is ${p.state}: ${errs}`);
    }
    return p.state === 'RUNNING';
  };
  await waitUntil(`supervisor ${ds}`, waitS, probe, () => {
    log(`supervisor ${ds} state: ${last}`);
    return `supervisor ${ds} did not reach RUNNING within ${waitS}s (state ${last})`;
  });
}
