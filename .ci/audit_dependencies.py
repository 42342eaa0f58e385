"""Audit the application's installed dependencies for known vulnerabilities.

Runs pip-audit over ``pip freeze`` of the application's virtualenv. pip-audit asks PyPI's
per-release JSON for each pinned version; where that answer is unavailable (a mirror that serves
only the per-project document, as on CI's machine), every dependency comes back "skipped", which
must not pass for "clean". Those are then checked against the per-project document, whose
``vulnerabilities`` list describes the latest release: a dependency installed at the latest
release is audited that way, and any other is listed as not audited.

Usage: audit_dependencies.py PIP_AUDIT REQUIREMENTS_TXT REPORT_JSON. Exit 1 on any known
vulnerability (or when nothing at all could be audited), 0 otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

PROJECT_JSON = "https://pypi.org/pypi/{name}/json"


def main(pip_audit: str, requirements: str, report: str) -> int:
    # The tool path and files come from .ci/external-tools, not from outside input.
    subprocess.run([pip_audit, "--requirement", requirements, "--no-deps", "--disable-pip",  # noqa: S603
                    "--progress-spinner", "off", "--format", "json", "--output", report],
                   check=False)
    with open(report, encoding="utf-8") as handle:
        dependencies: list[dict[str, Any]] = json.load(handle)["dependencies"]
    pinned = _pins(requirements)
    found = [(d["name"], d["version"], v["id"]) for d in dependencies for v in d.get("vulns", [])]
    audited = [d for d in dependencies if "skip_reason" not in d]
    unaudited: list[str] = []
    for dependency in (d for d in dependencies if "skip_reason" in d):
        name = dependency["name"]
        version = dependency.get("version") or pinned.get(_canonical(name), "?")
        try:
            with urllib.request.urlopen(PROJECT_JSON.format(name=name), timeout=30) as answer:  # noqa: S310
                project = json.load(answer)
        except OSError as error:
            unaudited.append(f"{name} {version} ({error})")
            continue
        if project["info"]["version"] != version:
            unaudited.append(f"{name} {version} (latest is {project['info']['version']})")
            continue
        audited.append(dependency)
        found += [(name, version, v.get("id", "?")) for v in project.get("vulnerabilities", [])]
    print(f"dependencies: {len(dependencies)}, audited: {len(audited)}, not audited: {len(unaudited)}")
    for line in unaudited:
        print(f"  not audited: {line}")
    for name, version, vulnerability in found:
        print(f"  VULNERABLE: {name} {version}: {vulnerability}")
    if found:
        return 1
    if not audited:
        print("no dependency could be audited: no vulnerability service answered")
        return 1
    print("no known vulnerabilities in the audited dependencies")
    return 0


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _pins(requirements: str) -> dict[str, str]:
    pins = {}
    with open(requirements, encoding="utf-8") as handle:
        for line in handle:
            name, sep, version = line.strip().partition("==")
            if sep:
                pins[_canonical(name)] = version
    return pins


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
