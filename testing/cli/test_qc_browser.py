"""The QC page in a real browser: headless Chromium opens index.html over file://, lists the
entries, navigates with the keyboard, rates an entry 'fail', and exports qc_fail.yml /
qc_flags.json, which are loaded back. A screenshot goes to testing/artifacts/qc_report.png.
"""
import json
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason="headless browser test needs /usr/bin/chromium and /usr/bin/chromedriver "
           "(Debian packages 'chromium' and 'chromium-driver')")


@pytest.fixture(scope="module")
def report(sct_testing_data, tmp_path_factory):
    """A QC folder with a segmentation, a labels and a before/after entry."""
    from spinalcordtoolbox.reports.qc import generate_qc

    qc = tmp_path_factory.mktemp("qc_browser")
    t2, mt = sct_testing_data / "t2", sct_testing_data / "mt"
    generate_qc(t2 / "t2.nii.gz", qc, process="sct_deepseg_sc", seg=t2 / "t2_seg-manual.nii.gz",
                command_line="sct_deepseg_sc -i t2.nii.gz -c t2 -qc qc", subject="sub-01")
    generate_qc(t2 / "t2.nii.gz", qc, process="sct_label_utils", seg=t2 / "labels.nii.gz",
                command_line="sct_label_utils -i t2.nii.gz -create-viewer 3,5 -qc qc", subject="sub-01")
    generate_qc(mt / "mt1.nii.gz", qc, process="sct_register_multimodal", image2=mt / "mt0.nii.gz",
                seg=mt / "mt1_seg.nii.gz", command_line="sct_register_multimodal -i mt0 -d mt1 -qc qc",
                subject="sub-02")
    return qc


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium_profile')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "download.directory_upgrade": True, "safebrowsing.enabled": False})
    # the performance log records every network request the page makes (Network.requestWillBeSent)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait_for(predicate, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _wait_download(folder: Path, name: str) -> Path:
    path = folder / name
    _wait_for(lambda: path.is_file() and path.stat().st_size > 0, what=f"download of {name}")
    return path


def _press(driver, key):
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(driver).send_keys(key).perform()


def _rows(driver):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, "#entries tbody tr")


def _ratings(driver):
    """{entry id: rating} of the listed rows, read in one script call (the table is re-drawn
    asynchronously after a file is loaded, so element handles could go stale)."""
    return dict(driver.execute_script(
        "return Array.from(document.querySelectorAll('#entries tbody tr'))"
        ".map(function (tr) { return [tr.dataset.id, tr.dataset.rating]; });"))


def _selected(driver):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, "#entries tbody tr.selected")


