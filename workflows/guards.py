"""Named guards used by the workflow files (registered in engine.guards).

Each returns ``None`` to allow or a ``Reason`` (a message of the catalogue,
``engine/locale``) saying what is missing and what to do; it is put in the
reader's language where the refusal is shown.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from agreeflow.engine.core import clock
from agreeflow.engine.core.guards import GuardContext, Reason, register_exclusive, register_guard
from agreeflow.engine.core.i18n import N_, Msg, join, pair
from agreeflow.engine.core.store import Case, Person, Unit
from agreeflow.engine.core.vocabulary import CHOICES, UNIT_KINDS, duration, word, words
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.procedures import fanout


def has_attachment(ctx: GuardContext) -> Reason | None:
    """At least one document is attached to the case."""
    if ctx.fields.get("_documents"):
        return None
    return Reason(N_("the case has no attached document. Attach one with --attach FILE."))


register_guard("has_attachment", has_attachment)


# ---------------------------------------------------------------- issue 5: agreements, delegations, rounds
# Guards run twice: on a real case (ctx.session set) and in the feasibility
# planner (engine/planner.py: ctx.session is None, ctx.fields are the planned
# fields).  When a guard cannot know while planning it lets the path through.


def _today(ctx: GuardContext) -> date:
    return clock.to_local(ctx.now).date()


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _lower(label: dict[str, str] | str) -> dict[str, str]:
    """A field's label as it reads inside a sentence ("the signing date")."""
    return {k: str(v).lower() for k, v in label.items()} if isinstance(label, dict) else {"vi": label, "en": label}


def proposer_kind_allowed(ctx: GuardContext) -> Reason | None:
    """The proposing unit is of a kind the workflow's ``proposer_kinds`` lists, and still exists today."""
    allowed = ctx.definition.proposer_kinds
    code = ctx.fields.get(ctx.definition.unit_field or "") or getattr(ctx.case, "unit", None)
    if ctx.session is None:
        kind = ctx.fields.get("proposer_kind")
        if kind and kind not in allowed:
            return Reason(N_("a unit of kind '{kind}' may not propose under this workflow (allowed: {allowed})"),
                          kind=word(UNIT_KINDS, kind), allowed=words(UNIT_KINDS, list(allowed)))
        return None
    unit = ctx.session.get(Unit, code) if code else None
    if unit is None:
        return Reason(N_("the case names no proposing unit."))
    if unit.kind not in allowed:
        return Reason(N_("{unit} ({kind}) is not a kind of unit that may propose under this workflow (allowed: "
                         "{allowed}). See Decree 64/2021/ND-CP art. 2."),
                      unit=pair(unit.name_vi, unit.name_en or unit.code), kind=word(UNIT_KINDS, unit.kind),
                      allowed=words(UNIT_KINDS, list(allowed)))
    today = _today(ctx)
    if unit.active_to is not None and unit.active_to < today:
        return Reason(N_("{unit} ceased to exist after {day} (directory): it can no longer propose. District "
                         "agreements pass to the Provincial People's Committee (Decree 177/2025/ND-CP)."),
                      unit=pair(unit.name_vi, unit.name_en or unit.code), day=unit.active_to)
    return None


def _party_required(ctx: GuardContext) -> bool:
    return ctx.fields.get("party_policy_required") in (True, "true")


def party_policy_required(ctx: GuardContext) -> Reason | None:
    """The case says the Party's policy approval (xin chủ trương) is needed."""
    if _party_required(ctx):
        return None
    return Reason(N_("this case needs no Party policy approval; use 'submit'."))


def party_policy_not_required(ctx: GuardContext) -> Reason | None:
    """Submitting straight to DOFA is allowed only when no Party policy approval is needed."""
    if not _party_required(ctx):
        return None
    return Reason(N_("the Party's policy approval comes first: use 'request_party_policy'."))


def _disagreement(ctx: GuardContext) -> bool:
    if ctx.fields.get("disagreement") in (True, "true"):
        return True
    if ctx.session is None:
        return False
    refs = ctx.fields.get("_round") or []
    return ctx.session.exec(select(Case.id).where(Case.parent_id == ctx.case.id, Case.state == "disagreed",
                                                  col(Case.ref).in_(refs))).first() is not None


