"""Take the README's screenshot of a running paperfeed (docs/screenshots/home.png).

Uses Playwright for Python driving the system's Chromium (Debian: `apt-get install chromium`);
it never downloads a browser. Start a server over the sample first:

    make run &                      # or: paperfeed serve --port 8000
    .venv/bin/pip install playwright
    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8000/ docs/screenshots/home.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot(url: str, out: Path, width: int, height: int, scheme: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": width, "height": height},
            color_scheme=scheme,  # type: ignore[arg-type]
        )
        page.goto(url, wait_until="networkidle")
        page.screenshot(path=str(out))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot a paperfeed page.")
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--scheme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    screenshot(args.url, args.out, args.width, args.height, args.scheme)


if __name__ == "__main__":
    main()
