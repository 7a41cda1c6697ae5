import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the server at /app/ (apps/server/src/http/dashboard-assets.ts): every asset URL carries
// that base, and files under assets/ are content-hashed, so the server caches them for a year.
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, emptyOutDir: true },
});
