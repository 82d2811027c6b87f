import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

// Every run starts the release binary on a fresh data directory, so the
// tests see exactly what a new installation shows.
const port = Number(process.env.E2E_PORT ?? 3300);
const root = path.resolve(__dirname, "..");
const dataDir = path.join(__dirname, ".data", "run");
fs.rmSync(dataDir, { recursive: true, force: true });
fs.mkdirSync(dataDir, { recursive: true });

export const adminPassword = "E2e-Admin-Passw0rd";
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: `${path.join(root, "target", "release", "mailroom")} serve`,
    cwd: root,
    url: `${baseURL}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    env: {
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_ADMIN_PASSWORD: adminPassword,
      MAILROOM_NODE_NAME: "ise-pan-01",
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
    },
  },
});
