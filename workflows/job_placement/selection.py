"""Scores, the ranking and the choice of posts in rank order (考试考核/赋分 → 选岗).

The ranking is by total score, highest first; ties go to longer service, then the higher award
score, then the ID number (so the order is stable and reproducible). Choosing runs as a
sequential multi-instance over the ranking: the candidate ranked k only gets a task once
everyone ranked above has chosen, and a post is closed once its places are taken.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from engine.errors import FormInvalid, InvalidState

SCORE_PARTS = ("service_score", "award_score", "exam_score")


def score_sheet(examinee: dict[str, Any], form: dict[str, Any],
                weights: dict[str, float]) -> dict[str, Any]:
    """The scored candidate: the parts as entered, and the weighted total minus deductions."""
    parts = {p: float(form[p]) for p in SCORE_PARTS}
    deduction = float(form.get("deduction") or 0)
    total = sum(parts[p] * float(weights[p.removesuffix("_score")]) for p in SCORE_PARTS) - deduction
    return {**examinee, **parts, "deduction": deduction, "total": round(total, 2)}


def rank(scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The score sheets in rank order, each with its `rank` (1 = chooses first)."""
    ordered = sorted(scores, key=lambda s: (-s["total"], -int(s.get("service_years", 0)),
                                            -s.get("award_score", 0), str(s["id_number"])))
    return [{**s, "rank": i} for i, s in enumerate(ordered, start=1)]


def open_posts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The posts with places left for the one choosing now: (code, readable label). The form
    lists these (select_post.json "x-options-from"); `choose_post` checks the choice again."""
    taken = Counter(c["post_code"] for c in data.get("choices") or [])
    out = []
    for post in data.get("posts") or []:
        left = int(post["count"]) - taken[post["post_code"]]
        if left > 0:
            label = f"{post['post_code']} {post['employer']}·{post['post_name']}（余{left}个名额）"
            out.append((str(post["post_code"]), label))
    return out


def choose_post(chooser: dict[str, Any], post_code: str, posts: list[dict[str, Any]],
                choices: list[dict[str, Any]]) -> dict[str, Any]:
    """The choice of `chooser`; refused if the post is unknown or already full."""
    if int(chooser["rank"]) != len(choices) + 1:
        raise InvalidState(f"rank {chooser['rank']} chooses before rank {len(choices) + 1}",
                           "须按名次顺序选岗")
    post = next((p for p in posts if p["post_code"] == post_code), None)
    if post is None:
        raise FormInvalid({"post_code": "岗位计划中没有该岗位代码"})
    taken = Counter(c["post_code"] for c in choices)
    if taken[post_code] >= int(post["count"]):
        raise FormInvalid({"post_code": "该岗位名额已被排名在前的人员选满，请另选岗位"})
    return {**chooser, "post_code": post_code, "employer": post["employer"],
            "post_name": post["post_name"]}

