"""Keep a looping case's live state small: drop the finished part of its task tree.

SpiffWorkflow keeps every task a case ever ran in one tree, so a case that loops (returns,
re-armed timers, a review repeated again and again) grows its stored state and the cost of each
command with every round. The finished rounds are already in the case's history; the engine
needs only the part of the tree that can still change.

What is kept, in each (sub)workflow and under each child of its root (the main flow, an event
subprocess waiting beside it): the lowest task that is an ancestor of every unfinished task there
(all of them branch off below it), its parent (an unfinished task may still inherit data from
it), and everything below, which then hangs from the root directly. What goes: the finished tasks
above it and the finished side branches hanging off them (with the subprocesses they ran),
except each reached end event with its end join: SpiffWorkflow merges their data when the
process ends. Nothing unfinished is ever dropped, and a tree is pruned only once it holds
PRUNE_AT finished tasks, so every ordinary case keeps exactly the tree SpiffWorkflow builds.
End events of dropped subprocesses are noted on the root task (`pruned_end_events`).
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
    root = wf.task_tree
    unfinished = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished or root in unfinished or len(wf.tasks) - len(unfinished) < PRUNE_AT:
        return 0
    by_branch: dict[UUID, list[Any]] = {}  # unfinished tasks by the child of the root they are under
    for t in unfinished:
        by_branch.setdefault(_branch_of(t, root).id, []).append(t)
    dropped = 0
    for branch_id, tasks in by_branch.items():
        lowest = _common_ancestor(tasks)
        keep = lowest.parent if lowest is not None else None
        if keep is not None and keep is not root and keep.id != branch_id:
            dropped += _cut(top, wf, wf.tasks[branch_id], keep)
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = None
    return dropped


def _cut(top: Any, wf: Any, branch: Any, keep: Any) -> int:
    """Put `keep` in the place of `branch` under the root and drop the finished tasks between
    them. A reached end (the task before a finished end join, with its subtree) stays as a small
    side branch: SpiffWorkflow merges its data when the process ends."""
    root = wf.task_tree
    kept = _subtree_ids(keep)
    doomed = [t for t in _subtree(branch) if t.id not in kept]
    if any(not t.has_state(TaskState.FINISHED_MASK) for t in doomed):
        return 0
    ends = [t.parent for t in doomed if t.task_spec is wf.spec.end and t.parent is not None
            and t.parent.id not in kept]
    for end in ends:
        kept |= _subtree_ids(end)
    doomed = [t for t in doomed if t.id not in kept]
    noted = top.task_tree.internal_data.setdefault(PRUNED_ENDS, [])
    for t in doomed:
        del wf.tasks[t.id]
        noted += _reached_ends([t]) + _drop_subprocess(top, t.id)
    root._children[root._children.index(branch.id)] = keep.id
    keep._parent = root.id
    for end in ends:
        root._children.append(end.id)
        end._parent = root.id
    return len(doomed)


def _branch_of(task: Any, root: Any) -> Any:
    node = task
    while node.parent is not None and node.parent is not root:
        node = node.parent
    return node


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


def _subtree(task: Any) -> list[Any]:
    out = []
    stack = [task]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


def _subtree_ids(task: Any) -> set[UUID]:
    return {t.id for t in _subtree(task)}


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
