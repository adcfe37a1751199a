"""What every page of the result tools must be: self-contained, with the result files' strings escaped."""

from __future__ import annotations

import re

MALICIOUS = "<script>alert('x')</script>"
MALICIOUS_ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def external_references(html: str) -> list[str]:
    """Every URL, image source and link of ``html`` that leaves the page (none for a self-contained page)."""
    urls = re.findall(r"https?://[^\s\"'<>]+", html)
    sources = [s for s in re.findall(r'src="([^"]*)"', html) if not s.startswith("data:image/png;base64,")]
    links = [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("#")]
    return urls + sources + links
