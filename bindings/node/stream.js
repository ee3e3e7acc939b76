// libcce for Node.js: the events() async iterator of CTI and GC sessions, over the
// session's 'event' listener, with a bounded buffer. Loaded by index.js and gc.js.
'use strict';

/**
 * Events an `events()` iterator buffers before the session stops taking batches
 * from the library (they then wait in the session's own bounded queue, whose
 * policy applies), and the level under which it takes them again.
 */
const HIGH_WATER = 4096;
const LOW_WATER = 1024;

/**
 * Holds a session's event pump while an iterator's buffer is full: the batch handler
 * returns `hold()`'s promise, and the addon waits for it before the next batch.
 */
class Pressure {
  #full = new Set();
  #promise = null;
  #resolve = null;
  #released = false;

  /** A promise to wait for before the next batch, or undefined to go on. */
  hold() {
    if (this.#full.size === 0) return undefined;
    if (this.#promise === null) {
      this.#promise = new Promise((resolve) => {
        this.#resolve = resolve;
      });
    }
    return this.#promise;
  }

  full(who) {
    if (!this.#released) this.#full.add(who);
  }

  drained(who) {
    if (this.#full.delete(who) && this.#full.size === 0) this.#wake();
  }

  /** Never hold again (the session is closing: its last event must get through). */
  release() {
    this.#released = true;
    this.#full.clear();
    this.#wake();
  }

  #wake() {
    const resolve = this.#resolve;
    this.#promise = this.#resolve = null;
    if (resolve) resolve();
  }
}

/**
 * An async iterator over `emitter`'s 'event's from now on, ending after the event
 * for which `isLast(ev)` is true (or at once when `isDone()`). `break` (return())
 * unsubscribes it.
 */
function eventIterator(emitter, { isDone, isLast, pressure }) {
  let queue = [];
  let head = 0;
  const waiters = [];
  let done = isDone();
  const self = {};
  const size = () => queue.length - head;
  const finish = () => {
    done = true;
    emitter.off('event', onEvent);
    pressure.drained(self);
    for (const w of waiters.splice(0)) w({ value: undefined, done: true });
  };
  const onEvent = (ev) => {
    const w = waiters.shift();
    if (w) w({ value: ev, done: false });
    else {
      queue.push(ev);
      if (size() >= HIGH_WATER) pressure.full(self);
    }
    if (isLast(ev)) finish();
  };
  if (!done) emitter.on('event', onEvent);
  Object.assign(self, {
    next() {
      if (size() > 0) {
        const value = queue[head];
        queue[head++] = undefined;
        if (head > 1024 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        if (size() <= LOW_WATER) pressure.drained(self);
        return Promise.resolve({ value, done: false });
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => waiters.push(resolve));
    },
    return() {
      queue = [];
      head = 0;
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  });
  return self;
}

module.exports = { Pressure, eventIterator, HIGH_WATER };
