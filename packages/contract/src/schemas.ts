import { z } from "zod";
import { ROLES } from "./define";

// Shared building blocks. Payloads are JSON-native on both transports: ISO strings for dates.
export const timestamp = z.iso.datetime();
export const idOf = (prefix: string) =>
  z.string().min(1).max(64).meta({ description: `${prefix}… identifier`, example: `${prefix}01HX0000000000000000000000` });
export const roleSchema = z.enum(ROLES);
export const PLANS = ["FREE", "STARTER", "GROWTH", "BUSINESS", "ENTERPRISE"] as const;
export const planSchema = z.enum(PLANS);
export const emailSchema = z.email().max(254).transform((e) => e.trim().toLowerCase());
export const passwordSchema = z.string().min(8, "Password must be at least 8 characters").max(1024);
export const nameSchema = z.string().trim().min(1).max(200);

export const paginationInput = {
  limit: z.coerce.number().int().min(1).max(100).default(50).optional(),
  cursor: z.string().max(200).optional(),
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
