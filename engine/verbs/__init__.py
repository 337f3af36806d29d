"""Approval verbs for every process, in the engine (one module per verb family): 退回
(`returning`), 撤回 (`withdrawing`), 转办 (`transfer`), 催办 (`urging`). Each is one transaction with
its history event; `can_*` functions answer the views. Per-step settings come from
`ProcessConfig.settings["verbs"]` (see `common.step_setting`), so declarative packages get them too.
"""
