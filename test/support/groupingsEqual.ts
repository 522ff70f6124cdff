// Waits until one grouping of the rollups in Druid equals PostgreSQL, failing with the first differences: what
// the end-to-end tests (reconcile, truncate) assert after every stage.
import type { PulsoConfig } from '../../lib/config.ts';
import {
  diffGroups,
  druidGroups,
  postgresGroups,
  type GroupingDiff,
  type GROUPINGS,
} from '../../pipeline/reconcile.ts';
import { eventually } from './eventually.ts';

type Grouping = (typeof GROUPINGS)[number];

/** `truth` defaults to PostgreSQL asked again at every look (the right thing while changes may still arrive). */
export async function expectGroupingEqual(
  cfg: PulsoConfig,
  g: Grouping,
  stage: string,
  truth?: Awaited<ReturnType<typeof postgresGroups>>,
): Promise<void> {
  let last: GroupingDiff | undefined;
  await eventually(
    `${g.name} in Druid to equal PostgreSQL (${stage})`,
    async () => {
      last = diffGroups(g.name, truth ?? (await postgresGroups(cfg, g)), await druidGroups(cfg, g));
      return last.onlyPostgres.length === 0 && last.onlyDruid.length === 0 ? true : undefined;
    },
    180_000,
    1000,
  ).catch((e: Error) => {
    throw new Error(
      `${e.message}\nonly in PostgreSQL: ${JSON.stringify(last?.onlyPostgres.slice(0, 10))}\nonly in Druid:      ${JSON.stringify(last?.onlyDruid.slice(0, 10))}`,
    );
  });
}
