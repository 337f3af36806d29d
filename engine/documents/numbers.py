"""文号: document numbers from a per-unit, per-year, per-type counter, locked in the caller's transaction.

A number is taken in the same transaction as the step that issues the document, so a rolled-back
step gives its number back (no gaps) and two concurrent steps queue on the counter row (no repeats).
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from engine.models import DocumentSequence, OrgUnit

_UNIT_SUFFIXES = ("退役军人事务局", "退役军人事务所", "退役军人服务站", "退役军人服务中心")
_PLACE_SUFFIXES = ("自治县", "市", "区", "县", "镇", "乡", "街道")


def next_number(session: Session, org_unit_id: int, year: int, doc_type: str) -> int:
    """The next number of the counter (unit, year, type); the row stays locked until commit."""
    key = (DocumentSequence.org_unit_id == org_unit_id, DocumentSequence.year == year,
           DocumentSequence.doc_type == doc_type)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(DocumentSequence).values(org_unit_id=org_unit_id, year=year,
                                                          doc_type=doc_type, last=0)
                        .on_conflict_do_nothing())
    elif session.scalar(select(DocumentSequence.last).where(*key)) is None:
        session.add(DocumentSequence(org_unit_id=org_unit_id, year=year, doc_type=doc_type, last=0))
        session.flush()
    last = session.scalar(select(DocumentSequence.last).where(*key).with_for_update())
    assert last is not None
    session.execute(update(DocumentSequence).where(*key).values(last=last + 1))
    return last + 1


def unit_abbreviation(name: str) -> str:
    """海安市退役军人事务局 -> 海安: the place name an organ puts before 退役 in its 文号."""
    for suffix in _UNIT_SUFFIXES:
        name = name.removesuffix(suffix)
    for suffix in _PLACE_SUFFIXES:
        if len(name) > len(suffix) + 1 and name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def format_number(session: Session, org_unit_id: int, year: int, word: str, n: int) -> str:
    """e.g. 海安退役信〔2026〕12号."""
    unit = session.get(OrgUnit, org_unit_id)
    place = unit_abbreviation(unit.name) if unit is not None else ""
    return f"{place}退役{word}〔{year}〕{n}号"
