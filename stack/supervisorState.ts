// What the supervisor knows about each service (restarts, the last reason, given up or not), kept in
// $PULSO_HOME/run/supervisor.json so that `npm run status` can show it and a new supervisor carries it on.
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ProcessPaths } from './processes.ts';

export type SupervisedState = 'running' | 'restarting' | 'waiting-for-dependencies' | 'gave-up';

export interface SupervisedService {
  state: SupervisedState;
  /** Restarts done by the supervisor since the stack's state was created. */
  restarts: number;
  /** When the recent ones happened (ms), for the restart budget. */
  restartTimes: number[];
  lastReason: string | null;
  lastDeathAt: string | null;
  /** Death → healthy again, of the last restart. */
  lastRecoveryMs: number | null;
  /** The end of its log when it was given up on. */
  logTail?: string;
}

export interface SupervisorState {
  pid: number;
  startedAt: string;
  updatedAt: string;
  services: Record<string, SupervisedService>;
}

export function supervisorStateFile(paths: ProcessPaths): string {
  return resolve(paths.runDir, 'supervisor.json');
}

/** The services `up` brought up, which the supervisor keeps up. */
export function desiredServicesFile(paths: ProcessPaths): string {
  return resolve(paths.runDir, 'desired.json');
}

export function readSupervisorState(paths: ProcessPaths): SupervisorState | undefined {
  const f = supervisorStateFile(paths);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as SupervisorState;
  } catch {
    return undefined; // half-written by a crash: the next write replaces it
  }
}

/** Written to a temporary file and renamed, so a reader never sees half of it. */
export function writeSupervisorState(paths: ProcessPaths, state: SupervisorState): void {
  mkdirSync(paths.runDir, { recursive: true });
  const f = supervisorStateFile(paths);
  writeFileSync(`${f}.tmp`, JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2));
  renameSync(`${f}.tmp`, f);
}

export function readDesiredServices(paths: ProcessPaths): string[] {
  const f = desiredServicesFile(paths);
  if (!existsSync(f)) return [];
  try {
    const v = JSON.parse(readFileSync(f, 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function writeDesiredServices(paths: ProcessPaths, names: readonly string[]): void {
  mkdirSync(paths.runDir, { recursive: true });
  writeFileSync(desiredServicesFile(paths), JSON.stringify(names));
}

export function newServiceRecord(): SupervisedService {
  return { state: 'running', restarts: 0, restartTimes: [], lastReason: null, lastDeathAt: null, lastRecoveryMs: null };
}
