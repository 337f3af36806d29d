"""keyed history chain, checkpoints, TRUNCATE guards, app role

history_event gets `hash_alg` and `key_id`: events written before this revision keep their plain
SHA-256 hashes ("sha256") and still verify; new ones are HMAC-SHA256 under a key outside the
database. admin_event gets the same chain (`seq`, `prev_hash`, `hash`, `hash_alg`, `key_id`):
existing rows are chained here with plain SHA-256, in id order, and `admin_log_head` holds the
head. On PostgreSQL a statement trigger refuses TRUNCATE of both logs.

Revision ID: 0005
Revises: 0004
"""
import hashlib
import json
from datetime import timezone

from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

LOGS = ("history_event", "admin_event")


def upgrade() -> None:
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_alg', sa.String(length=16), server_default='sha256', nullable=False))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_table(
        'admin_log_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_count', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    _admin_guards(False)
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash_alg', sa.String(length=16), server_default='sha256', nullable=False))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    count, last = _chain_existing_admin_events()
    op.execute(sa.text("INSERT INTO admin_log_head (id, event_count, last_hash) VALUES (1, :n, :h)")
               .bindparams(n=count, h=last))
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_admin_event_seq', ['seq'])
    _admin_guards(True)
    _refuse_truncate()


def _chain_existing_admin_events() -> tuple[int, str]:
    """Chain the rows already in the log with plain SHA-256 (no key is known to migrations)."""
    bind = op.get_bind()
    log = sa.table('admin_event', sa.column('id', sa.Integer()), sa.column('at', engine.models.UTCDateTime()),
                   *[sa.column(c, sa.String()) for c in ('actor_name', 'action', 'target_type', 'target')],
                   sa.column('actor_id', sa.Integer()), sa.column('target_id', sa.Integer()),
                   sa.column('details', sa.JSON()))
    prev = ""
    rows = bind.execute(sa.select(log).order_by(log.c.id)).all()
    for seq, r in enumerate(rows, start=1):
        body = {"seq": seq, "at": r.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
                "actor": r.actor_id, "actor_name": r.actor_name, "action": r.action,
                "target_type": r.target_type, "target_id": r.target_id, "target": r.target,
                "details": r.details, "prev": prev}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":")).encode()).hexdigest()
        bind.execute(sa.text("UPDATE admin_event SET seq = :s, prev_hash = :p, hash = :h, hash_alg = 'sha256' "
                             "WHERE id = :id"), {"s": seq, "p": prev, "h": digest, "id": r.id})
        prev = digest
    return len(rows), prev


def _admin_guards(on: bool) -> None:
    """Lift (on=False) and restore the append-only triggers of admin_event around the rewrite."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE admin_event {'ENABLE' if on else 'DISABLE'} TRIGGER admin_event_no_update")
        return
    for verb in ("UPDATE", "DELETE"):
        if on:
            op.execute(f"""CREATE TRIGGER admin_event_no_{verb.lower()} BEFORE {verb} ON admin_event
                           BEGIN SELECT RAISE(ABORT, 'admin_event is append-only'); END""")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS admin_event_no_{verb.lower()}")


def _refuse_truncate() -> None:
    """PostgreSQL: a statement trigger refuses TRUNCATE (SQLite has none; DELETE is refused)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in LOGS:
        op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                       FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LOGS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    _admin_guards(False)
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_admin_event_seq', type_='unique')
        for column in ('key_id', 'hash_alg', 'hash', 'prev_hash', 'seq'):
            batch_op.drop_column(column)
    _admin_guards(True)
    op.drop_table('admin_log_head')
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_column('key_id')
        batch_op.drop_column('hash_alg')