def test_review_rate_and_export(report, browser):
    import yaml
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from spinalcordtoolbox.reports.records import read_index

    entries = read_index(report)
    by_id = {e["id"]: e for e in entries}
    browser.get_log("performance")  # forget the browser's own start-up requests (new tab page)
    browser.get((report / "index.html").as_uri())

    # every entry is listed, the first one is selected
    rows = _wait_for(lambda: _rows(browser), what="table rows")
    assert len(rows) == 3
    assert {r.find_elements(By.TAG_NAME, "td")[5].text for r in rows} == {
        "sct_deepseg_sc", "sct_label_utils", "sct_register_multimodal"}
    first = _selected(browser).get_attribute("data-id")
    ids = list(_ratings(browser))
    assert first == ids[0]

    # keyboard: down selects the next entry and loads its image (natural size = recorded size)
    _press(browser, Keys.ARROW_DOWN)
    second = _selected(browser).get_attribute("data-id")
    assert second == ids[1]
    size = _wait_for(lambda: browser.execute_script(
        "var i = document.getElementById('img-background');"
        "return i.complete && i.naturalWidth && i.src.endsWith(arguments[0])"
        " ? [i.naturalWidth, i.naturalHeight] : null;", by_id[second]["background"]), what="image load")
    assert size == [by_id[second]["width"], by_id[second]["height"]]
    _press(browser, Keys.ARROW_UP)
    assert _selected(browser).get_attribute("data-id") == first
    _press(browser, Keys.ARROW_DOWN)

    # right arrow toggles the overlay off and on
    frame = browser.find_element(By.ID, "frame")
    _press(browser, Keys.ARROW_RIGHT)
    assert "overlay-off" in frame.get_attribute("class")
    _press(browser, Keys.ARROW_RIGHT)
    assert "overlay-off" not in frame.get_attribute("class")
    # 'a' plays the toggle in a loop (0.7 s period) until pressed again
    _press(browser, "a")
    _wait_for(lambda: "overlay-off" in frame.get_attribute("class"), timeout=3, what="animation")
    _press(browser, "a")

    # 'f' cycles: unrated -> pass -> fail
    _press(browser, "f")
    assert _selected(browser).get_attribute("data-rating") == "pass"
    _press(browser, "f")
    assert _selected(browser).get_attribute("data-rating") == "fail"
    assert "fail" in _selected(browser).find_elements(By.TAG_NAME, "td")[7].text
    # the third entry is marked 'artifact' with its direct key
    _press(browser, Keys.ARROW_DOWN)
    _press(browser, "3")
    third = _selected(browser).get_attribute("data-id")

    # ratings persist across a reload (localStorage)
    browser.refresh()
    _wait_for(lambda: _rows(browser), what="table rows after reload")
    assert _ratings(browser) == {first: "none", second: "fail", third: "artifact"}

    # search filters the table
    browser.find_element(By.ID, "search").send_keys("label")
    assert list(_ratings(browser)) == [i for i, e in by_id.items() if e["process"] == "sct_label_utils"]
    browser.find_element(By.ID, "search").send_keys(Keys.BACKSPACE * len("label"))
    _wait_for(lambda: len(_ratings(browser)) == 3, what="filter cleared")

    # "Save Fails" exports exactly the failed entry, naming the file to correct
    browser.find_element(By.ID, "save-fails").click()
    fails = yaml.safe_load(_wait_download(browser.downloads, "qc_fail.yml").read_text())
    failed = by_id[second]
    assert fails == [{"dataset": failed["dataset"], "subject": failed["subject"], "contrast": failed["contrast"],
                      "process": failed["process"], "file": failed["seg"], "image": failed["image"],
                      "id": second}]

    # "Save All" exports both ratings
    browser.find_element(By.ID, "save-all").click()
    flags_path = _wait_download(browser.downloads, "qc_flags.json")
    flags = json.loads(flags_path.read_text())
    assert {r["id"]: r["rating"] for r in flags["ratings"]} == {second: "fail", third: "artifact"}

    # the exported ratings load back into a browser that has forgotten them
    browser.execute_script("localStorage.clear();")
    browser.refresh()
    _wait_for(lambda: _rows(browser), what="rows")
    assert set(_ratings(browser).values()) == {"none"}
    browser.find_element(By.ID, "load-file").send_keys(str(flags_path))
    _wait_for(lambda: _ratings(browser) == {first: "none", second: "fail", third: "artifact"},
              what="ratings loaded")

    # and so does qc_fail.yml alone
    browser.execute_script("localStorage.clear();")
    browser.refresh()
    _wait_for(lambda: _rows(browser), what="rows")
    browser.find_element(By.ID, "load-file").send_keys(str(browser.downloads / "qc_fail.yml"))
    _wait_for(lambda: _ratings(browser) == {first: "none", second: "fail", third: "none"},
              what="fails loaded")

    # nothing but local files was requested, and the page logged no error
    events = [json.loads(m["message"])["message"] for m in browser.get_log("performance")]
    requests = [e["params"] for e in events if e["method"] == "Network.requestWillBeSent"]
    urls = {r["request"]["url"] for r in requests if r.get("documentURL", "").startswith("file:")}
    assert any(u.endswith("/qc.js") for u in urls) and any(u.endswith("background.png") for u in urls), urls
    assert all(u.startswith(("file:", "blob:", "data:")) for u in urls), urls
    assert not [r["request"]["url"] for r in requests if r["request"]["url"].startswith(("http", "ws"))]
    severe = [m for m in browser.get_log("browser") if m["level"] == "SEVERE"]
    assert severe == []

    # a screenshot of the page with the failed entry selected, for people to look at
    _press(browser, Keys.ARROW_DOWN)
    _wait_for(lambda: browser.execute_script(
        "var i = document.getElementById('img-background');"
        "return i.complete && i.naturalWidth > 0 && i.src.endsWith(arguments[0]);", by_id[second]["background"]),
        what="image of the selected entry")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = report / "qc_report.png"
    browser.save_screenshot(str(shot))
    shutil.copyfile(shot, ARTIFACTS / "qc_report.png")
