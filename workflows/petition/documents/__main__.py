"""Write the first versions of the petition's templates: python -m workflows.petition.documents"""
from __future__ import annotations

from engine.documents.authoring import Block, write_template
from workflows.petition.documents import DOCUMENTS, TYPES

_NO = "> {{ doc_number }}"
_PETITIONER = "{{ petitioner_name }}："
_SIGN = [">> {{ issuer_name }}", ">> {{ issued_on }}"]
_RECEIVED = "您（们）于{{ received_on|cn_date }}提出的信访事项（登记编号{{ case_no }}）"
_NOTE = ("{{ intake_supervision_note or handling_supervision_note or first_review_supervision_note "
         "or second_review_supervision_note }}")

TEXTS: dict[str, list[Block]] = {
    "receipt": [
        [["登记编号", "{{ case_no }}", "查询码", "{{ query_code }}"],
         ["信访人", "{{ petitioner_name }}", "信访形式", "{{ channel }}"],
         ["收到日期", "{{ received_on|cn_date }}", "诉求类别", "{{ category }}"]],
        "诉求摘要：{{ requests }}",
        "请妥善保存本回执。您可凭登记编号和查询码在本局网站“信访事项查询”或到窗口查询办理进展。",
        "有关机关将自收到之日起15日内告知您是否受理。", *_SIGN],
    "acceptance_notice": [
        _NO, _PETITIONER,
        _RECEIVED + "，经审查，符合《信访工作条例》第二十二条规定的受理条件，本机关决定予以受理。",
        "本机关将依法办理，并自受理之日起60日内作出处理意见（情况复杂的，经批准可以适当延长，延长期限不超过30日）。",
        "查询编号：{{ case_no }}，查询码：{{ query_code }}。", *_SIGN],
    "refusal_notice": [
        _NO, _PETITIONER,
        _RECEIVED + "，经审查，因{{ refusal_reason }}，根据《信访工作条例》第二十二条的规定，本机关不予受理。",
        "{{ refusal_detail }}", *_SIGN],
    "assignment_sheet": [
        _NO,
        [["登记编号", "{{ case_no }}", "信访人", "{{ petitioner_name }}"],
         ["诉求类别", "{{ category }}", "指定办理期限", "{{ assigned_due_on|cn_date }}"]],
        "主要诉求：{{ requests }}", "基本事实：{{ facts }}", "交办意见：{{ intake_opinion }}",
        "请承办单位按照《信访工作条例》第二十二条、第三十一条规定在指定期限内办理，并书面告知信访人，"
        "同时将办理结果报送本机关。",
        *_SIGN],
    "transfer_notice": [
        _NO, _PETITIONER,
        _RECEIVED + "，经审查，依照《信访工作条例》第二十二条的规定，已转送{{ transfer_organ }}处理，请您与其联系。",
        *_SIGN],
    "extension_notice": [
        _NO, _PETITIONER,
        _RECEIVED + "，因{{ extension_reason }}，经本机关负责人批准，根据《信访工作条例》第三十四条的规定，"
        "办理期限延长{{ extension_days }}日。",
        "{{ extension_opinion }}", *_SIGN],
    "handling_opinion": [
        _NO, _PETITIONER,
        _RECEIVED + "，本机关已依法办理。经调查核实：{{ investigation }}",
        "处理结果：{{ handling_result }}。依据：{{ handling_basis }}。",
        "处理意见：{{ handling_opinion }}",
        "如对本处理意见不服，可以自收到本意见书之日起30日内请求原办理机关的上一级机关复查"
        "（《信访工作条例》第三十五条）。",
        *_SIGN],
    "first_review_opinion": [
        _NO, _PETITIONER,
        "您（们）对登记编号{{ case_no }}信访事项处理意见不服请求复查的事项，{{ first_review_organ }}经复查，"
        "结论为：{{ first_review_result }}。",
        "复查意见：{{ first_review_opinion }}",
        "如对复查意见不服，可以自收到本意见书之日起30日内向复查机关的上一级机关请求复核（《信访工作条例》第三十五条）。",
        *_SIGN],
    "second_review_opinion": [
        _NO, _PETITIONER,
        "您（们）对登记编号{{ case_no }}信访事项复查意见不服请求复核的事项，{{ second_review_organ }}经复核，"
        "结论为：{{ second_review_result }}。",
        "复核意见：{{ second_review_opinion }}",
        "信访人对复核意见不服，仍以同一事实和理由提出信访的，不再受理（《信访工作条例》第三十五条）。",
        *_SIGN],
    "supervision_sheet": [
        _NO,
        [["登记编号", "{{ case_no }}", "信访人", "{{ petitioner_name }}"],
         ["案件名称", "{{ case_title }}", "督办日期", "{{ issued_on }}"]],
        "督办事由：该信访事项已超过法定办理期限。", "督办意见：" + _NOTE,
        "请承办单位接此督办单后抓紧办理，并在规定时间内书面反馈办理情况（《信访工作条例》第四十二条）。",
        *_SIGN],
}


def main() -> None:
    for key, blocks in TEXTS.items():
        write_template(DOCUMENTS.template(key), TYPES[key].title, blocks)


if __name__ == "__main__":
    main()
