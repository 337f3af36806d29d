"""Approval verbs for every process, in the engine (one module per verb family): 退回
(`returning`), 撤回 (`withdrawing`), 转办 (`transfer`), 催办 (`urging`). Each is one transaction with
its history event; `can_*` functions answer the views. Per-step settings come from
`ProcessConfig.settings["verbs"]` (see `common.step_setting`), so declarative packages get them too.
"""
from engine.notify.centre import watch_new_tasks  # noqa: E402
from engine.stepper import NEW_ROW_HOOKS  # noqa: E402


def install() -> None:
    """Wire the verbs into every command, whichever process imports them (web, worker, CLI):
    new-task messages at commit, the approval modes' signer rounds, rows of absent users to their
    proxies (idempotent)."""
    from engine.verbs.proxy import route_new_rows
    from engine.verbs.signers import expand_modes
    watch_new_tasks()
    for hook in (expand_modes, route_new_rows):  # signers first: their rows may go to a proxy too
        if hook not in NEW_ROW_HOOKS:
            NEW_ROW_HOOKS.append(hook)


install()
