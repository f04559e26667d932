/**
 * Runs operations on the same key one after another. Overlapping pause/resume/consume/close calls on one
 * producer otherwise interleave inside mediasoup and leave consumers' `producerPaused` wrong: the seed's
 * "rapid publishes give black screens" bug.
 */
export class KeyedSerial {
  private tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, operation: () => Promise<T> | T): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(operation);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
