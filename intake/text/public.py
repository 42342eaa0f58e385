"""The child-facing pages of a school's QR code (``/r/<school_token>``).

No login, no cookie, no CSRF token (there is no session to forge requests with: every request
stands on what it carries), no external asset, and no JavaScript needed; a little script in
static/js/report.js adds the quick exit that replaces the history entry and the copy button.
The follow-up code travels only in POST bodies: never in a URL, so no log or proxy keeps it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask_babel import force_locale
from werkzeug.wrappers import Response

from core.clock import utcnow
from core.extensions import db
from core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from intake.text import service, throttle
from intake.text.codes import new_code
from intake.text.service import ReportInvalid, ThreadClosed, TooManyMessages

bp = Blueprint("text_public", __name__)
# Where the quick exit leads: a neutral page that says nothing about the helpline.
NEUTRAL_SITE = "https://www.google.com/search?q=weather"
HONEYPOT = "website"  # hidden from people; a bot that fills every field fills it too
PUBLIC_BODY_LIMIT = 32 * 1024  # the longest message is 5,000 characters (20 KB in UTF-8)


def page_language(read_body: bool = True) -> str:
    """The language the child picked (a link or a hidden field), else the phone's, else kk.
    ``read_body=False`` when the body must not be read (it was refused as too large)."""
    chosen = request.values.get("lang") if read_body else request.args.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def render(template: str, status: int = 200, read_body: bool = True,
           **context: Any) -> tuple[str, int]:
    lang = page_language(read_body)
    with force_locale(lang):
        html = render_template(f"intake/public/{template}", lang=lang, languages=LANGUAGES,
                               **context)
    return html, status


def _token_or_page(school_token: str) -> tuple[service.TokenLookup | None, tuple[str, int] | None]:
    found = service.lookup_token(school_token)
    if found is None:
        return None, render("unknown.html", 404, token=None)
    if found.retired:
        return None, render("replaced.html", 410, token=school_token)
    return found, None


@bp.get("/r/<school_token>")
def report_page(school_token: str) -> tuple[str, int]:
    found, page = _token_or_page(school_token)
    if page is not None:
        return page
    assert found is not None  # noqa: S101
    return render("report.html", token=school_token, values={}, errors={})


@bp.post("/r/<school_token>")
def submit_report(school_token: str) -> tuple[str, int]:
    try:
        throttle.new_report_from_address()
    except throttle.Throttled:
        return render("throttled.html", 429, token=school_token)
    found, page = _token_or_page(school_token)
    if page is not None:
        return page
    assert found is not None  # noqa: S101
    if request.form.get(HONEYPOT):
        # Answer as if it worked, store nothing: the bot learns nothing to adapt to.

        return render("code.html", token=school_token, code=new_code(), urgent=False)
    try:
        throttle.new_report_for_token(school_token)
    except throttle.Throttled:
        return render("throttled.html", 429, token=school_token)
    try:
        new = service.parse_report({**request.form.to_dict(), "language": page_language()})
    except ReportInvalid as error:
        return render("report.html", 422, token=school_token, values=request.form,
                      errors=error.fields)
    report, code = service.create_report(found.school, new, utcnow())
    urgent = bool(report and report.urgent)
    return render("code.html", token=school_token, code=code, urgent=urgent)


def _thread_page(school_token: str, report: service.TextReport, code: str, status: int = 200,
                 **extra: Any) -> tuple[str, int]:
    return render("thread.html", status, token=school_token, report=report, code=code,
                  thread=service.public_thread(report), **extra)


def _report_for_posted_code(school_token: str) -> tuple[service.TextReport | None, str,
                                                          tuple[str, int] | None]:
    code = (request.form.get("follow_up_code") or "").strip()
    try:
        throttle.thread_read()
    except throttle.Throttled:
        return None, code, render("throttled.html", 429, token=school_token)
    report = service.report_for_code(code)
    if report is None:
        return None, code, render("no_thread.html", 404, token=school_token)
    return report, code, None


@bp.post("/r/<school_token>/thread")
def thread(school_token: str) -> tuple[str, int]:
    report, code, page = _report_for_posted_code(school_token)
    if page is not None:
        return page
    assert report is not None  # noqa: S101
    return _thread_page(school_token, report, code)


@bp.post("/r/<school_token>/message")
def message(school_token: str) -> tuple[str, int]:
    report, code, page = _report_for_posted_code(school_token)
    if page is not None:
        return page
    assert report is not None  # noqa: S101
    try:
        throttle.new_message()
    except throttle.Throttled:
        return render("throttled.html", 429, token=school_token)
    try:
        service.child_writes(report, request.form.get("text"), utcnow())
    except ReportInvalid as error:
        db.session.rollback()
        return _thread_page(school_token, report, code, 422, errors=error.fields)
    except (ThreadClosed, TooManyMessages):
        db.session.rollback()
        return _thread_page(school_token, report, code, 409)
    return _thread_page(school_token, report, code, sent=True)


@bp.errorhandler(413)
def too_large(error: Exception) -> tuple[str, int]:
    """A message over the size limit: a page of this channel (no cookie, the child's words)."""
    token = (request.view_args or {}).get("school_token")
    return render("too_long.html", 413, read_body=False, token=token)


@bp.get("/r/exit")
def exit_page() -> Response:
    """The quick exit without JavaScript: straight to a neutral site (with JavaScript the page
    goes there itself with location.replace, so the back button does not return)."""
    return redirect(NEUTRAL_SITE, 303)


# Public endpoints take small bodies: a flood is refused before it is read (core.hostile).
PUBLIC_ENDPOINTS_WITH_BODY = frozenset({
    "text_public.submit_report", "text_public.thread", "text_public.message",
    "api.public_create_report", "api.public_report_thread", "api.public_report_message",
})
