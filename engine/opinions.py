"""常用意见: each user's stock opinions (migration 0021), picked on the leader workbench.

A stock opinion belongs to one user: only that user lists, adds and removes it (another user's
opinion is "not found", so its existence is not revealed). Texts are trimmed, 1..MAX_LENGTH
characters, unique per user, at most MAX_PER_USER per user. Stock opinions are the user's own
settings, not case state: they write no case history.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.env import Env
from engine.errors import FormInvalid, NotFound
from engine.models import StockOpinion

MAX_LENGTH = 200
MAX_PER_USER = 30


@dataclass(frozen=True)
class Stock:
    id: int
    text: str


def list_opinions(env: Env, user_id: int) -> list[Stock]:
    """The user's stock opinions, oldest first."""
    with env.db.read() as session:
        rows = session.scalars(select(StockOpinion).where(StockOpinion.user_id == user_id)
                               .order_by(StockOpinion.id)).all()
        return [Stock(r.id, r.text) for r in rows]


def add_opinion(env: Env, user_id: int, text: str) -> Stock:
    """Keep a new stock opinion for the user. FormInvalid (field "text") for a blank, too long,
    duplicate text or one over the per-user limit."""
    clean = " ".join((text or "").split())
    if not clean:
        raise FormInvalid({"text": "请填写常用意见"})
    if len(clean) > MAX_LENGTH:
        raise FormInvalid({"text": f"常用意见最多 {MAX_LENGTH} 个字"})
    with env.db.write() as session:
        own = StockOpinion.user_id == user_id
        if session.scalar(select(StockOpinion.id).where(own, StockOpinion.text == clean)) is not None:
            raise FormInvalid({"text": "已有相同的常用意见"})
        if (session.scalar(select(func.count()).select_from(StockOpinion).where(own)) or 0) >= MAX_PER_USER:
            raise FormInvalid({"text": f"常用意见最多保存 {MAX_PER_USER} 条，请先删除不用的"})
        row = StockOpinion(user_id=user_id, text=clean, created_at=env.clock.now())
        session.add(row)
        session.flush()
        return Stock(row.id, row.text)


def remove_opinion(env: Env, user_id: int, opinion_id: int) -> None:
    """Remove one of the user's own stock opinions; NotFound for any other (or a gone one)."""
    with env.db.write() as session:
        row = session.get(StockOpinion, opinion_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"stock opinion {opinion_id} of user {user_id} not found", "该常用意见不存在或已删除")
        session.delete(row)


__all__ = ["MAX_LENGTH", "MAX_PER_USER", "Stock", "add_opinion", "list_opinions",
           "remove_opinion"]
