"""Unit paths ("/1/3/17/") read one way everywhere: ids root first, tree order for the pickers."""
from __future__ import annotations

from engine.models import OrgUnit
from engine.orgs import path_ids, tree_order


def test_a_path_reads_as_its_ids_root_first():
    assert path_ids("/1/3/17/") == [1, 3, 17]
    assert path_ids("/1/") == [1]


def test_no_path_and_non_unit_parts_read_as_no_ids():
    assert path_ids(None) == []
    assert path_ids("/") == []
    assert path_ids("/~") == []  # the people picker's "其他人员" group
    assert path_ids("/2/x/5/") == [2, 5]


def test_tree_order_puts_each_unit_after_its_parent_with_its_depth():
    units = [OrgUnit(id=5, name="镇", path="/1/3/5/"), OrgUnit(id=1, name="市", path="/1/"),
             OrgUnit(id=4, name="二区", path="/1/4/"), OrgUnit(id=3, name="区", path="/1/3/")]
    assert tree_order(units) == [(1, "市", 0), (3, "区", 1), (5, "镇", 2), (4, "二区", 1)]
    assert tree_order([]) == []
