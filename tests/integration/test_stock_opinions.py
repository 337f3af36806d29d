"""常用意见 (engine.opinions): each user's stock opinions, private to that user, checked on add."""
from __future__ import annotations

import pytest

from engine.errors import FormInvalid, NotFound
from engine.opinions import MAX_LENGTH, MAX_PER_USER, add_opinion, list_opinions, remove_opinion
from tests.factories import Org, build_org


@pytest.fixture
def org(env) -> Org:
    return build_org(env)


def test_a_user_adds_lists_and_removes_own_stock_opinions(env, org):
    me = org.actor("city_lead").id
    first = add_opinion(env, me, "  同意，请按程序  办理 ")
    second = add_opinion(env, me, "请补充材料后再报")
    assert [s.text for s in list_opinions(env, me)] == ["同意，请按程序 办理", "请补充材料后再报"]
    remove_opinion(env, me, first.id)
    assert list_opinions(env, me) == [second]


def test_another_user_neither_sees_nor_removes_them(env, org):
    mine = add_opinion(env, org.actor("city_lead").id, "同意")
    other = org.actor("d1_lead").id
    assert list_opinions(env, other) == []
    with pytest.raises(NotFound) as refused:
        remove_opinion(env, other, mine.id)
    assert refused.value.user_message == "该常用意见不存在或已删除"
    assert [s.text for s in list_opinions(env, org.actor("city_lead").id)] == ["同意"]
    add_opinion(env, other, "同意")  # the same text is the other user's own


def test_blank_long_duplicate_and_too_many_are_refused_with_a_reason(env, org):
    me = org.actor("city_lead").id
    for text, message in (("  ", "请填写常用意见"), ("字" * (MAX_LENGTH + 1), f"常用意见最多 {MAX_LENGTH} 个字")):
        with pytest.raises(FormInvalid) as refused:
            add_opinion(env, me, text)
        assert refused.value.errors == {"text": message}
    add_opinion(env, me, "同意")
    with pytest.raises(FormInvalid) as duplicate:
        add_opinion(env, me, " 同意")
    assert duplicate.value.errors == {"text": "已有相同的常用意见"}
    for i in range(MAX_PER_USER - 1):
        add_opinion(env, me, f"意见{i}")
    with pytest.raises(FormInvalid) as full:
        add_opinion(env, me, "再多一条")
    assert "最多保存" in full.value.errors["text"]
    assert len(list_opinions(env, me)) == MAX_PER_USER
