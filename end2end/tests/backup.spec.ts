import { expect, test } from "@playwright/test";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ADMIN_PASSWORD, hydrated, signInOk } from "./helpers";

// Administration > System > Maintenance > Repository, then Backup &
// Restore: a DISK repository added and validated, Backup Now followed to
// the end, a wrong key refused by its field, and a restore that signs
// everyone out. The restore brings back what the backup took a moment
// before, so the specs after this one find the console as it was.

const REPOSITORY = "/administration/system/maintenance/repository";
const BACKUP = "/administration/system/backup-restore/backup-restore";
const docs = path.join(__dirname, "..", "..", "docs");
const KEY = "Backup-Key-2026";

test.describe.configure({ mode: "serial" });

test("a DISK repository is added, refused outside the local disk, and validated", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(REPOSITORY);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Repository List" })).toBeVisible();
  await page.getByRole("button", { name: "Add" }).click();
  await page.getByLabel("Repository Name").fill("local-disk");
  await page.getByLabel("Path").fill("/../etc");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.locator("#repository-path-error")).toContainText("may not contain '..'");
  await expect(page.getByRole("row", { name: /local-disk/ })).toHaveCount(0);

  await page.getByLabel("Path").fill("/backups");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByText("The repository was saved.")).toBeVisible();
  const row = page.getByRole("row", { name: /local-disk/ });
  await expect(row).toContainText("DISK");
  await expect(row).toContainText("/backups");

  await page.getByRole("radio", { name: "Select local-disk" }).check();
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.getByText("The repository works")).toBeVisible();
  await expect(page.locator(".rung.passed")).toHaveCount(4);
  if (process.env.SCREENSHOTS) {
    await page.screenshot({ path: path.join(docs, "repository.png"), fullPage: true });
  }
});

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Debian's OpenSSH sshd on loopback with its own host key; the user the
 * tests run as signs in with `client`'s key. */
async function startSshd(dir: string, port: number): Promise<ChildProcess> {
  const config = path.join(dir, "sshd.conf");
  fs.writeFileSync(config, [
    `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${path.join(dir, "host")}`, "PidFile none",
    `AuthorizedKeysFile ${path.join(dir, "client.pub")}`, "StrictModes no", "UsePAM no",
    "PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp", "",
  ].join("\n"));
  fs.mkdirSync("/run/sshd", { recursive: true });
  const sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: "ignore" });
  for (let i = 0; i < 150; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
      socket.on("error", () => resolve(false));
    });
    if (up) return sshd;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("sshd did not start");
}

test("an SFTP repository shows the server's host key, which is accepted before anything is sent", async ({ page }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailroom-sftp-"));
  for (const key of ["host", "client"]) {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, key)]);
  }
  // What the server's admin reads out: `ssh-keygen -lf` of its host key.
  const fingerprint = execFileSync("ssh-keygen", ["-lf", path.join(dir, "host.pub")]).toString().split(" ")[1];
  const port = await freePort();
  const sshd = await startSshd(dir, port);
  try {
    await signInOk(page, "admin", ADMIN_PASSWORD);
    await page.goto(REPOSITORY);
    await hydrated(page);
    await page.getByRole("button", { name: "Add" }).click();
    await page.getByLabel("Repository Name").fill("offsite");
    await page.getByLabel("Protocol").selectOption("SFTP");
    await page.getByLabel("Server Name").fill("127.0.0.1");
    await page.getByLabel("Port").fill(String(port));
    await page.getByLabel("User Name").fill(os.userInfo().username);
    await page.getByLabel("Authentication").selectOption("key");
    await page.getByLabel("Path").fill(path.join(dir, "backups"));
    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page.locator("#repository-private-key-error")).toContainText("Enter the account's private key");

    await page.getByLabel("Private Key").fill(fs.readFileSync(path.join(dir, "client")).toString());
    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page.getByText("The repository was saved.")).toBeVisible();
    const row = page.getByRole("row", { name: /offsite/ });
    await expect(row).toContainText(`127.0.0.1:${port}`);
    await expect(row).toContainText("host key not accepted yet");

    await page.getByRole("radio", { name: "Select offsite" }).check();
    await page.getByRole("button", { name: "Validate" }).click();
    const offer = page.getByRole("group", { name: "Host key" });
    await expect(offer).toContainText("Accept the server's host key");
    await expect(offer).toContainText(`ssh-ed25519 ${fingerprint}`);
    await expect(page.locator(".rung.failed")).toHaveCount(1);
    if (process.env.SCREENSHOTS) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: path.join(docs, "repository-host-key.png"), fullPage: true });
    }
    await offer.getByRole("button", { name: "Accept Host Key" }).click();
    await expect(page.getByText("The repository works")).toBeVisible();
    await expect(page.locator(".rung.passed")).toHaveCount(7);
    await expect(row).toContainText(fingerprint);
    expect(fs.readdirSync(path.join(dir, "backups"))).toEqual([]);
    if (process.env.SCREENSHOTS) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: path.join(docs, "repository-sftp.png"), fullPage: true });
    }
  } finally {
    sshd.kill();
  }
});

