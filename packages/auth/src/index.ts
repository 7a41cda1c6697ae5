export * from "./passwords";
export * from "./tokens";
export * from "./encryption";
export * from "./api-keys";
