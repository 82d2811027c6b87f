import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ADMIN_PASSWORD, hydrated, signInOk } from "./helpers";

// System Certificates in Chromium over the console's own HTTPS (the browser
// trusts exactly the certificate generated on first start): generate a
// self-signed Portal certificate, the refusals beside their fields, a CSR,
// and the PKCS#12 export behind the admin's password.

const SYSTEM = "/administration/system/certificates/system-certificates";
const CSRS = "/administration/system/certificates/certificate-signing-requests";
const TRUSTED = "/administration/system/certificates/trusted-certificates";

test.describe.configure({ mode: "serial" });

test("the console is served over HTTPS with the first start's certificate", async ({ page, baseURL }) => {
  expect(baseURL).toMatch(/^https:/);
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SYSTEM);
  await hydrated(page);
  const row = page.locator("tbody tr", { hasText: "Default self-signed server certificate" });
  await expect(row).toContainText("Admin, Portal");
  await expect(row).toContainText("CN=ise-pan-01");
  await expect(row).toContainText("Active");
});

test("a generated Portal certificate takes the usage; the one in use cannot be deleted", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(`${SYSTEM}/generate`);
  await hydrated(page);
  // Bad input is refused beside its field, and nothing is added.
  await page.getByLabel("Subject Alternative Name (SAN)").fill("portal.example.com, not a name!");
  await page.getByLabel("Portal: guest and sponsor portals").check();
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByText("'name!' is neither a DNS name nor an IP address.")).toBeVisible();
  await page.getByLabel("Subject Alternative Name (SAN)").fill("guest.example.com");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByText(/No Subject Alternative Name matches node 'ise-pan-01'/)).toBeVisible();

  await page.getByLabel("Friendly Name").fill("Lab portal");
  await page.getByLabel("Common Name (CN)").fill("portal.example.com");
  await page.getByLabel("Subject Alternative Name (SAN)").fill("portal.example.com, localhost, 127.0.0.1");
  await page.getByLabel("Key Type").selectOption({ label: "ECDSA P-384" });
  await page.getByLabel("Expiration TTL (days)").fill("90");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page).toHaveURL(new RegExp(`${SYSTEM}\\?done=`));
  await expect(page.getByRole("status")).toContainText("Generated 'Lab portal' (used by: Portal)");
  await hydrated(page);
  await expect(page.locator("tbody tr", { hasText: "Lab portal" })).toContainText("Portal");
  const original = page.locator("tbody tr", { hasText: "Default self-signed server certificate" });
  await expect(original.locator("td").nth(2)).toHaveText("Admin");

  // The Admin certificate cannot be deleted: the reason, and it stays.
  await page.getByLabel("Select Default self-signed server certificate").check();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Delete" }).last().click();
  await expect(page.getByRole("alert")).toContainText("is in use for Admin on ise-pan-01");
  await expect(original).toBeVisible();

  // View shows its names and key.
  await page.getByLabel("Select Default self-signed server certificate").uncheck();
  await page.getByLabel("Select Lab portal").check();
  await page.getByRole("button", { name: "View" }).click();
  const detail = page.getByRole("region", { name: "Certificate details" });
  await expect(detail).toContainText("DNS:portal.example.com");
  await expect(detail).toContainText("ECDSA P-384");
  await expect(detail.locator("pre")).toContainText("BEGIN CERTIFICATE");
});

