export * from "./passwords";
export * from "./tokens";
export type { JWTPayload } from "jose";
export * from "./encryption";
export * from "./api-keys";
