"""The UI door: headless Chromium logs in, fills the trigger form of a report and the run completes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from support.e2e_checks import SALES, assert_completed

# Debian's packages (scripts/install_test_servers.sh installs them): nothing is downloaded at run time.
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Chromium driven through Debian's chromedriver; quit at the end."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_ui_trigger_form_run_completes(airflow, store, browser, tmp_path):
    """Log in, open the report's trigger form, choose a region, trigger: the run succeeds with MANUAL request."""
    wait = WebDriverWait(browser, 60)
    browser.get(f"{airflow.base_url}/auth/login")
    wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("admin")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: any(c["name"] == "_token" for c in d.get_cookies()))

    browser.get(f"{airflow.base_url}/dags/{SALES}")
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"))).click()
    region = wait.until(
        ready.presence_of_element_located(
            (By.XPATH, "//input[@type='hidden' and @name='element_region']/..//input[@role='combobox']")
        )
    )
    region.send_keys("APAC")
    region.send_keys(Keys.ENTER)
    wait.until(
        ready.presence_of_element_located(
            (By.XPATH, "//input[@type='hidden' and @name='element_region' and @value='APAC']")
        )
    )
    # A run id of our own, so the test finds exactly the run this form made.
    browser.find_element(By.XPATH, "//button[contains(@id, 'trigger:advancedOptions')]").click()
    run_id = f"e2e-ui-{uuid.uuid4().hex[:8]}"
    wait.until(ready.visibility_of_element_located((By.NAME, "dagRunId"))).send_keys(run_id)
    screenshot = Path(tmp_path) / "trigger_form.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 0
    browser.find_element(By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]").click()

    deadline = time.monotonic() + 60
    while airflow.api("GET", f"/dags/{SALES}/dagRuns/{run_id}").status_code != 200:
        assert time.monotonic() < deadline, f"the form did not create run {run_id}"
        time.sleep(1)
    run = airflow.wait_for_run(SALES, run_id)
    assert run["state"] == "success", airflow.task_states(SALES, run_id)
    assert run["run_type"] == "manual" and run["conf"]["region"] == "APAC"
    claimed = airflow.xcom(SALES, run_id, "claim")
    trail = assert_completed(store, claimed["request_id"], airflow.output_dir / "sales_summary", "MANUAL")
    assert trail["request"]["parameters"]["region"] == "APAC"
    assert all("APAC" in Path(d["remote_location"]).name for d in trail["deliveries"])
