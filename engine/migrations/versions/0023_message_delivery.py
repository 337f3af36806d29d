"""message centre outbox: app_message.delivered_at (SMS / e-mail senders, engine.notify.senders)

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_message") as batch:
        batch.add_column(sa.Column("delivered_at", engine.models.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_app_message_delivered_at", ["delivered_at"])
    # the messages written before this revision count as delivered: a gateway turned on after the
    # upgrade must not send the backlog
    op.execute("UPDATE app_message SET delivered_at = at WHERE delivered_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("app_message") as batch:
        batch.drop_index("ix_app_message_delivered_at")
        batch.drop_column("delivered_at")
