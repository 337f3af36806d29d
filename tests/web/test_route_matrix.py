"""Route-by-role authorization matrix: every URL rule of the app, as every kind of user.

The world: the test org with a district auditor added, and one petition in each district — case A
registered by the town t1 (district d1), case B by the town t2 (district d2) — both assigned by
the city to their district, so each has an open 调查办理 task there, and an attachment.

MATRIX below is the whole policy, one row per request, one column per user. A rule of the app
that no row requests fails `test_every_route_has_a_row`: a new route needs its expectations.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.attachments import UploadPolicy, add_attachment
from engine.env import Env
from engine.ledger import save_filter
from engine.opinions import add_opinion
from engine.ops.heartbeat import beat
from engine.models import OrgUnit, Role, RoleGrant, User
from engine.orgs import create_user
from engine.runtime import start_case
from tests.factories import assign_petition, open_tasks, petition_start_data, setup_petition
from tests.web.conftest import login, make_app

# Columns: who makes the request (None = not signed in).
USERS = {
    "anon": None,
    "village": "v1_cw",        # caseworker of a village under t1 (petitions start at a town or above)
    "town": "t1_cw",           # caseworker of t1: registered case A
    "district": "d1_cw",       # caseworker of d1: handles case A
    "city": "city_cw",         # city petition section: took the intake decision of both cases
    "reviewer": "d1_rev",
    "leader": "d1_lead",
    "audit_city": "city_audit",
    "audit_d1": "d1_audit",
    "admin": "admin",          # admin only: no case content
    "admin_d1": "d1_admin",    # admin of the district d1 only: its people, units and admin log
}

# Answers. A redirect to the login page is "login"; any other redirect (a command done, or
# refused with a flashed message) is "go".
ANSWERS = {"ok": 200, "made": 201, "go": 302, "login": 302, "fail": 401, "deny": 403, "hide": 404,
           "busy": 409, "bad": 422}

# (method, path, answers in the order of USERS). Ids in braces come from the world: case_a,
# task_a, att_a of district d1; case_b, task_b, att_b of district d2; user, grant, unit: the
# caseworker of the town t2, their role grant, the town t2 (what the admin rows act on).
MATRIX: list[tuple[str, str, str]] = [
    #                                                          anon  vill  town  dist  city  rev   lead  audC  audD  admin admD1
    ("GET",  "/",                                             "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/login",                                        "ok    go    go    go    go    go    go    go    go    go    go"),
    ("POST", "/login",                                        "fail  fail  fail  fail  fail  fail  fail  fail  fail  fail  fail"),
    # one's own password: every signed-in user (the empty form is refused: 422)
    ("GET",  "/account/password",                             "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/account/password",                             "login bad   bad   bad   bad   bad   bad   bad   bad   bad   bad"),
    ("GET",  "/leader",                                       "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    # 领导审批 workbench: a batch acts only on the user's own leader queue (task_a is a caseworker's
    # task: refused, per item, for everyone); 常用意见 are each user's own (d1's leader owns {stock_opinion})
    ("POST", "/leader/batch",                                 "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/leader/opinions",                              "login go    go    go    go    go    go    go    go    go    go"),
    ("POST", "/leader/opinions/{stock_opinion}/delete",       "login hide  hide  hide  hide  hide  go    hide  hide  hide  hide"),
    # 信访事项查询: public; the case number and its query code open the petitioner's page
    # (the POST to /query sends case A's code; the one to /query/evaluate a wrong code)
    ("GET",  "/query",                                        "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/query",                                        "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/query/evaluate",                               "hide  hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    # operations: open without sign-in, no case data (the world has a worker heartbeat, so /readyz
    # is ready); /metrics is open to loopback clients (the test client) when no METRICS_TOKEN is set
    ("GET",  "/healthz",                                      "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/readyz",                                       "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/metrics",                                      "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    # start a case: caseworkers at a town, district or city unit
    ("GET",  "/start",                                        "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/start/petition",                               "login hide  ok    ok    ok    hide  hide  hide  hide  hide  hide"),
    ("POST", "/start/petition",                               "login hide  bad   bad   bad   hide  hide  hide  hide  hide  hide"),
    # case A: seen by its units and the supervisors and auditors above them; 抄送: whoever sees
    # a case may copy it to a colleague, except auditors and admins, who only read
    ("GET",  "/cases/{case_a}",                               "login hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("GET",  "/cases/{case_a}/print",                         "login hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("GET",  "/attachments/{att_a}",                          "login hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("POST", "/cases/{case_a}/cc",                            "login hide  go    go    go    go    go    deny  deny  hide  hide"),
    # the person picker (webapp/people.py): who may copy the case / who holds the task
    ("GET",  "/people/cc/{case_a}",                           "login hide  ok    ok    ok    ok    ok    deny  deny  hide  hide"),
    ("GET",  "/people/cc/{case_b}",                           "login hide  hide  hide  ok    hide  hide  deny  hide  hide  hide"),
    ("GET",  "/people/transfer/{task_a}",                     "login hide  deny  ok    deny  deny  deny  deny  deny  hide  hide"),
    ("GET",  "/people/transfer/{task_b}",                     "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    # messages from outside: only those the process lets users register (not its internal ones)
    ("POST", "/cases/{case_a}/messages/supervision",          "login hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    # files: the initiator and whoever may act on an open task (an empty upload is refused with a message)
    ("POST", "/cases/{case_a}/attachments",                   "login hide  go    go    deny  deny  deny  deny  deny  hide  hide"),
    # 文书 drafts (e.g. the 回执): the same people; an unknown type does not exist
    ("POST", "/cases/{case_a}/documents/receipt",             "login hide  go    go    deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/cases/{case_a}/documents/no_such",             "login hide  hide  hide  deny  deny  deny  deny  deny  hide  hide"),
    # case B, of the other district: hidden from d1's people
    ("GET",  "/cases/{case_b}",                               "login hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("GET",  "/cases/{case_b}/print",                         "login hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("GET",  "/attachments/{att_b}",                          "login hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("POST", "/cases/{case_b}/cc",                            "login hide  hide  hide  go    hide  hide  deny  hide  hide  hide"),
    ("POST", "/cases/{case_b}/attachments",                   "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/cases/{case_b}/documents/receipt",             "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    # 领导包案: a leader above the case (the empty form is valid: d1's leader takes case A); the
    # petition's 督办单 is the engine's 督办 (/cases/{case_a}/supervise below)
    ("GET",  "/cases/{case_a}/ownership",                     "login hide  deny  deny  deny  deny  ok    deny  deny  hide  hide"),
    ("POST", "/cases/{case_a}/ownership",                     "login hide  deny  deny  deny  deny  go    deny  deny  hide  hide"),
    ("GET",  "/cases/{case_b}/ownership",                     "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/cases/{case_b}/ownership",                     "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    # 统计指标: leaders, reviewers and auditors (each for their own subtree)
    ("GET",  "/stats/",                                       "login deny  deny  deny  deny  ok    ok    ok    ok    deny  deny"),
    ("GET",  "/stats/export.csv",                             "login deny  deny  deny  deny  ok    ok    ok    ok    deny  deny"),
    ("GET",  "/stats/export.xlsx",                            "login deny  deny  deny  deny  ok    ok    ok    ok    deny  deny"),
    # 台账: every signed-in user, each within their own scope (engine.ledger; an admin's is empty);
    # a saved filter is its owner's alone (d1's leader owns {ledger_filter})
    ("GET",  "/ledger/",                                      "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/ledger/petition",                              "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/ledger/petition/export.xlsx",                  "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/ledger/petition/filters",                      "login go    go    go    go    go    go    go    go    go    go"),
    ("POST", "/ledger/petition/filters/{ledger_filter}/delete", "login hide  hide  hide  hide  hide  go    hide  hide  hide  hide"),
    # the half-year report and its companion table: the same people as 统计指标
    ("GET",  "/stats/half-year.docx",                         "login deny  deny  deny  deny  ok    ok    ok    ok    deny  deny"),
    ("GET",  "/stats/half-year.xlsx",                         "login deny  deny  deny  deny  ok    ok    ok    ok    deny  deny"),
    # task A (调查办理 at d1): only d1's caseworker may act; the rest who see the case may read it
    ("GET",  "/tasks/{task_a}",                               "login hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("POST", "/tasks/{task_a}",                               "login hide  deny  bad   deny  deny  deny  deny  deny  hide  hide"),
    # 暂存 of the task form (empty here): who may act on the task keeps their own draft; whoever
    # sees the task may discard their own (none: a no-op); files of the task page: the step's
    # actors upload (the empty upload is refused with a message); only the uploader removes a file,
    # and only while its step is open (att_a was added to the case, not to a step: 409 for its
    # uploader); the inline preview is the download's audience; the idle timer's keep-alive and
    # idle-out (a fresh session: idle-out only answers the time left) are everyone's own
    ("POST", "/tasks/{task_a}/draft",                         "login hide  deny  go    deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/draft/discard",                 "login hide  go    go    go    go    go    go    go    hide  hide"),
    ("POST", "/tasks/{task_a}/attachments",                   "login hide  deny  go    deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/attachments/{att_a}/remove",                   "login hide  busy  deny  deny  deny  deny  deny  deny  hide  hide"),
    ("GET",  "/attachments/{att_a}/preview",                  "login hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("POST", "/tasks/{task_b}/draft",                         "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/tasks/{task_b}/draft/discard",                 "login hide  hide  hide  go    hide  hide  go    hide  hide  hide"),
    ("POST", "/tasks/{task_b}/attachments",                   "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/attachments/{att_b}/remove",                   "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("GET",  "/attachments/{att_b}/preview",                  "login hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("POST", "/session/keepalive",                            "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/session/idle-out",                             "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/tasks/{task_a}/claim",                         "login hide  deny  go    deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/unclaim",                       "login hide  busy  go    busy  busy  busy  busy  busy  hide  hide"),
    # task B (调查办理 at d2)
    # approval verbs (engine.verbs): the engine decides; a task one cannot see is hidden
    ("POST", "/tasks/{task_a}/return",                        "login hide  deny  busy  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/withdraw",                      "login hide  deny  deny  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/transfer",                      "login hide  deny  deny  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/hand-back",                     "login hide  deny  deny  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/urge",                          "login hide  go    deny  deny  go    go    deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/signers",                       "login hide  deny  go    deny  deny  go    deny  deny  hide  hide"),
    ("POST", "/tasks/{task_a}/remove-signer",                 "login hide  busy  busy  busy  busy  busy  busy  busy  hide  hide"),
    ("POST", "/tasks/{task_b}/return",                        "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/tasks/{task_b}/urge",                          "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    # 督办 (the petition's 督办单): leaders above the case and the petition section (the petition's
    # supervision_roles and supervision_section_step); the empty form is refused (422)
    ("POST", "/cases/{case_a}/supervise",                     "login hide  deny  deny  bad   deny  bad   deny  deny  hide  hide"),
    ("POST", "/cases/{case_a}/supervision/{no_message}",      "login hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    # the message centre: one's own messages only (another's message id is hidden)
    ("GET",  "/messages",                                     "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/messages/{no_message}/read",                   "login hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    ("POST", "/messages/read-all",                            "login go    go    go    go    go    go    go    go    go    go"),
    # one's own 代理 (absence proxy): an empty form is refused, another's arrangement is hidden
    ("GET",  "/proxy",                                        "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/proxy",                                        "login bad   bad   bad   bad   bad   bad   bad   bad   bad   bad"),
    ("POST", "/proxy/{no_message}/end",                       "login hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    ("POST", "/proxy/move",                                   "login busy  busy  busy  busy  busy  busy  busy  busy  busy  busy"),
    ("GET",  "/tasks/{task_b}",                               "login hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("POST", "/tasks/{task_b}",                               "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/tasks/{task_b}/claim",                         "login hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/tasks/{task_b}/unclaim",                       "login hide  hide  hide  busy  hide  hide  busy  hide  hide  hide"),
    # audit: auditors only, each within the subtree of their unit
    ("GET",  "/audit/",                                       "login deny  deny  deny  deny  deny  deny  ok    ok    deny  deny"),
    ("GET",  "/audit/export.csv",                             "login deny  deny  deny  deny  deny  deny  ok    ok    deny  deny"),
    ("GET",  "/audit/verify",                                 "login deny  deny  deny  deny  deny  deny  ok    ok    deny  deny"),
    ("GET",  "/audit/cases/{case_a}",                         "login deny  deny  deny  deny  deny  deny  ok    ok    deny  deny"),
    ("GET",  "/audit/cases/{case_b}",                         "login deny  deny  deny  deny  deny  deny  ok    hide  deny  deny"),
    # admin: admins only (forms sent empty or unchanged: refused with a message, or a no-op)
    ("GET",  "/admin/",                                       "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("GET",  "/admin/users",                                  "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("POST", "/admin/users",                                  "login deny  deny  deny  deny  deny  deny  deny  deny  bad   bad"),
    ("GET",  "/admin/users/import",                           "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("POST", "/admin/users/import",                           "login deny  deny  deny  deny  deny  deny  deny  deny  bad   bad"),
    ("GET",  "/admin/users/{user}",                           "login deny  deny  deny  deny  deny  deny  deny  deny  ok    hide"),
    ("POST", "/admin/users/{user}/active",                    "login deny  deny  deny  deny  deny  deny  deny  deny  go    deny"),
    ("POST", "/admin/users/{user}/password",                  "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    ("POST", "/admin/users/{user}/grants",                    "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    ("POST", "/admin/users/{user}/grants/{grant}/delete",     "login deny  deny  deny  deny  deny  deny  deny  deny  go    deny"),
    ("GET",  "/admin/units",                                  "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("POST", "/admin/units",                                  "login deny  deny  deny  deny  deny  deny  deny  deny  bad   bad"),
    ("POST", "/admin/units/{unit}/rename",                    "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    ("POST", "/admin/units/{unit}/active",                    "login deny  deny  deny  deny  deny  deny  deny  deny  go    deny"),
    ("GET",  "/admin/definitions",                            "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("POST", "/admin/definitions",                            "login deny  deny  deny  deny  deny  deny  deny  deny  bad   bad"),
    ("GET",  "/admin/packages",                               "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("POST", "/admin/packages",                               "login deny  deny  deny  deny  deny  deny  deny  deny  bad   bad"),
    ("POST", "/admin/roles",                                  "login deny  deny  deny  deny  deny  deny  deny  deny  bad   bad"),
    ("GET",  "/admin/log",                                    "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("GET",  "/admin/cases",                                  "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("GET",  "/admin/cases/{case_b}",                         "login deny  deny  deny  deny  deny  deny  deny  deny  ok    hide"),
    ("POST", "/admin/cases/{case_b}/suspend",                 "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    ("POST", "/admin/cases/{case_b}/resume",                  "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    ("POST", "/admin/cases/{case_b}/terminate",               "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    ("POST", "/admin/cases/{case_b}/retry",                   "login deny  deny  deny  deny  deny  deny  deny  deny  bad   hide"),
    ("POST", "/admin/cases/{case_b}/tasks/{task_b}/reassign", "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    # no admin gives themself a case role ({me}: whoever asks); another admin may give one
    ("POST", "/admin/users/{me}/grants",                      "login deny  deny  deny  deny  deny  deny  deny  deny  deny  deny"),
    ("POST", "/admin/users/{d1_cw}/grants",                   "login deny  deny  deny  deny  deny  deny  deny  deny  go    go"),
    # 原件号 (repeat_of) of case B, with case B's petitioner: only a user who may see case B may
    # link it (the city's petition section); for the rest it does not exist (422 on the form)
    ("POST", "/start/petition?repeat_of=b",                   "login hide  bad   bad   go    hide  hide  hide  hide  hide  hide"),
    # 访问令牌: one's own tokens (an empty create form is refused: 422; {no_token} is nobody's);
    # the admin list of the tokens of their subtree
    ("GET",  "/account/tokens",                               "login ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/account/tokens",                               "login bad   bad   bad   bad   bad   bad   bad   bad   bad   bad"),
    ("POST", "/account/tokens/{no_token}/revoke",             "login hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    ("GET",  "/admin/tokens",                                 "login deny  deny  deny  deny  deny  deny  deny  deny  ok    ok"),
    ("POST", "/admin/tokens/{no_token}/revoke",               "login hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    # the JSON API (here with the browser session; tokens: tests/web/test_api*.py): the same
    # answers as the pages, 401 instead of the login page; the document and its docs page are open.
    # The rows run after the pages' rows: 催办 and 加签 already done there are 409 here; starting
    # a case at the town t1 is not the district's or the city's to do (403: the page refuses the
    # empty form first)
    ("GET",  "/api/v1/openapi.json",                          "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/docs",                                  "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/docs/init.js",                          "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/docs/static/swagger-ui.css",            "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/me",                                    "fail  ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/tasks/inbox",                           "fail  ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/tasks/done",                            "fail  ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/cases/started",                         "fail  ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/cases/copied",                          "fail  ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("GET",  "/api/v1/indicators",                            "fail  deny  deny  deny  deny  ok    ok    ok    ok    deny  deny"),
    ("POST", "/api/v1/processes/petition/cases",              "fail  deny  bad   deny  deny  deny  deny  deny  deny  deny  deny"),
    ("GET",  "/api/v1/cases/{case_a}",                        "fail  hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("GET",  "/api/v1/cases/{case_b}",                        "fail  hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("GET",  "/api/v1/attachments/{att_a}",                   "fail  hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("GET",  "/api/v1/attachments/{att_b}",                   "fail  hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/attachments",            "fail  hide  bad   bad   deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/api/v1/cases/{case_b}/attachments",            "fail  hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/messages/supervision",   "fail  hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    ("GET",  "/api/v1/tasks/{task_a}",                        "fail  hide  ok    ok    ok    ok    ok    ok    ok    hide  hide"),
    ("GET",  "/api/v1/tasks/{task_b}",                        "fail  hide  hide  hide  ok    hide  hide  ok    hide  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/complete",               "fail  deny  deny  bad   deny  deny  deny  deny  deny  deny  deny"),
    ("POST", "/api/v1/tasks/{task_b}/complete",               "fail  deny  deny  deny  deny  deny  deny  deny  deny  deny  deny"),
    ("POST", "/api/v1/tasks/{task_a}/claim",                  "fail  hide  deny  ok    deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/unclaim",                "fail  hide  busy  ok    busy  busy  busy  busy  busy  hide  hide"),
    ("POST", "/api/v1/tasks/{task_b}/claim",                  "fail  hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/return",                 "fail  hide  deny  busy  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/withdraw",               "fail  hide  deny  deny  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/transfer",               "fail  hide  deny  deny  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/hand-back",              "fail  deny  deny  deny  deny  deny  deny  deny  deny  deny  deny"),
    ("POST", "/api/v1/tasks/{task_a}/urge",                   "fail  hide  busy  deny  deny  busy  busy  deny  deny  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/signers",                "fail  hide  deny  busy  deny  deny  busy  deny  deny  hide  hide"),
    ("POST", "/api/v1/tasks/{task_a}/remove-signer",          "fail  hide  busy  busy  busy  busy  busy  busy  busy  hide  hide"),
    ("POST", "/api/v1/tasks/{task_b}/return",                 "fail  hide  hide  hide  deny  hide  hide  deny  hide  hide  hide"),
    ("GET",  "/api/v1/proxy",                                 "fail  ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"),
    ("POST", "/api/v1/proxy",                                 "fail  bad   bad   bad   bad   bad   bad   bad   bad   bad   bad"),
    ("POST", "/api/v1/proxy/{no_message}/end",                "fail  hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    ("POST", "/api/v1/proxy/move",                            "fail  busy  busy  busy  busy  busy  busy  busy  busy  busy  busy"),
    ("POST", "/api/v1/cases/{case_a}/cc",                     "fail  hide  ok    ok    ok    ok    ok    deny  deny  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/supervise",              "fail  hide  deny  deny  bad   deny  bad   deny  deny  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/supervision/{no_message}", "fail  hide  hide  hide  hide  hide  hide  hide  hide  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/ownership",              "fail  hide  deny  deny  deny  deny  ok    deny  deny  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/documents/receipt",      "fail  hide  made  made  deny  deny  deny  deny  deny  hide  hide"),
    ("POST", "/api/v1/cases/{case_a}/documents/no_such",      "fail  hide  hide  hide  deny  deny  deny  deny  deny  hide  hide"),
    # last: it ends the session
    ("POST", "/logout",                                       "login login login login login login login login login login login"),
]

# What the POSTs send (the rest send an empty form): chosen to change nothing that matters.
FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/login"): {"username": "nobody", "password": "x"},
    ("POST", "/cases/{case_a}/cc"): {"user_ids": "{city_lead}"},
    ("POST", "/cases/{case_b}/cc"): {"user_ids": "{city_lead}"},
    ("POST", "/tasks/{task_a}/return"): {"step_id": "no_such_step", "opinion": "材料不全"},
    ("POST", "/tasks/{task_b}/return"): {"step_id": "no_such_step", "opinion": "材料不全"},
    ("POST", "/tasks/{task_a}/transfer"): {"to_user_id": "{user}", "reason": "出差"},
    ("POST", "/tasks/{task_a}/signers"): {"user_id": "{city_lead}", "position": "alongside", "reason": "请会签"},
    ("POST", "/tasks/{task_a}/remove-signer"): {"reason": "不需要"},
    ("POST", "/api/v1/tasks/{task_a}/return"): {"step_id": "no_such_step", "opinion": "材料不全"},
    ("POST", "/api/v1/tasks/{task_b}/return"): {"step_id": "no_such_step", "opinion": "材料不全"},
    ("POST", "/api/v1/tasks/{task_a}/transfer"): {"to_user_id": "{user}", "reason": "出差"},
    ("POST", "/api/v1/tasks/{task_a}/signers"): {"user_id": "{city_lead}", "position": "alongside", "reason": "请会签"},
    ("POST", "/api/v1/tasks/{task_a}/remove-signer"): {"reason": "不需要"},
    ("POST", "/api/v1/processes/petition/cases"): {"org_unit_id": "{unit_t1}"},
    ("POST", "/api/v1/cases/{case_a}/cc"): {"user_ids": "{city_lead}"},
    ("POST", "/admin/users/{user}/active"): {"active": "1"},
    ("POST", "/admin/units/{unit}/active"): {"active": "1"},
    ("POST", "/leader/batch"): {"decision": "approve", "task": "{task_a}", "opinion": "同意"},
    ("POST", "/leader/opinions"): {"text": "请按程序办理"},
    ("POST", "/query"): {"case_no": "{case_a_no}", "query_code": "{case_a_code}"},
    ("POST", "/admin/users/{me}/grants"): {"role": "auditor", "unit_id": "{unit_t1}"},
    ("POST", "/admin/users/{d1_cw}/grants"): {"role": "reviewer", "unit_id": "{unit_t1}"},
    ("POST", "/start/petition?repeat_of=b"): {**{k: str(v) for k, v in petition_start_data(
        petitioner_name="张秀英", id_number="32060219700315004X").items()}, "repeat_of": "{case_b_no}"},
    ("POST", "/query/evaluate"): {"case_no": "{case_a_no}", "query_code": "{wrong_code}",
                                  "intake_satisfaction": "满意"},
}
# Public pages show a case to whoever holds its number and query code: no content checks there.
PUBLIC_PATHS = {"/query", "/query/evaluate"}

# Endpoints that serve files to anyone (no rows: nothing to authorize).
SKIPPED_ENDPOINTS = {"static", "bootstrap.static"}
# What case content looks like: a 403/404 page, and any admin page, must show none of it.
# (Admin pages may show case numbers, for the case operations; refusals may not.)
CASE_CONTENT = ("王建国", "李卫东", "320602196805120016", "32060219700315004X", "工龄认定有争议",
                "反映安置问题")
CASE_NUMBERS = ("XF2026-00001", "XF2026-00002")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    form: dict[str, Any]
    answers: dict[str, str]


def rows() -> list[Row]:
    out = []
    for method, path, grid in MATRIX:
        cells = grid.split()
        assert len(cells) == len(USERS), f"{method} {path}: {len(cells)} answers for {len(USERS)} users"
        assert set(cells) <= set(ANSWERS), f"{method} {path}: unknown answer in {cells}"
        out.append(Row(method, path, FORMS.get((method, path), {}), dict(zip(USERS, cells))))
    return out


# ----------------------------------------------------------------------------- the world

# (suffix of the ids, town, district, petitioner, 身份证号): case A of t1/d1, case B of t2/d2
CASES = [("a", "t1", "d1", "王建国", "320602196805120016"),
         ("b", "t2", "d2", "李卫东", "32060219700315004X")]


def build_world(env: Env, uploads: Path) -> dict[str, Any]:
    """Ids the paths use: two cases, each with an open task and an attachment, in different
    districts; plus a district auditor."""
    org = setup_petition(env)
    with env.db.write() as s:
        create_user(s, "d1_audit", "区审计", "secret-pass", env.clock.now(),
                    [(Role.auditor, s.get(OrgUnit, org.units["d1"]))])
        create_user(s, "d1_admin", "区系统管理员", "secret-pass", env.clock.now(),
                    [(Role.admin, s.get(OrgUnit, org.units["d1"]))])
    beat(env, "matrix-host:1")  # a timer worker is alive: /readyz answers 200
    ids = {"user": org.actor("t2_cw").id, "city_lead": org.actor("city_lead").id, "d1_cw": org.actor("d1_cw").id}
    ids["unit"], ids["unit_t1"] = org.units["t2"], org.units["t1"]
    ids["wrong_code"] = "not-the-code"
    ids["no_message"] = 999999  # nobody's message
    ids["no_token"] = 999999  # nobody's token
    for suffix, town, district, name, id_number in CASES:
        started = start_case(env, "petition", org.actor(f"{town}_cw"), org.units[town],
                             petition_start_data(petitioner_name=name, id_number=id_number))
        case = started.instance_id
        ids[f"case_{suffix}_no"], ids[f"case_{suffix}_code"] = started.case_no, started.query_code
        assign_petition(env, org, case, district)  # 交办 by the city, 签收 by the district
        ids[f"case_{suffix}"] = case
        ids[f"task_{suffix}"] = open_tasks(env, case, "handle")[0].id
        ids[f"att_{suffix}"] = add_attachment(env, case, org.actor(f"{town}_cw"), "证明.pdf",
                                              b"%PDF-1.4\n% test\n", UploadPolicy(uploads, 1024 * 1024))
    with env.db.read() as s:
        ids["grant"] = s.scalar(select(RoleGrant.id).where(RoleGrant.user_id == ids["user"]))
    ids["ledger_filter"] = save_filter(env, org.actor("d1_lead").id, "petition", "区内", {"q": "王"})
    ids["stock_opinion"] = add_opinion(env, org.actor("d1_lead").id, "同意").id
    return ids


@pytest.fixture
def world(env: Env, tmp_path: Path) -> tuple[Flask, dict[str, Any]]:
    """The app (CSRF off, as in every web test here) and the ids of the world."""
    ids = build_world(env, tmp_path / "uploads")
    return make_app(env, tmp_path), ids


# ----------------------------------------------------------------------------- the walk

def answer_of(response: Any) -> str:
    """The answer class of a response."""
    if response.status_code in (301, 302, 303):
        return "login" if response.location.split("?")[0].endswith("/login") else "go"
    for name, status in ANSWERS.items():
        if status == response.status_code and name not in ("go", "login"):
            return name
    return str(response.status_code)


def _fill(text: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), text)


def _send(client: FlaskClient, row: Row, ids: dict[str, Any]) -> Any:
    path = _fill(row.path, ids)
    if row.method == "GET":
        return client.get(path)
    form = {k: _fill(v, ids) for k, v in row.form.items()}
    if path.startswith("/api/") and not path.endswith("/attachments"):  # JSON, ids as numbers
        return client.post(path, json={k: [int(v)] if k.endswith("_ids") else int(v) if v.isdigit() else v
                                       for k, v in form.items()})
    return client.post(path, data=form)


@pytest.mark.parametrize("who", list(USERS))
def test_every_route_answers_each_user_as_the_matrix_says(world, who):
    """Every row as this user; also GET on each POST-only URL, which is 405 for everyone."""
    app, ids = world
    username = USERS[who]
    ids = {**ids, "me": _user_id(app, username)}
    get_paths = {row.path.split("?")[0] for row in rows() if row.method == "GET"}
    wrong = []
    with app.test_client() as client:
        if username:
            assert login(client, username).status_code == 302
        for row in rows():
            if row.method == "POST" and row.path.split("?")[0] not in get_paths:
                got = client.get(_fill(row.path, ids)).status_code
                if got != 405:
                    wrong.append(f"GET {row.path} as {who}: expected 405, got {got}")
            response = _send(client, row, ids)
            got, want = answer_of(response), row.answers[who]
            where = f"{row.method} {row.path}"
            assert response.status_code < 500, f"{where} as {who}: {response.status_code}"
            if got != want:
                wrong.append(f"{where} as {who}: expected {want}, got {got} ({response.status_code})")
            if row.path not in PUBLIC_PATHS and (got in ("hide", "deny") or who.startswith("admin")):
                text = _text(response)
                refused = CASE_NUMBERS if got in ("hide", "deny") else ()
                shown = [c for c in CASE_CONTENT + refused if c in text]
                assert not shown, f"{where} as {who} shows case content {shown}"
    assert not wrong, "\n".join(wrong)


def _text(response: Any) -> str:
    """The body as text; an .xlsx download's sheets and shared strings (a zip of XML)."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as book:
            return "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    return str(response.get_data(as_text=True))