def has_disagreement(ctx: GuardContext) -> Reason | None:
    """A consulted body disagreed (a reply 'disagree' in this round, or field disagreement=true)."""
    if _disagreement(ctx):
        return None
    return Reason(N_("no consulted body disagreed: the Prime Minister is not asked (Law 70/2020 art. 19(4))."))


def no_disagreement(ctx: GuardContext) -> Reason | None:
    """Nobody disagreed, so the Chairman may decide without the Prime Minister's opinion."""
    if not _disagreement(ctx):
        return None
    return Reason(N_("a consulted body disagreed: the Prime Minister's opinion comes first (Law 70/2020 art. "
                     "19(4)) — use 'ask_pm'."))


LEADER_RANK = {"chairman": 3, "vice_chairman": 2}
"""Positions of the provincial leadership (in UBND): a trip they lead is decided from above them."""


def _rank(person: Person | None) -> int:
    return max((LEADER_RANK.get(str(p.get("position")), 0) for p in (person.positions or []) if p.get("unit") == "UBND")
               if person is not None else [0], default=0)


def approver_above_leader(ctx: GuardContext) -> Reason | None:
    """Nobody approves their own trip; a trip led by a provincial leader is decided from above the leader."""
    leader_email = ctx.fields.get("leader")
    if not leader_email or ctx.session is None:
        return None
    if ctx.actor is not None and ctx.actor.email == leader_email:
        return Reason(N_("the person deciding cannot be the head of the delegation: nobody approves their own "
                         "trip."))
    leader = ctx.session.get(Person, leader_email)
    rank = _rank(leader)
    if rank >= LEADER_RANK["chairman"]:
        return Reason(N_("a trip led by the Chairman is approved by the Prime Minister (outbound plan, through "
                         "MOFA) — use 'record_central_approval' (Decision 67/2011/QD-TTg; article UNCONFIRMED)."))
    if rank and _rank(ctx.actor) <= rank:
        return Reason(N_("a trip led by a provincial leader is decided by someone above the head of the "
                         "delegation (the Chairman)."))
    return None


def led_by_the_chairman(ctx: GuardContext) -> Reason | None:
    """The head of the delegation is the Chairman of UBND: the approval comes from the Prime Minister."""
    if ctx.session is None:
        return None
    leader = ctx.session.get(Person, ctx.fields.get("leader") or "")
    if _rank(leader) >= LEADER_RANK["chairman"]:
        return None
    return Reason(N_("only a trip led by the Chairman needs the Prime Minister's approval; others: 'approve'."))


ANSWERED = ("agreed", "commented", "disagreed")
"""States of a consultation reply that hold a real answer (not silence, not closed unanswered)."""


def all_replied(ctx: GuardContext) -> Reason | None:
    """Every body consulted in the current round has answered in writing (Law 70/2020 art. 19(2)–(3))."""
    if ctx.session is None:
        return None  # planning: the plan assumes the replies come
    children = fanout.round_of(ctx.session, ctx.case)
    silent = [c.unit or c.ref for c in children if c.state not in ANSWERED]
    if children and not silent:
        return None
    return Reason(N_("not every opinion is in: {names} has not replied. When overdue: escalate ('escalate'), then "
                     "proceed on the opinions received ('proceed_on_record', with a reason) — Law 70/2020 art. "
                     "19(2)–(3)."), names=silent if silent else Msg(N_("(not sent)")))


def deadline_passed(ctx: GuardContext) -> Reason | None:
    """A time limit of the current state has run out (24:00 of its last day)."""
    if ctx.session is None:
        return None
    rows = [(d.due_at, d) for d in deadlines.open_for_case(ctx.session, ctx.case.id, f"timer:{ctx.case.state}:")
            if d.due_at is not None]
    if any(at <= ctx.now for at, _ in rows):
        return None
    if not rows:
        return Reason(N_("no time limit is running in this step."))
    first = min(rows, key=lambda row: row[0])[1]
    return Reason(N_("the time limit '{label}' has not run out: it ends on {day} ({citation})."),
                  label=pair(first.label_vi, first.label_en), day=first.due_date, citation=first.citation)