test("a CSR is downloaded, signed by a CA, and bound on the page; a wrong file is refused", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(`${CSRS}/generate`);
  await hydrated(page);
  await page.getByLabel("Friendly Name").fill("Lab CA-signed");
  await page.getByLabel("Common Name (CN)").fill("ise-pan-01.example.com");
  await page.getByLabel("Organization (O)").fill("Example");
  await page.getByLabel("Country (C)").fill("E");
  await page.getByRole("button", { name: "Generate" }).click();
  await expect(page.getByText("Two letters (ISO 3166)")).toBeVisible();
  await page.getByLabel("Country (C)").fill("ES");
  // No usage: binding it must not change what this browser connects to.
  await page.getByLabel("Subject Alternative Name (SAN)").fill("ise-pan-01.example.com, localhost");
  await page.getByRole("button", { name: "Generate" }).click();
  await expect(page).toHaveURL(new RegExp(`${CSRS}\\?done=`));
  const detail = page.getByRole("region", { name: "Signing request details" });
  await expect(detail.locator("pre")).toContainText("BEGIN CERTIFICATE REQUEST");
  await expect(detail).toContainText("CN=ise-pan-01.example.com, O=Example, C=ES");
  const row = page.locator("tbody tr", { hasText: "Lab CA-signed" });
  await expect(row).toContainText("ECDSA P-256");

  // The CSR as the admin downloads it, signed by a CA made here.
  await hydrated(page);
  const download = page.waitForEvent("download");
  await detail.getByRole("link", { name: "Export (download CSR)" }).click();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mailroom-ca-"));
  fs.copyFileSync((await (await download).path())!, path.join(work, "request.pem"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: work, stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=Lab Issuing CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("x509", "-req", "-in", "request.pem", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-days", "20", "-copy_extensions", "copy", "-out", "signed.pem");

  // A file that is no certificate is refused beside its field.
  await page.getByRole("button", { name: "Bind Certificate" }).click();
  await expect(page.getByRole("heading", { name: "Bind CA Signed Certificate" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Certificate File").setInputFiles({ name: "x.pem", mimeType: "application/x-pem-file", buffer: Buffer.from("not a certificate") });
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.locator("#bind-cert-error")).toContainText("not an X.509 certificate");
  const bindUrl = page.url();

  // Trusted Certificates gets the CA; then the certificate binds.
  await page.goto(TRUSTED);
  await hydrated(page);
  await page.getByRole("link", { name: "Import" }).click();
  await hydrated(page);
  await page.getByLabel("Certificate File").setInputFiles(path.join(work, "ca.pem"));
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByRole("status").filter({ hasText: "was imported" })).toBeVisible();
  await page.goto(bindUrl);
  await hydrated(page);
  await page.getByLabel("Certificate File").setInputFiles(path.join(work, "signed.pem"));
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page).toHaveURL(new RegExp(`${SYSTEM}\\?done=`));
  await expect(page.getByRole("status")).toContainText("Bound 'Lab CA-signed'");
  await expect(page.getByRole("status")).toContainText("CN=Lab Issuing CA");
  const bound = page.locator("tbody tr", { hasText: "Lab CA-signed" });
  await expect(bound).toContainText("CN=Lab Issuing CA");
  await expect(bound).toContainText("Not in use");
  fs.rmSync(work, { recursive: true, force: true });
});

test("the private key is exported only as PKCS#12 after the admin's own password", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SYSTEM);
  await hydrated(page);
  await page.getByLabel("Select Lab portal").check();
  await page.getByRole("button", { name: "Export" }).click();
  const panel = page.getByRole("region", { name: "Export certificate" });
  await expect(panel.getByRole("link", { name: "Download certificate (PEM)" })).toBeVisible();
  await panel.getByLabel("Export Certificate and Private Key (PKCS#12)").check();
  await panel.getByLabel("Your admin password").fill("Not-My-Passw0rd");
  await panel.getByLabel("Export password", { exact: true }).fill("Export-Pass-2026");
  await panel.getByLabel("Confirm export password").fill("Export-Pass-2026");
  await panel.getByRole("button", { name: "Export" }).click();
  await expect(panel.locator("#export-admin-password-error")).toHaveText("This is not your password: the private key was not exported.");
  await expect(panel.getByRole("link", { name: /^Download .*\.p12$/ })).toHaveCount(0);

  await panel.getByLabel("Your admin password").fill(ADMIN_PASSWORD);
  await panel.getByRole("button", { name: "Export" }).click();
  const link = panel.getByRole("link", { name: "Download Lab_portal.p12" });
  await expect(link).toBeVisible();
  const download = page.waitForEvent("download");
  await link.click();
  const file = await (await download).path();
  const bundle = fs.readFileSync(file!);
  expect(bundle.length).toBeGreaterThan(500);
  expect(bundle.toString("latin1")).not.toContain("PRIVATE KEY");
});
