"""`senim keys rotate` and `senim keys rewrap` (interfaces.md, security.md §1)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher, KeyUnwrapError, MasterKey, MasterKeyError, unwrap_data_key
from core.encryption import ENCRYPTED_FIELDS, KEYRING_TTL_SECONDS, EncryptedField, crypto
from core.extensions import db
from core.models.keys import ACTIVE, RETIRED, DataKey, KeyRotation

BATCH = 500


@click.group("keys")
def keys() -> None:
    """Data-encryption keys."""


def _models() -> dict[str, type]:
    return {f.table: f.model for f in ENCRYPTED_FIELDS}


def _fields(table: str) -> list[EncryptedField]:
    return [f for f in ENCRYPTED_FIELDS if f.table == table]


def _open_rotation() -> KeyRotation | None:
    return db.session.scalar(select(KeyRotation).where(KeyRotation.finished_at.is_(None))
                             .order_by(KeyRotation.id.desc()))


def _batches(model: Any, after: str) -> Iterator[list[Any]]:
    while True:
        rows = list(db.session.scalars(
            select(model).where(model.id > after).order_by(model.id).limit(BATCH)))
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _reencrypt(row: Any, fields: list[EncryptedField], current: int) -> bool:
    """Rewrite each field of the row that is not under the current key; True if any was."""
    changed = False
    for field in fields:
        blob = getattr(row, f"_{field.name}_ciphertext")
        if blob is None or FieldCipher.key_id_of(bytes(blob)) == current:
            continue
        setattr(row, field.name, getattr(row, field.name))  # decrypt (old key), encrypt (new)
        changed = True
    return changed


def _rotate_table(table: str, rotation: KeyRotation, bar: Any) -> int:
    model, fields = _models()[table], _fields(table)
    progress = json.loads(rotation.progress)
    done = 0
    for rows in _batches(model, progress.get(table, "")):
        current = crypto().keyring().current_id
        done += sum(_reencrypt(row, fields, current) for row in rows)
        progress[table] = rows[-1].id
        rotation.progress = json.dumps(progress)
        audit.record("keys.rotate_batch", object_type=table, details={"rows": len(rows)})
        db.session.commit()  # one batch per transaction: an interruption loses one batch at most
        bar.update(len(rows))
    return done


def _leftovers(current: int) -> int:
    """Values still under an older key (written by a process that had not yet reloaded)."""
    left = 0
    for table, model in _models().items():
        for rows in _batches(model, ""):
            left += sum(_reencrypt(row, _fields(table), current) for row in rows)
            db.session.commit()
    return left


@keys.command("rotate")
@click.option("--settle-seconds", default=KEYRING_TTL_SECONDS + 1, show_default=True,
              help="wait this long after the new key is made current, so every process uses it")
@with_appcontext
def rotate(settle_seconds: float) -> None:
    """Make a new data key current and re-encrypt every value under it (resumable)."""
    rotation = _open_rotation()
    if rotation is None:
        new_id = crypto().add_current_key()
        rotation = KeyRotation(new_key_id=new_id, started_at=utcnow(), progress="{}")
        db.session.add(rotation)
        audit.record("keys.rotation_started", object_type="data_key", object_id=str(new_id))
        db.session.commit()
        click.echo(f"data key {new_id} is now current")
        time.sleep(settle_seconds)
    else:
        crypto().reload()
        click.echo(f"resuming the rotation to data key {rotation.new_key_id}")
    total = sum(db.session.scalar(select(func.count()).select_from(m)) or 0
                for m in _models().values())
    rewritten = 0
    with click.progressbar(length=total, label="re-encrypting", file=sys.stderr) as bar:
        for table in sorted(_models()):
            rewritten += _rotate_table(table, rotation, bar)
    while (late := _leftovers(rotation.new_key_id)):
        rewritten += late
    _retire_old_keys(rotation)
    click.echo(f"rotation finished: {rewritten} values re-encrypted under key {rotation.new_key_id}")


def _retire_old_keys(rotation: KeyRotation) -> None:
    now = utcnow()
    for key in db.session.scalars(select(DataKey).where(DataKey.state == ACTIVE)):
        key.state, key.retired_at = RETIRED, now
    rotation.finished_at = now
    audit.record("keys.rotation_finished", object_type="data_key", object_id=str(rotation.new_key_id))
    db.session.commit()
    crypto().reload()


@keys.command("destroy-retired")
@click.confirmation_option(prompt="Destroy every retired data key? Values under them become unreadable.")
@with_appcontext
def destroy_retired() -> None:
    """Delete retired data keys (nothing is encrypted under them after a finished rotation)."""
    retired = list(db.session.scalars(select(DataKey).where(DataKey.state == RETIRED)))
    for key in retired:
        db.session.delete(key)
    audit.record("keys.destroyed", object_type="data_key", details={"count": len(retired)})
    db.session.commit()
    crypto().reload()
    click.echo(f"destroyed {len(retired)} retired data keys")


@keys.command("rewrap")
@with_appcontext
def rewrap() -> None:
    """After SENIM_MASTER_KEY changed: read the OLD master key (base64) from standard input and
    re-wrap every data key under the new one from the environment."""
    old_text = sys.stdin.readline().strip()
    try:
        old = MasterKey.from_base64(old_text, setting="the old master key on standard input")
    except MasterKeyError as error:
        raise click.ClickException(str(error)) from None
    new = crypto().master
    count = 0
    for key in db.session.scalars(select(DataKey).with_for_update()):
        try:
            raw = unwrap_data_key(old, key.wrapped)
        except KeyUnwrapError:
            if _unwraps_with(new, key.wrapped):
                continue  # already re-wrapped by an earlier, interrupted run
            db.session.rollback()
            raise click.ClickException(f"data key {key.id} does not unwrap with the old master key") from None
        key.wrapped = new.wrap(raw)
        count += 1
    audit.record("keys.rewrapped", object_type="data_key", details={"count": count})
    db.session.commit()
    crypto().reload()
    click.echo(f"re-wrapped {count} data keys under the new master key")


def _unwraps_with(master: MasterKey, wrapped: bytes) -> bool:
    try:
        unwrap_data_key(master, wrapped)
    except KeyUnwrapError:
        return False
    return True
