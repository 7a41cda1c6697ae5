import { z } from "zod";
import { defineProcedure } from "../define";
import { emailSchema, loginResponseSchema, nameSchema, passwordSchema, text, userSchema } from "../schemas";

export const register = defineProcedure({
  operationId: "auth.register",
  summary: "Create a user and their first organization (as OWNER)",
  tags: ["auth"],
  rest: { method: "POST", path: "/auth/register" },
  auth: { public: true },
  rateLimit: "auth",
  successStatus: 201,
  input: z.object({ email: emailSchema, password: passwordSchema, name: nameSchema, organizationName: nameSchema }),
  output: loginResponseSchema,
});

export const login = defineProcedure({
  operationId: "auth.login",
  summary: "Exchange email and password for a dashboard JWT",
  tags: ["auth"],
  rest: { method: "POST", path: "/auth/login" },
  auth: { public: true },
  rateLimit: "auth",
  // The login password is not length-checked: a short guess must get the same 401 as a wrong one.
  input: z.object({ email: text().max(254), password: text().max(1024) }),
  output: loginResponseSchema,
});

export const me = defineProcedure({
  operationId: "auth.me",
  summary: "The signed-in user and their organizations",
  tags: ["auth"],
  rest: { method: "GET", path: "/auth/me" },
  auth: { accepts: ["user"] },
  input: z.object({}),
  output: userSchema,
});
