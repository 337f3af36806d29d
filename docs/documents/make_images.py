"""Write the README's pictures of a generated notice and of the half-year report (first pages).

Builds the demo city on a scratch SQLite database (about two minutes), accepts one petition of it
through the engine (its 受理告知书 is issued by the step), renders the city's half-year report and
turns the first page of each PDF into a PNG with pdftoppm (poppler-utils; only this script needs it).

    .venv/bin/python docs/documents/make_images.py
"""
from __future__ import annotations

import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from engine.calendar import to_local_date
from engine.documents.render import docx_to_pdf
from engine.env import make_env
from engine.inbox import inbox
from engine.models import Attachment, CaseDocument, User
from engine.orgs import Actor
from engine.runtime import claim_task, complete_task
from webapp.cli import deploy_all, init_db
from workflows.demo_city import build as build_demo
from workflows.half_year import build, to_docx

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent


def _png(pdf: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "page.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(source),
                        str(OUT / name)], check=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = make_env(f"sqlite:///{tmp}/demo.db", bpmn_dir=ROOT / "bpmn")
        env.upload_dir = Path(tmp) / "uploads"
        init_db(env)
        deploy_all(env)
        build_demo(env)
        with env.db.read() as s:
            users = {u.username: u for u in s.scalars(select(User))}
        cw = Actor(users["city_xf_cw1"].id, users["city_xf_cw1"].full_name)
        intake = next(t for t in inbox(env, cw.id, per_page=200).items if t.step_id == "intake")
        claim_task(env, intake.id, cw)
        complete_task(env, intake.id, cw, {"intake_outcome": "受理"}, "符合受理条件")
        with env.db.read() as s:
            doc = s.scalar(select(CaseDocument).order_by(CaseDocument.id.desc()).limit(1))
            pdf = s.get(Attachment, doc.pdf_attachment_id)
        _png((env.upload_dir / pdf.sha256[:2] / pdf.sha256[2:4] / pdf.sha256).read_bytes(), "notice")
        today = to_local_date(env.clock.now())
        report = build(env, users["city_lead1"].id, None, today - timedelta(days=120), today)
        _png(docx_to_pdf(to_docx(report), report.title), "report")
        env.db.dispose()


if __name__ == "__main__":
    main()
