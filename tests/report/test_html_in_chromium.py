"""index.html opened in headless Chromium (Debian's `chromium`): it renders the verdict table and
every plot. The screenshot must not be blank and must show the plots' colours; the DOM Chromium built
must hold the table and each plot element."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from harness.report.svg import COLOURS

PLOTS = ["over-time", "latency", "errors", "placement-map"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    if os.environ.get("CI"):
        pytest.fail("no Chromium on PATH: .ci/run installs Debian's chromium")
    pytest.skip("no Chromium on PATH (apt-get install chromium)")


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def read_png(path: Path) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, pixels) of an 8-bit RGB or RGBA non-interlaced PNG, as Chromium writes them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        header = chunk if kind == b"IHDR" else header
        idat += chunk if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and not interlace, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(line)
        previous = line
    pixels = [tuple(row[x * channels : x * channels + 3]) for row in rows for x in range(width)]
    return width, height, pixels


def test_dom_has_the_verdict_table_and_every_plot(sample_run: Path) -> None:
    dom = headless("--dump-dom", (sample_run / "index.html").as_uri()).stdout
    assert 'id="verdict-table"' in dom
    rows = re.findall(r"<tr><td>(?:gang|restart)</td>", dom.split('id="verdict-table"')[1].split("</table>")[0])
    assert len(rows) == 4, rows
    for plot in PLOTS:
        assert re.search(rf'<svg class="plot {plot}"', dom), f"no {plot} plot in the rendered page"
    assert dom.count('class="line"') >= 6  # series, in-flight, TTFT, ITL, failed/s, succeeded/s
    assert dom.count('class="chip"') == 4  # one per device placed
    assert "worker killed" in dom  # the disruption marker


def test_screenshot_is_not_blank_and_shows_the_plots(sample_run: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    headless(f"--screenshot={shot}", "--window-size=1200,4800", (sample_run / "index.html").as_uri())
    width, height, pixels = read_png(shot)
    assert (width, height) == (1200, 4800)
    colours = Counter(pixels)
    white = colours[(255, 255, 255)]
    assert white < 0.97 * len(pixels), f"page is {white / len(pixels):.1%} white: blank?"
    for hex_colour in COLOURS[:2]:  # the first two lines' colours: the plots were drawn
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert colours[rgb] > 50, f"colour {hex_colour} drawn on only {colours[rgb]} pixels"
