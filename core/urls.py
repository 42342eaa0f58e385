"""Redirect targets: only local paths, never another host (open redirects, security.md §5)."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    if not target:
        return None
    target = target.strip()
    # Browsers treat backslashes as slashes and ignore tabs/newlines inside URLs.
    if "\\" in target or any(ch in target for ch in "\t\r\n") or not target.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
