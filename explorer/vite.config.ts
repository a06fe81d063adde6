// Vite builds the explorer page (explorer/) into a static folder, explorer-dist/:
// `npm run explorer` serves it for development on PORT (default 5180),
// `npm run explorer:build` writes the folder. explorer/prepare-model.ts fills
// explorer/public/ (the pretrained model) first.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { browserOnly } from "./browser-only.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.env["PORT"] ?? 5180);

export default defineConfig({
  root: here,
  // Relative asset paths: the folder works from any path of any static host.
  base: "./",
  // EXPLORER_PUBLIC: another folder of files to copy (tests build with their own model copy).
  publicDir: process.env["EXPLORER_PUBLIC"] || "public",
  server: { port, strictPort: true, fs: { allow: [repo] } },
  preview: { port, strictPort: true },
  build: { outDir: `${repo}explorer-dist`, emptyOutDir: true, target: "es2022" },
  plugins: [browserOnly()],
  worker: { format: "es", plugins: () => [browserOnly()] },
});
