"""Keep a looping case's live state small: drop the finished part of its task tree.

SpiffWorkflow keeps every task a case ever ran in one tree, so a case that loops (returns,
re-armed timers, a review repeated again and again) grows its stored state and the cost of each
command with every round. The finished rounds are already in the case's history; the engine
needs only the part of the tree that can still change.

What is kept, in each (sub)workflow: the lowest task that is an ancestor of every unfinished
task (all of them branch off below it), its parent (an unfinished task may still inherit data
from it), and everything below. What goes: the finished ancestors above that and the finished
side branches hanging off them (with the subprocesses they ran). Nothing unfinished is ever
dropped, and a tree is pruned only once it holds PRUNE_AT finished tasks, so every ordinary case
keeps exactly the tree SpiffWorkflow builds. The end events of the dropped part are noted on the
root task (`pruned_end_events`), so which ends a case reached stays known.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState

PRUNE_AT = 100  # finished tasks in one (sub)workflow's tree before the finished part is dropped
PRUNED_ENDS = "pruned_end_events"  # root task internal data: bpmn ids of end events reached, then dropped


def prune_finished(workflow: Any) -> int:
    """Drop the finished part of the workflow's tree and of each subprocess tree; returns how
    many tasks were dropped."""
    dropped = _prune_tree(workflow, workflow)
    for task_id in list(workflow.subprocesses):
        sub = workflow.subprocesses.get(task_id)
        if sub is not None:
            dropped += _prune_tree(workflow, sub)
    return dropped


def _prune_tree(top: Any, wf: Any) -> int:
    unfinished = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished or len(wf.tasks) - len(unfinished) < PRUNE_AT:
        return 0
    root = wf.task_tree
    lowest = _common_ancestor(unfinished)
    keep = lowest.parent if lowest is not None else None
    if keep is None or keep is root:
        return 0
    kept = _subtree_ids(keep)
    doomed = [t for tid, t in wf.tasks.items() if tid not in kept and t is not root]
    if any(not t.has_state(TaskState.FINISHED_MASK) for t in doomed):
        return 0
    ends = top.task_tree.internal_data.setdefault(PRUNED_ENDS, [])
    for t in doomed:
        del wf.tasks[t.id]
        ends += _reached_ends([t]) + _drop_subprocess(top, t.id)
    root._children = [keep.id]
    keep._parent = root.id
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = keep
    return len(doomed)


def _common_ancestor(tasks: list[Any]) -> Any:
    """The lowest task that is an ancestor-or-self of every task given."""
    path = _path_from_root(tasks[0])
    on_path = {t.id: i for i, t in enumerate(path)}
    depth = len(path) - 1
    for t in tasks[1:]:
        node = t
        while node is not None and (node.id not in on_path or on_path[node.id] > depth):
            node = node.parent
        if node is None:
            return None
        depth = on_path[node.id]
    return path[depth]


def _path_from_root(task: Any) -> list[Any]:
    path = []
    node = task
    while node is not None:
        path.append(node)
        node = node.parent
    path.reverse()
    return path


def _subtree_ids(task: Any) -> set[UUID]:
    ids: set[UUID] = set()
    stack = [task]
    while stack:
        node = stack.pop()
        ids.add(node.id)
        stack.extend(node.children)
    return ids


def pruned_end_events(workflow: Any) -> list[str]:
    """The end events a case reached in the part of its tree that was dropped."""
    return list(workflow.task_tree.internal_data.get(PRUNED_ENDS, []))


def _reached_ends(tasks: Any) -> list[str]:
    return [t.task_spec.bpmn_id for t in tasks
            if t.state == TaskState.COMPLETED and isinstance(t.task_spec, EndEvent)]


def _drop_subprocess(top: Any, task_id: UUID) -> list[str]:
    """Drop the subprocess a task ran (and those it ran in turn); returns their reached ends."""
    sub = top.subprocesses.pop(task_id, None)
    if sub is None:
        return []
    ends = _reached_ends(sub.tasks.values())
    for inner_id in list(sub.tasks):
        ends += _drop_subprocess(top, inner_id)
    return ends
