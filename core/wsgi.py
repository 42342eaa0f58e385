"""WSGI entry point for gunicorn: ``gunicorn 'core.wsgi:app'``."""

from core.app import create_app
from core.audit import timer

app = create_app()
# Sign audit checkpoints on a timer (SENIM_AUDIT_CHECKPOINT_MINUTES; 0 leaves it to cron).
timer.start(app)
