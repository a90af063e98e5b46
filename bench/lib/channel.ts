/**
 * The child's side of the IPC channel (see worker-host.ts): announce readiness, answer
 * requests, and learn when the parent wants the run to end.
 */

export interface Channel {
  ready(value: unknown): void;
  /** Handles the parent's requests (one handler per worker). */
  serve(handler: (body: unknown) => Promise<unknown> | unknown): void;
  /** Resolves when the parent asks the worker to finish. */
  stopped: Promise<void>;
}

type FromParent = { type: 'request'; id: number; body: unknown } | { type: 'stop' };

export function parentChannel(): Channel {
  let handler: ((body: unknown) => Promise<unknown> | unknown) | undefined;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.on('message', (raw) => {
    const message = raw as FromParent;
    if (message.type === 'stop') stop();
    else if (message.type === 'request') {
      Promise.resolve()
        .then(() => {
          if (!handler) throw new Error('this worker takes no requests');
          return handler(message.body);
        })
        .then(
          (value) => process.send?.({ type: 'reply', id: message.id, value }),
          (err: Error) => process.send?.({ type: 'reply', id: message.id, error: err.message }),
        );
    }
  });
  // The parent going away ends the worker too.
  process.on('disconnect', () => process.exit(0));
  return {
    ready: (value) => process.send?.({ type: 'ready', value }),
    serve: (h) => {
      handler = h;
    },
    stopped,
  };
}
