/**
 * A background job run every `intervalMs`, never twice at once: a pass still running when the
 * timer fires is left to finish. The timer does not keep the process alive; stop() waits for the
 * pass in flight. Errors go to `report`, so one bad pass does not end the job.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly report: (err: unknown) => void,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .then(
          () => undefined,
          (err) => this.report(err),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
