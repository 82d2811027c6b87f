import { expect, Page } from "@playwright/test";

export const ADMIN_PASSWORD = "E2e-Sup3r-Passw0rd";
export const ADMINISTRATORS = "/administration/system/admin-access/administrators";

/** Waits until the page's wasm has hydrated, so clicks run client code. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 20_000 });
}

export async function signIn(page: Page, username: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Login" }).click();
}

export async function signInOk(page: Page, username: string, password: string) {
  await signIn(page, username, password);
  await expect(page.getByTestId("signed-in-user")).toHaveText(username);
  await hydrated(page);
}
