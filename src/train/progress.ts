/**
 * What a run reports while it trains: a one-line progress bar on stderr (step, loss,
 * steps/s, ETA; cli-progress, redrawn in place on a terminal, every 2 s otherwise) and a
 * JSONL metrics log, one object per logged step:
 *   { "step": 12, "loss": 0.61, "gradNorm": 0.9, "lr": 0.0003, "stepsPerSec": 2.1, "elapsedSec": 5.7 }
 * `step` counts updates applied (1 after the first). On resume the log is cut back to the
 * checkpoint's step, so an interrupted and resumed run leaves the same lines as a straight one
 * (timings aside).
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import cliProgress from "cli-progress";
import { BnformerError } from "../errors.ts";
import { writeFileAtomic } from "../files.ts";

/** One logged step. */
export interface StepMetrics {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** Updates per second since this process started training (compile time included). */
  stepsPerSec: number;
  elapsedSec: number;
}

/** The step of a metrics line, or null when the line is not a JSON object with one. */
function loggedStep(line: string): number | null {
  try {
    const step = (JSON.parse(line) as { step?: unknown } | null)?.step;
    return typeof step === "number" && Number.isInteger(step) ? step : null;
  } catch {
    return null;
  }
}

/** Appends metrics lines to a JSONL file. */
export class MetricsLog {
  readonly path: string;

  /** Opens `path`; with `keepThrough` (a resumed run), drops lines with step > keepThrough. */
  constructor(path: string, keepThrough?: number) {
    this.path = path;
    if (!existsSync(path)) {
      writeFileAtomic(path, "");
      return;
    }
    const lines = readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    const kept =
      keepThrough === undefined
        ? []
        : lines.filter((l, i) => {
            const step = loggedStep(l);
            if (step !== null) return step <= keepThrough;
            // An unreadable last line is an append a crash cut short: dropped like later steps.
            if (i === lines.length - 1) return false;
            throw new BnformerError(
              "parse",
              `not a metrics line (a JSON object with an integer "step"): ${l.slice(0, 60)}`,
              { file: path, line: i + 1 },
            );
          });
    writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  }

  append(m: StepMetrics): void {
    appendFileSync(this.path, JSON.stringify(m) + "\n");
  }
}

/** "1h02m", "3m05s", "12s". */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The progress line; a no-op when disabled. */
export class ProgressLine {
  readonly #bar: cliProgress.SingleBar | null;
  #total: number;

  constructor(enabled: boolean, total: number, start: number, stream?: NodeJS.WritableStream) {
    this.#total = total;
    this.#bar = enabled
      ? new cliProgress.SingleBar({
          format: "step {value}/{total} | loss {loss} | {rate} steps/s | ETA {etaText}",
          stream: stream ?? process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 2000,
          hideCursor: false,
        })
      : null;
    this.#bar?.start(total, start, { loss: "-", rate: "-", etaText: "?" });
  }

  update(m: StepMetrics): void {
    if (!this.#bar) return;
    const eta = (this.#total - m.step) / m.stepsPerSec;
    this.#bar.update(m.step, {
      loss: m.loss.toPrecision(4),
      rate: m.stepsPerSec.toFixed(2),
      etaText: formatDuration(eta),
    });
  }

  /** A resized run (loop.ts `resize`) ends at another step. */
  setTotal(total: number): void {
    this.#total = total;
    this.#bar?.setTotal(total);
  }

  stop(): void {
    this.#bar?.stop();
  }
}
