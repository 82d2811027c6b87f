import { defineConfig } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { ADMIN_PASSWORD, PEERS_DIR, TOKEN_PORT } from "./tests/helpers";

/** A port nothing listens on now (asked of the OS in a child, so that the
 * config stays synchronous). */
function freePort(): string {
  return execFileSync(process.execPath, ["-e",
    "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })",
  ]).toString().trim();
}
// Chosen once by the runner; its workers inherit them.
process.env.E2E_PORT ??= freePort();
process.env.E2E_HTTPS_PORT ??= freePort();

// Every run starts the release binary on a fresh data directory, so the
// tests see exactly what a new installation shows.
const port = Number(process.env.E2E_PORT);
const httpsPort = Number(process.env.E2E_HTTPS_PORT);
const root = path.resolve(__dirname, "..");
const dataDir = path.join(__dirname, ".data", "run");
const binary = path.join(root, "target", "release", "mailroom");

/** The plain loopback listener: the readiness check, and the tests about
 * the edge rather than TLS. */
const httpURL = `http://127.0.0.1:${port}`;
process.env.E2E_HTTP_URL = httpURL;
// The console as an admin reaches it: over HTTPS.
const baseURL = `https://127.0.0.1:${httpsPort}`;

/** The SHA-256 of the public key the console's HTTPS listener presents
 * (base64), or nothing before it listens. The runner loads this file before
 * the console starts; each worker loads it again once it runs, and so
 * trusts exactly the certificate the console generated on its first start
 * (Chromium's --ignore-certificate-errors-spki-list), not any certificate. */
function servedKeyPin(): string | undefined {
  try {
    return execFileSync(process.execPath, ["-e", `
      const tls = require("tls"), crypto = require("crypto");
      const socket = tls.connect({ host: "127.0.0.1", port: ${httpsPort}, servername: "localhost", rejectUnauthorized: false }, () => {
        const key = socket.getPeerX509Certificate().publicKey.export({ type: "spki", format: "der" });
        console.log(crypto.createHash("sha256").update(key).digest("base64"));
        socket.end();
      });
      socket.on("error", () => process.exit(1));
      socket.setTimeout(3000, () => process.exit(1));
    `], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}
const pin = servedKeyPin();


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
        ...(pin ? [`--ignore-certificate-errors-spki-list=${pin}`] : []),
      ],
    },
  },
  webServer: [{
    // The config is loaded by every worker too, so the data directory is
    // emptied here, once, just before the server starts.
    command: `rm -rf '${dataDir}' && mkdir -p '${dataDir}' && exec '${binary}' serve`,
    cwd: root,
    url: `${httpURL}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    env: {
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MAILROOM_NODE_NAME: "ise-pan-01",
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      MAILROOM_HTTPS_ADDR: `127.0.0.1:${httpsPort}`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
    },
  }, {
    // The test peers (peers/peers.mjs): an Entra ID-like token endpoint on a
    // fixed port, smtp-server instances and a proxy.
    command: `rm -rf '${PEERS_DIR}' && exec node peers/peers.mjs '${PEERS_DIR}'`,
    cwd: __dirname,
    url: `http://127.0.0.1:${TOKEN_PORT}/_stats`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    env: { PEER_TOKEN_HTTP_PORT: String(TOKEN_PORT) },
  }],
});
