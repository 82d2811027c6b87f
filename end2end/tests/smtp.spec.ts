import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ADMIN_PASSWORD, DATA_DIR, TOKEN_PORT, hydrated, peers, signInOk } from "./helpers";

const TRUSTED = "/administration/system/certificates/trusted-certificates";
const SMTP = "/administration/system/settings/smtp-server";
const GOOD_APP = "1b2c3d4e-0000-4000-8000-00000000abcd";
const MAILBOX = "noreply@contoso.onmicrosoft.com";
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;

test("import the test CA, pass Test Connection, then Save", async ({ page }) => {
  const p = peers();
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);

  // Trust the peers' CA through the Trusted Certificates page.
  await page.goto(TRUSTED);
  await hydrated(page);
  await page.getByRole("link", { name: "Import" }).click();
  await hydrated(page);
  await page.getByLabel("Certificate File").setInputFiles(p.ca_pem);
  await page.getByLabel("Friendly Name").fill("Mailroom Test Root CA");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByRole("status").filter({ hasText: "was imported" })).toBeVisible();
  const row = page.locator("tbody tr", { hasText: "Mailroom Test Root CA" });
  await expect(row).toContainText("Infrastructure");
  await row.getByRole("checkbox").check();
  await page.getByRole("button", { name: "View" }).click();
  const detail = page.getByRole("region", { name: "Certificate details" });
  await expect(detail).toContainText("CN=Mailroom Test Root CA");
  await expect(detail.locator("pre.pem")).toContainText("BEGIN CERTIFICATE");
  if (shots) await page.screenshot({ path: path.join(shots, "trusted-certificates.png") });

  // Fill in the SMTP Server page.
  await page.goto(SMTP);
  await hydrated(page);
  const save = page.getByRole("button", { name: "Save" });
  await page.getByLabel("SMTP Server", { exact: true }).fill("localhost");
  await page.getByLabel("SMTP Port").fill(String(p.smtp));
  await page.getByLabel("Connection Timeout").fill("10");
  await page.getByLabel("Use TLS/SSL Encryption").check();
  await page.getByLabel("Use Authentication Settings").check();
  await page.getByLabel("MS Exchange Online OAuth").check();
  await page.getByLabel("Cloud").selectOption("custom");
  await page.getByLabel("Authority URL").fill(`http://127.0.0.1:${TOKEN_PORT}`);
  await page.getByLabel("Username").fill(MAILBOX);
  await page.getByLabel("Client ID").fill(GOOD_APP);
  await page.getByLabel("Tenant ID").fill(p.tenant_id);
  await page.getByLabel("Client Secret", { exact: true }).fill(p.client_secret);
  await page.getByLabel("Expiry Date", { exact: true }).fill("2027-06-30");
  await expect(page.getByLabel("OAuth Token Endpoint API")).toHaveValue(
    `http://127.0.0.1:${TOKEN_PORT}/${p.tenant_id}/oauth2/v2.0/token`);
  await expect(page.getByLabel("Scope")).toHaveValue("https://outlook.office365.com/.default");
  await expect(save).toBeDisabled();

  // A wrong secret: the ladder stops at the token with Entra's code and IDs.
  await page.getByLabel("Client Secret", { exact: true }).fill("the-secret-id-not-its-value");
  await page.getByRole("button", { name: "Test Connection" }).click();
  const result = page.getByRole("region", { name: "Test Connection result" });
  await expect(result.getByRole("heading", { name: "Diagnosis: AADSTS7000215" })).toBeVisible();
  await expect(result).toContainText("Invalid Client Secret.");
  await expect(result).toContainText("Trace ID");
  await expect(save).toBeDisabled();

  // The right secret passes every rung and enables Save.
  await page.getByLabel("Client Secret", { exact: true }).fill(p.client_secret);
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(result.getByRole("status")).toHaveText("Successfully connected to localhost.");
  await expect(result.locator("li.rung.passed")).toHaveCount(9);
  await expect(save).toBeEnabled();
  await result.getByText("Transcript (secrets masked)").click();
  await expect(result.locator("pre")).toContainText("AUTH XOAUTH2 ********");

  // Any edit disables Save again.
  await page.getByLabel("Connection Timeout").fill("11");
  await expect(save).toBeDisabled();
  await page.getByLabel("Connection Timeout").fill("10");
  await expect(save).toBeEnabled();
  if (shots) {
    // A tall viewport rather than fullPage, which paints the sticky top bar mid-page.
    await page.setViewportSize({ width: 1280, height: 2700 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shots, "smtp-server.png") });
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  await save.click();
  await expect(page.getByRole("status").filter({ hasText: "The SMTP server settings were saved." })).toBeVisible();
  await expect(save).toBeDisabled();

  // After a reload the values are there and the secret is only "set".
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("SMTP Server", { exact: true })).toHaveValue("localhost");
  await expect(page.getByLabel("Client Secret", { exact: true })).toHaveValue("");
  await expect(page.getByText("Secret set")).toBeVisible();
  expect(await page.content()).not.toContain(p.client_secret);

  // The change is audited by field name.
  await page.goto("/operations/reports/audit/change-configuration-audit");
  await expect(page.locator("tbody tr", { hasText: "SMTP Server" }).first()).toContainText("client_secret");

  // The secret is in no file of the data directory in clear: database, logs.
  for (const name of fs.readdirSync(DATA_DIR)) {
    const file = path.join(DATA_DIR, name);
    if (!fs.statSync(file).isFile()) continue;
    const bytes = fs.readFileSync(file);
    expect(bytes.includes(Buffer.from(p.client_secret)), `${name} holds the secret`).toBe(false);
    expect(bytes.includes(Buffer.from(encodeURIComponent(p.client_secret))), `${name} holds it URL-encoded`).toBe(false);
  }
});

