/** The kinds of environment variable (integer, enum, string, optional) and the shared value schemas. */
import { z } from 'zod';

/** One environment variable: how it is parsed, its default and what it means (for the README). */
export interface VarSpec<T, Optional extends boolean = boolean> {
  readonly schema: z.ZodType<T>;
  /** `true` = may stay unset (no default). */
  readonly optional: Optional;
  /** The expected form, shown in errors and docs, e.g. "integer 1–10000". */
  readonly form: string;
  /** Default as the string a user would write; `undefined` means "unset is allowed". */
  readonly default: string | undefined;
  readonly doc: string;
}

export function intVar(def: number, min: number, max: number, doc: string): VarSpec<number, false> {
  return {
    schema: z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
    optional: false,
    form: `an integer from ${min} to ${max}`,
    default: String(def),
    doc,
  };
}

export function enumVar<const T extends readonly [string, ...string[]]>(values: T, def: T[number], doc: string): VarSpec<T[number], false> {
  return { schema: z.enum(values), optional: false, form: `one of ${values.join(' | ')}`, default: def, doc };
}

export function stringVar(def: string, form: string, doc: string): VarSpec<string, false> {
  return { schema: z.string().min(1), optional: false, form, default: def, doc };
}

export function optionalVar<T>(schema: z.ZodType<T>, form: string, doc: string): VarSpec<T, true> {
  return { schema, optional: true, form, default: undefined, doc };
}

export const postgresUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  } catch {
    return false;
  }
});

export const queueList = z
  .string()
  .regex(/^[a-z0-9._-]+(\s*,\s*[a-z0-9._-]+)*$/)
  .transform((v) => v.split(',').map((s) => s.trim()));
