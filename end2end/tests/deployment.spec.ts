import { expect, test } from "@playwright/test";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ADMIN_PASSWORD, hydrated, signInOk } from "./helpers";

// Two nodes of the release binary on one PostgreSQL database (the URL of a
// role that may create databases comes from scripts/test.sh): a session
// made on node A carries to node B, a setting saved on A shows on B, and
// personas edited on the Deployment page change what B serves.
const adminUrl = process.env.E2E_POSTGRES ?? "";
const root = path.resolve(__dirname, "..", "..");
const binary = path.join(root, "target", "release", "mailroom");
const dataRoot = path.join(__dirname, "..", ".data", "deployment");
const database = `mailroom_e2e_${process.pid}`;
const docs = path.join(root, "docs");
const DEPLOYMENT = "/administration/system/deployment/deployment";
const PROXY = "/administration/system/settings/proxy";

type Node = { name: string; url: string; process: ChildProcess };
const nodes: Node[] = [];

function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function psql(...commands: string[]) {
  const args = [adminUrl, "-v", "ON_ERROR_STOP=1", "-q"];
  for (const command of commands) args.push("-c", command);
  execFileSync("psql", args, { stdio: "pipe" });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const port = await freePort();
  const httpsPort = await freePort();
  const dataDir = path.join(dataRoot, name);
  fs.mkdirSync(dataDir, { recursive: true });
  const child = spawn(binary, ["serve"], {
    cwd: root,
    stdio: "ignore",
    env: {
      ...process.env,
      ...env,
      MAILROOM_DATABASE_URL: databaseUrl(database),
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MAILROOM_NODE_NAME: name,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      MAILROOM_HTTPS_ADDR: `127.0.0.1:${httpsPort}`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const node = { name, url, process: child };
  nodes.push(node);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/login`);
      if (response.ok) return node;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`node ${name} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`node ${name} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test.describe("a deployment of two nodes on PostgreSQL", () => {
  test.skip(!adminUrl, "needs E2E_POSTGRES (scripts/test.sh sets it)");
  test.setTimeout(120_000);

  test.beforeAll(async () => {
    fs.rmSync(dataRoot, { recursive: true, force: true });
    psql(`DROP DATABASE IF EXISTS ${database}`, `CREATE DATABASE ${database}`);
    const first = await startNode("ise-pan-01", {});
    // Every node opens the vault with the same key: the first node's.
    const key = fs.readFileSync(path.join(dataRoot, first.name, "master.key"), "utf8").trim();
    await startNode("ise-psn-02", { MAILROOM_MASTER_KEY: key });
  });

  test.afterAll(async () => {
    for (const node of nodes) node.process.kill("SIGTERM");
    await Promise.all(
      nodes.map((node) => new Promise((resolve) => {
        if (node.process.exitCode !== null) resolve(null);
        else node.process.once("exit", resolve);
      })),
    );
    psql(`DROP DATABASE IF EXISTS ${database}`);
  });

  test("a session and a setting carry from node A to node B; personas change what B serves", async ({ browser }) => {
    const [a, b] = nodes;
    const context = await browser.newContext({ baseURL: a.url });
    const page = await context.newPage();
    await signInOk(page, "admin", ADMIN_PASSWORD);

    // A setting saved on A...
    await page.goto(PROXY);
    await hydrated(page);
    await page.getByLabel("Proxy host server").fill("proxy.contoso.test");
    await page.getByLabel("Proxy port").fill("8080");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("The proxy settings were saved.")).toBeVisible();

    // ...shows on B, where the same cookie is a valid session.
    await page.goto(`${b.url}${PROXY}`);
    await expect(page.getByTestId("signed-in-user")).toHaveText("admin");
    await expect(page.getByLabel("Proxy host server")).toHaveValue("proxy.contoso.test");

    // The Deployment page, on B: both nodes, one PRIMARY.
    await page.goto(`${b.url}${DEPLOYMENT}`);
    await hydrated(page);
    const table = page.getByRole("table", { name: "Deployment nodes" });
    await expect(table.getByRole("row")).toHaveCount(3);
    const rowA = table.getByRole("row").filter({ hasText: "ise-pan-01" });
    const rowB = table.getByRole("row").filter({ hasText: "ise-psn-02" });
    await expect(rowA).toContainText("Connected");
    await expect(rowB).toContainText("Connected");
    await expect(table.getByText("PRIMARY", { exact: true })).toHaveCount(1);
    await expect(rowB.getByText("this node")).toBeVisible();
    // A connected node cannot be deregistered.
    await expect(rowB.getByRole("button", { name: "Deregister ise-psn-02" })).toBeDisabled();

    // Edit Node on A: B keeps only Policy Service.
    await page.goto(`${a.url}${DEPLOYMENT}`);
    await hydrated(page);
    await page.getByRole("button", { name: "Edit ise-psn-02" }).click();
    const editor = page.getByRole("region", { name: "Edit node" });
    await expect(editor).toBeVisible();
    await page.screenshot({ path: path.join(docs, "deployment.png"), fullPage: true });
    await editor.getByLabel("Administration").uncheck();
    await editor.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("The personas were saved")).toBeVisible();
    const edited = page.getByRole("row").filter({ hasText: "ise-psn-02" });
    await expect(edited).not.toContainText("Administration");
    await expect(edited).toContainText("Policy Service");

    // Within a heartbeat B no longer serves the console, and still serves the portals.
    await expect(async () => {
      const response = await page.request.get(`${b.url}${DEPLOYMENT}`);
      expect(response.status()).toBe(503);
    }).toPass({ timeout: 15_000 });
    await page.goto(`${b.url}${DEPLOYMENT}`);
    await expect(page.getByText("does not have the Administration persona")).toBeVisible();
    const sponsor = await page.request.get(`${b.url}/sponsor/login`);
    expect(sponsor.status()).toBe(200);
    await context.close();
  });
});
