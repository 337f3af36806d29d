"""Demo data for workflows/demo_city.py: a year's plan of a few synthetic candidates and posts."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

EMPLOYERS = [("市城管局", "综合执法"), ("市交通局", "路政管理"), ("市水务局", "水政监察"),
             ("市供电公司", "运维检修"), ("市公交集团", "安全管理"), ("市应急管理局", "应急值守")]


def demo_start(names: Any, rng: random.Random) -> dict[str, Any]:
    """Files received about five months back: the 6-month clock is still running at the end."""
    received = date.today() - timedelta(days=rng.randrange(125, 150))
    people = rng.randrange(2, 5)
    candidates = [{"name": names.person(),
                   "id_number": names.id_number(date(1990 + rng.randrange(10), 3, 1 + i)),
                   "service_years": rng.choice([8, 10, 12, 14]), "army_unit": "某部"}
                  for i in range(people)]
    posts = [{"post_code": f"P{i + 1:02d}", "employer": e, "post_name": p, "count": 1}
             for i, (e, p) in enumerate(rng.sample(EMPLOYERS, people + 1))]
    return {"plan_year": received.year, "plan_doc_no": f"安置〔{received.year}〕{rng.randrange(1, 9)}号",
            "receipt_date": received.isoformat(), "candidates": candidates, "posts": posts}
