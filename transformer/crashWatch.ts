// Pure: tells a consumer that keeps crashing inside the process (kafkajs restarts it each time, so the process
// lives on) from one that crashed once and recovered. A crash loop makes /health answer 503, which the
// stack's supervisor reads as "stuck" and answers with a restart of the whole process.

/** Crashes within the window, with no committed transaction in between, that make a crash loop. */
export const CRASH_LOOP = { crashes: 3, windowMs: 5 * 60_000 } as const;

export class CrashWatch {
  private times: number[] = [];
  private total = 0;
  lastError: string | null = null;

  constructor(private readonly rule: { readonly crashes: number; readonly windowMs: number } = CRASH_LOOP) {}

  recordCrash(error: string, nowMs: number): void {
    this.total++;
    this.lastError = error.slice(0, 1000);
    this.times = [...this.times.filter((t) => nowMs - t < this.rule.windowMs), nowMs];
  }

  /** A committed transaction: whatever crashed before, the consumer works now. */
  recordProgress(): void {
    this.times = [];
  }

  looping(nowMs: number): boolean {
    return this.times.filter((t) => nowMs - t < this.rule.windowMs).length >= this.rule.crashes;
  }

  /** Crashes since the last committed transaction (within the window), and since start. */
  counts(nowMs: number): { recent: number; total: number } {
    return { recent: this.times.filter((t) => nowMs - t < this.rule.windowMs).length, total: this.total };
  }
}
