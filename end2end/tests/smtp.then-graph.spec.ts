import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, TOKEN_PORT, hydrated, peers, signInOk } from "./helpers";

// Runs after smtp.spec.ts saved the OAuth settings with SMTP AUTH. Switches
// to Microsoft Graph, sends a test email through it, and puts SMTP AUTH
// back (tested and saved), so the specs after it send as before.
const SMTP = "/administration/system/settings/smtp-server";
const MAILBOX = "noreply@contoso.onmicrosoft.com";
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;

type Received = { via?: string; to: string[]; from: string; user: string; subject: string };

async function received(): Promise<Received[]> {
  return (await (await fetch(`http://127.0.0.1:${TOKEN_PORT}/_messages`)).json()) as Received[];
}

test("choose Microsoft Graph, pass Test Connection, Save, and a test email arrives through Graph", async ({ page }) => {
  const p = peers();
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  const save = page.getByRole("button", { name: "Save" });
  const result = page.getByRole("region", { name: "Test Connection result" });

  await page.getByLabel("Microsoft Graph (sendMail)").check();
  // SMTP's own fields go; Graph's address and scope come.
  await expect(page.getByLabel("SMTP Server", { exact: true })).toBeHidden();
  await expect(page.getByLabel("Use TLS/SSL Encryption")).toBeHidden();
  await expect(page.getByLabel("Scope")).toHaveValue("https://graph.microsoft.com/.default");
  await expect(page.getByLabel("Graph sendMail API")).toHaveValue(
    `http://127.0.0.1:${TOKEN_PORT}/v1.0/users/${MAILBOX}/sendMail`);
  const helper = page.getByRole("region", { name: "Exchange set-up helper" });
  await helper.getByLabel("Enterprise Application Object ID").fill("6a1b2c3d-0000-4000-8000-0000000000ef");
  await expect(helper.getByLabel("PowerShell script")).toContainText('-Role "Application Mail.Send"');

  // A Graph address that is not https is refused next to the field.
  await page.getByLabel("Graph Endpoint").fill("http://graph.example.net");
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(page.getByText("Enter Microsoft Graph's address as https://host")).toBeVisible();
  await page.getByLabel("Graph Endpoint").fill("");

  // The stored secret is kept; the ladder is token, claims, a send.
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(result.getByRole("status")).toHaveText(
    `Microsoft Graph accepted a test message from ${MAILBOX} to itself.`);
  await expect(result.locator("li.rung.passed")).toHaveCount(3);
  await expect(result).toContainText("Graph sendMail");
  await expect(save).toBeEnabled();
  if (shots) {
    await page.setViewportSize({ width: 1280, height: 2200 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shots, "smtp-graph.png") });
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  await save.click();
  await expect(page.getByRole("status").filter({ hasText: "The SMTP server settings were saved." })).toBeVisible();

  // Send Test Email from the Mail Queue goes out through Graph.
  await page.goto("/operations/mail-queue/outbound-email/mail-queue");
  await hydrated(page);
  await page.getByText("Send Test Email").click();
  await page.getByLabel("To", { exact: true }).fill("graph-check@example.com");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delivered in" })).toContainText("202");
  const viaGraph = (await received()).filter((m) => m.via === "graph" && m.to.includes("graph-check@example.com"));
  expect(viaGraph).toHaveLength(1);
  expect(viaGraph[0].from).toBe(MAILBOX);

  // Back to SMTP AUTH, tested and saved, for the specs that follow.
  await page.goto(SMTP);
  await hydrated(page);
  await page.getByLabel("SMTP AUTH (XOAUTH2)").check();
  await expect(page.getByLabel("SMTP Server", { exact: true })).toHaveValue("localhost");
  await expect(page.getByLabel("SMTP Port")).toHaveValue(String(p.smtp));
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(result.getByRole("status")).toHaveText("Successfully connected to localhost.");
  await save.click();
  await expect(page.getByRole("status").filter({ hasText: "The SMTP server settings were saved." })).toBeVisible();
});