test("Backup Now shows its progress and history, and a restore needs the right key", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(BACKUP);
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Backup & Restore" })).toBeVisible();
  const backup = page.getByRole("region", { name: "Configuration Data Backup" });
  await backup.getByLabel("Backup Name").fill("weekly");
  await backup.getByLabel("Encryption Key", { exact: true }).fill(KEY);
  await backup.getByLabel("Re-Enter Encryption Key").fill("Another-Key");
  await backup.getByRole("button", { name: "Backup Now" }).click();
  await expect(backup.locator("#backup-key-again-error")).toContainText("The two Encryption Keys differ");

  await backup.getByLabel("Re-Enter Encryption Key").fill(KEY);
  await backup.getByRole("button", { name: "Backup Now" }).click();
  const history = page.getByRole("region", { name: "Backup History" });
  const done = history.getByRole("row", { name: /weekly-CFG-.*Completed/ });
  await expect(done).toBeVisible({ timeout: 20_000 });
  await expect(done).toContainText("local-disk");

  // Once the run has ended, the page reads its forms again: the new file is
  // offered for restore.
  const restore = page.getByRole("region", { name: "Restore" });
  const file = restore.getByRole("radio", { name: /Select weekly-CFG-/ });
  await expect(file).toBeVisible();

  // Scheduled weekly on Sundays at 02:30 UTC, keeping four: the key is
  // required the first time, then the next run is announced.
  const schedule = page.getByRole("region", { name: "Schedule Backup" });
  await schedule.getByRole("switch", { name: "Run configuration backups on this schedule" }).check();
  await schedule.getByLabel("Frequency").selectOption("weekly");
  await schedule.getByLabel("Day of Week").selectOption({ label: "Sunday" });
  await schedule.getByLabel("At (UTC)").fill("02:30");
  await schedule.getByLabel("Keep the last").fill("4");
  await schedule.getByRole("button", { name: "Save Schedule" }).click();
  await expect(schedule.locator("#schedule-key-error")).toContainText("Enter the Encryption Key");
  await schedule.getByLabel("Encryption Key", { exact: true }).fill(KEY);
  await schedule.getByLabel("Re-Enter Encryption Key").fill(KEY);
  await schedule.getByRole("button", { name: "Save Schedule" }).click();
  await expect(page.getByRole("region", { name: "Schedule Backup" }).getByText(/Next scheduled backup: \d{4}-\d{2}-\d{2} 02:30:00 UTC/)).toBeVisible();
  await expect(file).toBeVisible();

  if (process.env.SCREENSHOTS) {
    // From the top: a full-page picture taken scrolled shows the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(docs, "backup-restore.png"), fullPage: true });
  }

  // An upload that is not a backup is refused by its field.
  await restore.getByLabel("Backup File").setInputFiles({
    name: "notes.mrbak", mimeType: "application/octet-stream", buffer: Buffer.from("not a backup"),
  });
  await restore.locator("#restore-file-key").fill(KEY);
  await restore.getByRole("button", { name: "Upload and Restore" }).click();
  await expect(restore.locator("#restore-file-error")).toContainText("not a Mailroom configuration backup");

  await file.check();
  await restore.locator("#restore-key").fill("Not-The-Key-2026");
  await restore.getByRole("button", { name: "Restore", exact: true }).click();
  await page.getByRole("alertdialog", { name: "Confirm restore" }).getByRole("button", { name: "Restore" }).click();
  await expect(restore.locator("#restore-key-error")).toContainText("The Encryption Key does not open this backup");
  await expect(page.getByRole("link", { name: "sign in again" })).toHaveCount(0);

  await restore.locator("#restore-key").fill(KEY);
  await restore.getByRole("button", { name: "Restore", exact: true }).click();
  await page.getByRole("alertdialog", { name: "Confirm restore" }).getByRole("button", { name: "Restore" }).click();
  await expect(page.getByText(/Restored \d+ tables/)).toBeVisible();
  await page.getByRole("link", { name: "sign in again" }).click();
  await expect(page).toHaveURL(/\/login/);

  // Signed in again: the history kept the restores (two refused) and the backup.
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(BACKUP);
  await hydrated(page);
  const rows = page.getByRole("region", { name: "Backup History" }).locator("tbody tr");
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toContainText("Completed");
  await expect(rows.nth(1)).toContainText("Failed");
  await expect(rows.nth(2)).toContainText("Failed");
  await expect(rows.nth(3)).toContainText(/Backup.*weekly-CFG-.*Completed/);
});