def _user_id(app: Flask, username: str | None) -> int:
    """The id of the user making the requests (0 for nobody)."""
    with app.extensions["rongflow_env"].db.read() as s:
        return s.scalar(select(User.id).where(User.username == username)) or 0 if username else 0


def _rules(app: Flask) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            if rule.endpoint not in SKIPPED_ENDPOINTS
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def uncovered(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, method) pairs of the app that no row of MATRIX requests."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for row in rows():
        endpoint, _args = adapter.match(re.sub(r"\{\w+\}", "1", row.path.split("?")[0]), method=row.method)
        covered.add((endpoint, row.method))
    return sorted(_rules(app) - covered)


def test_every_route_has_a_row(tmp_path):
    """A route nobody wrote expectations for fails here: add its row to MATRIX."""
    missing = uncovered(bare_app(tmp_path))
    assert not missing, f"routes without a row in MATRIX (add their expectations): {missing}"


def test_a_new_route_without_a_row_is_caught(tmp_path):
    app = bare_app(tmp_path)
    app.add_url_rule("/reports/<int:case_id>", "reports.show", lambda case_id: "", methods=["GET", "POST"])
    assert uncovered(app) == [("reports.show", "GET"), ("reports.show", "POST")]


def bare_app(tmp_path: Path) -> Flask:
    from webapp import create_app
    return create_app({"ENV_NAME": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'routes.db'}",
                       "UPLOAD_DIR": tmp_path / "uploads"})
