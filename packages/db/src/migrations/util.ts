export type Dialect = "sqlite" | "postgres";

/** ISO strings in SQLite (text sorts chronologically); timestamptz in PostgreSQL. */
export const timestampType = (dialect: Dialect) => (dialect === "postgres" ? "timestamptz" : "text");
