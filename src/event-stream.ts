// The one way an in-process event becomes an async stream: listening starts
// at the call (not at the first next()), events are buffered until read, and
// return() stops listening.

import { on, type EventEmitter } from 'node:events';

export function eventStream<T>(emitter: EventEmitter, event: string): AsyncIterableIterator<T> {
  const source = on(emitter, event);
  const stream: AsyncIterableIterator<T> = {
    async next() {
      const result = await source.next();
      return result.done ? { done: true, value: undefined } : { done: false, value: result.value[0] as T };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
