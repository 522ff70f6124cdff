// How far the state re-read after a group join has got. No time limit applies to it: progress is what tells a
// transformer that is busy (a big state) from one that is stuck, on /health and to the supervisor.
export class RestoreProgress {
  active = false;
  read = 0;
  total = 0;
  /** How long the last finished re-read took. */
  ms: number | null = null;
  private startedAt = 0;

  started(): void {
    Object.assign(this, { active: true, read: 0, total: 0, ms: null, startedAt: Date.now() });
  }

  progressed(p: { read: number; total: number }): void {
    this.read = p.read;
    this.total = p.total;
  }

  ended(): void {
    this.active = false;
    this.ms = Date.now() - this.startedAt;
  }

  snapshot(): { active: boolean; read: number; total: number; ms: number | null } {
    return { active: this.active, read: this.read, total: this.total, ms: this.ms };
  }
}
