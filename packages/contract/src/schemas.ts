import { z } from "zod";
import { ROLES } from "./define";

// Shared building blocks. Payloads are JSON-native on both transports: ISO strings for dates.

/** The message of every string input that holds a NUL or an unpaired surrogate. */
export const UNSTORABLE_TEXT_MESSAGE = "Must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates";

const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** True when the databases store `s` exactly as given: PostgreSQL refuses NUL in text (the
 *  request would fail with 500), and an unpaired surrogate cannot be encoded as UTF-8 (both
 *  drivers would silently store U+FFFD instead). */
export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);

/** The check every string input carries; `text()` and `storable()` attach it first, before any trim or transform. */
export const storableText = z.refine<string>(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/**
 * Every string an input accepts is built from `text()` (or a string format passed through
 * `storable()`), so no field can let NUL or a lone surrogate reach the database. A test walks every
 * contract input and fails on a string field without it.
 */
export const text = () => z.string().check(storableText);
/** Adds the storable-text check to a string format (`z.email()`, `z.url()`, …). */
export const storable = <T extends z.ZodType<string, string>>(schema: T): T => schema.check(storableText) as T;

/**
 * Runs `canonicalize` after the input's own checks, then checks the result against the column it is
 * stored in: canonical forms can be longer than what was sent (`sh` → `sr-Latn`), so a transform is
 * always followed by its length check. `canonicalize` returns undefined for input it cannot read.
 */
export const canonicalized = <T extends z.ZodType<string, string>>(
  schema: T,
  canonicalize: (value: string) => string | undefined,
  opts: { maxLength: number; invalid: string },
) =>
  schema.transform((value, ctx) => {
    const out = canonicalize(value);
    if (out === undefined) {
      ctx.issues.push({ code: "custom", message: opts.invalid, input: value });
      return z.NEVER;
    }
    if (out.length > opts.maxLength) {
      ctx.issues.push({ code: "custom", message: `Its canonical form (${out}) is longer than ${opts.maxLength} characters`, input: value });
      return z.NEVER;
    }
    return out;
  });

export const timestamp = z.iso.datetime();
export const idOf = (prefix: string) =>
  text().min(1).max(64).meta({ description: `${prefix}… identifier`, example: `${prefix}01HX0000000000000000000000` });
export const roleSchema = z.enum(ROLES);
export const PLANS = ["FREE", "STARTER", "GROWTH", "BUSINESS", "ENTERPRISE"] as const;
export const planSchema = z.enum(PLANS);
/** Stored lower-cased; z.email() accepts ASCII only, so this never lengthens it, but the column check follows the transform all the same. */
export const emailSchema = canonicalized(storable(z.email()).max(254), (e) => e.trim().toLowerCase(), { maxLength: 254, invalid: "Invalid email address" });
export const passwordSchema = text().min(8, "Password must be at least 8 characters").max(1024);
export const nameSchema = text().trim().min(1).max(200);

export const paginationInput = {
  /** Coerced so REST query strings (`?limit=5`) parse, but typed `number` for tRPC callers: the
   *  type argument sets only the input type (plain `z.coerce.number()` is `unknown`), not the runtime. */
  limit: z.coerce.number<number>().int().min(1).max(100).default(50).optional(),
  /** The `nextCursor` of the previous page; one the server did not issue is 400 (see the server's pagination). */
  cursor: text().max(200).optional(),
};
export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const orgMembershipSchema = z.object({ id: z.string(), name: z.string(), role: roleSchema });
export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  organizations: z.array(orgMembershipSchema),
});
export const loginResponseSchema = z.object({ access_token: z.string(), user: userSchema });

export const organizationSchema = z.object({
  id: z.string(),
  name: z.string(),
  plan: planSchema,
  partnerId: z.string().nullable(),
  externalId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const myOrganizationSchema = organizationSchema.extend({ role: roleSchema });

export const memberSchema = z.object({
  id: z.string(),
  organizationId: z.string(),
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  createdAt: timestamp,
});

export const deletedSchema = z.object({ id: z.string(), deleted: z.literal(true) });

/** A project's raised rate limits (requests per minute per client IP), by group. The auth group is
 *  never raised per project: it guards passwords, not a project's traffic. */
const perMinute = z.number().int().min(1).max(1_000_000);
export const projectRateLimitsSchema = z.strictObject({ default: perMinute.optional(), ingest: perMinute.optional() });
export type ProjectRateLimits = z.infer<typeof projectRateLimitsSchema>;
