"""Every piece of text on the page is readable: WCAG AA contrast, light and dark, in use.

The ratio is WCAG 2's, computed in the real Chromium from each text's computed colour over
the backgrounds behind it (ancestors' colours and opacity composited). Text WCAG calls
large (24 px, or 18.66 px bold) needs 3:1, all other text 4.5:1; disabled controls are
exempt, as in WCAG.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, expect
from web_support import WAIT_MS, companion_page

from companion.webapp.routes import create_app

pytestmark = pytest.mark.browser

# For each visible element with text of its own: its colour and the composited background.
CONTRASTS = """
async () => {
  // Colours are judged at rest, not halfway through a transition.
  const settling = document.getAnimations().filter(
    (a) => a.effect && a.effect.getTiming().iterations !== Infinity
  );
  await Promise.all(settling.map((a) => a.finished.catch(() => null)));
  const rgba = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, base) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + base[i] * (1 - a)).concat([1]);
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const canvas = rgba(getComputedStyle(document.documentElement).backgroundColor);
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none") return null;  // a gradient or image: not judged
      const colour = rgba(style.backgroundColor);
      if (colour && colour[3] > 0) layers.push(colour);
      if (colour && colour[3] >= 1) break;
    }
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    let base = canvas && canvas[3] >= 1 ? canvas : dark ? [0, 0, 0, 1] : [255, 255, 255, 1];
    for (const layer of layers.reverse()) base = over(layer, base);
    return base;
  };
  const results = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest(":disabled, [aria-disabled=true]")) continue;
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!rect.width || !rect.height || style.visibility !== "visible") continue;
    if (!el.checkVisibility({ opacityProperty: true })) continue;
    let opacity = 1;
    for (let node = el; node; node = node.parentElement) {
      opacity *= parseFloat(getComputedStyle(node).opacity);
    }
    const bg = background(el);
    if (!bg) continue;
    const fg = rgba(style.color);
    const text = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    const [hi, lo] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
    const size = parseFloat(style.fontSize);
    const bold = parseInt(style.fontWeight, 10) >= 700;
    results.push({
      text: el.textContent.trim().slice(0, 40),
      id: el.id || el.className || el.tagName,
      ratio: (hi + 0.05) / (lo + 0.05),
      large: size >= 24 || (bold && size >= 18.66),
    });
  }
  return results;
}
"""


@pytest.fixture(params=["light", "dark"])
def page(request: pytest.FixtureRequest, browser: Browser, tmp_path: Path) -> Iterator[Page]:
    scheme: Literal["light", "dark"] = request.param
    # Set before the page loads: switching later would be measured mid-transition.
    with companion_page(
        browser, tmp_path, journal=True, app_for=create_app, color_scheme=scheme
    ) as (page, _, _):
        yield page


def unreadable(page: Page) -> list[str]:
    found: list[dict[str, object]] = page.evaluate(CONTRASTS)
    assert len(found) > 10, "the page showed almost no text"
    return [
        f"{item['id']} “{item['text']}”: {float(item['ratio']):.2f}:1"  # type: ignore[arg-type]
        for item in found
        if float(item["ratio"]) < (3.0 if item["large"] else 4.5)  # type: ignore[arg-type]
    ]


def test_every_text_on_the_start_page_meets_wcag_aa_contrast(page: Page) -> None:
    assert unreadable(page) == []


def test_every_text_during_a_session_meets_wcag_aa_contrast(page: Page) -> None:
    page.locator('.script-card[data-script="speaker-listener"]').click()
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    assert unreadable(page) == []
    page.keyboard.press("Space")
    expect(page.locator("body")).to_have_attribute("data-status", "paused", timeout=WAIT_MS)
    assert unreadable(page) == []