def term_not_ended(ctx: GuardContext) -> Reason | None:
    """The agreement's term (term_end) has not ended: it can still be amended or extended."""
    end = _date(ctx.fields.get("term_end"))
    if end is None or end >= _today(ctx):
        return None
    return Reason(N_("the agreement expired on {day}: it can no longer be amended or extended; propose a new "
                     "agreement (Law 70/2020 art. 33 applies to agreements in force)."), day=end)


def term_ended(ctx: GuardContext) -> Reason | None:
    """The agreement's term (term_end) is over."""
    end = _date(ctx.fields.get("term_end"))
    if end is not None and end < _today(ctx):
        return None
    if end is None:
        return Reason(N_("no end of term: give --field term_end=YYYY-MM-DD."))
    return Reason(N_("the agreement is in force until {day}."), day=end)


AMENDMENTS = ("amend", "supplement", "extend")   # Law 70/2020 art. 33
ENDINGS = ("terminate", "withdraw", "suspend")    # Law 70/2020 art. 34


def change_is_amendment(ctx: GuardContext) -> Reason | None:
    """The proposal amends, supplements or extends (change_kind; Law 70/2020 art. 33)."""
    if ctx.fields.get("change_kind") in AMENDMENTS:
        return None
    return Reason(N_("'{kind}' is not an amendment, supplement or extension (Law 70/2020 art. 33): use "
                     "'propose_termination' / 'approve_termination' / 'approve_suspension'."),
                  kind=word(CHOICES, ctx.fields.get("change_kind")))


def change_is_ending(ctx: GuardContext) -> Reason | None:
    """The proposal terminates, withdraws or suspends (change_kind; Law 70/2020 art. 34)."""
    if ctx.fields.get("change_kind") in ENDINGS:
        return None
    return Reason(N_("'{kind}' is not a termination, withdrawal or suspension (Law 70/2020 art. 34)."),
                  kind=word(CHOICES, ctx.fields.get("change_kind")))


def end_is_suspension(ctx: GuardContext) -> Reason | None:
    """The decision concerns a suspension (change_kind=suspend)."""
    if ctx.fields.get("change_kind") == "suspend":
        return None
    return Reason(N_("the proposal is not a suspension: use 'approve_termination' or 'approve'."))


def end_is_termination(ctx: GuardContext) -> Reason | None:
    """The decision concerns a termination or withdrawal (change_kind=terminate|withdraw)."""
    if ctx.fields.get("change_kind") in ("terminate", "withdraw"):
        return None
    return Reason(N_("the proposal is not a termination or withdrawal: use 'approve_suspension' or 'approve'."))


def silence_means_agreement(ctx: GuardContext) -> Reason | None:
    """The request letter said that no reply counts as agreement (on_silence=deemed_agreed)."""
    rule = ctx.fields.get("on_silence")
    if ctx.session is not None and not rule:
        rule = fanout.on_silence_rule(ctx.session, ctx.case)
    if rule == "deemed_agreed":
        return None
    return Reason(N_("the request letter did not say that no reply means agreement: a late reply is only late — "
                     "remind and escalate (Law 70/2020 art. 19 does not treat silence as consent)."))


def lead_time_respected(ctx: GuardContext) -> Reason | None:
    """Submitted no later than the lead time before the start date (timers counted back from a date field)."""
    if ctx.session is None:
        return None
    cal = deadlines.calendar_for(ctx.session)
    for timer in ctx.definition.states[ctx.case.state].timers:
        start = _date(ctx.fields.get(timer.start[6:])) if timer.start.startswith("field:") else None
        if start is None or timer.limit is None or timer.limit >= 0 or ctx.fields.get("late_reason"):
            continue
        due = cal.add(start, timer.limit, timer.unit)
        if _today(ctx) <= due.due_date:
            continue
        name = timer.start[6:]
        start_label = ctx.definition.fields[name].label if name in ctx.definition.fields else name
        return Reason(N_("the time limit '{label}' has passed: the last day was {day} ({count} before {start}; "
                         "{citation}{flag}). To submit anyway, give the reason: --field late_reason=\"...\""),
                      label=dict(timer.label), day=due.due_date, count=duration(-timer.limit, timer.unit),
                      start=Msg(N_("the {label} date"), label=_lower(start_label)), citation=timer.citation,
                      flag="" if timer.confirmed else Msg(N_(" — time limit UNCONFIRMED")))
    return None


