import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, ADMINISTRATORS, HTTP_URL, hydrated, postFromPage, signIn, signInOk } from "./helpers";

test.describe.configure({ mode: "serial" });

const AUDITOR_PASSWORD = "Aud1tor-Passw0rd";

test("visitors without a session are sent to sign in, and the API answers 401", async ({ request }) => {
  // A browser's navigation asks for HTML. (Over the loopback listener:
  // this is about routing, not TLS.)
  const page = await request.get(`${HTTP_URL}${ADMINISTRATORS}`, { maxRedirects: 0, headers: { Accept: "text/html" } });
  expect(page.status()).toBe(303);
  expect(page.headers()["location"]).toBe("/login?next=%2Fadministration%2Fsystem%2Fadmin-access%2Fadministrators");
  const api = await request.post(`${HTTP_URL}/api/list_admins`, { form: {} });
  expect(api.status()).toBe(401);
});

test("a wrong password and an unknown user get the same error", async ({ page }) => {
  await signIn(page, "admin", "Wrong-Passw0rd1");
  const error = page.getByRole("alert");
  await expect(error).toHaveText("Invalid username or password. Try again.");
  await page.getByLabel("Username").fill("nobody-here");
  await page.getByRole("button", { name: "Login" }).click();
  await expect(error).toHaveText("Invalid username or password. Try again.");
  await expect(page).toHaveURL(/\/login$/);
});

test("a Super Admin creates a Read-Only admin through the menu", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByTestId("node-name")).toHaveText("ise-pan-01");

  await page.getByLabel("Menu", { exact: true }).click();
  const drawer = page.getByRole("navigation", { name: "Main menu" });
  await expect(drawer.getByRole("heading", { name: "Administration" })).toBeVisible();
  await drawer.getByRole("link", { name: "Administrators" }).click();
  await expect(page).toHaveURL(ADMINISTRATORS);
  await expect(drawer).toBeHidden();
  await expect(page.getByRole("navigation", { name: "Breadcrumb" })).toHaveText(
    /Administration\s*›\s*System\s*›\s*Admin Access\s*›\s*Administrators/,
  );
  await expect(page.locator("tbody tr", { hasText: "Default admin user" })).toContainText("Super Admin");

  await page.getByRole("link", { name: "+ Add" }).click();
  await expect(page).toHaveURL(`${ADMINISTRATORS}/new`);
  await page.getByLabel("Name", { exact: true }).fill("auditor");
  await page.getByLabel("Email", { exact: true }).fill("not-an-email");
  await page.getByLabel("Password", { exact: true }).fill(AUDITOR_PASSWORD);
  await page.getByLabel("Re-Enter Password").fill(AUDITOR_PASSWORD);
  await page.getByLabel("Admin Group").selectOption({ label: "Read Only Admin" });
  await page.getByRole("button", { name: "Submit" }).click();
  // Checked in the browser with the server's own rules: nothing is sent.
  await expect(page.locator("#admin-email-error")).toContainText("Enter a valid email address");
  await expect(page).toHaveURL(`${ADMINISTRATORS}/new`);

  await page.getByLabel("Email", { exact: true }).fill("auditor@example.com");
  await page.getByLabel("Include system alarms in emails").check();
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByRole("status").filter({ hasText: "was saved" })).toHaveText("Admin user 'auditor' was saved.");
  const row = page.locator("tbody tr", { hasText: "auditor@example.com" });
  await expect(row).toContainText("Read Only Admin");
  await expect(row).toContainText("auditor@example.com");
  await expect(row).toContainText("Yes");

  await page.getByRole("button", { name: "Log Out" }).click();
  await expect(page).toHaveURL(/\/login$/);
});

test("a Read-Only admin sees disabled Save buttons and the server refuses its changes", async ({ page }) => {
  await signInOk(page, "auditor", AUDITOR_PASSWORD);
  await page.goto(ADMINISTRATORS);
  await hydrated(page);
  await expect(page.getByText("Your admin group can view admin users but not change them.")).toBeVisible();
  await expect(page.getByRole("button", { name: "+ Add" })).toBeDisabled();
  await page.getByRole("link", { name: "auditor", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Admin User auditor" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Save" })).toBeDisabled();
  await expect(page.getByLabel("Email", { exact: true })).toBeDisabled();

  // A hand-made POST with the Read-Only admin's own session cookie.
  const response = await postFromPage(page, "/api/save_admin", {
    "form[name]": "intruder",
    "form[role]": "super_admin",
    "form[status]": "enabled",
    "form[password]": "Intrud3r-Passw0rd",
    "form[password_confirm]": "Intrud3r-Passw0rd",
  });
  expect(response.status).toBe(403);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Admin User auditor" })).toBeVisible();
  await page.goto(ADMINISTRATORS);
  await expect(page.locator("tbody tr", { hasText: "auditor@example.com" })).toBeVisible();
  await expect(page.locator("tbody tr", { hasText: "intruder" })).toHaveCount(0);

  await page.getByRole("button", { name: "Log Out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  // Signed out, a console page is a redirect to sign-in, which then returns there.
  await page.goto(ADMINISTRATORS);
  await expect(page).toHaveURL(/\/login\?next=%2Fadministration%2Fsystem%2Fadmin-access%2Fadministrators$/);
  await hydrated(page);
  await page.getByLabel("Username").fill("auditor");
  await page.getByLabel("Password").fill(AUDITOR_PASSWORD);
  await page.getByRole("button", { name: "Login" }).click();
  await expect(page).toHaveURL(ADMINISTRATORS);
  await expect(page.getByTestId("signed-in-user")).toHaveText("auditor");
});

test("the Super Admin's change shows in the configuration audit", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("navigation", { name: "Main menu" }).getByRole("link", { name: "Change Configuration Audit" }).click();
  const row = page.locator("tbody tr", { hasText: "admin:auditor" });
  await expect(row).toContainText("create");
  await expect(row).not.toContainText(AUDITOR_PASSWORD);
});