test("stage a next client secret, test it, and Switch Now", async ({ page }) => {
  const p = peers();
  const NEXT = "Next~Secret.Value_456";
  // Entra ID knows both secrets of the app from here on.
  const added = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_apps/1b2c3d4e-0000-4000-8000-00000000abcd/secrets`, {
    method: "POST", body: JSON.stringify({ secrets: [p.client_secret, NEXT] }),
  });
  expect(added.ok).toBeTruthy();
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  const panel = page.getByRole("region", { name: "Next client secret" });
  const switchNow = panel.getByRole("button", { name: "Switch Now" });
  await expect(switchNow).toBeDisabled();

  // Bad input is refused next to the field and stages nothing.
  await panel.getByRole("button", { name: "Stage" }).click();
  await expect(panel.getByText("Enter the next client secret's value")).toBeVisible();
  await expect(panel.getByText("Next secret staged")).toBeHidden();

  await panel.getByLabel("Next Client Secret").fill(NEXT);
  await panel.getByLabel("Next Secret Expiry Date").fill("2028-01-31");
  await panel.getByRole("button", { name: "Stage" }).click();
  await expect(panel.getByRole("status").filter({ hasText: "The next client secret is staged." })).toBeVisible();
  await expect(panel.getByText("Next secret staged")).toBeVisible();
  await expect(panel).toContainText("expires 2028-01-31");
  await expect(panel.getByLabel("Next Client Secret")).toHaveValue("");

  // A token with the staged secret, then Switch Now.
  await panel.getByRole("button", { name: "Test Token with Next Secret" }).click();
  const result = panel.getByRole("region", { name: "Next secret test result" });
  await expect(result.getByRole("status")).toContainText("Entra ID accepted the credential");
  await expect(result.locator("li.rung.passed")).toHaveCount(2);
  await expect(switchNow).toBeEnabled();
  if (shots) await panel.screenshot({ path: path.join(shots, "next-client-secret.png") });
  await switchNow.click();
  await expect(panel.getByRole("status").filter({ hasText: "Switched: the next client secret is now the current one." })).toBeVisible();
  await expect(panel.getByText("Next secret staged")).toBeHidden();
  await expect(page.getByLabel("Expiry Date", { exact: true })).toHaveValue("2028-01-31");
  expect(await page.content()).not.toContain(NEXT);

  // The switch is audited, and mail goes out with the new secret.
  await page.goto("/operations/reports/audit/change-configuration-audit");
  await expect(page.locator("tbody tr", { hasText: "switch" }).first()).toContainText("client_secret");
});

test("a certificate credential gets a next certificate: generated, registered in Entra, tested, Switch Now", async ({ page }) => {
  const APP = "1b2c3d4e-0000-4000-8000-00000000abcd";
  // What the admin does in the Entra portal: upload the certificate to the app.
  const register = async (pem: string) => {
    const added = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_apps/${APP}/certificates`, { method: "POST", body: pem });
    expect(added.status).toBe(204);
  };
  const pemOf = async (scope: import("@playwright/test").Locator) => {
    const href = (await scope.getByRole("link", { name: "Download certificate" }).getAttribute("href")) ?? "";
    return decodeURIComponent(href.slice(href.indexOf(",") + 1));
  };
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  const save = page.getByRole("button", { name: "Save" });
  const result = page.getByRole("region", { name: "Test Connection result" });

  // The certificate credential, registered on the app, tested and saved.
  await page.getByLabel("Use a certificate (private key kept in this console)").check();
  const current = page.getByRole("group", { name: "Certificate credential" });
  await current.getByRole("button", { name: "Generate key pair and certificate" }).click();
  await expect(current).toContainText("x5t#S256");
  await register(await pemOf(current));
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(result.getByRole("status")).toHaveText("Successfully connected to localhost.");
  await save.click();
  await expect(page.getByRole("status").filter({ hasText: "The SMTP server settings were saved." })).toBeVisible();

  // The next certificate: generated here, unknown to Entra until uploaded.
  const panel = page.getByRole("region", { name: "Next certificate", exact: true });
  const switchNow = panel.getByRole("button", { name: "Switch Now" });
  await expect(panel).toContainText("No next certificate is staged.");
  await panel.getByRole("button", { name: "Generate Next Certificate" }).click();
  await expect(panel.getByText("Next certificate staged")).toBeVisible();
  await panel.getByRole("button", { name: "Test Token with Next Certificate" }).click();
  const tested = panel.getByRole("region", { name: "Next certificate test result" });
  await expect(tested).toContainText("AADSTS700027");
  await expect(switchNow).toBeDisabled();

  const nextPem = await pemOf(panel);
  expect(nextPem).toContain("BEGIN CERTIFICATE");
  await register(nextPem);
  await panel.getByRole("button", { name: "Test Token with Next Certificate" }).click();
  await expect(tested.getByRole("status")).toContainText("Entra ID accepted the credential");
  await expect(tested.locator("li.rung.passed")).toHaveCount(2);
  await expect(switchNow).toBeEnabled();
  expect(await page.content()).not.toContain("PRIVATE KEY");
  if (shots) await panel.screenshot({ path: path.join(shots, "next-certificate.png") });
  const nextThumbprint = (await panel.locator("dd.mono").first().textContent()) ?? "";
  await switchNow.click();
  await expect(panel.getByRole("status").filter({ hasText: "Switched: the next certificate is now the certificate credential." })).toBeVisible();
  await expect(panel).toContainText("No next certificate is staged.");
  await expect(current).toContainText(nextThumbprint);

  // Back to the client secret, tested and saved, for the specs that follow.
  await page.getByLabel("Use a client secret").check();
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(result.getByRole("status")).toHaveText("Successfully connected to localhost.");
  await save.click();
  await expect(page.getByRole("status").filter({ hasText: "The SMTP server settings were saved." })).toBeVisible();
});
