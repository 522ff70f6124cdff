/** One Kafka record as scripts/record-fixtures.ts stores it in test/fixtures/cdc/*.json. */
export interface FixtureRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}
