"""Demo data for workflows/demo_city.py: a soldier file of one synthetic veteran."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

ARMY_UNITS = ["某集团军某旅", "某海防团", "某火箭军旅", "某武警支队", "某空军场站"]
AWARDS = ["无", "三等功1次", "优秀士兵2次", "三等功1次、优秀士兵1次"]


def demo_start(names: Any, rng: random.Random) -> dict[str, Any]:
    """The demo clock starts 120 days back; a discharge before that is valid at any demo instant."""
    born = date(1996 + rng.randrange(8), 1 + rng.randrange(12), 1 + rng.randrange(28))
    discharged = date.today() - timedelta(days=rng.randrange(121, 135))
    return {
        "batch_no": f"{discharged.year}-{discharged.month:02d}-1", "soldier_name": names.person(),
        "id_number": names.id_number(born), "army_unit": rng.choice(ARMY_UNITS),
        "service_years": rng.choice([2, 5, 8, 12]), "awards": rng.choice(AWARDS),
        "category": rng.choice(["自主就业", "自主就业", "自主就业", "安排工作", "供养"]),
        "disability": "无", "discharge_approved_on": discharged.isoformat(),
    }
