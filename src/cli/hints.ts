/**
 * Error hints in the CLI's words: a library error names the option that fixes it
 * (errors.ts ErrorHint); here each option is rendered as the flag that sets it.
 */
import type { CommandDef, Parsed } from "./args.ts";
import type { OptionFix } from "../errors.ts";
import { BnformerError, formatHint, formatLocation } from "../errors.ts";

/** Library option -> the flag that sets it (defined in shared.ts, estimator-args.ts, train.ts). */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  ignoreColumns: "ignore-columns",
  unknownColumns: "unknown-columns",
  undeclaredStates: "undeclared-states",
  missing: "missing",
  cellCoding: "cell-coding",
  renormalize: "renormalize",
  unseen: "unseen",
  estimator: "estimator",
  "prior.kind": "prior",
};

/** The message of `e` for command `def`: its hint as that command's flags where it has them. */
export function cliErrorMessage(e: BnformerError, def: CommandDef, args?: Parsed): string {
  if (!e.hint) return e.message;
  const usable = e.hint.fixes.filter((f) => flagFor(f, def) !== undefined);
  if (usable.length === 0) return e.message;
  const render = (f: OptionFix) => {
    const flag = `--${flagFor(f, def)!}`;
    if (typeof f.value === "boolean") return flag; // flagFor admits only true
    if (typeof f.value === "string") return `${flag} ${shellWord(f.value)}`;
    // A list adds to what the flag already holds (--missing NA, then "?" -> --missing 'NA,?').
    const given = args?.values[flagFor(f, def)!];
    const items = [...(typeof given === "string" && given.trim() ? [given] : []), ...f.value];
    return `${flag} ${shellWord(items.join(","))}`;
  };
  const hint = formatHint({ ...e.hint, fixes: usable }, render, "pass");
  return `${formatLocation(e.location)}${e.detail}; ${hint}`;
}

/** The flag of `def` that applies `fix`, if the command has one that accepts its value. */
function flagFor(fix: OptionFix, def: CommandDef): string | undefined {
  const name = FLAG_OF_OPTION[fix.option];
  const o = name === undefined ? undefined : def.options[name];
  if (o === undefined || fix.value === false) return undefined;
  if ((o.kind === "boolean") !== (fix.value === true)) return undefined;
  if (o.kind === "choice" && !o.choices!.includes(String(fix.value))) return undefined;
  return name;
}

/** `s` as one shell word: bare when safe, else single-quoted. */
function shellWord(s: string): string {
  return /^[\w.,:/=+@%-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
