"""documents and their numbers

The counter of document numbers (文号) per issuing unit, year and document type, row-locked in
the transaction of the step that issues one, and the documents generated for cases (each a pair
of attachments, .docx and .pdf).

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_sequence",
        sa.Column("org_unit_id", sa.Integer, sa.ForeignKey("org_unit.id"), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("doc_type", sa.String(64), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "case_document",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_id", sa.Integer, sa.ForeignKey("process_instance.id"), nullable=False, index=True),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("number", sa.String(64), nullable=True),
        sa.Column("issuer_unit_id", sa.Integer, sa.ForeignKey("org_unit.id"), nullable=True),
        sa.Column("step_id", sa.String(128), nullable=True),
        sa.Column("docx_attachment_id", sa.Integer, sa.ForeignKey("attachment.id"), nullable=False),
        sa.Column("pdf_attachment_id", sa.Integer, sa.ForeignKey("attachment.id"), nullable=False),
        sa.Column("created_by_id", sa.Integer, sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_document_number", "case_document", ["number"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_case_document_number", table_name="case_document")
    op.drop_table("case_document")
    op.drop_table("document_sequence")
