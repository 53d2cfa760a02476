// Exchanges of one device run one after another inside this process, before a database connection
// is taken (docs/architecture.md#transactions-and-locks). Across server instances the device lock of
// `tx.dmSessions.loadExchange` serialises them.

/** Serialises exchanges per device inside this process, before a connection is taken. */
export class DeviceQueue {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(deviceId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.tails.set(deviceId, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(deviceId) === tail) this.tails.delete(deviceId);
    }
  }
}