def criteria_met(ctx: GuardContext) -> Reason | None:
    """Every ``criterion_*`` bool field is true (the five criteria of letter 102/VPCP-QHQT)."""
    names = [n for n, f in ctx.definition.fields.items() if n.startswith("criterion_") and f.type == "bool"]
    if ctx.session is None:  # planning: only a criterion stated as not met blocks the path
        failing = [n for n in names if ctx.fields.get(n) is False]
    else:
        failing = [n for n in names if ctx.fields.get(n) is not True]
    if not failing:
        return None
    fix = " ".join(f"--field {n}=true" for n in failing)
    return Reason(N_("the delegation does not meet the criteria (letter 102/VPCP-QHQT): {criteria}. Once met: {fix}"),
                  criteria=join([dict(ctx.definition.fields[n].label) or n for n in failing]),
                  fix=fix)


def _needs_district(ctx: GuardContext) -> bool | None:
    """True when the proposer is a commune whose supervising unit is a district still in existence."""
    if ctx.session is None:
        return ctx.fields.get("proposer_kind") == "commune" or None
    code = ctx.fields.get(ctx.definition.unit_field or "") or ctx.case.unit
    unit = ctx.session.get(Unit, code) if code else None
    if unit is None or unit.kind != "commune":
        return False
    parent = ctx.session.get(Unit, unit.parent) if unit.parent else None
    return bool(parent and parent.kind == "district" and (parent.active_to is None or parent.active_to >= _today(ctx)))


def needs_district_opinion(ctx: GuardContext) -> Reason | None:
    """A border commune asks its district first (Decree 64/2021, only while districts exist)."""
    if _needs_district(ctx) is not False:
        return None
    return Reason(N_("only a border commune under a district that still exists asks the district (before "
                     "01/07/2025)."))


def no_district_opinion_needed(ctx: GuardContext) -> Reason | None:
    """Units other than border communes under a district go to consultation directly."""
    if not _needs_district(ctx):
        return None
    return Reason(N_("a border commune asks its district first (Decree 64/2021/ND-CP): use "
                     "'ask_district_opinion'."))


for _name, _fn in {
    "proposer_kind_allowed": proposer_kind_allowed, "all_replied": all_replied,
    "approver_above_leader": approver_above_leader, "led_by_the_chairman": led_by_the_chairman,
    "party_policy_required": party_policy_required,
    "party_policy_not_required": party_policy_not_required, "has_disagreement": has_disagreement,
    "no_disagreement": no_disagreement, "deadline_passed": deadline_passed, "term_not_ended": term_not_ended,
    "term_ended": term_ended, "change_is_amendment": change_is_amendment,
    "change_is_ending": change_is_ending, "end_is_suspension": end_is_suspension,
    "end_is_termination": end_is_termination,
    "silence_means_agreement": silence_means_agreement, "lead_time_respected": lead_time_respected,
    "criteria_met": criteria_met, "needs_district_opinion": needs_district_opinion,
    "no_district_opinion_needed": no_district_opinion_needed,
}.items():
    register_guard(_name, _fn)

# Pairs that never both pass when a case fires, so two transitions on one trigger from one state may use them to
# choose the way (``workflows lint`` trusts these declarations and runs no guard).  Each pair reads one condition:
# complementary (one passes exactly when the other does not) or disjoint values of change_kind (AMENDMENTS and
# ENDINGS share none).  The district pair holds on a real case; the planner, which cannot judge without one, lets
# both paths through, which is fine because it explores paths instead of firing one.
for _first, _second in (
    ("party_policy_required", "party_policy_not_required"),   # field party_policy_required true / not true
    ("has_disagreement", "no_disagreement"),                   # _disagreement() / not
    ("term_ended", "term_not_ended"),                          # term_end before today / missing or not before
    ("change_is_amendment", "change_is_ending"),               # change_kind in AMENDMENTS / in ENDINGS
    ("change_is_amendment", "end_is_suspension"),              # ... / == "suspend"
    ("change_is_amendment", "end_is_termination"),             # ... / in ("terminate", "withdraw")
    ("end_is_suspension", "end_is_termination"),
    ("needs_district_opinion", "no_district_opinion_needed"),  # _needs_district() / not (on a real case)
):
    register_exclusive(_first, _second)
