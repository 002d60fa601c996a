/** A listener registration that can be undone. */
export interface Disposable {
  dispose(): void;
}

/** Subscribe to an event; returns the registration. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

/** A typed event source (VS Code's shape, without depending on it). */
export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch {
        // A failing listener must not break the source or the other listeners.
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
