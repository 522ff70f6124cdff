// The bootstrap is idempotent, names a service that is down (after a visible countdown), and shows the
// server's own words when Connect or Druid rejects a definition.
import { retentionRules } from '../../lib/druidClient.ts';
import { describe, it, expect } from 'vitest';
import { inheritedEnv, loadConfig } from '../../lib/config.ts';
import { bootstrapPipeline, registerConnector, submitSupervisor, BootstrapError } from '../../pipeline/bootstrap.ts';
import { ServiceDownError } from '../../pipeline/waitFor.ts';

const cfg = loadConfig();

describe('bootstrap', () => {
  it('changes nothing on a second run, and says so', async () => {
    const lines: string[] = [];
    await bootstrapPipeline(cfg, { log: () => undefined });
    const report = await bootstrapPipeline(cfg, { log: (l) => lines.push(l) });
    expect(report.changed).toEqual([]);
    expect(report.unchanged).toEqual(
      expect.arrayContaining([
        'schema up to date',
        'connector pulso-postgres config unchanged',
        'supervisor orders unchanged',
        'supervisor order_items unchanged',
      ]),
    );
    expect(lines).toContain('bootstrap: nothing to do, the pipeline is already set up');
    expect(report.unchanged).toEqual(
      expect.arrayContaining([
        'retention orders unchanged (P30D)',
        'retention order_items unchanged (P30D)',
        'retention transformer_stats unchanged (P30D)',
      ]),
    );
  });

  it("sets the event datasources' retention rules from their files (another window with DRUID_EVENT_RETENTION_DAYS), and the coordinator holds them", async () => {
    const seven = loadConfig(inheritedEnv({ DRUID_EVENT_RETENTION_DAYS: '7' }));
    try {
      const report = await bootstrapPipeline(seven, { log: () => undefined });
      expect(report.changed).toEqual([
        'retention orders set',
        'retention order_items set',
        'retention transformer_stats set',
        'retention stock_movements set',
        'retention customer_risk_minute set',
      ]);
      const rules = await retentionRules(cfg, 'orders');
      expect(rules).toEqual([
        expect.objectContaining({
          type: 'loadByPeriod',
          period: 'P7D',
          includeFuture: true,
          tieredReplicants: { _default_tier: 1 },
        }),
        { type: 'dropForever' },
      ]);
    } finally {
      await bootstrapPipeline(cfg, { log: () => undefined });
    }
    const back = (await retentionRules(cfg, 'orders')) as { period?: string }[];
    expect(back[0]!.period).toBe('P30D');
  });

  it('waits with a countdown, then names the service that is down and its URL', async () => {
    const down = loadConfig(inheritedEnv({ CONNECT_URL: 'http://127.0.0.1:9' }));
    const lines: string[] = [];
    const err = await bootstrapPipeline(down, { log: (l) => lines.push(l), waitS: 6 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceDownError);
    expect((err as Error).message).toMatch(/^Kafka Connect at http:\/\/127\.0\.0\.1:9 did not answer within 6s/);
    expect(lines.some((l) => /^waiting for Kafka Connect at http:\/\/127\.0\.0\.1:9… \d+s left$/.test(l))).toBe(true);
  });

  it("prints Kafka Connect's own message when it rejects a connector config", async () => {
    const err = await registerConnector(
      cfg,
      {
        name: 'pulso-rejected',
        config: { 'connector.class': 'io.debezium.connector.NoSuchConnector', 'tasks.max': '1' },
      },
      'test config',
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BootstrapError);
    expect((err as Error).message).toMatch(/^Kafka Connect rejected test config: HTTP 4\d\d: .*NoSuchConnector/);
  });

  it("prints Druid's own message when it rejects a supervisor spec", async () => {
    const spec = {
      type: 'kafka',
      spec: {
        dataSchema: { dataSource: 'pulso_rejected' },
        ioConfig: { topic: 'orders', inputFormat: { type: 'json' } },
        tuningConfig: { type: 'kafka' },
      },
    };
    const err = await submitSupervisor(cfg, 'pulso_rejected', spec, 'test spec').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BootstrapError);
    // Druid explains what is wrong (here: the spec has no consumer properties / bootstrap servers).
    expect((err as Error).message).toMatch(/^Druid rejected test spec: HTTP 400: .{10,}/);
  });
});
