/**
 * `bnformer worker --queue redis://HOST:PORT`: trains the experiment runs queued by
 * `bnformer experiment ... --queue URL`, one at a time, until stopped (src/experiment/queue.ts,
 * docs/queue.md). SIGINT or SIGTERM stops the running job after its current step with a
 * checkpoint and hands it back to the queue; a killed worker's job is taken up again by
 * another worker once its lock expires (--lock-seconds).
 */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import { onFirstInterrupt } from "../interrupt.ts";
import { DEFAULT_QUEUE_NAME, checkQueueUrl, runWorker } from "../../experiment/queue.ts";

export const worker: Command = {
  def: {
    name: "worker",
    summary: "train queued experiment runs (bnformer experiment --queue) until stopped",
    usage: "bnformer worker --queue redis://HOST:PORT [--lock-seconds S] [--name NAME]",
    options: {
      queue: {
        kind: "string",
        required: true,
        placeholder: "URL",
        help: "the Redis of the queue: redis://[[USER]:PASSWORD@]HOST:PORT[/DB]",
      },
      "queue-name": {
        kind: "string",
        placeholder: "NAME",
        help: `the BullMQ queue (default ${DEFAULT_QUEUE_NAME}; the same as the experiment's)`,
      },
      "lock-seconds": {
        kind: "number",
        min: 0.5,
        default: 60,
        help: "a run whose worker stops answering goes to another worker after this long",
      },
      name: {
        kind: "string",
        placeholder: "NAME",
        help: "this worker in logs (default worker-PID)",
      },
    },
    examples: [
      "bnformer worker --queue redis://localhost:6379",
      "bnformer worker --queue redis://redis.example:6379 --name node-3",
    ],
  },
  async run(args, io) {
    const url = str(args, "queue")!;
    checkQueueUrl(url);
    const stop = new AbortController();
    const onStop = () => {
      if (stop.signal.aborted) return;
      io.err("\nstopping: the running job saves a checkpoint and goes back to the queue ...\n");
      stop.abort();
    };
    // Ctrl-C, and SIGTERM (what `kill` and Kubernetes send before they kill a pod).
    const release = onFirstInterrupt(onStop);
    process.once("SIGTERM", onStop);
    const name = str(args, "name");
    const queueName = str(args, "queue-name");
    try {
      await runWorker(
        {
          url,
          lockMs: Math.round(num(args, "lock-seconds")! * 1000),
          ...(queueName !== undefined ? { name: queueName } : {}),
        },
        {
          signal: stop.signal,
          progress: io.interactive,
          log: (l) => io.err(`${l}\n`),
          ...(name !== undefined ? { name } : {}),
        },
      );
    } finally {
      release();
      process.off("SIGTERM", onStop);
    }
    io.err("worker stopped\n");
    return 0;
  },
};
