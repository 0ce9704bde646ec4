#!/usr/bin/python3
"""The chat page of `lowbit serve` in a real browser: Debian's headless Chromium driven by
Selenium (chromium-driver, python3-selenium) against the bundled model. Loads the page, sends a
message, waits for the reply to stream in, presses Stop, checks that the reply stops growing and
the server frees its slot, that a second turn works, and that the browser logged no errors.
SIGTERM then stops the server with exit status 0.

    chat_page_test.py LOWBIT_CLI MODEL [SCREENSHOT.png]
"""
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


def fail(message):
    print("FAILED: " + message, flush=True)
    sys.exit(1)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    fail("python3-selenium is missing (scripts/install-deps.sh installs it)")


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def start_server(cli, model):
    server = subprocess.Popen([cli, "serve", "-m", model, "--port", "0", "-t", "2", "-c", "4096"],
                              stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    match = re.search(r"listening on (http://[0-9.]+:[0-9]+)", line)
    if not match:
        server.kill()
        fail("the server did not say where it listens: " + line)
    base = match.group(1)
    for _ in range(300):
        try:
            if get_json(base + "/health")["status"] == "ok":
                return server, base
        except OSError:
            pass
        time.sleep(0.05)
    server.kill()
    fail("the server did not become ready")


def browser(profile):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--window-size=1100,760", "--user-data-dir=" + profile]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    cli, model = sys.argv[1], sys.argv[2]
    screenshot = sys.argv[3] if len(sys.argv) > 3 else None
    server, base = start_server(cli, model)
    driver = None
    try:
        with tempfile.TemporaryDirectory() as profile:
            driver = browser(profile)
            driver.get(base + "/")
            wait = WebDriverWait(driver, 30)
            wait.until(lambda d: d.find_element(By.ID, "model").text == "tiny-bitnet")

            driver.find_element(By.ID, "toggle-settings").click()
            max_tokens = driver.find_element(By.ID, "max_tokens")
            max_tokens.clear()
            max_tokens.send_keys("3000")

            def replies():
                return driver.find_elements(By.CSS_SELECTOR, ".message.assistant .text")

            driver.find_element(By.ID, "input").send_keys("Tell me a story")
            driver.find_element(By.ID, "send").click()
            wait.until(lambda d: replies() and len(replies()[-1].text) > 0)
            first = replies()[-1].text
            wait.until(lambda d: len(replies()[-1].text) > len(first))  # it streams in
            if not driver.find_element(By.ID, "stop").is_enabled():
                fail("Stop is not enabled while the reply streams")
            driver.find_element(By.ID, "stop").click()
            wait.until(lambda d: d.find_element(By.ID, "send").is_enabled())
            stopped = replies()[-1].text
            time.sleep(0.5)
            if replies()[-1].text != stopped:
                fail("the reply kept growing after Stop")
            busy = 1
            for _ in range(100):
                busy = get_json(base + "/props")["slots_busy"]
                if busy == 0:
                    break
                time.sleep(0.05)
            if busy != 0:
                fail("the server did not free the slot after Stop")
            print("ok streamed %d characters, stopped" % len(stopped), flush=True)

            # a second turn: the conversation goes on
            max_tokens.clear()
            max_tokens.send_keys("12")
            driver.find_element(By.ID, "input").send_keys("And another one")
            driver.find_element(By.ID, "send").click()
            wait.until(lambda d: len(replies()) == 2 and d.find_element(By.ID, "send").is_enabled())
            if not replies()[-1].text:
                fail("the second reply is empty")
            if len(driver.find_elements(By.CSS_SELECTOR, ".message.user")) != 2:
                fail("the conversation does not show both messages")
            print("ok second turn", flush=True)
            if screenshot:
                driver.save_screenshot(screenshot)

            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            if errors:
                fail("the browser logged errors: " + json.dumps(errors))
            print("ok no console errors", flush=True)
    finally:
        if driver is not None:
            driver.quit()
        server.send_signal(signal.SIGTERM)
        try:
            status = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            fail("the server did not stop within 30 s of SIGTERM")
    if status != 0:
        fail("the server exited with status %d after SIGTERM" % status)
    print("ok SIGTERM: exit 0", flush=True)


main()