test("the Exchange helper writes the PowerShell from the page's values", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  const helper = page.getByRole("region", { name: "Exchange set-up helper" });
  await expect(helper).toContainText("Enter");
  await helper.getByLabel("Enterprise Application Object ID").fill("6a1b2c3d-0000-4000-8000-0000000000ef");
  const script = helper.getByLabel("PowerShell script");
  await expect(script).toContainText(`New-ServicePrincipal -AppId ${GOOD_APP} -ObjectId 6a1b2c3d-0000-4000-8000-0000000000ef`);
  await expect(script).toContainText(`Add-MailboxPermission -Identity "${MAILBOX}"`);
  if (shots) await helper.screenshot({ path: path.join(shots, "exchange-helper.png") });
});

test("a certificate credential is generated in the console and offered for download", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  await page.getByLabel("Use a certificate (private key kept in this console)").check();
  const panel = page.getByRole("group", { name: "Certificate credential" });
  await expect(panel).toContainText("No certificate yet");
  await panel.getByRole("button", { name: "Generate key pair and certificate" }).click();
  await expect(panel).toContainText("x5t#S256");
  await expect(panel).toContainText("Generated in this console");
  const download = panel.getByRole("link", { name: "Download certificate" });
  await expect(download).toHaveAttribute("href", /^data:application\/x-pem-file/);
  expect(decodeURIComponent((await download.getAttribute("href")) ?? "")).toContain("BEGIN CERTIFICATE");
  expect(await page.content()).not.toContain("PRIVATE KEY");
  // Switching credential after a passed test of the secret disables Save.
  await expect(page.getByRole("button", { name: "Save" })).toBeDisabled();
  if (shots) {
    await page.setViewportSize({ width: 1280, height: 1700 });
    await page.screenshot({ path: path.join(shots, "smtp-certificate.png") });
  }
});

test("Test Connection says when the token request went through the proxy", async ({ page }) => {
  const p = peers();
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto("/administration/system/settings/proxy");
  await hydrated(page);
  await page.getByLabel("Proxy host server").fill("127.0.0.1");
  await page.getByLabel("Proxy port").fill(String(p.proxy));
  await page.getByLabel("User name").fill(p.proxy_user);
  await page.getByLabel("Password").fill(p.proxy_password);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The proxy settings were saved." })).toBeVisible();
  if (shots) await page.screenshot({ path: path.join(shots, "proxy.png") });

  // The saved SMTP settings (client secret credential), tested with the stored secret.
  await page.goto(SMTP);
  await hydrated(page);
  await page.getByLabel("Use a client secret").check();
  await page.getByRole("button", { name: "Test Connection" }).click();
  const result = page.getByRole("region", { name: "Test Connection result" });
  await expect(result.getByRole("status")).toHaveText("Successfully connected to localhost.");
  await expect(result).toContainText("The token request went through the configured proxy.");
  await expect(result.locator("li.rung").first()).toContainText("through the proxy");

  // Clearing the host removes the proxy.
  await page.goto("/administration/system/settings/proxy");
  await hydrated(page);
  await page.getByLabel("Proxy host server").fill("");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The proxy settings were saved." })).toBeVisible();
});

test("a password that Exchange refuses because basic authentication is off points to OAuth", async ({ page }) => {
  const p = peers();
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  await page.getByLabel("SMTP Port").fill(String(p.smtp_basic_off));
  await page.getByLabel("Password Based Authentication").check();
  await page.getByLabel("Username").fill(MAILBOX);
  await page.getByLabel("Password", { exact: true }).fill("Summer2026!");
  await page.getByRole("button", { name: "Test Connection" }).click();
  const result = page.getByRole("region", { name: "Test Connection result" });
  // The rung is the command sent, the reply is the server's 535 (not the
  // 221 to the QUIT after it), and the fix is OAuth on this page.
  await expect(result).toContainText("Test Connection failed at AUTH LOGIN.");
  await expect(result.locator("li.rung.failed")).toContainText("AUTH LOGIN");
  await expect(result.getByRole("heading", { name: "Diagnosis: 535 5.7.139" })).toBeVisible();
  await expect(result).toContainText("basic authentication is disabled");
  await expect(result).toContainText("Choose MS Exchange Online OAuth under Authentication on this page");
  await expect(result).not.toContainText("2.0.0 Bye");
  await expect(page.getByRole("button", { name: "Save" })).toBeDisabled();
  if (shots) await result.screenshot({ path: path.join(shots, "test-connection-basic-auth-off.png") });
});
